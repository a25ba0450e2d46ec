/**
 * The image use cases: build a registered version into an image, exactly once per canonical
 * hash, and read the image cache and the build logs.
 *
 * **One build per hash.** A build starts by appending `BuildStarted` to the hash's build stream
 * (`Build.ts`) at the version it read: of any number of callers, in one process or many on one
 * database, one wins the append and holds the lease; every other one is refused
 * (`BuildInProgress`) and follows the stream until that build's `ImageBuilt` (it returns the
 * same image) or `BuildFailed` (it fails the same way). The holder renews its lease while it
 * builds; a holder that died stops renewing, its lease runs out, and the next caller takes the
 * build over. A Ctrl-C records `BuildFailed` (reason `Interrupted`) on the way out; a killed
 * process records nothing, and its lease runs out.
 *
 * **The cache.** A built hash answers from the read model's image cache (migration 0010), after
 * asking the engine whether the image is still there: one pruned by hand is built again, never
 * reported as cached.
 *
 * **Push and pull-through.** A build that pushes (`push`, or a default registry configured:
 * `RegistrySettings.ts`) pushes the hash's image, built or cached, as `registry/repository:<16 hex
 * of the hash>` and records `ImagePushed` with the manifest digest (once per reference and
 * digest). A built hash whose image this engine lacks is pulled **by digest** from where it was
 * pushed before anything is built; only when no registry has it is it built again. On
 * PostgreSQL the requester pushes, after the worker's build, from the engine it shares with the
 * workers (docs/images.md).
 *
 * @since 0.2.0
 */
import {
  type AuditEntry,
  BlobStore,
  Build,
  type BuildContext,
  type BuildJob,
  BuildQueue,
  BuildContextStore,
  type BuildProgress,
  type BuiltImageRow,
  EventCodec,
  EngineFailure,
  EventStore,
  ImageBuilder,
  ImageBuilderError,
  type ImageBuildRow,
  LogStore,
  type PrivateWheelSource,
  privateWheelsOf,
  UnbuildableRequest,
  WHEEL_URL_LIFETIME_SECONDS,
  wheelBlobName,
  type Definition,
  Projections,
  ReadModel,
  type RecordedEvent
} from "@terrarium/domain"
import { Clock, Duration, Effect, Exit, Fiber, Option, Schema, Stream } from "effect"
import { v7 as uuidv7 } from "uuid"
import * as BaseImageRefresh from "./BaseImageRefresh.ts"
import { commandHandler, loadStream } from "./CommandHandler.ts"
import { type EnvironmentRef, formatRef } from "./EnvironmentRef.ts"
import { loadEnvironment, versionView, workspaceOf } from "./EnvironmentViews.ts"
import { EventDecodeFailure, type TerrariumError } from "./Errors.ts"
import { InvalidInput } from "./InvalidInput.ts"
import { type RegistrySettings, type ResolvedRegistry, resolveRegistry } from "./RegistrySettings.ts"
import type { Caller, CallContext, Scope } from "./Results.ts"

/**
 * How builds hold their lease, and who this process is. `holder` names the process in the
 * `BuildStarted` event (host, pid and a random part by default: `Setup.ts`).
 *
 * @since 0.2.0
 * @category config
 */
export interface BuildSettings {
  readonly holder: string
  /** How long a lease lasts without renewal (default 30 s). */
  readonly lease?: Duration.Input | undefined
  /** How often the holder renews it (default a third of the lease). */
  readonly renewEvery?: Duration.Input | undefined
  /** How often a waiter looks at the build stream (default 200 ms). */
  readonly pollEvery?: Duration.Input | undefined
  /** Where builds push, and the registry credentials by reference (default: none; `Setup.ts` reads `TERRARIUM_REGISTRY*`). */
  readonly registry?: RegistrySettings | undefined
}

/**
 * What a build call reports as it goes: the builder's progress (its own build, or the log lines
 * of the build it waits for, when following), that it waits for another build, that it starts one,
 * that its build's log could not be written (once: the build goes on, its log misses lines).
 *
 * @since 0.2.0
 * @category model
 */
export type BuildUpdate =
  | { readonly _tag: "Progress"; readonly progress: BuildProgress }
  | { readonly _tag: "Waiting"; readonly buildId: string; readonly holder: string; readonly leaseExpiresAt: Date }
  | { readonly _tag: "Started"; readonly buildId: string; readonly cause: Build.StartCause }
  | { readonly _tag: "Queued"; readonly queued: boolean; readonly location: string; readonly buildId: string | undefined }
  | { readonly _tag: "LogUnavailable"; readonly buildId: string; readonly message: string }

/**
 * What a build call pushed: the reference, the manifest digest the registry stored, and whether
 * an `ImagePushed` was appended (`false`: that digest was recorded under that reference already).
 *
 * @since 0.3.0
 * @category model
 */
export interface PushedImage {
  readonly reference: string
  readonly digest: string
  readonly recorded: boolean
}

/**
 * The answer of a build call. `outcome`: `cached` (answered from the cache: nothing built),
 * `built` (this call built it), `joined` (it waited for the build another call ran) or `pulled`
 * (the engine lacked the built image; it was pulled by digest from where it was pushed).
 * `pushed` is set when the call pushed.
 *
 * @since 0.2.0
 * @category model
 */
export interface ImageBuildResult {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly image: string
  readonly outcome: "cached" | "built" | "joined" | "pulled"
  readonly built: BuiltImageRow
  readonly pushed?: PushedImage | undefined
}

