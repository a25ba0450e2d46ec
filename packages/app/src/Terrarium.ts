/**
 * The Terrarium application service: every use case of the environment registry, as one Effect
 * service over the ports (event store, projections, read model).
 *
 * Writes go read → fold → decide → append with the stream version read as the expected version.
 * A writer that loses an optimistic-concurrency race (another process appended first) re-reads
 * and decides again (references such as `@latest` included), so concurrent `create`s of different
 * definitions all get distinct versions and concurrent `create`s of one definition share one.
 *
 * Reads of the read models (`environments`, `versions`, `audit`, the curated catalog, the cache
 * lookup) first bring the projections up to the head of the log, so they also see what other
 * processes appended; when nothing is new that costs a head and a checkpoint lookup. A write
 * catches them up too, but only as a courtesy: once the append has committed the command has
 * succeeded, and a projection failure then is logged as a warning for the next read to repair.
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
  type NewEvent,
  type PackageManager,
  type PackageSpec,
  type RecordedEvent,
  WorkspaceName
} from "@terrarium/domain"
import { Database, type DatabaseError } from "@terrarium/adapters"
import { type ProjectionError, Projections, ReadModel, type ReadModelError } from "@terrarium/domain"
import type { AuditEntry, CacheEntryRow, CuratedCatalogRow, EnvironmentSummary, VersionRow } from "@terrarium/domain"
import { Context, Duration, Effect, Layer, Option, Schedule, Schema } from "effect"
// Event ids are UUIDv7 (RFC 9562): time-ordered, so the unique event_id index grows at its right
// edge like the position key instead of taking random inserts all over a large log, and ids sort
// by when they were made.
import { v7 as uuidv7 } from "uuid"
import type { AsOf } from "./AsOf.ts"
import type { EnvironmentRef } from "./EnvironmentRef.ts"
import { build, InvalidInput } from "./InvalidInput.ts"

/** @since 0.1.0 @category errors */
export class EventDecodeFailure extends Schema.TaggedError<EventDecodeFailure>()("EventDecodeFailure", {
  message: Schema.String
}) {}

/**
 * Other writers appended to the environment's stream before every attempt of this command, for
 * as long as a command retries (30 seconds). Nothing was appended; trying again later is safe.
 *
 * @since 0.1.0
 * @category errors
 */
export class StreamContended extends Schema.TaggedError<StreamContended>()("StreamContended", {
  workspace: Schema.String,
  name: Schema.String
}) {
  override get message() {
    return `environment '${this.workspace}/${this.name}' is contended: other writers changed it before every attempt ` +
      `for ${Duration.format(CONFLICT_RETRY_BUDGET)}; nothing was changed, try again`
  }
}

/** @since 0.1.0 @category errors */
export type TerrariumError =
  | Environment.EnvironmentErrorType
  | InvalidInput
  | StreamContended
  | EventStoreError
  | EventDecodeFailure
  | ProjectionError
  | ReadModelError
  | DatabaseError

/**
 * The defaults of every call: who is acting (the CLI: the OS user, or `--actor`).
 *
 * @since 0.1.0
 * @category config
 */
export interface Caller {
  readonly actor: string
}

/**
 * Per-call overrides for a write. Every call gets its own correlation id (a fresh UUIDv7 unless
 * given), shared by the events it appends, so an embedding service can pass its request id.
 *
 * @since 0.1.0
 * @category config
 */
