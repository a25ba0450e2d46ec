/**
 * The image builder port: turns one registered definition into a container image on an engine,
 * reports the build as it goes, and says what it really installed.
 *
 * The port knows nothing of caching or of who else is building: one call is one build. Exactly
 * one build per canonical hash, leases and the hash → image cache are the app's business, on
 * the build stream's events. An adapter generates its own build recipe (for Docker: a layered
 * Dockerfile) from the definition; no value of the definition may reach a shell unquoted.
 *
 * @since 0.2.0
 */
import { Context, Schema } from "effect"
import type { Effect, Redacted } from "effect"
import { describeCause } from "../CauseText.ts"
import type { Definition } from "../Definition.ts"
import { ImageRegistryError, type RegistryRepository } from "./ImageRegistry.ts"

/**
 * One file of a stored build context, as digested at registration (`ContextDigest`). A builder
 * sends exactly these files: a context that differs from its digest is never built.
 *
 * @since 0.2.0
 * @category model
 */
export interface BuildContextEntry {
  /** Relative, `/`-separated, no `..`. */
  readonly path: string
  readonly executable: boolean
  readonly content: Uint8Array
  /**
   * Set for a symbolic link: its target as written, never followed (as `COPY` copies the link
   * itself). `content` is then empty and `executable` false.
   */
  readonly linkTarget?: string | undefined
}

/** @since 0.2.0 @category model */
export interface BuildContext {
  /** The `contextDigest` of the definition this context was stored for. */
  readonly digest: string
  readonly entries: ReadonlyArray<BuildContextEntry>
}

/**
 * A private wheel a definition lists (`terrarium+wheel://…`), with a read URL the app made for
 * this build from the blob store: a short-lived credential that the builder hands to the build
 * as a secret only (docs/images.md): never a build argument, a label, a file of an image layer,
 * a log line or an error.
 *
 * @since 0.3.0
 * @category model
 */
export interface PrivateWheelSource {
  /** The reference as the definition lists it. */
  readonly reference: string
  readonly fileName: string
  /** The SHA-256 the reference names; the build checks the bytes it read against it. */
  readonly sha256: string
  readonly url: Redacted.Redacted<string>
}

/**
 * What to build. `image` is the name the app derived from the hash (docs/images.md); the
 * builder tags the result with it and labels it with the hash.
 *
 * @since 0.2.0
 * @category model
 */
export interface ImageBuildRequest {
  /** The canonical hash of `definition` (`sha256:…`). */
  readonly hash: string
  readonly image: string
  readonly definition: Definition
  /** The stored context of a Dockerfile-based definition; absent for a base-image one. */
  readonly context?: BuildContext | undefined
  /** Build every step again, reusing no layer (a drift check). */
  readonly noCache: boolean
  /**
   * Fetch the base image again from its registry (the definition's `docker.baseImageRegistry`,
   * or one the builder is configured to pull from) even when the engine has it: its tag moved
   * there (`image refresh`). Since 0.3.0.
   */
  readonly pullBase?: boolean | undefined
  /** Read URLs of the private wheels the definition lists, one per reference (none: it lists none). */
  readonly privateWheels?: ReadonlyArray<PrivateWheelSource> | undefined
}

/**
 * What a build reports while it runs. A `Step` starts a step of the recipe (`cached`: the
 * engine reused a layer for it); `Log` is one line of output, control characters left to the
 * renderer to escape.
 *
 * @since 0.2.0
 * @category model
 */
export type BuildProgress =
  | { readonly _tag: "Step"; readonly index: number; readonly total: number; readonly name: string; readonly cached: boolean }
  | { readonly _tag: "Log"; readonly line: string }

/** @since 0.2.0 @category model */
export const ResolvedCondaPackage = Schema.Struct({
  name: Schema.String,
  version: Schema.String,
  build: Schema.String,
  channel: Schema.String,
  url: Schema.String,
  sha256: Schema.optionalKey(Schema.String)
})
export type ResolvedCondaPackage = typeof ResolvedCondaPackage.Type