/**
 * The image was pushed, but its push could not be recorded: the hash was built again meanwhile,
 * so the image pushed is not the hash's image any more. Building (and pushing) again records it.
 *
 * @since 0.3.0
 * @category errors
 */
export class PushNotRecorded extends Schema.TaggedError<PushNotRecorded>()("PushNotRecorded", {
  reference: Schema.String,
  detail: Schema.String
}) {
  override get message() { return `the push of ${this.reference} is not recorded: ${this.detail}` }
}

/**
 * The build of a hash failed (this call's, or the one it waited for): the builder's reason, the
 * failing step and the last lines of its log; `logKey` reads the whole log (`image logs`).
 *
 * @since 0.2.0
 * @category errors
 */
export class ImageBuildFailed extends Schema.TaggedError<ImageBuildFailed>()("ImageBuildFailed", {
  canonicalHash: Schema.String,
  image: Schema.String,
  buildId: Schema.String,
  reason: Schema.String,
  detail: Schema.String,
  step: Schema.NullOr(Schema.String),
  logKey: Schema.String
}) {
  override get message() {
    return `the build of ${this.image} failed${this.step === null ? "" : ` at ${this.step}`}: ${this.detail}`
  }
}

/** Nothing was ever built or asked for under this hash or reference. @since 0.2.0 @category errors */
export class ImageNotFound extends Schema.TaggedError<ImageNotFound>()("ImageNotFound", { target: Schema.String }) {
  override get message() { return `no image has been built or asked for ${this.target}; build it with: terrarium environment build ${this.target}` }
}

/**
 * What `cancelBuild` did: how many queued jobs it dropped, and the running build it stopped.
 *
 * @since 0.3.0
 * @category model
 */
export interface CancelledBuild {
  readonly canonicalHash: string
  readonly image: string
  readonly cancelledJobs: number
  readonly cancelledBuildId: string | null
}

/** There was no queued or running build to cancel. @since 0.3.0 @category errors */
export class NothingToCancel extends Schema.TaggedError<NothingToCancel>()("NothingToCancel", { image: Schema.String }) {
  override get message() { return `no build of ${this.image} is queued or running` }
}

/**
 * A queued build ended without a result: its job was cancelled before any worker started it, or
 * gave up after its retries.
 *
 * @since 0.3.0
 * @category errors
 */
export class QueuedBuildDropped extends Schema.TaggedError<QueuedBuildDropped>()("QueuedBuildDropped", { image: Schema.String }) {
  override get message() { return `the queued build of ${this.image} ended without a result (cancelled, or it failed on every retry); see: terrarium image logs` }
}

/** What `image show`/`image logs` take: a version, or a canonical hash. @since 0.2.0 @category model */
export type ImageTarget = { readonly ref: EnvironmentRef } | { readonly canonicalHash: string }

/**
 * @since 0.2.0
 * @category use cases
 */
export interface ImageBuilds extends BaseImageRefresh.BaseImageRefresh {
  /**
   * Build a version's image unless its hash is built already (`noCache`: build it again).
   * `onUpdate` hears the progress; `follow` also streams the log of a build this call waits for.
   */
  readonly build: (input: Scope & CallContext & {
    readonly ref: EnvironmentRef
    readonly noCache?: boolean | undefined
    readonly follow?: boolean | undefined
    readonly onUpdate?: ((update: BuildUpdate) => Effect.Effect<void>) | undefined
    /**
     * Push the image (built, cached or pulled) to `registry` (`HOST[:PORT]/REPOSITORY`), else to
     * the default registry. With a default registry configured, every build pushes.
     */
    readonly push?: { readonly registry?: string | undefined } | undefined
  }) => Effect.Effect<ImageBuildResult, TerrariumError>
  /**
   * Cancels the build of a version's hash: its waiting jobs, and the running build, which is
   * recorded as failed (reason `Cancelled`); its builder stops when it next renews its lease.
   */
  readonly cancelBuild: (input: Scope & CallContext & { readonly ref: EnvironmentRef }) => Effect.Effect<CancelledBuild, TerrariumError>
  /**
   * Runs the queued builds, `concurrency` at a time, until interrupted (then it takes no new job
   * and lets the running ones finish). Each job runs `build` in this process: the build stream's
   * lease keeps a job that runs twice from building twice.
   */
  readonly work: (input: { readonly concurrency?: number | undefined; readonly onJob?: ((job: BuildJob, outcome: string) => Effect.Effect<void>) | undefined }) =>
    Effect.Effect<never, TerrariumError>
  /** The image cache's row of a version's hash, or of a hash. */
  readonly image: (input: Scope & { readonly target: ImageTarget }) => Effect.Effect<ImageBuildRow, TerrariumError>
  /** Every row of the image cache, by hash. */
  readonly images: Effect.Effect<ReadonlyArray<ImageBuildRow>, TerrariumError>
  /** The image status of a hash, if anything was ever asked for it (for `environment show`). */
  readonly imageStatus: (canonicalHash: string) => Effect.Effect<ImageBuildRow | undefined, TerrariumError>
  /** The queued job of a build id that no worker has started yet (or is starting), if there is one. */
  readonly queuedBuild: (buildId: string) => Effect.Effect<BuildJob | undefined, TerrariumError>
  /**
   * The log of one build of a hash; `follow`: until it is sealed. Where builds are queued the
   * writer is another process: the queue's bell (PostgreSQL: LISTEN/NOTIFY) says when to read
   * again, so a follower on any process sees the lines as they come.
   */
  readonly buildLog: (input: { readonly canonicalHash: string; readonly buildId: string; readonly follow: boolean }) => Stream.Stream<string, TerrariumError>
  /** The log of the last build of a version's hash (running, built or failed); `follow` until it ends. */
  readonly logs: (input: Scope & { readonly target: ImageTarget; readonly follow?: boolean | undefined }) => Stream.Stream<string, TerrariumError>
}

