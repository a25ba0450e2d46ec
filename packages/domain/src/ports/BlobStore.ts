/**
 * The blob store port: named byte objects (build logs, build contexts, private wheels, exported
 * definitions) in a flat namespace of `/`-separated names, after Effect's `KeyValueStore` but
 * for bytes that may be large: `put` takes bytes or a stream and writes all or nothing; `get`
 * streams; `list` walks a prefix; `append` grows a blob in place (Azure's append blobs, a file
 * opened for appending) so that a log is written as the build runs rather than when it ends.
 *
 * Names are checked by every operation before anything is touched (`blobNameProblem`), so an
 * adapter may turn a name into a file path or a URL path as it is.
 *
 * @since 0.2.0
 */
import { Context, Effect, Schema, Stream } from "effect"
import type { Option, Redacted, Scope } from "effect"
import { describeCause } from "../CauseText.ts"

/**
 * The default bound on one blob's size (`put`, and `append` in total): 1 GiB, well above a
 * build context (`MAX_BUILD_CONTEXT_BYTES`) or a wheel, well below what a machine can hold.
 *
 * @since 0.2.0
 * @category limits
 */
export const MAX_BLOB_BYTES = 1024 * 1_048_576

/**
 * The longest name: Azure Blob's own bound on a blob name, so that a name the file system takes
 * is one Azure takes too.
 *
 * @since 0.2.0
 * @category limits
 */
export const MAX_BLOB_NAME_LENGTH = 1024

/**
 * The longest segment, in UTF-8 bytes: what common file systems take as one file name.
 *
 * @since 0.2.0
 * @category limits
 */
export const MAX_BLOB_SEGMENT_BYTES = 255

const utf8 = new TextEncoder()

/**
 * What is wrong with `name` as a blob name, or `undefined`: it must be 1 to `MAX_BLOB_NAME_LENGTH`
 * characters of `/`-separated segments of at most `MAX_BLOB_SEGMENT_BYTES` bytes, none empty (so no leading `/`), none starting with `.`
 * (so no `.` or `..`, and the file system adapter's temporary files cannot be named), and no
 * control character or `\` anywhere.
 *
 * @since 0.2.0
 * @category checks
 */
export const blobNameProblem = (name: string): string | undefined => {
  if (name.length === 0) return "it is empty"
  if (name.length > MAX_BLOB_NAME_LENGTH) return `it is longer than ${MAX_BLOB_NAME_LENGTH} characters`
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return "it holds a control character"
  if (name.includes("\\")) return "it holds a \\ (names use / between segments)"
  if (name.startsWith("/")) return "it starts with / (names are relative)"
  for (const segment of name.split("/")) {
    if (segment.length === 0) return "it has an empty segment (// or a trailing /)"
    if (segment.startsWith(".")) return `its segment "${segment.slice(0, 80)}" starts with . (no ., .. or hidden names)`
    if (utf8.encode(segment).length > MAX_BLOB_SEGMENT_BYTES) {
      return `its segment "${segment.slice(0, 80)}…" is longer than ${MAX_BLOB_SEGMENT_BYTES} bytes`
    }
  }
  return undefined
}

/**
 * What is wrong with `prefix` as a `list` prefix, or `undefined`: empty (everything), or a name
 * (`blobNameProblem`) optionally followed by one `/`.
 *
 * @since 0.2.0
 * @category checks
 */
export const blobPrefixProblem = (prefix: string): string | undefined =>
  prefix.length === 0 ? undefined : blobNameProblem(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix)

/** No blob has this name. @since 0.2.0 @category errors */
export class BlobNotFound extends Schema.TaggedError<BlobNotFound>()("BlobNotFound", { name: Schema.String }) {
  get isRetryable() { return false }
  override get message() { return `no blob ${this.name}` }
}

/** The name is not a blob name (`blobNameProblem` says why). @since 0.2.0 @category errors */
export class InvalidBlobName extends Schema.TaggedError<InvalidBlobName>()("InvalidBlobName", {
  name: Schema.String,
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `not a blob name: ${JSON.stringify(this.name.slice(0, 80))}: ${this.detail}` }
}

/** The blob would be larger than its bound; nothing was stored. @since 0.2.0 @category errors */
export class BlobTooLarge extends Schema.TaggedError<BlobTooLarge>()("BlobTooLarge", {
  name: Schema.String,
  limit: Schema.Number
}) {
  get isRetryable() { return false }
  override get message() { return `blob ${this.name} would be larger than ${this.limit} bytes; nothing was stored` }
}

/**
 * The blob exists in a form the operation cannot take: `append` to a blob written whole by
 * `put` (Azure keeps the two kinds apart), or a name that is a prefix of another blob's name
 * on a file system (`a` beside `a/b`).
 *
 * @since 0.2.0
 * @category errors
 */
export class BlobConflict extends Schema.TaggedError<BlobConflict>()("BlobConflict", {
  name: Schema.String,
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `blob ${this.name}: ${this.detail}` }
}

/**
 * The storage service could not be reached or answered with a server error (Azure down, a
 * timeout): trying again later may work. Nothing is known to be stored.
 *
 * @since 0.2.0
 * @category errors
 */
export class BlobStoreUnavailable extends Schema.TaggedError<BlobStoreUnavailable>()("BlobStoreUnavailable", {
  operation: Schema.String,
  name: Schema.String,
  location: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return true }
  override get message() {
    return `blob store ${this.location} is unavailable (${this.operation} of ${this.name}): ${describeCause(this.cause)}`
  }
}

