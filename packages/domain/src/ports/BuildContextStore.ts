/**
 * The build-context store port: the files of a Dockerfile-based version's build context, kept by
 * their content digest (`ContextDigest`, the `docker.base.contextDigest` of the definition) when
 * the version is registered. A definition names its context by a folder, and folders move or
 * vanish; with the files stored, the version can be rebuilt and exported from the registry alone.
 *
 * The store is content-addressed, after Effect's `KeyValueStore` with the digest as the key: `put`
 * of a context already there does nothing, and what is stored under a digest is only ever a
 * context with that digest. Both directions are checked: `put` refuses a context whose entries do
 * not digest to the digest it carries (`DigestMismatch`), and `get` digests what it read again, so
 * that stored files changed behind the store's back are reported (`ContextCorrupted`), never
 * handed to a builder. `verifyBuildContext` below is that check, shared by every adapter.
 *
 * @since 0.2.0
 */
import { Context, Effect, Schema } from "effect"
import { sha256Digest } from "../CanonicalHash.ts"
import { describeCause } from "../CauseText.ts"
import { contextDigest, type ContextEntry, isContextPath } from "../ContextDigest.ts"
import { MAX_BUILD_CONTEXT_BYTES, MAX_BUILD_CONTEXT_ENTRIES, MAX_TEXT_LENGTH } from "../Limits.ts"
import type { BuildContext, BuildContextEntry } from "./ImageBuilder.ts"

/** Nothing is stored under this digest. @since 0.2.0 @category errors */
export class ContextNotFound extends Schema.TaggedError<ContextNotFound>()("ContextNotFound", {
  digest: Schema.String
}) {
  get isRetryable() { return false }
  override get message() {
    return `no build context is stored under ${this.digest}; register the version again from its folder to store it`
  }
}

/** What is asked for is not a digest (`sha256:` and 64 lower-case hex digits). @since 0.2.0 @category errors */
export class InvalidDigest extends Schema.TaggedError<InvalidDigest>()("InvalidDigest", {
  digest: Schema.String
}) {
  get isRetryable() { return false }
  override get message() {
    return `"${this.digest.slice(0, 80)}" is not a build context digest (sha256: and 64 lower-case hex digits)`
  }
}

/**
 * The entries given to `put` do not digest to the digest given with them: the folder changed
 * after it was digested, or the caller paired the wrong files with the digest.
 *
 * @since 0.2.0
 * @category errors
 */
export class DigestMismatch extends Schema.TaggedError<DigestMismatch>()("DigestMismatch", {
  expected: Schema.String,
  actual: Schema.String
}) {
  get isRetryable() { return false }
  override get message() {
    return `the build context's files digest to ${this.actual}, not to ${this.expected}: ` +
      "they changed after the context was digested; run the command again"
  }
}

/**
 * The context cannot be stored as given: an entry's path is not a clean relative path, a path is
 * listed twice, or it is over a limit (`MAX_BUILD_CONTEXT_BYTES`, `MAX_BUILD_CONTEXT_ENTRIES`).
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidContext extends Schema.TaggedError<InvalidContext>()("InvalidContext", {
  digest: Schema.String,
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `the build context ${this.digest} cannot be stored: ${this.detail}` }
}

/**
 * What is stored under a digest no longer has that digest (a file edited, truncated or removed
 * behind the store's back, a damaged index). The context is not returned.
 *
 * @since 0.2.0
 * @category errors
 */
