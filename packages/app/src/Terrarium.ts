/**
 * The Terrarium application service: every use case of the environment registry, as one Effect
 * service over the ports (event store, projections, read model).
 *
 * Writes go read → fold → decide → append with the stream version read as the expected version.
 * A writer that loses an optimistic-concurrency race (another process appended first) re-reads
 * and decides again, so concurrent `create`s of different definitions all get distinct versions
 * and concurrent `create`s of one definition share one. After a write the projections are
 * caught up before returning, so a read that follows a write in the same process sees it.
 *
 * @since 0.1.0
 */
import {
  CanonicalHash,
  Diff,
  Environment,
  EventCodec,
  environmentType,
  type Definition,
  type EnvironmentCommand,
  type EnvironmentEvent,
  type EnvironmentType,
  EventStore,
  EventStoreError,
  type PackageManager,
  type PackageSpec,
  type RecordedEvent
} from "@terrarium/domain"
import { Database, type DatabaseError, type ProjectionError, Projections, ReadModel } from "@terrarium/adapters"
import type { AuditEntry, CacheEntryRow, CuratedCatalogRow, EnvironmentSummary, VersionRow } from "@terrarium/adapters"
import { Context, Effect, Layer, Option, Result, Schedule, Schema } from "effect"
// Event ids are UUIDv7 (RFC 9562): time-ordered, so the unique event_id index grows at its right
// edge like the position key instead of taking random inserts all over a large log, and ids sort
// by when they were made.
import { v7 as uuidv7 } from "uuid"
import type { AsOf } from "./AsOf.ts"
import type { EnvironmentRef } from "./EnvironmentRef.ts"

/** @since 0.1.0 @category errors */
export class EventDecodeFailure extends Schema.TaggedError<EventDecodeFailure>()("EventDecodeFailure", {
  message: Schema.String
}) {}

/** @since 0.1.0 @category errors */
export type TerrariumError =
  | Environment.EnvironmentErrorType
  | EventStoreError
  | EventDecodeFailure
  | ProjectionError
  | DatabaseError

/**
 * Who is acting and under which correlation id. The CLI uses the OS user and one correlation id
 * per invocation; an embedding service passes its own.
 *
 * @since 0.1.0
 * @category config
 */
export interface Caller {
  readonly actor: string
  readonly correlationId: string
}

/** @since 0.1.0 @category model */
export interface Registration {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly environmentType: EnvironmentType
  /** False when the definition was already registered and nothing was appended. */
  readonly created: boolean
  readonly archived: boolean
}

/** A version as `show` returns it: the frozen definition and where it stands. @since 0.1.0 @category model */
export interface EnvironmentVersion {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly hashAlgorithm: number
  readonly environmentType: EnvironmentType
  readonly archived: boolean
  readonly labels: ReadonlyArray<string>
  readonly definition: Definition
  /** The log position the answer was computed at (the head, or the as-of position). */
  readonly asOfPosition: number
}

/** The draft (what `register` would register next) and whether it differs from latest. @since 0.1.0 @category model */
export interface Draft {
  readonly workspace: string
  readonly name: string
  readonly definition: Definition
  readonly canonicalHash: string
  /** The registered version with the same content, if any. */
  readonly registeredAs: string | undefined
  readonly changed: boolean
}

/** @since 0.1.0 @category model */
export interface VersionDiff {
  readonly from: EnvironmentVersion
  readonly to: EnvironmentVersion
  readonly diff: Diff.DefinitionDiff
}

/** @since 0.1.0 @category model */
export interface Status {
  readonly database: "postgres" | "pglite"
  readonly schema: string
  readonly headPosition: number
  readonly projectionCheckpoint: number
  readonly migrations: ReadonlyArray<string>
}

/** @since 0.1.0 @category model */
export interface Scope {
  readonly workspace: string
}

/**
 * @since 0.1.0
 * @category service
 */
