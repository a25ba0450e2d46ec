/**
 * The event store port: an append-only log of streams with optimistic concurrency and a global
 * order that subscribers can follow without ever skipping an event.
 *
 * The port is payload-agnostic: it stores JSON `data` under a `type`; the environment codec
 * (`EventCodec.ts`) turns domain events into that shape and back.
 *
 * @since 0.1.0
 */
import { Context, Schema } from "effect"
import { describeCause } from "../CauseText.ts"
import type { Effect, Stream } from "effect"

/**
 * A stream is named by its workspace and its id within it (for environments: the name).
 *
 * @since 0.1.0
 * @category model
 */
export interface StreamRef {
  readonly workspace: string
  readonly stream: string
}

/** @since 0.1.0 @category model */
export interface EventMetadata {
  readonly actor: string
  readonly correlationId: string
  readonly causationId: string | null
}

/**
 * An event to append. `id` is a UUID chosen by the caller, so a retried append is recognisable.
 *
 * @since 0.1.0
 * @category model
 */
export interface NewEvent {
  readonly id: string
  readonly type: string
  readonly schemaVersion: number
  readonly data: unknown
  readonly metadata: EventMetadata
}

/**
 * An event as stored. `streamVersion` counts from 1 within its stream; `position` is the global
 * order, dense from 1, and never seen out of order by a reader.
 *
 * @since 0.1.0
 * @category model
 */
export interface RecordedEvent extends NewEvent, StreamRef {
  readonly streamVersion: number
  readonly position: number
  readonly occurredAt: Date
}

/**
 * The stream version the appender believes is current: a number (0 = the stream must not
 * exist yet), or `"any"` to skip the check.
 *
 * @since 0.1.0
 * @category model
 */
export type ExpectedVersion = number | "any"

/** @since 0.1.0 @category model */
export interface AppendResult {
  /** The stream version of the last appended event. */
  readonly streamVersion: number
  /** The global position of the last appended event. */
  readonly position: number
}

/**
 * The stream was not at the expected version: somebody else appended first. Retryable: re-read
 * the stream, decide again, append again.
 *
 * @since 0.1.0
 * @category errors
 */
export class WrongExpectedVersion extends Schema.TaggedError<WrongExpectedVersion>()(
  "WrongExpectedVersion",
  { workspace: Schema.String, stream: Schema.String, expected: Schema.Union([Schema.Number, Schema.Literal("any")]), actual: Schema.Number }
) {
  get isRetryable() { return true }
  override get message() {
    return `stream ${this.workspace}/${this.stream} is at version ${this.actual}, expected ${this.expected}`
  }
}

/**
 * The storage failed (connection lost, disk full, migration missing).
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageFailure extends Schema.TaggedError<StorageFailure>()(
  "StorageFailure",
  { operation: Schema.String, cause: Schema.Defect() }
) {
  get isRetryable() { return false }
  override get message() {
    return `event store ${this.operation} failed: ${describeCause(this.cause)}`
  }
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventStoreError extends Schema.TaggedError<EventStoreError>()(
  "EventStoreError",
  { reason: Schema.Union([WrongExpectedVersion, StorageFailure]) }
) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/**
 * The port's error for a failure of the storage below an adapter (`operation` says what failed).
 *
 * @since 0.1.0
 * @category errors
 */
export const storageFailure = (operation: string, cause: unknown): EventStoreError =>
  new EventStoreError({ reason: new StorageFailure({ operation, cause }) })

/** @since 0.1.0 @category errors */
export const isWrongExpectedVersion = (e: EventStoreError): boolean => e.reason._tag === "WrongExpectedVersion"

/** @since 0.1.0 @category model */
export interface ReadAllOptions {
  /** Read events with position strictly greater than this (0 = from the start). */
  readonly after: number
  /** Stop after this position (inclusive); default: the head when the read starts. */
  readonly until?: number
  /** Rows fetched per round trip; memory stays bounded by it. */
  readonly batchSize?: number
}

/** @since 0.1.0 @category model */
export interface SubscribeOptions {
  readonly after: number
  readonly batchSize?: number
  /** How long to wait between polls once caught up. */
  readonly pollInterval?: import("effect").Duration.Input
}

/**
 * @since 0.1.0
 * @category port
 */
export class EventStore extends Context.Service<EventStore, {
  /** Append events to one stream atomically if it is at `expected`; fails with WrongExpectedVersion otherwise. */
  readonly append: (stream: StreamRef, expected: ExpectedVersion, events: ReadonlyArray<NewEvent>) => Effect.Effect<AppendResult, EventStoreError>
  /** All events of one stream in stream order, optionally only those at or before a global position. */
  readonly readStream: (stream: StreamRef, options?: { readonly untilPosition?: number }) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>
  /** Events in global order, from a position, as a bounded-memory Stream that ends at the head. */
  readonly readAll: (options: ReadAllOptions) => Stream.Stream<RecordedEvent, EventStoreError>
  /** Catch up from a position, then keep following the log (never ends by itself). */
  readonly subscribe: (options: SubscribeOptions) => Stream.Stream<RecordedEvent, EventStoreError>
  /** The position of the last committed event (0 for an empty log). */
  readonly head: Effect.Effect<number, EventStoreError>
  /**
   * The head as it moves, pushed rather than asked, for a reader that keeps answers per head (the
   * HTTP server): first the head once the store is listening, then the head after each later
   * append is committed, by this store or any other on the same log (this process's own appends
   * as they complete; another process's when its announcement is delivered). Rising only, and
   * it may skip positions (a burst of appends announces its last). While the stream runs, its
   * last element is the head up to that delivery. It fails when the store stops hearing of
   * appends (the listening connection is lost, or stops answering its periodic check): from
   * then on, until a new subscription has given its first element, the head must be asked
   * (`head`).
   */
  readonly heads: Stream.Stream<number, EventStoreError>
  /** The last position at or before a point in time (0 if none): the basis of as-of queries. */
  readonly positionAt: (at: Date) => Effect.Effect<number, EventStoreError>
}>()("terrarium/EventStore") {}