/** @since 0.2.0 @category model */
export const ResolvedPipPackage = Schema.Struct({ name: Schema.String, version: Schema.String })
export type ResolvedPipPackage = typeof ResolvedPipPackage.Type

/**
 * What the image really holds: the solved conda lock it was installed from, and the pip
 * packages read back from inside the image after the build.
 *
 * @since 0.2.0
 * @category model
 */
export const ResolvedLock = Schema.Struct({
  conda: Schema.Array(ResolvedCondaPackage),
  pip: Schema.Array(ResolvedPipPackage)
})
export type ResolvedLock = typeof ResolvedLock.Type

/** @since 0.2.0 @category model */
export interface BuiltImage {
  readonly image: string
  /** The engine's image id (`sha256:…`). */
  readonly imageId: string
  readonly sizeBytes: number
  /** The id or digest of the base image the build started from, when the engine tells. */
  readonly baseImageDigest: string | null
  readonly resolved: ResolvedLock
  readonly cachedSteps: number
  readonly totalSteps: number
  /** Which builder made it (`docker/<engine version>`), for the `ImageBuilt` event. */
  readonly builderVersion: string
}

/** @since 0.2.0 @category model */
export interface ImageInfo {
  readonly image: string
  readonly imageId: string
  readonly sizeBytes: number
}

/**
 * The engine cannot be reached (`host` says where it was looked for, e.g. `DOCKER_HOST`).
 *
 * @since 0.2.0
 * @category errors
 */
export class EngineUnavailable extends Schema.TaggedError<EngineUnavailable>()("EngineUnavailable", {
  host: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return true }
  override get message() {
    return `the container engine at ${this.host} cannot be reached (${describeCause(this.cause)}); start it (scripts/services/docker.sh ensure) or set DOCKER_HOST`
  }
}

/** The base image is neither local nor in a configured registry. @since 0.2.0 @category errors */
export class BaseImageNotFound extends Schema.TaggedError<BaseImageNotFound>()("BaseImageNotFound", {
  image: Schema.String,
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `base image ${this.image} was not found: ${this.detail}` }
}

/** The conda part does not solve against its channels. @since 0.2.0 @category errors */
export class CondaUnsolvable extends Schema.TaggedError<CondaUnsolvable>()("CondaUnsolvable", {
  specs: Schema.Array(Schema.String),
  channels: Schema.Array(Schema.String),
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() {
    return `conda packages ${this.specs.join(", ")} do not solve against ${this.channels.join(", ") || "no channel"}: ${this.detail}`
  }
}

/** A pip requirement does not resolve on its index. @since 0.2.0 @category errors */
export class PipUnresolvable extends Schema.TaggedError<PipUnresolvable>()("PipUnresolvable", {
  requirement: Schema.String,
  index: Schema.String,
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `pip requirement ${this.requirement} does not resolve on ${this.index}: ${this.detail}` }
}

/** A step of the recipe failed; `logTail` is its last lines. @since 0.2.0 @category errors */
export class StepFailed extends Schema.TaggedError<StepFailed>()("StepFailed", {
  step: Schema.String,
  logTail: Schema.Array(Schema.String)
}) {
  get isRetryable() { return false }
  override get message() {
    return `build step failed: ${this.step}${this.logTail.length > 0 ? `\n${this.logTail.join("\n")}` : ""}`
  }
}

/** The built image runs, but a package it should hold does not import. @since 0.2.0 @category errors */
export class ImportCheckFailed extends Schema.TaggedError<ImportCheckFailed>()("ImportCheckFailed", {
  module: Schema.String,
  logTail: Schema.Array(Schema.String)
}) {
  get isRetryable() { return false }
  override get message() { return `the built image cannot import ${this.module}: ${this.logTail.join(" / ")}` }
}

/** The request cannot be built as given (context digest mismatch, unsupported platform). @since 0.2.0 @category errors */
export class UnbuildableRequest extends Schema.TaggedError<UnbuildableRequest>()("UnbuildableRequest", {
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `cannot build: ${this.detail}` }
}

/** The engine answered with something unexpected. @since 0.2.0 @category errors */
export class EngineFailure extends Schema.TaggedError<EngineFailure>()("EngineFailure", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return false }
  override get message() { return `container engine ${this.operation} failed: ${describeCause(this.cause)}` }
}