/** How build events are stored; a row that cannot be read fails the read of its hash's stream. */
const buildCodec = {
  decode: (recorded: RecordedEvent) =>
    EventCodec.decodeBuild(recorded).pipe(Effect.mapError((error) =>
      new EventDecodeFailure({
        message: `the build stream of ${Build.hashOfStream(error.workspace, error.stream) ?? error.stream} cannot be read: its event ` +
          `at position ${error.position} (${error.type}, schema version ${error.schemaVersion}): ${error.detail.replace(/\s*\n\s*/g, "; ")}`,
        workspace: error.workspace, stream: error.stream, position: error.position, malformed: error.isMalformed
      })
    )),
  encode: EventCodec.encodeBuild
}

/** The `BuildFailed` reason of a build stopped by `cancelBuild`. */
const CANCELLED = "Cancelled"

const handle = commandHandler(Build.decider, buildCodec)
const load = loadStream(Build.decider, buildCodec)

const rowOfBuilt = (event: Build.ImageBuilt, builtAt: Date): BuiltImageRow => {
  const { _tag, ...fields } = event
  return { ...fields, builtAt }
}

const failureOf = (hash: string, failed: Build.BuildFailed) =>
  new ImageBuildFailed({
    canonicalHash: hash, image: Build.imageNameOf(hash), buildId: failed.buildId, reason: failed.reason,
    detail: failed.message + (failed.logTail.length > 0 ? `\n${failed.logTail.join("\n")}` : ""), step: failed.step,
    logKey: failed.logKey
  })

/**
 * The audit entries of the builds of an environment's versions: the events of the build stream of
 * each hash it registered (up to a log position, for `--as-of`), as lines of its trail, so that
 * `audit` shows when its image was built, by whom, and what drifted (`pip demo-a 1.0 → 1.1`).
 * Each entry names the first of its versions with that hash.
 *
 * @since 0.2.0
 * @category audit
 */
export const buildAuditEntries = (workspace: string, name: string, untilPosition?: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const { state } = yield* loadEnvironment(workspace, name, untilPosition)
    if (state._tag !== "Active") return []
    const versionOf = new Map<string, string>()
    for (const v of state.versions) if (!versionOf.has(v.canonicalHash)) versionOf.set(v.canonicalHash, v.version)
    const entries: Array<AuditEntry> = []
    for (const [hash, version] of versionOf) {
      const rows = yield* store.readStream(Build.streamOf(hash), untilPosition === undefined ? undefined : { untilPosition })
      // A renewal says only that a build was alive; the trail would be mostly renewals.
      for (const row of rows.filter((r) => r.type !== "BuildLeaseRenewed")) {
        const event = yield* buildCodec.decode(row)
        entries.push({
          position: row.position, workspace, name, eventType: row.type, version, actor: row.metadata.actor,
          occurredAt: row.occurredAt, correlationId: row.metadata.correlationId, causationId: row.metadata.causationId,
          summary: Build.summarize(event), details: row.data
        })
      }
    }
    return entries
  })

/** How a builder's failure is recorded: its reason, the failing step, the last lines of its log. */
const describeBuilderError = (error: ImageBuilderError) => {
  const reason = error.reason
  const step = reason._tag === "StepFailed" ? reason.step : reason._tag === "ImportCheckFailed" ? `import ${reason.module}` : null
  const logTail = reason._tag === "StepFailed" || reason._tag === "ImportCheckFailed" ? reason.logTail.slice(-MAX_TAIL_LINES) : []
  // The reason's own message already ends with the log tail; the event keeps them apart.
  const message = reason._tag === "StepFailed" ? `build step failed: ${reason.step}` : reason.message
  return { reason: reason._tag, message: clip(message), step: step === null ? null : clip(step), logTail: logTail.map(clip) }
}

/**
 * A build's output is the engine's and the packages', not ours: what of it an event keeps is
 * bounded (the whole log is in the log store).
 */
const MAX_TAIL_LINES = 20
const MAX_EVENT_TEXT = 2_000
const clip = (text: string) => (text.length <= MAX_EVENT_TEXT ? text : `${text.slice(0, MAX_EVENT_TEXT)}…`)

/** The lines a progress event adds to the log. */
const logLines = (progress: BuildProgress): ReadonlyArray<string> =>
  progress._tag === "Log" ? [progress.line] : [`#${progress.index}/${progress.total} ${progress.cached ? "CACHED " : ""}${progress.name}`]

/** What one round of the build loop ended with: an answer, or a reason to look again. */
type Round = { readonly _tag: "Done"; readonly result: ImageBuildResult } | { readonly _tag: "Again" }
const again: Round = { _tag: "Again" }