export class ContextCorrupted extends Schema.TaggedError<ContextCorrupted>()("ContextCorrupted", {
  digest: Schema.String,
  location: Schema.String,
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() {
    return `the build context stored under ${this.digest} is damaged (${this.detail}, in ${this.location}); ` +
      "register the version again from its folder to store it again"
  }
}

/** The storage below the adapter failed (disk full, permission denied). @since 0.2.0 @category errors */
export class ContextStoreFailure extends Schema.TaggedError<ContextStoreFailure>()("ContextStoreFailure", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return false }
  override get message() { return `build context store ${this.operation} failed: ${describeCause(this.cause)}` }
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.2.0
 * @category errors
 */
export class BuildContextStoreError extends Schema.TaggedError<BuildContextStoreError>()("BuildContextStoreError", {
  reason: Schema.Union([ContextNotFound, InvalidDigest, DigestMismatch, InvalidContext, ContextCorrupted, ContextStoreFailure])
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/** @since 0.2.0 @category errors */
export type BuildContextStoreErrorReason = BuildContextStoreError["reason"]

const refuse = (reason: BuildContextStoreErrorReason) => Effect.fail(new BuildContextStoreError({ reason }))

const DIGEST = /^sha256:[0-9a-f]{64}$/

/**
 * `digest` when it is one (`sha256:` and 64 lower-case hex digits), else `InvalidDigest`: an
 * adapter may use it as a file name only once it has passed this.
 *
 * @since 0.2.0
 * @category checks
 */
export const checkContextDigest = (digest: string): Effect.Effect<string, BuildContextStoreError> =>
  DIGEST.test(digest) ? Effect.succeed(digest) : refuse(new InvalidDigest({ digest }))

/**
 * What is wrong with a list of entries before it can be digested or stored, or `undefined`: a
 * path that is not clean, a path listed twice, a link with content, too many entries or bytes.
 * Only lengths and counts are read.
 *
 * @since 0.2.0
 * @category checks
 */
export const contextEntriesProblem = (entries: ReadonlyArray<BuildContextEntry>): string | undefined => {
  if (entries.length > MAX_BUILD_CONTEXT_ENTRIES) {
    return `it has ${entries.length} entries, more than the limit of ${MAX_BUILD_CONTEXT_ENTRIES} (MAX_BUILD_CONTEXT_ENTRIES)`
  }
  let bytes = 0
  const seen = new Set<string>()
  for (const entry of entries) {
    if (entry.path.length > MAX_TEXT_LENGTH || !isContextPath(entry.path)) {
      return `"${entry.path.slice(0, 200)}" is not a relative path without empty, "." or ".." segments`
    }
    if (seen.has(entry.path)) return `"${entry.path}" is listed twice`
    seen.add(entry.path)
    if (entry.linkTarget !== undefined && (entry.content.length > 0 || entry.executable)) {
      return `"${entry.path}" is a symbolic link, which has neither content nor an execute bit`
    }
    if (entry.linkTarget !== undefined && entry.linkTarget.length > MAX_TEXT_LENGTH) {
      return `the target of the symbolic link "${entry.path}" is longer than ${MAX_TEXT_LENGTH} characters`
    }
    bytes += entry.content.length
  }
  if (bytes > MAX_BUILD_CONTEXT_BYTES) {
    return `its files hold ${bytes} bytes, more than the limit of ${MAX_BUILD_CONTEXT_BYTES} (MAX_BUILD_CONTEXT_BYTES)`
  }
  return undefined
}

/**
 * The SHA-256 of a file's bytes as `ContextDigest` lists it: 64 lower-case hex digits.
 *
 * @since 0.2.0
 * @category digest
 */
export const contextFileSha256 = (content: Uint8Array): Effect.Effect<string> =>
  // WebCrypto takes a view of an ArrayBuffer; a view of a shared buffer is copied first.
  sha256Digest(content.buffer instanceof ArrayBuffer ? (content as Uint8Array<ArrayBuffer>) : new Uint8Array(content))
    .pipe(Effect.map((digest) => digest.slice("sha256:".length)))

/**
 * An entry as the digest covers it (`ContextDigest.ContextEntry`): a file by the SHA-256 of its
 * content and its execute bit, a link by its target.
 *
 * @since 0.2.0
 * @category digest
 */
export const digestedContextEntry = (entry: BuildContextEntry): Effect.Effect<ContextEntry> =>
  entry.linkTarget !== undefined
    ? Effect.succeed({ type: "symlink", path: entry.path, target: entry.linkTarget })
    : Effect.map(contextFileSha256(entry.content), (sha256) => ({ type: "file", path: entry.path, sha256, executable: entry.executable }))

/**
 * The entries as the digest covers them, and their `ContextDigest`, computed from their bytes;
 * `InvalidContext` (under `digest`, the digest the caller meant) when they cannot be a context
 * (`contextEntriesProblem`).
 *
 * @since 0.2.0
 * @category digest
 */
export const buildContextDigest = (
  entries: ReadonlyArray<BuildContextEntry>,
  digest: string
): Effect.Effect<{ readonly digest: string; readonly entries: ReadonlyArray<ContextEntry> }, BuildContextStoreError> =>
  Effect.gen(function*() {
    const problem = contextEntriesProblem(entries)
    if (problem !== undefined) return yield* refuse(new InvalidContext({ digest, detail: problem }))
    const digested = yield* Effect.forEach(entries, digestedContextEntry)
    return { digest: yield* contextDigest(digested), entries: digested }
  })

/**
 * Succeeds, with the entries as digested, when `context.digest` is a digest and its entries
 * digest to it: what `put` checks before it stores anything. `DigestMismatch` otherwise.
 *
 * @since 0.2.0
 * @category checks
 */
export const verifyBuildContext = (
  context: BuildContext
): Effect.Effect<ReadonlyArray<ContextEntry>, BuildContextStoreError> =>
  Effect.gen(function*() {
    const expected = yield* checkContextDigest(context.digest)
    const actual = yield* buildContextDigest(context.entries, expected)
    if (actual.digest !== expected) return yield* refuse(new DigestMismatch({ expected, actual: actual.digest }))
    return actual.entries
  })

/**
 * The port's error for a failure of the storage below an adapter (`operation` says what failed).
 *
 * @since 0.2.0
 * @category errors
 */
export const contextStoreFailure = (operation: string, cause: unknown): BuildContextStoreError =>
  new BuildContextStoreError({ reason: new ContextStoreFailure({ operation, cause }) })

/**
 * @since 0.2.0
 * @category port
 */
export class BuildContextStore extends Context.Service<BuildContextStore, {
  /** Where the contexts are kept, for messages: a directory, or `memory`. */
  readonly location: string
  /**
   * Stores a context under its digest once `verifyBuildContext` passes; storing one that is already there
   * (and intact) does nothing. Nothing is stored when it fails.
   */
  readonly put: (context: BuildContext) => Effect.Effect<void, BuildContextStoreError>
  /**
   * The context stored under `digest`, its entries sorted by path and digested again:
   * `ContextNotFound` when there is none, `ContextCorrupted` when it no longer has that digest.
   */
  readonly get: (digest: string) => Effect.Effect<BuildContext, BuildContextStoreError>
  /** Whether a context is stored under `digest` (not verified: `get` does that). */
  readonly has: (digest: string) => Effect.Effect<boolean, BuildContextStoreError>
}>()("terrarium/BuildContextStore") {}