/** The storage refused or failed otherwise (permission denied, disk full, bad credentials). @since 0.2.0 @category errors */
export class BlobStorageFailure extends Schema.TaggedError<BlobStorageFailure>()("BlobStorageFailure", {
  operation: Schema.String,
  name: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return false }
  override get message() { return `blob store ${this.operation} of ${this.name} failed: ${describeCause(this.cause)}` }
}

/**
 * The one error of the port; `reason` says which, and `isRetryable` whether to try again.
 *
 * @since 0.2.0
 * @category errors
 */
export class BlobStoreError extends Schema.TaggedError<BlobStoreError>()("BlobStoreError", {
  reason: Schema.Union([BlobNotFound, InvalidBlobName, BlobTooLarge, BlobConflict, BlobStoreUnavailable, BlobStorageFailure])
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/** @since 0.2.0 @category errors */
export type BlobStoreErrorReason = BlobStoreError["reason"]

/** @since 0.2.0 @category errors */
export const blobStoreError = (reason: BlobStoreErrorReason): BlobStoreError => new BlobStoreError({ reason })

/**
 * `name` when it is a blob name, else `InvalidBlobName`: every adapter checks with this first.
 *
 * @since 0.2.0
 * @category checks
 */
export const checkBlobName = (name: string): Effect.Effect<string, BlobStoreError> => {
  const detail = blobNameProblem(name)
  return detail === undefined ? Effect.succeed(name) : Effect.fail(blobStoreError(new InvalidBlobName({ name, detail })))
}

/** `prefix` when it is a list prefix, else `InvalidBlobName`. @since 0.2.0 @category checks */
export const checkBlobPrefix = (prefix: string): Effect.Effect<string, BlobStoreError> => {
  const detail = blobPrefixProblem(prefix)
  return detail === undefined
    ? Effect.succeed(prefix)
    : Effect.fail(blobStoreError(new InvalidBlobName({ name: prefix, detail })))
}

/** What `head` and `list` say of a blob. @since 0.2.0 @category model */
export interface BlobInfo {
  readonly name: string
  /** Its size in bytes. */
  readonly size: number
}

/** @since 0.2.0 @category model */
export interface PutBlobOptions {
  /** The most bytes the blob may have (default `MAX_BLOB_BYTES`); past it, `BlobTooLarge` and nothing stored. */
  readonly maxBytes?: number | undefined
}

/**
 * @since 0.2.0
 * @category port
 */
export class BlobStore extends Context.Service<BlobStore, {
  /** Where the blobs are (`file:///…`, `http://…/container`, `memory`), for messages; never a secret. */
  readonly location: string
  /**
   * Stores the bytes under `name`, replacing a blob already there: all or nothing, readers see
   * the old blob or the new one, never part of either. A stream that fails stores nothing.
   */
  readonly put: <E = never>(
    name: string,
    body: Uint8Array | Stream.Stream<Uint8Array, E>,
    options?: PutBlobOptions
  ) => Effect.Effect<void, BlobStoreError | E>
  /**
   * Adds bytes at the end of the blob, creating it if there is none (appending nothing creates
   * it empty). `BlobConflict` if the blob was written by `put`.
   */
  readonly append: (name: string, bytes: Uint8Array, options?: PutBlobOptions) => Effect.Effect<void, BlobStoreError>
  /** The blob's bytes as they are stored now, in chunks; `BlobNotFound` if there is none. */
  readonly get: (name: string) => Stream.Stream<Uint8Array, BlobStoreError>
  /** The blob's size, or none when there is no blob of that name. */
  readonly head: (name: string) => Effect.Effect<Option.Option<BlobInfo>, BlobStoreError>
  /** The blobs whose names start with `prefix` (`""`: all), sorted by name. */
  readonly list: (prefix: string) => Stream.Stream<BlobInfo, BlobStoreError>
  /** Removes the blob; whether there was one. */
  readonly delete: (name: string) => Effect.Effect<boolean, BlobStoreError>
  /**
   * A URL that reads the blob with a plain GET (no header) for at most `lifetimeSeconds` and no
   * longer than the scope: a credential, so `Redacted`, never stored. Azure signs a read-only
   * SAS for this one blob; the file-system and memory stores serve it on 127.0.0.1 under a
   * random path until the scope closes. `BlobNotFound` if there is no such blob.
   */
  readonly readUrl: (
    name: string,
    options: { readonly lifetimeSeconds: number }
  ) => Effect.Effect<Redacted.Redacted<string>, BlobStoreError, Scope.Scope>
}>()("terrarium/BlobStore") {}

/**
 * The chunks one after the other in one array (`size`: their total length).
 *
 * @since 0.2.0
 * @category combinators
 */
export const concatBytes = (chunks: ReadonlyArray<Uint8Array>, size = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array => {
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

/**
 * The whole blob as one array of bytes (bounded by `maxBytes`, default `MAX_BLOB_BYTES`).
 *
 * @since 0.2.0
 * @category combinators
 */
export const getBlobBytes = (
  store: BlobStore["Service"],
  name: string,
  maxBytes: number = MAX_BLOB_BYTES
): Effect.Effect<Uint8Array, BlobStoreError> =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    let size = 0
    yield* Stream.runForEach(store.get(name), (chunk) => {
      size += chunk.length
      if (size > maxBytes) return Effect.fail(blobStoreError(new BlobTooLarge({ name, limit: maxBytes })))
      chunks.push(chunk)
      return Effect.void
    })
    return concatBytes(chunks, size)
  })

/** @since 0.2.0 @category errors */
export const blobStorageFailure = (operation: string, name: string) => (cause: unknown): BlobStoreError =>
  blobStoreError(new BlobStorageFailure({ operation, name, cause }))
