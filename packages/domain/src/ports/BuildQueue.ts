/**
 * The build queue port: build requests handed to worker processes. A job names a registered
 * version and its canonical hash, which is the job's key: while a job for a hash is waiting,
 * another request for it adds nothing.
 *
 * The queue is not what makes a build happen once: a worker runs the app's `build` use case,
 * whose lease on the hash's build stream is the exactly-once guard, so a job run twice (a
 * retry after a worker died, a duplicate the queue let through) finds the build done or
 * running and builds nothing.
 *
 * @since 0.3.0
 */
import { Context, Schema } from "effect"
import type { Effect, Stream } from "effect"
import { describeCause } from "../CauseText.ts"

/**
 * One build request.
 *
 * @since 0.3.0
 * @category model
 */
export interface BuildJob {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly noCache: boolean
  /** Who asked (the actor of the request). */
  readonly requestedBy: string
  /**
   * The id the build starts under when this job starts it (since 0.4.0): answered to the
   * requester at once, so that the build can be looked up while it waits (`find`). A job that
   * finds its hash built or being built starts nothing, and a retried job whose first attempt
   * started this id starts the next build under a new one.
   */
  readonly buildId?: string | undefined
}

/** The queue's storage failed or cannot be reached. @since 0.3.0 @category errors */
export class QueueUnavailable extends Schema.TaggedError<QueueUnavailable>()("QueueUnavailable", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return true }
  override get message() { return `the build queue could not ${this.operation}: ${describeCause(this.cause)}` }
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.3.0
 * @category errors
 */
export class BuildQueueError extends Schema.TaggedError<BuildQueueError>()("BuildQueueError", {
  reason: Schema.Union([QueueUnavailable])
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/** @since 0.3.0 @category model */
export interface WorkOptions {
  /** How many jobs this process runs at once (default 1). */
  readonly concurrency?: number | undefined
}

/**
 * @since 0.3.0
 * @category port
 */
export class BuildQueue extends Context.Service<BuildQueue, {
  /** Where the queue is, for messages (never a password). */
  readonly location: string
  /**
   * Queues a build; `queued` is false when a job for the hash was already waiting, and `buildId`
   * is then that job's (undefined if it has none).
   */
  readonly enqueue: (job: BuildJob) => Effect.Effect<{ readonly queued: boolean; readonly buildId: string | undefined }, BuildQueueError>
  /** The job waiting, retrying or running under a build id (`BuildJob.buildId`), if there is one. */
  readonly find: (buildId: string) => Effect.Effect<BuildJob | undefined, BuildQueueError>
  /** Whether a job for the hash is waiting or running (one that gave up or was cancelled is not). */
  readonly pending: (canonicalHash: string) => Effect.Effect<boolean, BuildQueueError>
  /** Cancels the waiting and running jobs of a hash; how many there were. */
  readonly cancel: (canonicalHash: string) => Effect.Effect<number, BuildQueueError>
  /**
   * Tells whoever follows a build's log (`announcements`) that it has new lines: the log store
   * holds the lines, this only rings the bell (PostgreSQL: NOTIFY), so a requester on another
   * machine than the worker's sees them as they come without polling the store.
   */
  readonly announce: (logKey: string) => Effect.Effect<void, BuildQueueError>
  /** A value each time the log is announced, from when the stream starts (best effort: a bell may be missed). */
  readonly announcements: (logKey: string) => Stream.Stream<void, BuildQueueError>
  /**
   * Runs jobs with `run` until interrupted. A job whose `run` fails is retried (by any worker);
   * on interruption no new job is taken, and the running ones finish first.
   */
  readonly work: (options: WorkOptions, run: (job: BuildJob) => Effect.Effect<void, unknown>) => Effect.Effect<never, BuildQueueError>
}>()("terrarium/BuildQueue") {}