export interface CallContext {
  readonly actor?: string | undefined
  readonly correlationId?: string | undefined
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

/** A write: where, and who under which correlation id. @since 0.1.0 @category model */
export type WriteScope = Scope & CallContext

/**
 * @since 0.1.0
 * @category service
 */
export class Terrarium extends Context.Service<Terrarium, {
  /** Define (or redefine) and register in one step, like `az ml environment create`. */
  readonly create: (input: WriteScope & {
    readonly name: string
    readonly definition: Definition
    readonly version?: string | undefined
    readonly curated?: boolean | undefined
  }) => Effect.Effect<Registration, TerrariumError>
  /** Change the draft of an existing environment; `register` turns the draft into a version. */
  readonly addPackage: (input: WriteScope & { readonly name: string; readonly spec: PackageSpec }) => Effect.Effect<Draft, TerrariumError>
  readonly removePackage: (input: WriteScope & { readonly name: string; readonly manager: PackageManager; readonly package: string }) => Effect.Effect<Draft, TerrariumError>
  readonly setVariable: (input: WriteScope & { readonly name: string; readonly variable: string; readonly value: string }) => Effect.Effect<Draft, TerrariumError>
  readonly unsetVariable: (input: WriteScope & { readonly name: string; readonly variable: string }) => Effect.Effect<Draft, TerrariumError>
  readonly register: (input: WriteScope & { readonly name: string; readonly version?: string | undefined }) => Effect.Effect<Registration, TerrariumError>
  readonly archive: (input: WriteScope & { readonly ref: EnvironmentRef }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  readonly restore: (input: WriteScope & { readonly ref: EnvironmentRef }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  readonly label: (input: WriteScope & { readonly ref: EnvironmentRef; readonly label: string }) => Effect.Effect<EnvironmentVersion, TerrariumError>
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
  /** The migrations this service's database applied when it was opened (empty if it was up to date). */
  readonly appliedMigrations: ReadonlyArray<string>
  /** Bring the read models up to the head of the log. */
  readonly catchUp: Effect.Effect<number, TerrariumError>
  /** Rebuild every read model from position 0. */
  readonly rebuildProjections: Effect.Effect<number, TerrariumError>
}>()("terrarium/Terrarium") {}

/**
 * How long a command keeps retrying after losing optimistic-concurrency races before it fails
 * with `StreamContended`.
 */
const CONFLICT_RETRY_BUDGET = Duration.seconds(30)

/**
 * The waits between attempts of a command that lost a race: 5 ms growing 1.5x, each capped at
 * 250 ms and then jittered (±20%, so at most 300 ms), for at most `CONFLICT_RETRY_BUDGET` in all.
 * The cap keeps a writer that lost many races from sleeping for seconds while the stream is free
 * again; the jitter comes after it so that writers that all reached the cap do not retry in
 * lockstep and collide again.
 */
const conflictRetrySchedule = Schedule.exponential("5 millis", 1.5).pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.millis(250)))),
  Schedule.jittered,
  Schedule.upTo({ duration: CONFLICT_RETRY_BUDGET })
)

const isConflict = (error: TerrariumError): boolean =>
  error._tag === "EventStoreError" && error.reason._tag === "WrongExpectedVersion"

/** The stream a write goes to, and who writes under which correlation id. */
interface Target {
  readonly workspace: string
  readonly name: string
  readonly actor: string
  readonly correlationId: string
}

