/**
 * The build stream: one stream per canonical hash (`build/<hash>` in the workspace `*`, which no
 * workspace can be named), since an image is keyed by content and one image serves every
 * version, of any environment in any workspace, with that hash (docs/images.md).
 *
 * Exactly one build per hash rests on this stream: a build starts with `BuildStarted`, which holds
 * a lease (a holder and an expiry); the stream's optimistic concurrency lets only one starter
 * win, and while the lease runs every other caller waits for the `ImageBuilt`/`BuildFailed` that
 * ends it. A lease that runs out (its process died) may be taken over. Time enters only through
 * the commands (`now`), so the decider stays pure.
 *
 * @since 0.2.0
 */
import { Result, Schema } from "effect"
import { Sha256Digest } from "./CanonicalHash.ts"
import type { Decider } from "./Decider.ts"
import { ResolvedLock } from "./ports/ImageBuilder.ts"

/** The workspace of every build stream: `*` is no workspace's name (`WorkspaceName`). @since 0.2.0 @category streams */
export const BUILD_WORKSPACE = "*"

/** @since 0.2.0 @category streams */
export const BUILD_STREAM_PREFIX = "build/"

/** The stream of a canonical hash's builds. @since 0.2.0 @category streams */
export const streamOf = (canonicalHash: string) => ({ workspace: BUILD_WORKSPACE, stream: `${BUILD_STREAM_PREFIX}${canonicalHash}` })

/** The canonical hash of a build stream, or undefined for any other stream. @since 0.2.0 @category streams */
export const hashOfStream = (workspace: string, stream: string): string | undefined =>
  workspace === BUILD_WORKSPACE && stream.startsWith(BUILD_STREAM_PREFIX) ? stream.slice(BUILD_STREAM_PREFIX.length) : undefined

/** The repository of every image Terrarium builds locally. @since 0.2.0 @category images */
export const IMAGE_REPOSITORY = "terrarium/env"

/**
 * The image of a canonical hash: `terrarium/env:<first 16 hex digits of the hash>` (docs/images.md).
 * 64 bits of a SHA-256 make a clash between two hashes of one registry far less likely than a
 * disk error; the image is labelled with the whole hash as well.
 *
 * @since 0.2.0
 * @category images
 */
export const imageNameOf = (canonicalHash: string): string =>
  `${IMAGE_REPOSITORY}:${canonicalHash.replace(/^sha256:/, "").slice(0, 16)}`

/**
 * The tag that keeps the image of an earlier build of a hash when a refresh builds the hash again
 * (its base image moved): `terrarium/env:<16 hex digits>-<build id>`, so that runs that used
 * it still find it by name as well as by image id (docs/images.md).
 *
 * @since 0.3.0
 * @category images
 */
export const keptImageNameOf = (canonicalHash: string, buildId: string): string =>
  `${imageNameOf(canonicalHash)}-${buildId.toLowerCase()}`

/**
 * The manifest digest in a recorded `baseImageDigest`, when it is a registry's
 * (`host/repo@sha256:…`, the engine's `RepoDigests`); `undefined` for an engine's image id (a
 * base image built or loaded locally, which no registry can be asked about).
 *
 * @since 0.3.0
 * @category images
 */
export const registryDigestOf = (baseImageDigest: string | null): string | undefined => {
  if (baseImageDigest === null) return undefined
  const at = baseImageDigest.lastIndexOf("@")
  return at > 0 && /^sha256:[0-9a-f]{64}$/.test(baseImageDigest.slice(at + 1)) ? baseImageDigest.slice(at + 1) : undefined
}

/** The log key of one build of a hash: `builds/<hash hex>/<build id>`. @since 0.2.0 @category images */
export const logKeyOf = (canonicalHash: string, buildId: string): string =>
  `builds/${canonicalHash.replace(/^sha256:/, "")}/${buildId.toLowerCase()}`

/** The version whose build was asked for (the hash is shared; this says who asked first). @since 0.2.0 @category model */
export const BuildRequester = Schema.Struct({ workspace: Schema.String, name: Schema.String, version: Schema.String })
export type BuildRequester = typeof BuildRequester.Type

/**
 * Why a build starts: the first of its hash, after a failure, `--no-cache`, a vanished image, a
 * dead holder's lease, or its base image moved in its registry (`image refresh`, since 0.3.0).
 *
 * @since 0.2.0
 * @category model
 */
