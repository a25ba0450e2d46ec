/**
 * The read model in memory: the projector and the queries over maps, for the application's unit
 * tests and anything else that needs no database. It applies the row operations of
 * `Projection.ts`, as the SQL adapter does, and answers every query with the rows, order and
 * values the SQL adapter gives (the contract suite checks both), with these choices made to match:
 *
 * - text is ordered by code unit, as PostgreSQL's `C` collation does (the test database's);
 * - JSON values (tags, audit details) come back with their keys in `jsonb` order;
 * - an insert of a row that exists fails the batch, as a primary key does.
 *
 * Exactly once: a batch is read and decoded first, then applied in one synchronous step that
 * checks the checkpoint is still where the batch starts, so concurrent catch-ups, a follower and
 * rebuilds never apply an event twice. A rebuild replays the log into tables of its own and
 * swaps them in at once, never behind the live checkpoint.
 *
 * @since 0.1.0
 */
import {
  type AuditEntry,
  type CacheEntryRow,
  type CuratedCatalogRow,
  Environment,
  type EnvironmentSummary,
  type EnvironmentType,
  EventStore,
  type BuildRow,
  type ImageBuildRow,
  type LabelRow,
  LogReadFailure,
  ProjectionError,
  Projections,
  ProjectionStorageFailure,
  type QuarantinedEvent,
  ReadModel,
  RebuildOvertaken,
  type RecordedEvent,
  type VersionRow
} from "@terrarium/domain"
import { Context, Duration, Effect, Layer, Semaphore, Stream } from "effect"
import { asJsonb } from "../../sql/Jsonb.ts"
import { type EnvironmentKey, PROJECTION_VERSION, type RowOp, rowOpsOfBatch, SWAP_ROUNDS } from "../Projection.ts"

/** @since 0.1.0 @category models */
export interface MemoryReadModelOptions {
  /** Events per applied batch (default 500). */
  readonly batchSize?: number
  /** How long `run` waits between polls once caught up (default 200 ms). */
  readonly pollInterval?: Duration.Input
}

interface EnvironmentRow {
  readonly workspace: string
  readonly name: string
  readonly curated: boolean
  readonly draftType: EnvironmentType
  readonly createdAt: Date
  readonly createdBy: string
  readonly updatedAt: Date
  readonly updatedPosition: number
}

/** The read model's tables. A batch changes a copy, which replaces them when it is complete. */
interface Tables {
  readonly environments: Map<string, EnvironmentRow>
  readonly versions: Map<string, VersionRow>
  readonly labels: Map<string, LabelRow>
  readonly cache: Map<string, CacheEntryRow>
  readonly audit: Map<number, AuditEntry>
  readonly quarantine: Map<number, QuarantinedEvent>
  readonly images: Map<string, ImageBuildRow>
  /** Builds by id (migration 0016); their pushes are read from `images`. */
  readonly builds: Map<string, Omit<BuildRow, "pushes">>
}

/** A read model and how far the log has been applied to it. */
interface Target {
  tables: Tables
  checkpoint: number
}

const emptyTables = (): Tables => ({
  environments: new Map(), versions: new Map(), labels: new Map(), cache: new Map(), audit: new Map(), quarantine: new Map(),
  images: new Map(), builds: new Map()
})

const copyOf = (tables: Tables): Tables => ({
  environments: new Map(tables.environments), versions: new Map(tables.versions), labels: new Map(tables.labels),
  cache: new Map(tables.cache), audit: new Map(tables.audit), quarantine: new Map(tables.quarantine),
  images: new Map(tables.images), builds: new Map(tables.builds)
})

const streamId = (key: EnvironmentKey) => JSON.stringify([key.workspace, key.name])
const rowId = (key: EnvironmentKey, part: string) => JSON.stringify([key.workspace, key.name, part])

/** Code-unit order, PostgreSQL's `C` collation. */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

class DuplicateRow extends Error {}

const insert = <K, V>(table: Map<K, V>, id: K, row: V, what: string) => {
  if (table.has(id)) throw new DuplicateRow(`duplicate key value violates unique constraint of ${what}`)
  table.set(id, row)
}