const WorkspaceScope = Schema.Struct({ workspace: WorkspaceName })

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

  const missing = (workspace: string, name: string) =>
    Environment.notFound(name, workspace === "default" ? undefined : workspace)

  const workspaceOf = (workspace: string) => Effect.map(build(WorkspaceScope, { workspace }), (scope) => scope.workspace)

  const targetOf = (input: WriteScope & { readonly name: string }) =>
    Effect.map(workspaceOf(input.workspace), (workspace): Target => ({
      workspace,
      name: input.name,
      actor: input.actor ?? caller.actor,
      correlationId: input.correlationId ?? uuidv7()
    }))

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
   * The rows of one command's events. They share the call's correlation id; each event after the
   * first is caused by the one before it (the `Registered` that follows a `Defined`).
   */
  const toNewEvents = (events: ReadonlyArray<EnvironmentEvent>, target: Target): ReadonlyArray<NewEvent> => {
    let causationId: string | null = null
    return events.map((event) => {
      const id = uuidv7()
      const row = EventCodec.encode(event, { actor: target.actor, correlationId: target.correlationId, causationId }, id)
      causationId = id
      return row
    })
  }

  /** After a committed append: bring the read models along, but never fail the command for it. */
  const catchUpAfterWrite = (target: Target) =>
    projections.catchUp.pipe(
      Effect.asVoid,
      Effect.catch((error) =>
        Effect.logWarning(
          `environment '${target.workspace}/${target.name}' was changed, but the read models could not be brought up ` +
            `to date (${error.message}); the next read will catch them up`
        )
      )
    )

  /**
   * One command against one stream: read, decide, append at the version read; on a lost race
   * read again and decide again. `toCommand` sees the current state, so whatever it derives from
   * the state (the draft's hash, the version `@latest` points at) is derived again on a retry.
   */
  const execute = <C extends EnvironmentCommand>(
    target: Target,
    toCommand: (state: Environment.State) => Effect.Effect<C, TerrariumError>
  ) =>
    Effect.gen(function*() {
      const stream = Environment.environmentStream(target.workspace, target.name)
      const { state, streamVersion } = yield* load(target.workspace, target.name)
      const command = yield* toCommand(state)
      const events = yield* Effect.fromResult(Environment.decide(command, state))
      if (events.length > 0) yield* store.append(stream, streamVersion, toNewEvents(events, target))
      return { state: events.reduce(Environment.evolve, state), appended: events, command }
    }).pipe(
      Effect.retry({ schedule: conflictRetrySchedule, while: isConflict }),
      Effect.catchIf(isConflict, () => Effect.fail(new StreamContended({ workspace: target.workspace, name: target.name }))),
      Effect.tap((r) => r.appended.length > 0 ? catchUpAfterWrite(target) : Effect.void)
    )

  const active = (state: Environment.State, workspace: string, name: string): Effect.Effect<Environment.ActiveEnvironment, Environment.EnvironmentErrorType> =>
    state._tag === "Active"
      ? Effect.succeed(state)
      : Effect.fail(missing(workspace, name))

  /** A `toCommand` for commands on an existing environment: the decider cannot name a stream it has never seen. */
  const onActive = <C extends EnvironmentCommand>(
    target: Target,
    toCommand: (state: Environment.ActiveEnvironment) => Effect.Effect<C, TerrariumError>
  ) =>
  (state: Environment.State): Effect.Effect<C, TerrariumError> =>
    Effect.flatMap(active(state, target.workspace, target.name), toCommand)

  const registration = (state: Environment.State, target: Target, hash: string, appended: ReadonlyArray<EnvironmentEvent>) =>
    Effect.gen(function*() {
      const env = yield* active(state, target.workspace, target.name)
      // The draft is what was just registered (or found registered): look it up by content, so a
      // version registered under an earlier hash algorithm is found too.
      const version = Option.getOrThrow(Environment.versionWithContent(state, env.draft, hash))
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

  const toDraft = (state: Environment.State, workspace: string, name: string) =>
    Effect.gen(function*() {
      const env = yield* active(state, workspace, name)
      const canonicalHash = yield* CanonicalHash.hash(env.draft)
      const registeredAs = Option.getOrUndefined(Environment.versionWithContent(state, env.draft, canonicalHash))?.version
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

  const view = (state: Environment.State, workspace: string, ref: EnvironmentRef, asOfPosition: number) =>
    Effect.gen(function*() {
      const env = yield* active(state, workspace, ref.name)
      const version = yield* Effect.fromResult(Environment.resolve(state, ref))
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

  /** A read of the read models, after they have caught up with the log (other processes' appends included). */
  const current = <A>(read: Effect.Effect<A, TerrariumError>) => Effect.andThen(projections.catchUp, read)

  /**
   * A change of the draft. Its command depends on the input alone, so it is built (and checked)
   * once, before the stream is read: a value that breaks a rule is reported as such whether or not
   * the environment exists, and a retry after a lost race does not build it again.
   */
  const draftChange = <C extends EnvironmentCommand>(
    input: WriteScope & { readonly name: string },
    buildCommand: Effect.Effect<C, InvalidInput>
  ) =>
    Effect.gen(function*() {
      const target = yield* targetOf(input)
      const command = yield* buildCommand
      const { state } = yield* execute(target, onActive(target, () => Effect.succeed(command)))
      return yield* toDraft(state, target.workspace, target.name)
    })

  /**
   * A command on one version given by reference. The reference is resolved inside the retried
   * decision: after a lost race `x@latest` means the version that is latest now.
   */
  const versionCommand = <C extends Environment.Archive | Environment.Restore | Environment.MoveLabel>(
    input: WriteScope & { readonly ref: EnvironmentRef },
    toCommand: (version: string) => Effect.Effect<C, InvalidInput>
  ) =>
    Effect.gen(function*() {
      const target = yield* targetOf({ ...input, name: input.ref.name })
      const { state, command } = yield* execute(target, onActive(target, (env) =>
        Effect.fromResult(Environment.resolve(env, input.ref)).pipe(Effect.flatMap((version) => toCommand(version.version)))))
      return yield* view(state, target.workspace, { name: target.name, version: command.version }, yield* store.head)
    })

  return Terrarium.of({
    create: (input) =>
      Effect.gen(function*() {
        const target = yield* targetOf(input)
        const canonicalHash = yield* CanonicalHash.hash(input.definition)
        const command = yield* build(Environment.Create, {
          workspace: target.workspace,
          name: target.name,
          curated: input.curated ?? false,
          definition: input.definition,
          canonicalHash,
          ...(input.version === undefined ? {} : { version: input.version })
        })
        const { state, appended } = yield* execute(target, () => Effect.succeed(command))
        return yield* registration(state, target, canonicalHash, appended)
      }),
    addPackage: (input) => draftChange(input, build(Environment.AddPackage, { spec: input.spec })),
    removePackage: (input) =>
      draftChange(input, build(Environment.RemovePackage, { manager: input.manager, name: input.package })),
    setVariable: (input) =>
      draftChange(input, build(Environment.SetVariable, { variable: input.variable, value: input.value })),
    unsetVariable: (input) => draftChange(input, build(Environment.UnsetVariable, { variable: input.variable })),
    register: (input) =>
      Effect.gen(function*() {
        const target = yield* targetOf(input)
        const { state, command, appended } = yield* execute(target, onActive(target, (env) =>
          CanonicalHash.hash(env.draft).pipe(Effect.flatMap((canonicalHash) =>
            build(Environment.Register, { canonicalHash, ...(input.version === undefined ? {} : { version: input.version }) })
          ))))
        // After a registration (or a no-op) the draft is exactly the registered content.
        return yield* registration(state, target, command.canonicalHash, appended)
      }),
    archive: (input) => versionCommand(input, (version) => build(Environment.Archive, { version })),
    restore: (input) => versionCommand(input, (version) => build(Environment.Restore, { version })),
    label: (input) => versionCommand(input, (version) => build(Environment.MoveLabel, { label: input.label, version })),
    show: ({ workspace, ref, asOf }) =>
      Effect.gen(function*() {
        const ws = yield* workspaceOf(workspace)
        const position = yield* positionOf(asOf)
        const { state } = yield* load(ws, ref.name, asOf === undefined ? undefined : position)
        return yield* view(state, ws, ref, position)
      }),
    draft: ({ workspace, name }) =>
      workspaceOf(workspace).pipe(
        Effect.flatMap((ws) => load(ws, name).pipe(Effect.flatMap(({ state }) => toDraft(state, ws, name))))
      ),
    environments: ({ workspace, includeArchived }) =>
      workspaceOf(workspace).pipe(Effect.flatMap((ws) =>
        current(readModel.environments({ workspace: ws, includeArchived: includeArchived ?? false }))
      )),
    versions: ({ workspace, name, includeArchived }) =>
      workspaceOf(workspace).pipe(Effect.flatMap((ws) =>
        current(readModel.versions({ workspace: ws, name, includeArchived: includeArchived ?? false }))
      )),
    curatedCatalog: current(readModel.curatedCatalog()),
    cacheLookup: (canonicalHash) => current(readModel.cacheLookup(canonicalHash)),
    diff: ({ workspace, from, to }) =>
      Effect.gen(function*() {
        const ws = yield* workspaceOf(workspace)
        const head = yield* store.head
        const source = yield* load(ws, from.name)
        const a = yield* view(source.state, ws, from, head)
        // Two versions of one environment (`x:1` against `x:2`) are one stream: read it once.
        const target = to.name === from.name ? source : yield* load(ws, to.name)
        const b = yield* view(target.state, ws, to, head)
        return { from: a, to: b, diff: Diff.diff(a.definition, b.definition) } satisfies VersionDiff
      }),
    audit: ({ workspace, name, asOf }) =>
      Effect.gen(function*() {
        const ws = yield* workspaceOf(workspace)
        const untilPosition = asOf === undefined ? undefined : yield* positionOf(asOf)
        const entries = yield* current(
          readModel.audit({ workspace: ws, name, ...(untilPosition === undefined ? {} : { untilPosition }) })
        )
        // Every environment's trail starts with its Defined event: no entries, no environment
        // (then); no need to read and fold the whole stream just to say so.
        if (entries.length === 0) return yield* Effect.fail(missing(ws, name))
        return entries
      }),
    migrations,
    appliedMigrations: database.applied,
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

/** @since 0.1.0 @category layers */
export const layer = (caller: Caller) => Layer.effect(Terrarium, make(caller))