export class Terrarium extends Context.Service<Terrarium, {
  /** Define (or redefine) and register in one step, like `az ml environment create`. */
  readonly create: (input: Scope & {
    readonly name: string
    readonly definition: Definition
    readonly version?: string | undefined
    readonly curated?: boolean | undefined
  }) => Effect.Effect<Registration, TerrariumError>
  /** Change the draft of an existing environment; `register` turns the draft into a version. */
  readonly addPackage: (input: Scope & { readonly name: string; readonly spec: PackageSpec }) => Effect.Effect<Draft, TerrariumError>
  readonly removePackage: (input: Scope & { readonly name: string; readonly manager: PackageManager; readonly package: string }) => Effect.Effect<Draft, TerrariumError>
  readonly setVariable: (input: Scope & { readonly name: string; readonly variable: string; readonly value: string }) => Effect.Effect<Draft, TerrariumError>
  readonly unsetVariable: (input: Scope & { readonly name: string; readonly variable: string }) => Effect.Effect<Draft, TerrariumError>
  readonly register: (input: Scope & { readonly name: string; readonly version?: string | undefined }) => Effect.Effect<Registration, TerrariumError>
  readonly archive: (input: Scope & { readonly ref: EnvironmentRef }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  readonly restore: (input: Scope & { readonly ref: EnvironmentRef }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  readonly label: (input: Scope & { readonly ref: EnvironmentRef; readonly label: string }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  readonly show: (input: Scope & { readonly ref: EnvironmentRef; readonly asOf?: AsOf | undefined }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  readonly draft: (input: Scope & { readonly name: string }) => Effect.Effect<Draft, TerrariumError>
  /** One row per environment: latest version, number of versions, type. */
  readonly environments: (input: Scope & { readonly includeArchived?: boolean | undefined }) => Effect.Effect<ReadonlyArray<EnvironmentSummary>, TerrariumError>
  readonly versions: (input: Scope & { readonly name: string; readonly includeArchived?: boolean | undefined }) => Effect.Effect<ReadonlyArray<VersionRow>, TerrariumError>
  /** Curated (`AzureML-`) environments of every workspace, with their latest version. */
  readonly curatedCatalog: Effect.Effect<ReadonlyArray<CuratedCatalogRow>, TerrariumError>
  /** Every registered version with this canonical hash (and its image, once built). */
  readonly cacheLookup: (canonicalHash: string) => Effect.Effect<ReadonlyArray<CacheEntryRow>, TerrariumError>
  readonly diff: (input: Scope & { readonly from: EnvironmentRef; readonly to: EnvironmentRef }) => Effect.Effect<VersionDiff, TerrariumError>
  readonly audit: (input: Scope & { readonly name: string; readonly asOf?: AsOf | undefined }) => Effect.Effect<ReadonlyArray<AuditEntry>, TerrariumError>
  /** Where the log stands: head position, read-model checkpoint, database kind, migrations. */
  readonly status: Effect.Effect<Status, TerrariumError>
  /** The names of every migration applied to the database, oldest first. */
  readonly migrations: Effect.Effect<ReadonlyArray<string>, TerrariumError>
  /** Bring the read models up to the head of the log. */
  readonly catchUp: Effect.Effect<number, TerrariumError>
  /** Rebuild every read model from position 0. */
  readonly rebuildProjections: Effect.Effect<number, TerrariumError>
}>()("terrarium/Terrarium") {}

const conflictRetry = Schedule.max([Schedule.exponential("5 millis", 1.5), Schedule.recurs(50)])

/**
 * Builds the service from the ports and the caller.
 *
 * @since 0.1.0
 * @category layers
 */
export const make = (caller: Caller) => Effect.gen(function*() {
  const store = yield* EventStore
  const projections = yield* Projections
  const readModel = yield* ReadModel
  const database = yield* Database

  // Kysely's Migrator records what it applied in kysely_migration (in the working schema).
  const migrations = database.use("list migrations", (db) =>
    db.selectFrom("kysely_migration").select("name").orderBy("name").execute()
  ).pipe(Effect.map((rows) => rows.map((row: { readonly name: string }) => row.name)))

  const load = (workspace: string, name: string, untilPosition?: number) =>
    Effect.gen(function*() {
      const recorded = yield* store.readStream(Environment.environmentStream(workspace, name),
        untilPosition === undefined ? undefined : { untilPosition })
      const events = yield* Effect.forEach(recorded, decode)
      const state = events.reduce(Environment.evolve, Environment.initialState)
      const streamVersion = recorded.length === 0 ? 0 : recorded[recorded.length - 1]!.streamVersion
      return { state, streamVersion }
    })

  const decode = (recorded: RecordedEvent) =>
    EventCodec.decode(recorded).pipe(Effect.mapError((e) => new EventDecodeFailure({ message: e.message })))

  /**
   * One command against one stream: read, decide, append at the version read; on a lost race
   * read again and decide again. `toCommand` sees the current state (e.g. to hash the draft).
   */
  const execute = (
    workspace: string,
    name: string,
    toCommand: (state: Environment.State) => Effect.Effect<EnvironmentCommand, TerrariumError>
  ) =>
    Effect.gen(function*() {
      const { state, streamVersion } = yield* load(workspace, name)
      const command = yield* toCommand(state)
      // The decider cannot name a stream it has never seen; the handler can.
      if (state._tag === "New" && command._tag !== "Create" && command._tag !== "Define") {
        return yield* Effect.fail(Environment.notFound(name, workspace === "default" ? undefined : workspace))
      }
      const events = yield* fromResult(Environment.decide(command, state))
      if (events.length > 0) {
        const newEvents = events.map((event: EnvironmentEvent) =>
          EventCodec.encode(event, { actor: caller.actor, correlationId: caller.correlationId, causationId: null }, uuidv7()))
        yield* store.append(Environment.environmentStream(workspace, name), streamVersion, newEvents)
      }
      return { state: events.reduce(Environment.evolve, state), appended: events }
    }).pipe(
      Effect.retry({
        schedule: conflictRetry,
        while: (e) => e._tag === "EventStoreError" && e.reason._tag === "WrongExpectedVersion"
      }),
      Effect.tap((r) => r.appended.length > 0 ? projections.catchUp : Effect.void)
    )

  const active = (state: Environment.State, name: string): Effect.Effect<Environment.ActiveEnvironment, Environment.EnvironmentErrorType> =>
    state._tag === "Active"
      ? Effect.succeed(state)
      : Effect.fail(Environment.notFound(name))

  const registration = (state: Environment.State, name: string, hash: string, appended: ReadonlyArray<EnvironmentEvent>) =>
    Effect.gen(function*() {
      const env = yield* active(state, name)
      const version = Option.getOrThrow(Environment.versionByHash(state, hash))
      return {
        workspace: env.workspace,
        name: env.name,
        version: version.version,
        canonicalHash: version.canonicalHash,
        environmentType: environmentType(env.name, version.definition),
        created: appended.some((e) => e._tag === "Registered"),
        archived: version.archived
      } satisfies Registration
    })

  const toDraft = (state: Environment.State, name: string) =>
    Effect.gen(function*() {
      const env = yield* active(state, name)
      const canonicalHash = yield* CanonicalHash.hash(env.draft)
      const registeredAs = Option.getOrUndefined(Environment.versionByHash(state, canonicalHash))?.version
      const latest = Option.getOrUndefined(Environment.latest(state))
      return {
        workspace: env.workspace,
        name: env.name,
        definition: env.draft,
        canonicalHash,
        registeredAs,
        changed: latest === undefined || latest.canonicalHash !== canonicalHash
      } satisfies Draft
    })

  const view = (state: Environment.State, ref: EnvironmentRef, asOfPosition: number) =>
    Effect.gen(function*() {
      const env = yield* active(state, ref.name)
      const version = yield* fromResult(Environment.resolve(state, ref))
      const labels = Object.entries(env.labels).filter(([, v]) => v === version.version).map(([l]) => l)
      if (Option.getOrUndefined(Environment.latest(state))?.version === version.version) labels.unshift(Environment.LATEST_LABEL)
      return {
        workspace: env.workspace,
        name: env.name,
        version: version.version,
        canonicalHash: version.canonicalHash,
        hashAlgorithm: version.hashAlgorithm,
        environmentType: environmentType(env.name, version.definition),
        archived: version.archived,
        labels,
        definition: version.definition,
        asOfPosition
      } satisfies EnvironmentVersion
    })

  const positionOf = (asOf: AsOf | undefined) =>
    asOf === undefined ? store.head : "position" in asOf ? Effect.succeed(asOf.position) : store.positionAt(asOf.time)

  const draftChange = (workspace: string, name: string, command: EnvironmentCommand) =>
    execute(workspace, name, () => Effect.succeed(command)).pipe(Effect.flatMap(({ state }) => toDraft(state, name)))

  const resolveVersion = (workspace: string, ref: EnvironmentRef) =>
    load(workspace, ref.name).pipe(
      Effect.flatMap(({ state }) => fromResult(Environment.resolve(state, ref))),
      Effect.map((v) => v.version)
    )

  const versionCommand = (
    workspace: string,
    ref: EnvironmentRef,
    make: (version: string) => EnvironmentCommand
  ) =>
    Effect.gen(function*() {
      const version = yield* resolveVersion(workspace, ref)
      const { state } = yield* execute(workspace, ref.name, () => Effect.succeed(make(version)))
      return yield* view(state, { name: ref.name, version }, yield* store.head)
    })

  return Terrarium.of({
    create: ({ workspace, name, definition, version, curated }) =>
      Effect.gen(function*() {
        const canonicalHash = yield* CanonicalHash.hash(definition)
        const { state, appended } = yield* execute(workspace, name, () =>
          Effect.succeed(new Environment.Create({
            workspace,
            name,
            curated: curated ?? false,
            definition,
            canonicalHash,
            ...(version === undefined ? {} : { version })
          })))
        return yield* registration(state, name, canonicalHash, appended)
      }),
    addPackage: ({ workspace, name, spec }) => draftChange(workspace, name, new Environment.AddPackage({ spec })),
    removePackage: ({ workspace, name, manager, package: pkg }) =>
      draftChange(workspace, name, new Environment.RemovePackage({ manager, name: pkg })),
    setVariable: ({ workspace, name, variable, value }) =>
      draftChange(workspace, name, new Environment.SetVariable({ variable, value })),
    unsetVariable: ({ workspace, name, variable }) =>
      draftChange(workspace, name, new Environment.UnsetVariable({ variable })),
    register: ({ workspace, name, version }) =>
      Effect.gen(function*() {
        const { state, appended } = yield* execute(workspace, name, (state) =>
          active(state, name).pipe(
            Effect.flatMap((env) => CanonicalHash.hash(env.draft)),
            Effect.map((canonicalHash) =>
              new Environment.Register({ canonicalHash, ...(version === undefined ? {} : { version }) }))
          ))
        // After a registration (or a no-op) the draft is exactly the registered content.
        const env = yield* active(state, name)
        return yield* registration(state, name, yield* CanonicalHash.hash(env.draft), appended)
      }),
    archive: ({ workspace, ref }) => versionCommand(workspace, ref, (version) => new Environment.Archive({ version })),
    restore: ({ workspace, ref }) => versionCommand(workspace, ref, (version) => new Environment.Restore({ version })),
    label: ({ workspace, ref, label }) =>
      versionCommand(workspace, ref, (version) => new Environment.MoveLabel({ label, version })),
    show: ({ workspace, ref, asOf }) =>
      Effect.gen(function*() {
        const position = yield* positionOf(asOf)
        const { state } = yield* load(workspace, ref.name, asOf === undefined ? undefined : position)
        return yield* view(state, ref, position)
      }),
    draft: ({ workspace, name }) => load(workspace, name).pipe(Effect.flatMap(({ state }) => toDraft(state, name))),
    environments: ({ workspace, includeArchived }) =>
      readModel.environments({ workspace, includeArchived: includeArchived ?? false }),
    versions: ({ workspace, name, includeArchived }) =>
      readModel.versions({ workspace, name, includeArchived: includeArchived ?? false }),
    curatedCatalog: readModel.curatedCatalog(),
    cacheLookup: (canonicalHash) => readModel.cacheLookup(canonicalHash),
    diff: ({ workspace, from, to }) =>
      Effect.gen(function*() {
        const head = yield* store.head
        const a = yield* load(workspace, from.name).pipe(Effect.flatMap(({ state }) => view(state, from, head)))
        const b = yield* load(workspace, to.name).pipe(Effect.flatMap(({ state }) => view(state, to, head)))
        return { from: a, to: b, diff: Diff.diff(a.definition, b.definition) } satisfies VersionDiff
      }),
    audit: ({ workspace, name, asOf }) =>
      Effect.gen(function*() {
        const untilPosition = asOf === undefined ? undefined : yield* positionOf(asOf)
        const entries = yield* readModel.audit({ workspace, name, ...(untilPosition === undefined ? {} : { untilPosition }) })
        // Every environment's trail starts with its Defined event: no entries, no environment
        // (then); no need to read and fold the whole stream just to say so.
        if (entries.length === 0) return yield* Effect.fail(Environment.notFound(name, workspace === "default" ? undefined : workspace))
        return entries
      }),
    migrations,
    status: Effect.all({ head: store.head, checkpoint: projections.checkpoint, migrations }).pipe(
      Effect.map(({ head, checkpoint, migrations }) => ({
        database: database.kind,
        schema: database.schema,
        headPosition: head,
        projectionCheckpoint: checkpoint,
        migrations
      }) satisfies Status)
    ),
    catchUp: projections.catchUp,
    rebuildProjections: projections.rebuild
  })
})

const fromResult = <A, E>(result: Result.Result<A, E>): Effect.Effect<A, E> =>
  Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(result.failure)

/** @since 0.1.0 @category layers */
export const layer = (caller: Caller) => Layer.effect(Terrarium, make(caller))