/** A row's JSON as the SQL adapter reads it back: jsonb's key order, its one timestamp a Date again. */
const jsonbWithDate = <A extends object>(value: A, key: keyof A & string, date: Date): A =>
  ({ ...(asJsonb(value) as A), [key]: date })

/** Applies operations in order, each as the SQL of `ProjectionSql.ts` would. Throws `DuplicateRow`. */
const applyOp = (t: Tables, op: RowOp): void => {
  switch (op._tag) {
    case "InsertEnvironment":
      return insert(t.environments, streamId(op.key), {
        workspace: op.key.workspace, name: op.key.name, curated: op.curated, draftType: op.draftType,
        createdAt: op.at, createdBy: op.by, updatedAt: op.at, updatedPosition: op.position
      }, "environments")
    case "TouchEnvironment": {
      const id = streamId(op.key)
      const row = t.environments.get(id)
      if (row !== undefined) {
        t.environments.set(id, { ...row, updatedAt: op.at, updatedPosition: op.position, draftType: op.draftType ?? row.draftType })
      }
      return
    }
    case "InsertVersion":
      for (const v of t.versions.values()) {
        if (v.registeredPosition === op.position) throw new DuplicateRow("duplicate registered position")
      }
      return insert(t.versions, rowId(op.key, op.version), {
        workspace: op.key.workspace, name: op.key.name, version: op.version, canonicalHash: op.canonicalHash,
        hashAlgorithm: op.hashAlgorithm, environmentType: op.environmentType, description: op.description,
        tags: asJsonb(op.tags) as Record<string, string>, createdAt: op.at, createdBy: op.by,
        registeredPosition: op.position, archived: false, archivedAt: null
      }, "environment_versions")
    case "SetArchived": {
      const id = rowId(op.key, op.version)
      const row = t.versions.get(id)
      if (row !== undefined) t.versions.set(id, { ...row, archived: op.archivedAt !== null, archivedAt: op.archivedAt })
      return
    }
    case "SetMetadata": {
      const id = rowId(op.key, op.version)
      const row = t.versions.get(id)
      if (row !== undefined) {
        t.versions.set(id, { ...row, description: op.description, tags: asJsonb(op.tags) as Record<string, string> })
      }
      return
    }
    case "SetLabel":
      t.labels.set(rowId(op.key, op.label), {
        workspace: op.key.workspace, name: op.key.name, label: op.label, version: op.version,
        movedAt: op.at, movedBy: op.by, position: op.position
      })
      return
    case "RemoveLabel":
      t.labels.delete(rowId(op.key, op.label))
      return
    case "RecomputeLatest": {
      let newest: VersionRow | undefined
      for (const v of t.versions.values()) {
        if (v.workspace === op.key.workspace && v.name === op.key.name && !v.archived &&
          (newest === undefined || v.registeredPosition > newest.registeredPosition)) newest = v
      }
      const id = rowId(op.key, Environment.LATEST_LABEL)
      const current = t.labels.get(id)
      if (newest === undefined) t.labels.delete(id)
      else if (current?.version !== newest.version) {
        // Only a change of version is a move.
        t.labels.set(id, {
          workspace: op.key.workspace, name: op.key.name, label: Environment.LATEST_LABEL, version: newest.version,
          movedAt: op.at, movedBy: op.by, position: op.position
        })
      }
      return
    }
    case "InsertCacheEntry": {
      // The newest image already built for the hash, if any.
      let image: CacheEntryRow["image"] = null
      for (const c of t.cache.values()) {
        if (c.canonicalHash === op.canonicalHash && c.image !== null &&
          (image === null || c.image.builtAt > image.builtAt)) image = c.image
      }
      return insert(t.cache, JSON.stringify([op.canonicalHash, op.key.workspace, op.key.name, op.version]), {
        canonicalHash: op.canonicalHash, workspace: op.key.workspace, name: op.key.name, version: op.version,
        registeredPosition: op.position, image
      }, "cache_lookup")
    }
    case "SetImage": {
      const image = {
        registry: op.registry, repository: op.repository, tag: op.tag, digest: op.digest, builtAt: op.builtAt, buildId: op.buildId
      }
      for (const [id, c] of t.cache) if (c.canonicalHash === op.canonicalHash) t.cache.set(id, { ...c, image })
      return
    }
    case "SetBuildStatus": {
      // An upsert by hash, as the SQL adapter's; the last image built stays.
      const { _tag, canonicalHash, at, position, failure, ...status } = op
      t.images.set(canonicalHash, {
        canonicalHash, ...status, failure: failure === null ? null : jsonbWithDate(failure, "failedAt", failure.failedAt),
        built: t.images.get(canonicalHash)?.built ?? null, pushes: t.images.get(canonicalHash)?.pushes ?? [], updatedAt: at,
        updatedPosition: position
      })
      return
    }
    case "InsertImagePush": {
      // As the SQL table's primary key: a push projected twice is refused.
      const row = t.images.get(op.canonicalHash)
      if (row === undefined) return
      if (row.pushes.some((p) => p.position === op.push.position)) throw new DuplicateRow("duplicate key value violates unique constraint of image_pushes")
      t.images.set(op.canonicalHash, { ...row, pushes: [...row.pushes, op.push] })
      return
    }
    case "SetBuiltImage": {
      const row = t.images.get(op.canonicalHash)
      if (row !== undefined) t.images.set(op.canonicalHash, { ...row, built: jsonbWithDate(op.built, "builtAt", op.built.builtAt) })
      return
    }
    case "InsertBuild": {
      const { _tag, at, position, ...fields } = op
      return insert(t.builds, op.buildId, {
        ...fields, status: "building", startedAt: at, startedPosition: position, endedAt: null, failure: null, built: null,
        updatedPosition: position
      }, "builds")
    }
    case "RenewBuildLease": {
      const row = t.builds.get(op.buildId)
      if (row !== undefined) t.builds.set(op.buildId, { ...row, leaseExpiresAt: op.leaseExpiresAt, updatedPosition: op.position })
      return
    }
    case "EndBuild": {
      const row = t.builds.get(op.buildId)
      if (row === undefined) return
      t.builds.set(op.buildId, {
        ...row, status: op.status, endedAt: op.at, updatedPosition: op.position,
        built: op.built === null ? null : jsonbWithDate(op.built, "builtAt", op.built.builtAt),
        failure: op.failure === null ? null : jsonbWithDate(op.failure, "failedAt", op.failure.failedAt)
      })
      return
    }
    case "InsertQuarantine":
      return insert(t.quarantine, op.position, {
        position: op.position, workspace: op.key.workspace, name: op.key.name, stream: op.stream, eventType: op.eventType,
        schemaVersion: op.schemaVersion, error: op.error, occurredAt: op.at, actor: op.by, resolution: null
      }, "quarantined_events")
    case "ResolveQuarantine": {
      // Only the first void counts, and only within its own stream.
      const row = t.quarantine.get(op.position)
      if (row !== undefined && row.resolution === null && row.workspace === op.key.workspace && row.name === op.key.name) {
        t.quarantine.set(op.position, {
          ...row, resolution: { position: op.voidedPosition, voidedAt: op.at, voidedBy: op.by, reason: op.reason }
        })
      }
      return
    }
    case "InsertAudit": {
      // The fields in the order of the SQL adapter's rows, so that both print the same JSON.
      return insert(t.audit, op.position, {
        position: op.position, workspace: op.key.workspace, name: op.key.name, eventType: op.eventType, version: op.version,
        actor: op.actor, occurredAt: op.occurredAt, correlationId: op.correlationId, causationId: op.causationId,
        summary: op.summary, details: asJsonb(op.details)
      }, "audit_trail")
    }
  }
}