/**
 * A push to, or a pull from, a registry failed: `error` says why (refused credentials, a registry
 * that is down or went away, an image it has not got), and names the registry.
 *
 * @since 0.3.0
 * @category errors
 */
export class RegistryTransferFailed extends Schema.TaggedError<RegistryTransferFailed>()("RegistryTransferFailed", {
  operation: Schema.Literals(["push", "pull"]),
  reference: Schema.String,
  error: ImageRegistryError
}) {
  get isRetryable() { return this.error.isRetryable }
  override get message() { return `the ${this.operation} of ${this.reference} failed: ${this.error.message}` }
}

/**
 * Where to push an image: a repository of a registry (with its credentials) and the tag to give
 * the image there.
 *
 * @since 0.3.0
 * @category model
 */
export interface PushTarget extends RegistryRepository {
  readonly tag: string
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.2.0
 * @category errors
 */
export class ImageBuilderError extends Schema.TaggedError<ImageBuilderError>()("ImageBuilderError", {
  reason: Schema.Union([
    EngineUnavailable,
    BaseImageNotFound,
    CondaUnsolvable,
    PipUnresolvable,
    StepFailed,
    ImportCheckFailed,
    UnbuildableRequest,
    EngineFailure,
    RegistryTransferFailed
  ])
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/**
 * @since 0.2.0
 * @category port
 */
export class ImageBuilder extends Context.Service<ImageBuilder, {
  /** Where the engine is (for messages and `image` commands): `unix:///…`, `tcp://…`, `memory`. */
  readonly engine: string
  /** Fails with `EngineUnavailable` when the engine does not answer. */
  readonly ping: Effect.Effect<void, ImageBuilderError>
  /**
   * One build. `progress` is called for every step and log line, in order; the build waits for
   * it. Interrupting the effect stops the build and leaves no tagged image behind.
   */
  readonly build: (
    request: ImageBuildRequest,
    progress: (event: BuildProgress) => Effect.Effect<void>
  ) => Effect.Effect<BuiltImage, ImageBuilderError>
  /** The image as the engine has it now, or `undefined` if it is gone (pruned by hand). */
  readonly inspect: (image: string) => Effect.Effect<ImageInfo | undefined, ImageBuilderError>
  /**
   * Adds the tag `as` (`repo:tag`) to the image `image` (a name or an image id), so that it stays
   * named when its own name moves to a newer image. Since 0.3.0.
   */
  readonly tag: (image: string, as: string) => Effect.Effect<void, ImageBuilderError>
  /** Removes the image's tag; no error if it is already gone. */
  readonly remove: (image: string) => Effect.Effect<void, ImageBuilderError>
  /**
   * Pushes the engine's `image` to `target` and returns the manifest digest the registry stored.
   * Credentials are checked before any layer leaves (`RegistryTransferFailed` with `Unauthorized`).
   */
  readonly push: (image: string, target: PushTarget) => Effect.Effect<string, ImageBuilderError>
  /**
   * Pulls the manifest `digest` of `source` and tags it `image` on the engine; `RegistryTransferFailed`
   * with `NotFound` when the registry has not got it.
   */
  readonly pull: (source: RegistryRepository, digest: string, image: string) => Effect.Effect<ImageInfo, ImageBuilderError>
}>()("terrarium/ImageBuilder") {}