/**
 * The image use cases over the ports of the context.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (caller: Caller, settings: BuildSettings) => Effect.gen(function*() {
  const store = yield* EventStore
  const projections = yield* Projections
  const readModel = yield* ReadModel
  const builder = yield* ImageBuilder
  const contexts = yield* BuildContextStore
  const queue = Option.getOrUndefined(yield* Effect.serviceOption(BuildQueue))
  const plainLogs = yield* LogStore
  const blobs = Option.getOrUndefined(yield* Effect.serviceOption(BlobStore))
  /**
   * The log store; with a queue, each write also rings the log's bell, so that a requester
   * following the build from another process reads the new lines at once.
   */
  const logs: LogStore["Service"] = queue === undefined ? plainLogs : {
    ...plainLogs,
    append: (key, lines) => Effect.tap(plainLogs.append(key, lines), () => Effect.ignore(queue.announce(key))),
    seal: (key) => Effect.tap(plainLogs.seal(key), () => Effect.ignore(queue.announce(key)))
  }
  const leaseMs = Duration.toMillis(Duration.fromInputUnsafe(settings.lease ?? "30 seconds"))
  const renewEvery = settings.renewEvery ?? Duration.millis(Math.max(1, Math.floor(leaseMs / 3)))
  const pollEvery = settings.pollEvery ?? "200 millis"

  const withStore = <A, E>(effect: Effect.Effect<A, E, EventStore>) => Effect.provideService(effect, EventStore, store)

  /**
   * A short-lived read URL of each private wheel the definition lists, valid while the scope (the
   * build) lasts and never longer than `WHEEL_URL_LIFETIME_SECONDS`; a wheel that cannot be had
   * fails the build as unbuildable, naming the wheel.
   */
  const privateWheelUrls = (definition: Definition) =>
    Effect.forEach(privateWheelsOf(definition), ({ requirement, ref }) => {
      const unbuildable = (detail: string) => new ImageBuilderError({ reason: new UnbuildableRequest({ detail: `private wheel ${ref.fileName}: ${detail}` }) })
      if (blobs === undefined) return Effect.fail(unbuildable("this setup has no blob store to read wheels from"))
      return blobs.readUrl(wheelBlobName(ref), { lifetimeSeconds: WHEEL_URL_LIFETIME_SECONDS }).pipe(
        Effect.map((url): PrivateWheelSource => ({ reference: requirement.url!, fileName: ref.fileName, sha256: ref.sha256, url })),
        Effect.mapError((error) =>
          unbuildable(error.reason._tag === "BlobNotFound" ? `it was not uploaded to workspace ${ref.workspace} (terrarium wheel upload)` : error.message)
        )
      )
    })

  const resolveVersion = (workspace: string, ref: EnvironmentRef) =>
    Effect.gen(function*() {
      const ws = yield* workspaceOf(workspace)
      const { state } = yield* withStore(loadEnvironment(ws, ref.name))
      return yield* versionView(state, ws, ref, yield* store.head)
    })

  const hashOf = (workspace: string, target: ImageTarget) =>
    "canonicalHash" in target ? Effect.succeed(target.canonicalHash) : Effect.map(resolveVersion(workspace, target.ref), (v) => v.canonicalHash)

  const cacheRow = (hash: string) =>
    Effect.andThen(projections.catchUp, readModel.imageBuilds({ canonicalHash: hash })).pipe(Effect.map((rows) => rows[0]))

  /** What a build call works on: the version, its hash, the image, the build stream; whom it tells. */
  const subjectOf = (input: Parameters<ImageBuilds["build"]>[0]) =>
    Effect.map(resolveVersion(input.workspace, input.ref), (version) => ({
      version,
      hash: version.canonicalHash,
      image: Build.imageNameOf(version.canonicalHash),
      stream: Build.streamOf(version.canonicalHash),
      update: input.onUpdate ?? ((_: BuildUpdate) => Effect.void)
    }))

  /**
   * The last image built of a hash, pulled by digest from where it was pushed (newest push first)
   * and tagged as the hash's image; `undefined` when no registry it was pushed to has it (then it
   * is built again). A registry that cannot be asked (down, refusing) fails the call: building
   * again would make another image than the one recorded.
   */
  const pullThrough = (state: Build.BuildState, image: string, registry: ResolvedRegistry) =>
    Effect.gen(function*() {
      let failure: ImageBuilderError | undefined
      for (const push of Build.pushesOfBuilt(state)) {
        const pulled = yield* Effect.result(builder.pull(registry.repositoryOf(push.registry, push.repository), push.digest, image))
        if (pulled._tag === "Success") return pulled.success
        const reason = pulled.failure.reason
        const missing = reason._tag === "RegistryTransferFailed" && reason.error.reason._tag === "NotFound"
        if (!missing) failure ??= pulled.failure
      }
      if (failure !== undefined) return yield* Effect.fail(failure)
      return undefined
    })

  /**
   * A build in this process. `baseMovedTo`: a refresh found the base's tag naming this digest,
   * not the one the image records; the base is pulled again and the build's cause is `base-moved`.
   */
  const buildHere = (
    input: Parameters<ImageBuilds["build"]>[0] & { readonly baseMovedTo?: string | undefined; readonly buildId?: string | undefined },
    registry: ResolvedRegistry
  ): Effect.Effect<ImageBuildResult, TerrariumError> =>
    Effect.gen(function*() {
      const { version, hash, image, stream, update } = yield* subjectOf(input)
      /**
       * The id a queued job's requester was given (`BuildJob.buildId`): this call's first build
       * starts under it, unless an earlier attempt of the job started it already (a retry after
       * its worker died): every build has an id of its own.
       */
      let preferredId = input.buildId === undefined ? undefined : input.buildId
      if (preferredId !== undefined) {
        const rows = yield* store.readStream(stream)
        if (rows.some((r) => r.type === "BuildStarted" && (r.data as { readonly buildId?: unknown }).buildId === preferredId)) preferredId = undefined
      }
      const target = {
        stream, subject: { kind: "image build", name: hash }, actor: input.actor ?? caller.actor,
        correlationId: input.correlationId ?? uuidv7()
      }
      const answer = (outcome: ImageBuildResult["outcome"], built: BuiltImageRow): Extract<Round, { _tag: "Done" }> =>
        ({ _tag: "Done", result: { workspace: version.workspace, name: version.name, version: version.version, canonicalHash: hash, image, outcome, built } })
      let noCache = input.noCache ?? false
      let imageMissing = false
      const baseMovedTo = input.baseMovedTo
      /** Whether a built image answers this call: it does unless a refresh's digest is news to it. */
      const answersRefresh = (built: { readonly baseImageDigest: string | null }) =>
        baseMovedTo === undefined || Build.registryDigestOf(built.baseImageDigest) === baseMovedTo
      let pullTried = false

      // The cache: a built hash whose image is still on the engine answers at once.
      if (!noCache && baseMovedTo === undefined) {
        const row = yield* cacheRow(hash)
        if (row?.status === "built" && row.built !== null) {
          if ((yield* builder.inspect(row.built.image)) !== undefined) return answer("cached", row.built).result
          imageMissing = true
        }
      }

      /**
       * An image built, as the cache holds it (so that every caller, whether it built, waited or
       * hit the cache, gets the same row); the event itself if the cache has moved past it.
       */
      const recordedBuilt = (event: Build.ImageBuilt) =>
        Effect.map(cacheRow(hash), (row) =>
          row?.built?.buildId === event.buildId ? row.built : rowOfBuilt(event, new Date()))

      /** Follows the stream until the running build ends, or its lease runs out (then: again). */
      const waitFor = (running: Build.Lease): Effect.Effect<Round, TerrariumError> =>
        Effect.gen(function*() {
          yield* update({ _tag: "Waiting", buildId: running.buildId, holder: running.holder, leaseExpiresAt: new Date(running.expiresAt) })
          const tail = input.follow
            ? yield* Effect.forkChild(
              Stream.runForEach(logs.read(Build.logKeyOf(hash, running.buildId), { follow: true }), (line) =>
                update({ _tag: "Progress", progress: { _tag: "Log", line } })).pipe(Effect.ignore)
            )
            : undefined
          const round = yield* Effect.gen(function*() {
            while (true) {
              yield* Effect.sleep(pollEvery)
              const { state } = yield* withStore(load(stream))
              if (state.built?.buildId === running.buildId) return answer("joined", yield* recordedBuilt(state.built))
              if (state.failed?.buildId === running.buildId) return yield* Effect.fail(failureOf(hash, state.failed))
              if (state.running?.buildId !== running.buildId) return again
              if ((yield* Clock.currentTimeMillis) >= state.running.expiresAt) return again
            }
          })
          if (tail !== undefined) yield* Fiber.interrupt(tail)
          return round
        })

      /**
       * The stored context of a Dockerfile-based definition (the files digested at registration),
       * read before a build takes the lease: a context that cannot be read fails the call alone.
       */
      const base = version.definition.docker.base
      let context: BuildContext | undefined
      const loadContext = Effect.suspend(() =>
        context !== undefined || base.kind !== "dockerfile" || base.contextDigest === undefined
          ? Effect.void
          : Effect.map(contexts.get(base.contextDigest), (stored) => void (context = stored))
      )

      /** Runs the build this call holds the lease of, renewing it; records how it ended. */
      const runBuild = (buildId: string, cause: Build.StartCause, buildNoCache: boolean): Effect.Effect<Round, TerrariumError, EventStore> =>
        Effect.gen(function*() {
          const logKey = Build.logKeyOf(hash, buildId)
          const startedAt = yield* Clock.currentTimeMillis
          yield* update({ _tag: "Started", buildId, cause })
          // A log that cannot be written fails nothing: the build goes on and its events are
          // recorded. The caller hears it once, so that a log missing lines is not a surprise.
          let logLost = false
          const logged = (write: Effect.Effect<void, TerrariumError>) =>
            write.pipe(Effect.catch((error) => {
              if (logLost) return Effect.void
              logLost = true
              return update({ _tag: "LogUnavailable", buildId, message: error.message })
            }))
          yield* logged(logs.append(logKey, [`build ${buildId} of ${image} for ${version.workspace}/${version.name}:${version.version} (${cause}${buildNoCache ? ", no cache" : ""})`]))
          const progress = (event: BuildProgress) =>
            logged(logs.append(logKey, logLines(event))).pipe(Effect.andThen(update({ _tag: "Progress", progress: event })))
          const renew = Effect.gen(function*() {
            while (true) {
              yield* Effect.sleep(renewEvery)
              const now = yield* Clock.currentTimeMillis
              yield* handle(target, () => Effect.succeed({ _tag: "RenewLease" as const, buildId, holder: settings.holder, now, leaseMs }))
            }
          })
          const record = (command: Build.BuildCommand) =>
            handle(target, () => Effect.succeed(command)).pipe(Effect.ensuring(logs.seal(logKey).pipe(Effect.ignore)))
          const exit = yield* Effect.exit(Effect.raceFirst(
            Effect.scoped(Effect.flatMap(
              privateWheelUrls(version.definition),
              (privateWheels) => builder.build({ hash, image, definition: version.definition, context, noCache: buildNoCache, pullBase: baseMovedTo !== undefined, privateWheels }, progress)
            )),
            Effect.andThen(renew, Effect.never)
          ))
          if (Exit.isSuccess(exit)) {
            const built = exit.value
            const durationMs = (yield* Clock.currentTimeMillis) - startedAt
            const recorded = yield* Effect.result(record({
              _tag: "FinishBuild",
              built: {
                buildId, image: built.image, imageId: built.imageId, sizeBytes: built.sizeBytes, baseImageDigest: built.baseImageDigest,
                resolved: built.resolved, durationMs, logKey, builderVersion: built.builderVersion, cachedSteps: built.cachedSteps,
                totalSteps: built.totalSteps
              }
            }))
            if (recorded._tag === "Failure") {
              const failure = recorded.failure
              // The lease was lost while the image was tagged: another build owns the hash now.
              if (failure._tag === "BuildError") return again
              return yield* Effect.fail(failure)
            }
            return answer("built", yield* recordedBuilt(recorded.success.appended[0] as Build.ImageBuilt))
          }
          const error = Option.getOrUndefined(Exit.findErrorOption(exit))
          // No typed error: a defect, or the interruption recorded above; let it through as it is.
          if (error === undefined) return yield* (Effect.failCause(exit.cause) as Effect.Effect<never>)
          if (error._tag === "BuildError") {
            // The lease was lost: to a cancel (then the build ends here), or to a takeover.
            const { state } = yield* load(stream)
            if (state.failed?.buildId === buildId && state.failed.reason === CANCELLED) return yield* Effect.fail(failureOf(hash, state.failed))
            return again
          }
          if (error._tag !== "ImageBuilderError") return yield* Effect.fail(error)
          const failed = describeBuilderError(error)
          yield* logs.append(logKey, [`failed: ${failed.message}`]).pipe(Effect.ignore)
          const appended = yield* record({ _tag: "FailBuild", failed: { buildId, logKey, ...failed } }).pipe(
            Effect.catchTag("BuildError", () => Effect.succeed(undefined))
          )
          if (appended === undefined) return again
          return yield* Effect.fail(failureOf(hash, appended.appended[0] as Build.BuildFailed))
        }).pipe(Effect.onInterrupt(() =>
          // Ctrl-C: say so, so that nobody waits for the lease to run out (after the build was
          // recorded this is refused, and ignored). Bounded: a store that does not answer must
          // not keep the process from ending.
          handle(target, () => Effect.succeed({
            _tag: "FailBuild" as const,
            failed: { buildId, reason: "Interrupted", message: "the build was interrupted", step: null, logKey: Build.logKeyOf(hash, buildId), logTail: [] }
          })).pipe(
            Effect.andThen(logs.seal(Build.logKeyOf(hash, buildId))),
            Effect.ignore,
            Effect.timeout("5 seconds"),
            Effect.ignore
          )
        ))

      while (true) {
        // An engine that does not answer, or a stored context that cannot be read, fails here,
        // before anything is appended.
        yield* builder.ping
        yield* loadContext
        const { state } = yield* withStore(load(stream))
        if (state.status === "built" && state.built !== null && !noCache && !imageMissing && answersRefresh(state.built)) {
          if ((yield* builder.inspect(state.built.image)) !== undefined) {
            const row = yield* cacheRow(hash)
            return answer("cached", row?.built ?? rowOfBuilt(state.built, new Date())).result
          }
          imageMissing = true
        }
        // The engine lacks the image built: from a registry it was pushed to, by digest, if one has it.
        if (state.status === "built" && state.built !== null && !noCache && imageMissing && !pullTried) {
          pullTried = true
          if ((yield* pullThrough(state, image, registry)) !== undefined) return answer("pulled", yield* recordedBuilt(state.built)).result
        }
        const buildId = preferredId ?? uuidv7()
        preferredId = undefined
        const now = yield* Clock.currentTimeMillis
        const started = yield* handle(target, () => Effect.succeed({
          _tag: "StartBuild" as const, canonicalHash: hash, image, buildId, holder: settings.holder, now, leaseMs, noCache, imageMissing, baseMovedTo,
          requestedBy: { workspace: version.workspace, name: version.name, version: version.version }
        })).pipe(Effect.map((handled) => ({ _tag: "Started" as const, handled })), Effect.catchTag("BuildError", (error) => Effect.succeed(error)))
        let round: Round
        if (started._tag === "BuildError") {
          const reason = started.reason
          if (reason._tag === "BuildInProgress") {
            const lease = { buildId: reason.buildId, holder: reason.holder, expiresAt: reason.leaseExpiresAt, noCache }
            round = yield* waitFor(lease)
            // A --no-cache call is answered by the build it waited for: that build is new.
            if (round._tag === "Done") noCache = false
          } else round = again
        } else {
          const event = started.handled.appended.find((e): e is Build.BuildStarted => e._tag === "BuildStarted")!
          round = yield* runBuild(buildId, event.cause, noCache)
          noCache = false
          imageMissing = false
        }
        if (round._tag === "Done") return round.result
      }
    }).pipe(Effect.provideService(EventStore, store))

  /**
   * A log followed from another process than its writer's: read again when its bell rings, and
   * at most once a second besides (a missed bell, or no bell at all), until it is sealed.
   */
  const followAnnounced = (q: BuildQueue["Service"], key: string): Stream.Stream<string, TerrariumError> =>
    Stream.suspend(() => {
      let sent = 0
      const newLines = Effect.gen(function*() {
        // Sealed is read first: a log sealed then has all its lines in the read that follows.
        const status = yield* plainLogs.status(key)
        if (!status.exists) return { lines: [] as ReadonlyArray<string>, sealed: false }
        const all = yield* Stream.runCollect(plainLogs.read(key))
        const lines = all.slice(sent)
        sent = all.length
        return { lines, sealed: status.sealed }
      })
      const bells = Stream.merge(Stream.ignore(q.announcements(key)), Stream.tick("1 second"))
      return bells.pipe(
        Stream.mapEffect(() => newLines),
        Stream.takeUntil((read) => read.sealed),
        Stream.map((read) => read.lines),
        Stream.flattenIterable
      )
    })

  /**
   * A build handed to the workers: queued under its hash, then followed on the build stream
   * until a build that ended after the request was queued (built, or failed other than by an
   * interruption, which the job's retry takes over).
   */
  const buildQueued = (q: BuildQueue["Service"], registry: ResolvedRegistry) => (input: Parameters<ImageBuilds["build"]>[0]): Effect.Effect<ImageBuildResult, TerrariumError> =>
    Effect.gen(function*() {
      const { version, hash, image, stream, update } = yield* subjectOf(input)
      const answer = (outcome: ImageBuildResult["outcome"], built: BuiltImageRow): ImageBuildResult =>
        ({ workspace: version.workspace, name: version.name, version: version.version, canonicalHash: hash, image, outcome, built })
      const noCache = input.noCache ?? false
      const before = (yield* withStore(load(stream))).state
      if (!noCache && before.status === "built" && before.built !== null) {
        const recorded = Effect.map(cacheRow(hash), (row) => row?.built?.buildId === before.built!.buildId ? row.built : rowOfBuilt(before.built!, new Date()))
        if ((yield* builder.inspect(before.built.image)) !== undefined) return answer("cached", yield* recorded)
        // The engine is the workers' too: pulled here, no job is needed.
        if ((yield* pullThrough(before, image, registry)) !== undefined) return answer("pulled", yield* recorded)
      }
      const queued = yield* q.enqueue({
        workspace: version.workspace, name: version.name, version: version.version, canonicalHash: hash, noCache,
        requestedBy: input.actor ?? caller.actor, buildId: uuidv7()
      })
      yield* update({ _tag: "Queued", queued: queued.queued, location: q.location, buildId: queued.buildId })
      let seen: string | undefined = before.running?.buildId
      let tail: Fiber.Fiber<void> | undefined
      const stopTail = Effect.suspend(() => (tail === undefined ? Effect.void : Fiber.interrupt(tail)))
      return yield* Effect.gen(function*() {
        let idle = 0
        while (true) {
          // Asked before the stream is read: a job that is over has appended its answer by then.
          const pending = yield* q.pending(hash)
          const { state } = yield* withStore(load(stream))
          if (state.built !== null && state.built.buildId !== before.built?.buildId) {
            return answer("joined", yield* Effect.map(cacheRow(hash), (row) =>
              row?.built?.buildId === state.built!.buildId ? row.built : rowOfBuilt(state.built!, new Date())))
          }
          const failed = state.failed
          if (failed !== null && failed.buildId !== before.failed?.buildId && failed.reason !== "Interrupted" && state.running === null) {
            return yield* Effect.fail(failureOf(hash, failed))
          }
          const running = state.running
          if (running !== null && running.buildId !== seen) {
            seen = running.buildId
            yield* update({ _tag: "Started", buildId: running.buildId, cause: "first" })
            yield* stopTail
            tail = input.follow
              ? yield* Effect.forkChild(
                Stream.runForEach(followAnnounced(q, Build.logKeyOf(hash, running.buildId)), (line) =>
                  update({ _tag: "Progress", progress: { _tag: "Log", line } })).pipe(Effect.ignore)
              )
              : undefined
          }
          // No job left and no answer, twice in a row (a job between retries is briefly neither).
          idle = pending || running !== null ? 0 : idle + 1
          if (idle >= 3) return yield* Effect.fail(new QueuedBuildDropped({ image }))
          yield* Effect.sleep(pollEvery)
        }
      }).pipe(Effect.ensuring(stopTail))
    })

  /**
   * Pushes the hash's image as the engine has it now to `destination` under the hash's tag, and
   * records the push (nothing when that digest is recorded under that reference already).
   */
  const pushBuilt = (
    input: Parameters<ImageBuilds["build"]>[0],
    result: ImageBuildResult,
    registry: ResolvedRegistry,
    destination: NonNullable<ResolvedRegistry["destination"]>
  ) =>
    Effect.gen(function*() {
      const tag = result.image.slice(result.image.lastIndexOf(":") + 1)
      const info = yield* builder.inspect(result.image)
      if (info === undefined) {
        return yield* Effect.fail(new ImageBuilderError({
          reason: new EngineFailure({ operation: `push ${result.image}`, cause: new Error("the image is not on this engine") })
        }))
      }
      const digest = yield* builder.push(result.image, { ...registry.repositoryOf(destination.registry, destination.repository), tag })
      const reference = Build.pushedReferenceOf({ ...destination, tag })
      const target = {
        stream: Build.streamOf(result.canonicalHash), subject: { kind: "image build", name: result.canonicalHash },
        actor: input.actor ?? caller.actor, correlationId: input.correlationId ?? uuidv7()
      }
      const handled = yield* withStore(handle(target, () => Effect.succeed({
        _tag: "RecordPush" as const, buildId: result.built.buildId, imageId: info.imageId, ...destination, tag, digest
      }))).pipe(Effect.catchTag("BuildError", (error) => Effect.fail(new PushNotRecorded({ reference, detail: error.message }))))
      return { reference, digest, recorded: handled.appended.length > 0 } satisfies PushedImage
    })

  const build: ImageBuilds["build"] = (input) =>
    Effect.gen(function*() {
      // Bad settings or a bad --registry fail here, before anything is built or appended.
      const registry = yield* resolveRegistry(settings.registry ?? {}, input.push)
      const result = yield* (queue === undefined ? buildHere(input, registry) : buildQueued(queue, registry)(input))
      if (registry.destination === undefined) return result
      return { ...result, pushed: yield* pushBuilt(input, result, registry, registry.destination) }
    })

  const cancelBuild: ImageBuilds["cancelBuild"] = (input) =>
    Effect.gen(function*() {
      const version = yield* resolveVersion(input.workspace, input.ref)
      const hash = version.canonicalHash
      const image = Build.imageNameOf(hash)
      const cancelledJobs = queue === undefined ? 0 : yield* queue.cancel(hash)
      const { state } = yield* withStore(load(Build.streamOf(hash)))
      let cancelledBuildId: string | null = null
      const running = state.running
      if (running !== null && running.expiresAt > (yield* Clock.currentTimeMillis)) {
        const target = {
          stream: Build.streamOf(hash), subject: { kind: "image build", name: hash }, actor: input.actor ?? caller.actor,
          correlationId: input.correlationId ?? uuidv7()
        }
        const logKey = Build.logKeyOf(hash, running.buildId)
        const recorded = yield* withStore(handle(target, () => Effect.succeed({
          _tag: "FailBuild" as const,
          failed: { buildId: running.buildId, reason: CANCELLED, message: `the build was cancelled by ${target.actor}`, step: null, logKey, logTail: [] }
        }))).pipe(Effect.map(() => true), Effect.catchTag("BuildError", () => Effect.succeed(false)))
        if (recorded) {
          cancelledBuildId = running.buildId
          yield* logs.append(logKey, [`cancelled by ${target.actor}`]).pipe(Effect.andThen(logs.seal(logKey)), Effect.ignore)
        }
      }
      if (cancelledJobs === 0 && cancelledBuildId === null) return yield* Effect.fail(new NothingToCancel({ image }))
      return { canonicalHash: hash, image, cancelledJobs, cancelledBuildId }
    })

  const work: ImageBuilds["work"] = ({ concurrency, onJob }) =>
    queue === undefined
      ? Effect.fail(new InvalidInput({ field: "worker", reason: "builds are queued only on PostgreSQL (TERRARIUM_DATABASE_URL); the embedded database builds in the requesting process" }))
      : queue.work({ concurrency }, (job) =>
        // The requester pushes (it shares the engine): a worker only builds, or pulls through.
        Effect.flatMap(resolveRegistry(settings.registry ?? {}, undefined), (registry) =>
          buildHere({
            workspace: job.workspace, ref: { name: job.name, version: job.version }, noCache: job.noCache, actor: job.requestedBy,
            buildId: job.buildId,
            // The worker's own output says when a build's log misses lines (its requester is elsewhere).
            onUpdate: (update) =>
              update._tag === "LogUnavailable" ? onJob?.(job, `warning: the build log could not be written: ${update.message}`) ?? Effect.void : Effect.void
          }, registry)
        ).pipe(
          Effect.tap((result) => onJob?.(job, result.outcome) ?? Effect.void),
          Effect.tapError((error) => onJob?.(job, `failed: ${error.message}`) ?? Effect.void),
          // A build that failed is recorded as failed: retrying its job would not change that.
          Effect.catchTag("ImageBuildFailed", () => Effect.void)
        ))

  const image: ImageBuilds["image"] = ({ workspace, target }) =>
    Effect.gen(function*() {
      const hash = yield* hashOf(workspace, target)
      const row = yield* cacheRow(hash)
      if (row === undefined) return yield* Effect.fail(new ImageNotFound({ target: "canonicalHash" in target ? hash : formatRef(target.ref) }))
      return row
    })

  const refresh = yield* BaseImageRefresh.make({
    resolveVersion: (workspace, ref) => resolveVersion(workspace, ref),
    loadBuilds: (hash) => Effect.map(withStore(load(Build.streamOf(hash))), (loaded) => loaded.state),
    decodeBuild: buildCodec.decode,
    // In this process even where builds are queued for workers: the job carries no base digest,
    // and the build stream's lease still makes it the only build of its hash.
    // A rebuild pushes where every build pushes (a default registry), like any other build.
    rebuild: (input) =>
      Effect.gen(function*() {
        const registry = yield* resolveRegistry(settings.registry ?? {}, undefined)
        const result = yield* buildHere(input, registry)
        if (registry.destination === undefined) return result
        return { ...result, pushed: yield* pushBuilt(input, result, registry, registry.destination) }
      })
  })

  return {
    ...refresh,
    build,
    cancelBuild,
    work,
    image,
    images: Effect.andThen(projections.catchUp, readModel.imageBuilds({})),
    imageStatus: (hash) => Effect.map(cacheRow(hash), (row) => row),
    queuedBuild: (buildId) => (queue === undefined ? Effect.succeed(undefined) : queue.find(buildId)),
    buildLog: ({ canonicalHash, buildId, follow }) => {
      const key = Build.logKeyOf(canonicalHash, buildId)
      return !follow ? plainLogs.read(key) : queue === undefined ? plainLogs.read(key, { follow: true }) : followAnnounced(queue, key)
    },
    logs: ({ workspace, target, follow }) =>
      Stream.unwrap(Effect.map(image({ workspace, target }), (row) =>
        // Only a running build's log is followed: the log of one that ended may never have been
        // sealed (its store was down then), and following it would never end.
        logs.read(Build.logKeyOf(row.canonicalHash, row.buildId), { follow: (follow ?? false) && row.status === "building" })))
  } satisfies ImageBuilds
})