export const StartCause = Schema.Literals(["first", "retry", "no-cache", "vanished", "takeover", "base-moved"])
export type StartCause = typeof StartCause.Type

/** One package whose resolved version changed between two builds of a hash (`null`: absent on that side). @since 0.2.0 @category model */
export const PackageDrift = Schema.Struct({
  manager: Schema.Literals(["pip", "conda"]),
  name: Schema.String,
  from: Schema.NullOr(Schema.String),
  to: Schema.NullOr(Schema.String)
})
export type PackageDrift = typeof PackageDrift.Type

/** A build of the hash was asked for, by `requestedBy`, to be tagged `image`. @since 0.2.0 @category events */
export class BuildRequested extends Schema.TaggedClass<BuildRequested>()("BuildRequested", {
  canonicalHash: Sha256Digest,
  image: Schema.String,
  requestedBy: BuildRequester,
  noCache: Schema.Boolean
}) {}

/**
 * A build started and holds the lease until `leaseExpiresAt` (epoch milliseconds); `holder` says
 * which process (host, pid, a random part).
 *
 * @since 0.2.0
 * @category events
 */
export class BuildStarted extends Schema.TaggedClass<BuildStarted>()("BuildStarted", {
  buildId: Schema.String,
  holder: Schema.String,
  leaseExpiresAt: Schema.Number,
  noCache: Schema.Boolean,
  cause: StartCause
}) {}

/** The running build is alive: its lease now runs until `leaseExpiresAt`. @since 0.2.0 @category events */
export class BuildLeaseRenewed extends Schema.TaggedClass<BuildLeaseRenewed>()("BuildLeaseRenewed", {
  buildId: Schema.String,
  holder: Schema.String,
  leaseExpiresAt: Schema.Number
}) {}

/**
 * The image is built: what it is on the engine, what it really holds (`resolved`, read back from
 * inside it), where its log is, and, for a rebuild of a built hash, which packages moved (`drift`).
 *
 * @since 0.2.0
 * @category events
 */
export class ImageBuilt extends Schema.TaggedClass<ImageBuilt>()("ImageBuilt", {
  buildId: Schema.String,
  image: Schema.String,
  imageId: Schema.String,
  sizeBytes: Schema.Number,
  baseImageDigest: Schema.NullOr(Schema.String),
  resolved: ResolvedLock,
  durationMs: Schema.Number,
  logKey: Schema.String,
  builderVersion: Schema.String,
  cachedSteps: Schema.Int,
  totalSteps: Schema.Int,
  drift: Schema.Array(PackageDrift)
}) {}

/**
 * The build failed: `reason` is the builder's reason tag (`StepFailed`, `EngineUnavailable`…),
 * `message` its text, `step` the failing step when one failed, `logTail` its last lines.
 *
 * @since 0.2.0
 * @category events
 */
export class BuildFailed extends Schema.TaggedClass<BuildFailed>()("BuildFailed", {
  buildId: Schema.String,
  reason: Schema.String,
  message: Schema.String,
  step: Schema.NullOr(Schema.String),
  logKey: Schema.String,
  logTail: Schema.Array(Schema.String)
}) {}

/**
 * The image a build made was pushed to a registry: `reference` (`registry/repository:tag`) now
 * names the manifest `digest` there. `buildId` and `imageId` say which build's image it was, so
 * that a machine whose engine lacks the image can pull exactly it by digest (docs/images.md).
 * No credential is recorded: the registry's are configured where Terrarium runs.
 *
 * @since 0.3.0
 * @category events
 */
export class ImagePushed extends Schema.TaggedClass<ImagePushed>()("ImagePushed", {
  buildId: Schema.String,
  imageId: Schema.String,
  registry: Schema.String,
  repository: Schema.String,
  tag: Schema.String,
  reference: Schema.String,
  digest: Schema.String
}) {}

/** `registry/repository:tag`, the reference a push names. @since 0.3.0 @category images */
export const pushedReferenceOf = (target: { readonly registry: string; readonly repository: string; readonly tag: string }): string =>
  `${target.registry}/${target.repository}:${target.tag}`

/** Every event of a build stream. @since 0.2.0 @category events */
export const BuildEvent = Schema.Union([BuildRequested, BuildStarted, BuildLeaseRenewed, ImageBuilt, BuildFailed, ImagePushed])
export type BuildEvent = typeof BuildEvent.Type

/** @since 0.2.0 @category events */
export type BuildEventType = BuildEvent["_tag"]

