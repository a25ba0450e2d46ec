/**
 * The registry as its read model had it at a point of the log: the log's events up to that
 * position replayed through the read model's own projection (`rowOpsOfBatch`, the pure function
 * both read-model adapters apply), into the three tables a past view shows: environments,
 * versions, and the image of each canonical hash. The rows come out as the read model's queries
 * give them (`ReadModel.environments`, `versions`, `imageBuilds`), as of then: description, tags,
 * archived or not, the latest version, the counts, the times, and the image's status.
 *
 * What a replay costs is the events it reads and decodes, never a query per environment:
 * - one environment: its stream up to the position, and the build stream of each of its
 *   versions' hashes up to it (one read each);
 * - a workspace: the whole log up to the position, read once in batches (memory is bounded by
 *   the batch and the rows kept), decoding only the events of the workspaces asked for and of
 *   the build streams; the events of other workspaces are skipped undecoded.
 *
 * @since 0.4.0
 */
import { type EnvironmentKey, type RowOp, rowOpsOfBatch } from "@terrarium/adapters"
import {
  Build,
  Environment,
  type EnvironmentSummary,
  type EnvironmentType,
  EventStore,
  type ImageBuildRow,
  type RecordedEvent,
  type VersionRow
} from "@terrarium/domain"
import { Effect, Stream } from "effect"
import type { PastRegistry } from "./Results.ts"

/** The environment row of the read model's table (`environments`). */
interface EnvironmentRow {
  readonly workspace: string
  readonly name: string
  readonly curated: boolean
  readonly draftType: EnvironmentType
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly updatedPosition: number
}

const keyOf = (key: EnvironmentKey) => JSON.stringify([key.workspace, key.name])

/**
 * The tables a replay fills. Only the operations that change what a past view shows are applied
 * (labels other than `latest`, the cache and the audit trail are left out); each is applied as
 * the memory read model applies it.
 *
 * @since 0.4.0
 * @category replay
 */
export interface PastTables {
  readonly environments: Map<string, EnvironmentRow>
  /** Each environment's versions in registration order (the log's). */
  readonly versions: Map<string, Array<VersionRow>>
  readonly images: Map<string, ImageBuildRow>
}

/** @since 0.4.0 @category replay */
export const emptyTables = (): PastTables => ({ environments: new Map(), versions: new Map(), images: new Map() })

const updateVersion = (t: PastTables, key: EnvironmentKey, version: string, f: (row: VersionRow) => VersionRow) => {
  const rows = t.versions.get(keyOf(key))
  const i = rows?.findIndex((r) => r.version === version) ?? -1
  if (rows !== undefined && i >= 0) rows[i] = f(rows[i]!)
}

const applyOp = (t: PastTables, op: RowOp): void => {
  switch (op._tag) {
    case "InsertEnvironment":
      t.environments.set(keyOf(op.key), {
        workspace: op.key.workspace, name: op.key.name, curated: op.curated, draftType: op.draftType,
        createdAt: op.at, updatedAt: op.at, updatedPosition: op.position
      })
      return
    case "TouchEnvironment": {
      const row = t.environments.get(keyOf(op.key))
      if (row !== undefined) {
        t.environments.set(keyOf(op.key), { ...row, updatedAt: op.at, updatedPosition: op.position, draftType: op.draftType ?? row.draftType })
      }
      return
    }
    case "InsertVersion": {
      const row: VersionRow = {
        workspace: op.key.workspace, name: op.key.name, version: op.version, canonicalHash: op.canonicalHash,
        hashAlgorithm: op.hashAlgorithm, environmentType: op.environmentType, description: op.description, tags: op.tags,
        createdAt: op.at, createdBy: op.by, registeredPosition: op.position, archived: false, archivedAt: null
      }
      const rows = t.versions.get(keyOf(op.key))
      if (rows === undefined) t.versions.set(keyOf(op.key), [row])
      else rows.push(row)
      return
    }
    case "SetArchived":
      return updateVersion(t, op.key, op.version, (row) => ({ ...row, archived: op.archivedAt !== null, archivedAt: op.archivedAt }))
    case "SetMetadata":
      return updateVersion(t, op.key, op.version, (row) => ({ ...row, description: op.description, tags: op.tags }))
    case "SetBuildStatus": {
      const { _tag, canonicalHash, at, position, ...status } = op
      const before = t.images.get(canonicalHash)
      t.images.set(canonicalHash, {
        canonicalHash, ...status, built: before?.built ?? null, pushes: before?.pushes ?? [], updatedAt: at, updatedPosition: position
      })
      return
    }
    case "SetBuiltImage": {
      const row = t.images.get(op.canonicalHash)
      if (row !== undefined) t.images.set(op.canonicalHash, { ...row, built: op.built })
      return
    }
    case "InsertImagePush": {
      const row = t.images.get(op.canonicalHash)
      if (row !== undefined) t.images.set(op.canonicalHash, { ...row, pushes: [...row.pushes, op.push] })
      return
    }
    default:
      return
  }
}

