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
 * - a workspace, forward (`replayWorkspaces`): the whole log up to the position, read once in
 *   batches (memory is bounded by the batch and the rows kept), decoding only the events of the
 *   workspaces asked for and of the build streams; the events of other workspaces are skipped
 *   undecoded;
 * - a workspace, backward (`rewindWorkspaces`): today's rows of the read model, kept as they are
 *   for every stream the log has not touched since the position (a row is a function of its own
 *   stream alone: an environment's rows of its stream, an image's row of its hash's build
 *   stream), and replayed up to the position for the streams it has: the log after the
 *   position read once, undecoded, then those streams. Its cost follows the changes since the
 *   point, not the log's size; `pastWorkspaces` takes whichever reads fewer events.
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
  ReadModel,
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

/** An environment's stream: the name it is of, or undefined for any other stream. */
const environmentNameOf = (stream: string) => {
  const prefix = Environment.environmentStream("", "").stream
  return stream.startsWith(prefix) ? stream.slice(prefix.length) : undefined
}

/**
 * The streams of the workspaces asked for (and the build streams) that the log changed after
 * `position`: the log read from there to its head, undecoded, as the stream and workspace of each
 * event are all it needs. Also how many events that was.
 */
const changedSince = (workspaces: ReadonlyArray<string>, position: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const wanted = new Set(workspaces)
    const environments = new Map<string, EnvironmentKey>()
    const hashes = new Set<string>()
    let events = 0
    yield* store.readAll({ after: position, batchSize: BATCH }).pipe(
      Stream.runForEachArray((batch) =>
        Effect.sync(() => {
          events += batch.length
          for (const e of batch) {
            const hash = Build.hashOfStream(e.workspace, e.stream)
            if (hash !== undefined) hashes.add(hash)
            else if (wanted.has(e.workspace)) {
              const name = environmentNameOf(e.stream)
              if (name !== undefined) environments.set(keyOf({ workspace: e.workspace, name }), { workspace: e.workspace, name })
            }
          }
        })
      )
    )
    return { environments, hashes, events }
  })

/**
 * Replays the given streams up to `position` into fresh tables: one read per stream while they
 * are few, else one pass over the log up to the position decoding only their events.
 */
const replayStreams = (
  environments: ReadonlyArray<EnvironmentKey>,
  hashes: ReadonlyArray<string>,
  position: number,
  maxStreamReads: number
) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const tables = emptyTables()
    const streams = [
      ...environments.map((k) => Environment.environmentStream(k.workspace, k.name)),
      ...hashes.map((h) => Build.streamOf(h))
    ]
    if (streams.length === 0 || position === 0) return tables
    if (streams.length <= maxStreamReads) {
      // In log order per stream; streams are independent of each other (each fills its own rows).
      for (const stream of streams) yield* replay(tables, yield* store.readStream(stream, { untilPosition: position }))
      return tables
    }
    const wanted = new Set(streams.map((s) => JSON.stringify([s.workspace, s.stream])))
    yield* store.readAll({ after: 0, until: position, batchSize: BATCH }).pipe(
      Stream.runForEachArray((events) => replay(tables, events.filter((e) => wanted.has(JSON.stringify([e.workspace, e.stream])))))
    )
    return tables
  })

/**
 * Streams read one by one, at most (beyond, the log up to the point is read once instead): a
 * stream's read is one query, which costs about what a pass over a dozen or two events of the log
 * does (bench/README.md, `http-asof.ts`), so this many stay well below a pass over a large log.
 */
const MAX_STREAM_READS = 200

/**
 * The workspaces' registries at `position`, in the order asked, from the read model's rows now:
 * the rows of every stream the log has not changed since the position are those of then; the
 * others are replayed up to it. The read model must have projected at least up to `position`
 * (`Projections.checkpoint`) before this is called: its rows are then of some point at or after
 * the position, and every stream changed between the position and that point is in the log
 * after the position, read after the rows.
 *
 * @since 0.4.0
 * @category replay
 */
export const rewindWorkspaces = (
  workspaces: ReadonlyArray<string>,
  position: number,
  options: { readonly maxStreamReads?: number } = {}
) =>
  Effect.gen(function*() {
    const readModel = yield* ReadModel
    const now = yield* Effect.forEach(workspaces, (workspace) =>
      Effect.all({
        environments: readModel.environments({ workspace, includeArchived: true }),
        versions: readModel.versions({ workspace, includeArchived: true })
      }))
    const imagesNow = new Map((yield* readModel.imageBuilds({})).map((i) => [i.canonicalHash, i]))
    const changed = yield* changedSince(workspaces, position)
    const tables = yield* replayStreams(
      [...changed.environments.values()], [...changed.hashes], position, options.maxStreamReads ?? MAX_STREAM_READS
    )
    return workspaces.map((workspace, i): PastRegistry => {
      const kept = (row: { readonly workspace: string; readonly name: string }) => !changed.environments.has(keyOf(row))
      const replayed = registryOf(tables, workspace, position)
      const environments = [...now[i]!.environments.filter(kept), ...replayed.environments]
        .sort((a, b) => compareText(a.name, b.name))
      const versions = [...now[i]!.versions.filter(kept), ...replayed.versions]
        .sort((a, b) => a.registeredPosition - b.registeredPosition)
      const hashes = new Set(versions.map((v) => v.canonicalHash))
      const images = [...hashes]
        .flatMap((h) => (changed.hashes.has(h) ? tables.images.get(h) : imagesNow.get(h)) ?? [])
        .sort((a, b) => compareText(a.canonicalHash, b.canonicalHash))
      return { workspace, asOfPosition: position, environments, versions, images }
    })
  })

/**
 * The workspaces' registries at `position`, in the order asked, by whichever way reads fewer
 * events: forward from the start of the log (`replayWorkspaces`) when the point is nearer the
 * start than the head, or backward from the read model's rows (`rewindWorkspaces`), which the
 * caller allows only once the read model has projected up to the position.
 *
 * @since 0.4.0
 * @category replay
 */
export const pastWorkspaces = (workspaces: ReadonlyArray<string>, position: number, head: number, rewindable: boolean) =>
  rewindable && head - position < position
    ? rewindWorkspaces(workspaces, position)
    : Effect.map(replayWorkspaces(workspaces, position), (tables) => workspaces.map((w) => registryOf(tables, w, position)))