/** The schema version of each build event type (see `SCHEMA_VERSIONS` in `Event.ts`). @since 0.2.0 @category events */
export const BUILD_SCHEMA_VERSIONS: Record<BuildEventType, number> = {
  BuildRequested: 1, BuildStarted: 1, BuildLeaseRenewed: 1, ImageBuilt: 1, BuildFailed: 1,
  ImagePushed: 1
}

/** @since 0.2.0 @category events */
export const BuildEventJson = Schema.toCodecJson(BuildEvent)

// ---------------------------------------------------------------------------------------------
// state
// ---------------------------------------------------------------------------------------------

/** The running build and its lease. @since 0.2.0 @category state */
export interface Lease {
  readonly buildId: string
  readonly holder: string
  readonly expiresAt: number
  readonly noCache: boolean
}

/**
 * A hash's builds, folded: what runs now (`running`), the last image built (kept through a
 * later failure or rebuild: the drift of the next build is against it) and the last failure.
 *
 * @since 0.2.0
 * @category state
 */
export interface BuildState {
  readonly status: "none" | "building" | "built" | "failed"
  readonly image: string | null
  readonly running: Lease | null
  readonly built: ImageBuilt | null
  readonly failed: BuildFailed | null
  /** How many builds have started, takeovers included. */
  readonly starts: number
  /** Every push recorded, oldest first (of any build: `pushesOfBuilt` keeps the last built's). */
  readonly pushes: ReadonlyArray<ImagePushed>
}

/** @since 0.2.0 @category state */
export const initialState: BuildState = { status: "none", image: null, running: null, built: null, failed: null, starts: 0, pushes: [] }

/**
 * The pushes of the last image built, newest first: where a machine that lacks that image can
 * pull it from by digest. Pushes of an earlier build of the hash are another image.
 *
 * @since 0.3.0
 * @category state
 */
export const pushesOfBuilt = (state: BuildState): ReadonlyArray<ImagePushed> =>
  state.built === null ? [] : state.pushes.filter((p) => p.buildId === state.built!.buildId).reverse()

/** @since 0.2.0 @category state */
export const evolve = (state: BuildState, event: BuildEvent): BuildState => {
  switch (event._tag) {
    case "BuildRequested":
      return { ...state, image: event.image }
    case "BuildStarted":
      return {
        ...state, status: "building", starts: state.starts + 1,
        running: { buildId: event.buildId, holder: event.holder, expiresAt: event.leaseExpiresAt, noCache: event.noCache }
      }
    case "BuildLeaseRenewed":
      return state.running?.buildId === event.buildId
        ? { ...state, running: { ...state.running, expiresAt: event.leaseExpiresAt } }
        : state
    case "ImageBuilt":
      return { ...state, status: "built", image: event.image, running: null, built: event, failed: null }
    case "BuildFailed":
      return { ...state, status: "failed", running: null, failed: event }
    case "ImagePushed":
      return { ...state, pushes: [...state.pushes, event] }
  }
}

// ---------------------------------------------------------------------------------------------
// commands and errors
// ---------------------------------------------------------------------------------------------

/**
 * Start a build: refused while another build's lease runs, and for a built hash unless the
 * image is to be rebuilt (`noCache`) or has vanished from the engine (`imageMissing`).
 *
 * @since 0.2.0
 * @category commands
 */
export interface StartBuild {
  readonly _tag: "StartBuild"
  readonly canonicalHash: string
  readonly image: string
  readonly requestedBy: BuildRequester
  readonly buildId: string
  readonly holder: string
  /** Epoch milliseconds. */
  readonly now: number
  readonly leaseMs: number
  readonly noCache: boolean
  readonly imageMissing: boolean
  /**
   * A refresh found the base image's tag naming this manifest digest, not the one the built
   * image records: build again (cause `base-moved`), unless the last image built already
   * records it (another refresh was first: `AlreadyBuilt`). Since 0.3.0.
   */
  readonly baseMovedTo?: string | undefined
}

/** @since 0.2.0 @category commands */
export interface RenewLease {
  readonly _tag: "RenewLease"
  readonly buildId: string
  readonly holder: string
  readonly now: number
  readonly leaseMs: number
}

/** @since 0.2.0 @category commands */
export interface FinishBuild {
  readonly _tag: "FinishBuild"
  readonly built: Omit<ConstructorParameters<typeof ImageBuilt>[0], "drift">
}

