/**
 * The log store port: build logs kept as blobs of text lines, by key. A writer appends lines and
 * seals the log when the build ends; readers read it whole, or follow it: the lines so far, then
 * each new one, until it is sealed. Blob-shaped on purpose (append blob, key, read from an
 * offset) so that an object store can hold it as well as the file system does.
 *
 * @since 0.2.0
 */
import { Context, Schema } from "effect"
import type { Effect, Stream } from "effect"
import { describeCause } from "../CauseText.ts"
export { MAX_LOG_BYTES } from "../Limits.ts"

/**
 * A log key: `/`-separated segments of lower-case letters, digits, `.`, `_`, `-` and `:`, none
 * empty, `.` or `..`, at most 512 characters (`builds/<hash hex>/<build id>`).
 *
 * @since 0.2.0
 * @category model
 */
export const isLogKey = (key: string): boolean =>
  key.length > 0 && key.length <= 512 &&
  key.split("/").every((segment) => /^[a-z0-9._:-]+$/.test(segment) && segment !== "." && segment !== "..")

/** No log has this key. @since 0.2.0 @category errors */
export class LogNotFound extends Schema.TaggedError<LogNotFound>()("LogNotFound", { key: Schema.String }) {
  get isRetryable() { return false }
  override get message() { return `no log ${this.key}` }
}

/** The key is not a log key (`isLogKey`). @since 0.2.0 @category errors */
export class InvalidLogKey extends Schema.TaggedError<InvalidLogKey>()("InvalidLogKey", { key: Schema.String }) {
  get isRetryable() { return false }
  override get message() {
    return `not a log key: ${JSON.stringify(this.key.slice(0, 80))} (segments of a-z 0-9 . _ : -, separated by /)`
  }
}

/** The log is sealed: its build ended and nothing more may be written. @since 0.2.0 @category errors */
export class LogSealed extends Schema.TaggedError<LogSealed>()("LogSealed", { key: Schema.String }) {
  get isRetryable() { return false }
  override get message() { return `log ${this.key} is sealed` }
}

/** The storage below the store failed. @since 0.2.0 @category errors */
export class LogStorageFailure extends Schema.TaggedError<LogStorageFailure>()("LogStorageFailure", {
  operation: Schema.String,
  key: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return true }
  override get message() { return `log store ${this.operation} of ${this.key} failed: ${describeCause(this.cause)}` }
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.2.0
 * @category errors
 */
export class LogStoreError extends Schema.TaggedError<LogStoreError>()("LogStoreError", {
  reason: Schema.Union([LogNotFound, InvalidLogKey, LogSealed, LogStorageFailure])
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/** @since 0.2.0 @category model */
export interface ReadLogOptions {
  /** Keep reading as lines are appended, until the log is sealed (default false: what is there now). */
  readonly follow?: boolean | undefined
}

/**
 * @since 0.2.0
 * @category port
 */
export class LogStore extends Context.Service<LogStore, {
  /** Where the logs are (`file:///…`, `memory`), for messages. */
  readonly location: string
  /**
   * Appends lines (creating the log). A line holding `\n` is stored as several lines; a log past
   * `MAX_LOG_BYTES` keeps its start and one line saying that the rest was dropped.
   */
  readonly append: (key: string, lines: ReadonlyArray<string>) => Effect.Effect<void, LogStoreError>
  /** Seals the log (creating it empty if needed): followers end after its last line. Sealing twice is no error. */
  readonly seal: (key: string) => Effect.Effect<void, LogStoreError>
  /** The log's lines; `LogNotFound` if it was never written. */
  readonly read: (key: string, options?: ReadLogOptions) => Stream.Stream<string, LogStoreError>
  /** Whether the log exists and whether it is sealed. */
  readonly status: (key: string) => Effect.Effect<{ readonly exists: boolean; readonly sealed: boolean }, LogStoreError>
}>()("terrarium/LogStore") {}