const make = Effect.fnUntraced(function* (options: MemoryReadModelOptions) {
  const store = yield* EventStore
  const batchSize = Math.max(1, options.batchSize ?? 500)
  const pollInterval = options.pollInterval ?? "200 millis"
  const live: Target = { tables: emptyTables(), checkpoint: 0 }
  const following = yield* Semaphore.make(1)

  const log = (operation: string, position?: number) => (cause: unknown) =>
    new ProjectionError({ reason: new LogReadFailure({ operation, cause, ...(position === undefined ? {} : { position }) }) })


  /** Applies a batch if `target` is still at `expected`; undefined when something else moved it first. */
  const apply = (target: Target, expected: number, events: ReadonlyArray<RecordedEvent>, ops: ReadonlyArray<RowOp>) =>
    Effect.suspend(() => {
      const last = events.at(-1)?.position
      if (last === undefined) return Effect.succeed<number | undefined>(expected)
      if (target.checkpoint !== expected) return Effect.succeed(undefined)
      const tables = copyOf(target.tables)
      try {
        for (const op of ops) applyOp(tables, op)
      } catch (cause) {
        return Effect.fail(new ProjectionError({
          reason: new ProjectionStorageFailure({ operation: "apply", position: events[0]!.position, cause })
        }))
      }
      target.tables = tables
      target.checkpoint = last
      return Effect.succeed(last)
    })

  const catchUpTo = (target: Target) => Effect.gen(function* () {
    const head = yield* store.head.pipe(Effect.mapError(log("read head")))
    let position = target.checkpoint
    while (position < head) {
      const events = yield* store.readAll({ after: position, until: head, batchSize }).pipe(
        Stream.take(batchSize),
        Stream.runCollect,
        Effect.mapError(log("read log"))
      )
      if (events.length === 0) {
        return yield* Effect.fail(log("read log", position + 1)(new Error(`no events after ${position} although the head is ${head}`)))
      }
      const moved = yield* apply(target, position, events, yield* rowOpsOfBatch(events))
      position = moved ?? target.checkpoint
    }
    return position
  })

  const checkpoint = Effect.sync(() => live.checkpoint)

  const rebuild = Effect.gen(function* () {
    const shadow: Target = { tables: emptyTables(), checkpoint: 0 }
    for (let round = 1; ; round++) {
      yield* catchUpTo(shadow)
      // One synchronous step: readers see the old tables or the rebuilt ones.
      if (shadow.checkpoint >= live.checkpoint) {
        live.tables = shadow.tables
        live.checkpoint = shadow.checkpoint
        return shadow.checkpoint
      }
      if (round === SWAP_ROUNDS) return yield* new ProjectionError({ reason: new RebuildOvertaken({ rounds: SWAP_ROUNDS }) })
    }
  })

  const followOnce = Effect.gen(function* () {
    let position = live.checkpoint
    yield* store.subscribe({ after: position, batchSize, pollInterval }).pipe(
      Stream.mapError(log("follow log")),
      Stream.groupedWithin(batchSize, Duration.millis(20)),
      Stream.runForEachWhile((events) =>
        Effect.flatMap(rowOpsOfBatch(events), (ops) => apply(live, position, events, ops)).pipe(Effect.map((moved) => {
          if (moved === undefined) return false
          position = moved
          return true
        }))
      )
    )
  })

  const projections = Projections.of({
    catchUp: catchUpTo(live).pipe(Effect.withSpan("Projections.catchUp")),
    rebuild: rebuild.pipe(Effect.withSpan("Projections.rebuild")),
    // One follower at a time, as the SQL adapter's lease makes it across processes.
    run: following.withPermit(Effect.forever(followOnce)).pipe(Effect.withSpan("Projections.run")),
    // Built by this process, so always of its own version.
    version: Effect.succeed({ stored: PROJECTION_VERSION, current: PROJECTION_VERSION }),
    checkpoint
  })

  const byName = <A extends { readonly name: string }>(a: A, b: A) => compareText(a.name, b.name)

  const readModel = ReadModel.of({
    versions: ({ workspace, name, includeArchived }) => Effect.sync(() =>
      [...live.tables.versions.values()]
        .filter((v) => v.workspace === workspace && (name === undefined || v.name === name) && (includeArchived || !v.archived))
        .sort((a, b) => a.registeredPosition - b.registeredPosition)
    ),
    environments: ({ workspace, includeArchived }) => Effect.sync(() => {
      const { environments, labels, versions } = live.tables
      return [...environments.values()].filter((e) => e.workspace === workspace).sort(byName).map((e): EnvironmentSummary => {
        const own = [...versions.values()].filter((v) => v.workspace === e.workspace && v.name === e.name)
        const latest = labels.get(rowId(e, Environment.LATEST_LABEL))
        const latestVersion = latest === undefined ? undefined : versions.get(rowId(e, latest.version))
        const versionCount = own.filter((v) => !v.archived).length
        const archivedVersionCount = own.length - versionCount
        return {
          workspace: e.workspace, name: e.name, curated: e.curated,
          environmentType: latestVersion?.environmentType ?? e.draftType, latestVersion: latest?.version ?? null,
          versionCount, archivedVersionCount, archived: versionCount === 0 && archivedVersionCount > 0,
          createdAt: e.createdAt, updatedAt: e.updatedAt, updatedPosition: e.updatedPosition
        }
      }).filter((e) => includeArchived || !e.archived)
    }),
    labels: ({ workspace, name }) => Effect.sync(() =>
      [...live.tables.labels.values()]
        .filter((l) => l.workspace === workspace && l.name === name)
        .sort((a, b) => compareText(a.label, b.label))
    ),
    curatedCatalog: () => Effect.sync(() => {
      const { labels, versions } = live.tables
      return [...labels.values()].flatMap((l): ReadonlyArray<CuratedCatalogRow> => {
        const v = l.label === Environment.LATEST_LABEL ? versions.get(rowId(l, l.version)) : undefined
        return v === undefined || v.environmentType !== "curated" ? [] : [{
          workspace: v.workspace, name: v.name, latestVersion: v.version, description: v.description, tags: v.tags,
          canonicalHash: v.canonicalHash, hashAlgorithm: v.hashAlgorithm, latestCreatedAt: v.createdAt
        }]
      }).sort((a, b) => compareText(a.workspace, b.workspace) || byName(a, b))
    }),
    cacheLookup: (canonicalHash) => Effect.sync(() =>
      [...live.tables.cache.values()]
        .filter((c) => c.canonicalHash === canonicalHash)
        .sort((a, b) => a.registeredPosition - b.registeredPosition)
    ),
    imageBuilds: ({ canonicalHash }) => Effect.sync(() =>
      [...live.tables.images.values()]
        .filter((i) => canonicalHash === undefined || i.canonicalHash === canonicalHash)
        .sort((a, b) => compareText(a.canonicalHash, b.canonicalHash))
    ),
    builds: (query) => Effect.sync(() => {
      const { builds, images } = live.tables
      const rows = "buildId" in query
        ? [builds.get(query.buildId)].filter((b) => b !== undefined)
        : [...builds.values()].filter((b) => b.canonicalHash === query.canonicalHash).sort((a, b) => b.startedPosition - a.startedPosition)
      return rows.map((b): BuildRow => ({
        ...b, pushes: (images.get(b.canonicalHash)?.pushes ?? []).filter((p) => p.buildId === b.buildId)
      }))
    }),
    audit: ({ workspace, name, untilPosition }) => Effect.sync(() =>
      [...live.tables.audit.values()]
        .filter((a) => a.workspace === workspace && (name === undefined || a.name === name) &&
          (untilPosition === undefined || a.position <= untilPosition))
        .sort((a, b) => a.position - b.position)
    ),
    quarantine: ({ workspace }) => Effect.sync(() =>
      [...live.tables.quarantine.values()]
        .filter((q) => workspace === undefined || q.workspace === workspace)
        .sort((a, b) => a.position - b.position)
    )
  })

  return { projections, readModel }
})

const layerWith = (options: MemoryReadModelOptions): Layer.Layer<Projections | ReadModel, never, EventStore> =>
  Layer.effectContext(Effect.map(make(options), ({ projections, readModel }) =>
    Context.make(Projections, projections).pipe(Context.add(ReadModel, readModel))))

/**
 * The in-memory read model.
 *
 * @since 0.1.0
 */
export const MemoryReadModel = {
  /**
   * The `Projections` and `ReadModel` ports in memory, over the `EventStore` of the context.
   * Each build starts empty.
   *
   * @since 0.1.0
   * @category layers
   */
  layer: layerWith({}),
  /**
   * `layer` with the projector's batch size and poll interval.
   *
   * @since 0.1.0
   * @category layers
   */
  layerWith
} as const