/** @since 0.2.0 @category commands */
export interface FailBuild {
  readonly _tag: "FailBuild"
  readonly failed: ConstructorParameters<typeof BuildFailed>[0]
}

/**
 * Record that the image of build `buildId` was pushed: refused unless that build's image is the
 * hash's image built; nothing is recorded when the same digest is already recorded under the
 * same reference.
 *
 * @since 0.3.0
 * @category commands
 */
export interface RecordPush {
  readonly _tag: "RecordPush"
  readonly buildId: string
  readonly imageId: string
  readonly registry: string
  readonly repository: string
  readonly tag: string
  readonly digest: string
}

/** @since 0.2.0 @category commands */
export type BuildCommand = StartBuild | RenewLease | FinishBuild | FailBuild | RecordPush

/** Another build of the hash holds an unexpired lease. @since 0.2.0 @category errors */
export class BuildInProgress extends Schema.TaggedError<BuildInProgress>()("BuildInProgress", {
  buildId: Schema.String,
  holder: Schema.String,
  leaseExpiresAt: Schema.Number
}) {
  override get message() {
    return `build ${this.buildId} of this hash is running (held by ${this.holder} until ${new Date(this.leaseExpiresAt).toISOString()})`
  }
}

/** The hash is built and its image is there: nothing to start. @since 0.2.0 @category errors */
export class AlreadyBuilt extends Schema.TaggedError<AlreadyBuilt>()("AlreadyBuilt", { image: Schema.String }) {
  override get message() { return `image ${this.image} is already built; use --no-cache to build it again` }
}

/**
 * The build is not the running one any more (its lease ran out and another took over, or it
 * ended): whatever it did is not recorded.
 *
 * @since 0.2.0
 * @category errors
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  buildId: Schema.String,
  runningBuildId: Schema.NullOr(Schema.String)
}) {
  override get message() {
    return `build ${this.buildId} lost its lease${this.runningBuildId === null ? "" : ` to build ${this.runningBuildId}`}; its result is not recorded`
  }
}

/**
 * A push names a build whose image is not the hash's image built (nothing built, or another build
 * since): there is no such image to say was pushed.
 *
 * @since 0.3.0
 * @category errors
 */
export class NotBuilt extends Schema.TaggedError<NotBuilt>()("NotBuilt", {
  buildId: Schema.String,
  builtBuildId: Schema.NullOr(Schema.String)
}) {
  override get message() {
    return this.builtBuildId === null
      ? `nothing is built for this hash: the push of build ${this.buildId} is not recorded`
      : `build ${this.buildId} is not the hash's image built (build ${this.builtBuildId} is): its push is not recorded`
  }
}

/** The one error of the build decider. @since 0.2.0 @category errors */
export class BuildError extends Schema.TaggedError<BuildError>()("BuildError", {
  reason: Schema.Union([BuildInProgress, AlreadyBuilt, LeaseLost, NotBuilt])
}) {
  override get message() { return this.reason.message }
}

// ---------------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------------

/**
 * The packages whose version differs between two resolved locks, by manager and name.
 *
 * @since 0.2.0
 * @category drift
 */
export const driftBetween = (before: ResolvedLock, after: ResolvedLock): ReadonlyArray<PackageDrift> => {
  const changes: Array<PackageDrift> = []
  const compare = (manager: "pip" | "conda", a: ReadonlyArray<{ name: string; version: string }>, b: ReadonlyArray<{ name: string; version: string }>) => {
    const from = new Map(a.map((p) => [p.name.toLowerCase(), p.version]))
    const to = new Map(b.map((p) => [p.name.toLowerCase(), p.version]))
    for (const name of [...new Set([...from.keys(), ...to.keys()])].sort()) {
      const f = from.get(name) ?? null
      const t = to.get(name) ?? null
      if (f !== t) changes.push({ manager, name, from: f, to: t })
    }
  }
  compare("conda", before.conda, after.conda)
  compare("pip", before.pip, after.pip)
  return changes
}

type Decision = Result.Result<ReadonlyArray<BuildEvent>, BuildError>

const refuse = (reason: BuildError["reason"]): Decision => Result.fail(new BuildError({ reason }))

const causeOf = (state: BuildState, command: StartBuild): StartCause => {
  if (state.status === "building") return "takeover"
  if (state.status === "failed") return "retry"
  if (state.status === "built") return command.imageMissing ? "vanished" : command.baseMovedTo !== undefined && !command.noCache ? "base-moved" : "no-cache"
  return "first"
}