/**
 * Applies recorded events, in log order, to the tables.
 *
 * @since 0.4.0
 * @category replay
 */
export const replay = (tables: PastTables, events: ReadonlyArray<RecordedEvent>) =>
  Effect.map(rowOpsOfBatch(events), (ops) => {
    for (const op of ops) applyOp(tables, op)
  })

/** The newest version not archived (`latest`), as the read model's label says. */
const latestOf = (rows: ReadonlyArray<VersionRow>) => rows.findLast((r) => !r.archived)

/** An environment's row as `ReadModel.environments` gives it. */
const summaryOf = (e: EnvironmentRow, rows: ReadonlyArray<VersionRow>): EnvironmentSummary => {
  const latest = latestOf(rows)
  const versionCount = rows.filter((r) => !r.archived).length
  const archivedVersionCount = rows.length - versionCount
  return {
    workspace: e.workspace, name: e.name, curated: e.curated, environmentType: latest?.environmentType ?? e.draftType,
    latestVersion: latest?.version ?? null, versionCount, archivedVersionCount,
    archived: versionCount === 0 && archivedVersionCount > 0,
    createdAt: e.createdAt, updatedAt: e.updatedAt, updatedPosition: e.updatedPosition
  }
}

/** Code-unit order, as the read model orders names (PostgreSQL's `C` collation). */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/**
 * What the tables hold of one workspace (of one environment of it, if named).
 *
 * @since 0.4.0
 * @category replay
 */
export const registryOf = (tables: PastTables, workspace: string, position: number, name?: string): PastRegistry => {
  const environments = [...tables.environments.values()]
    .filter((e) => e.workspace === workspace && (name === undefined || e.name === name))
    .sort((a, b) => compareText(a.name, b.name))
  const versions = environments.flatMap((e) => tables.versions.get(keyOf(e)) ?? [])
  const hashes = new Set(versions.map((v) => v.canonicalHash))
  return {
    workspace,
    asOfPosition: position,
    environments: environments.map((e) => summaryOf(e, tables.versions.get(keyOf(e)) ?? [])),
    versions: [...versions].sort((a, b) => a.registeredPosition - b.registeredPosition),
    images: [...hashes].flatMap((h) => tables.images.get(h) ?? []).sort((a, b) => compareText(a.canonicalHash, b.canonicalHash))
  }
}

/** Events per read of the log (as the projector reads it). */
const BATCH = 500

/**
 * The workspaces' registries at `position`: the log up to it, read once.
 *
 * @since 0.4.0
 * @category replay
 */
export const replayWorkspaces = (workspaces: ReadonlyArray<string>, position: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const wanted = new Set<string>([...workspaces, Build.BUILD_WORKSPACE])
    const tables = emptyTables()
    if (position > 0) {
      yield* store.readAll({ after: 0, until: position, batchSize: BATCH }).pipe(
        Stream.runForEachArray((events) => replay(tables, events.filter((e) => wanted.has(e.workspace))))
      )
    }
    return tables
  })

/**
 * One environment's registry at `position`, undefined when it was not defined then: its stream
 * up to the position, then the build stream of each hash of its versions.
 *
 * @since 0.4.0
 * @category replay
 */
export const replayEnvironment = (workspace: string, name: string, position: number, options: { readonly images: boolean }) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const tables = emptyTables()
    yield* replay(tables, yield* store.readStream(Environment.environmentStream(workspace, name), { untilPosition: position }))
    const registry = registryOf(tables, workspace, position, name)
    if (registry.environments.length === 0) return undefined
    if (!options.images) return registry
    const hashes = [...new Set(registry.versions.map((v) => v.canonicalHash))]
    yield* Effect.forEach(hashes, (hash) =>
      Effect.flatMap(store.readStream(Build.streamOf(hash), { untilPosition: position }), (events) => replay(tables, events)), { discard: true })
    return registryOf(tables, workspace, position, name)
  })