/** Whether a refresh's digest is news to the last image built (it records another base digest). */
const baseMoved = (state: BuildState, command: StartBuild): boolean =>
  command.baseMovedTo !== undefined && registryDigestOf(state.built?.baseImageDigest ?? null) !== command.baseMovedTo

const ownsLease = (state: BuildState, buildId: string): LeaseLost | undefined =>
  state.running?.buildId === buildId ? undefined : new LeaseLost({ buildId, runningBuildId: state.running?.buildId ?? null })

/** @since 0.2.0 @category decider */
export const decide = (command: BuildCommand, state: BuildState): Decision => {
  switch (command._tag) {
    case "StartBuild": {
      const running = state.running
      if (running !== null && running.expiresAt > command.now) {
        return refuse(new BuildInProgress({ buildId: running.buildId, holder: running.holder, leaseExpiresAt: running.expiresAt }))
      }
      if (state.status === "built" && !command.noCache && !command.imageMissing && !baseMoved(state, command)) {
        return refuse(new AlreadyBuilt({ image: state.image ?? command.image }))
      }
      return Result.succeed([
        new BuildRequested({
          canonicalHash: command.canonicalHash, image: command.image, requestedBy: command.requestedBy, noCache: command.noCache
        }),
        new BuildStarted({
          buildId: command.buildId, holder: command.holder, leaseExpiresAt: command.now + command.leaseMs,
          noCache: command.noCache, cause: causeOf(state, command)
        })
      ])
    }
    case "RenewLease": {
      const lost = ownsLease(state, command.buildId)
      return lost !== undefined
        ? refuse(lost)
        : Result.succeed([new BuildLeaseRenewed({ buildId: command.buildId, holder: command.holder, leaseExpiresAt: command.now + command.leaseMs })])
    }
    case "FinishBuild": {
      const lost = ownsLease(state, command.built.buildId)
      if (lost !== undefined) return refuse(lost)
      const drift = state.built === null ? [] : driftBetween(state.built.resolved, command.built.resolved)
      return Result.succeed([new ImageBuilt({ ...command.built, drift })])
    }
    case "FailBuild": {
      const lost = ownsLease(state, command.failed.buildId)
      return lost !== undefined ? refuse(lost) : Result.succeed([new BuildFailed(command.failed)])
    }
    case "RecordPush": {
      const { _tag, ...pushed } = command
      if (state.built === null || state.built.buildId !== command.buildId || state.built.imageId !== command.imageId) {
        return refuse(new NotBuilt({ buildId: command.buildId, builtBuildId: state.built?.buildId ?? null }))
      }
      const reference = pushedReferenceOf(command)
      if (state.pushes.some((p) => p.reference === reference && p.digest === command.digest)) return Result.succeed([])
      return Result.succeed([new ImagePushed({ ...pushed, reference })])
    }
  }
}

/** @since 0.2.0 @category decider */
export const decider: Decider<BuildState, BuildCommand, BuildEvent, BuildError> = { initialState, decide, evolve }

/** A one-line description of a build event, as `image logs` and the audit of a hash show it. @since 0.2.0 @category summaries */
export const summarize = (event: BuildEvent): string => {
  switch (event._tag) {
    case "BuildRequested":
      return `build of ${event.image} requested by ${event.requestedBy.workspace}/${event.requestedBy.name}:${event.requestedBy.version}${event.noCache ? " (no cache)" : ""}`
    case "BuildStarted":
      return `build ${event.buildId} started (${event.cause}) by ${event.holder}`
    case "BuildLeaseRenewed":
      return `build ${event.buildId} renewed its lease`
    case "ImageBuilt":
      return `built ${event.image} in ${(event.durationMs / 1000).toFixed(1)} s (${event.cachedSteps}/${event.totalSteps} steps cached)` +
        (event.drift.length === 0 ? "" : `; drift: ${event.drift.map(describeDrift).join(", ")}`)
    case "BuildFailed":
      return `build ${event.buildId} failed: ${event.message}`
    case "ImagePushed":
      return `pushed ${event.reference}@${event.digest} (build ${event.buildId})`
  }
}

/** `pip numpy 1.0 → 1.1` @since 0.2.0 @category drift */
export const describeDrift = (d: PackageDrift): string => `${d.manager} ${d.name} ${d.from ?? "(none)"} → ${d.to ?? "(none)"}`
