/**
 * The projections port: the projector that keeps the read model (`ReadModel.ts`) up to date with
 * the event log, exactly once per event, and can rebuild it from the whole log.
 *
 * @since 0.1.0
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import { describeCause } from "../CauseText.ts"

const at = (position: number | undefined) => (position !== undefined ? ` at position ${position}` : "")

/**
 * The storage of the read model failed while projecting (`operation`: `checkpoint`, `apply`,
 * `rebuild`); for `apply`, `position` is the first event of the batch. Nothing of the failed
 * step was written.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProjectionStorageFailure extends Schema.TaggedError<ProjectionStorageFailure>()("ProjectionStorageFailure", {
  operation: Schema.String,
  position: Schema.optionalKey(Schema.Number),
  cause: Schema.Defect()
}) {
  get isRetryable() { return false }
  override get message() { return `projection ${this.operation}${at(this.position)} failed: ${describeCause(this.cause)}` }
}

/**
 * The event at `position` cannot be decoded (an unknown type or a payload this version cannot
 * read): the projector stops before it, its checkpoint at most the position before.
 *
 * @since 0.1.0
 * @category errors
 */
export class UndecodableEvent extends Schema.TaggedError<UndecodableEvent>()("UndecodableEvent", {
  position: Schema.Number,
  cause: Schema.Defect()
}) {
  get isRetryable() { return false }
  override get message() { return `projection decode${at(this.position)} failed: ${describeCause(this.cause)}` }
}

/**
 * Reading the event log failed (`operation`: `read head`, `read log`, `follow log`); `position`,
 * when known, is the first event that could not be read.
 *
 * @since 0.1.0
 * @category errors
 */
export class LogReadFailure extends Schema.TaggedError<LogReadFailure>()("LogReadFailure", {
  operation: Schema.String,
  position: Schema.optionalKey(Schema.Number),
  cause: Schema.Defect()
}) {
  get isRetryable() { return false }
  override get message() { return `projection ${this.operation}${at(this.position)} failed: ${describeCause(this.cause)}` }
}

/**
 * A rebuild gave up: live projectors got past the rebuilt read model before every one of its
 * `rounds` attempts to swap it in. The live read model is unchanged; retrying when fewer events
 * are being appended succeeds.
 *
 * @since 0.1.0
 * @category errors
 */
export class RebuildOvertaken extends Schema.TaggedError<RebuildOvertaken>()("RebuildOvertaken", {
  rounds: Schema.Number
}) {
  get isRetryable() { return true }
  override get message() {
    return `projection rebuild failed: the live read model moved past the rebuilt one ${this.rounds} times in a row; ` +
      "the live read model is unchanged, try again when fewer events are being appended"
  }
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProjectionError extends Schema.TaggedError<ProjectionError>()("ProjectionError", {
  reason: Schema.Union([ProjectionStorageFailure, UndecodableEvent, LogReadFailure, RebuildOvertaken])
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/**
 * Which projection version built the stored read model (`stored`: null while nothing has been
 * projected) and which this projector builds (`current`). They differ after an upgrade that
 * changed the projection, until the next catch-up rebuilds the read model.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProjectionVersion {
  readonly stored: number | null
  readonly current: number
}

/**
 * The projector.
 *
 * @since 0.1.0
 * @category port
 */
export class Projections extends Context.Service<Projections, {
  /** Apply every event up to the head (as of the call), in batches; returns the new checkpoint. */
  readonly catchUp: Effect.Effect<number, ProjectionError>
  /**
   * Replay the whole log into fresh tables and swap them in atomically: readers see the old read
   * model until the rebuilt one replaces it. Returns the new checkpoint (at least the head as of
   * the call). On failure the live read model is as it was.
   */
  readonly rebuild: Effect.Effect<number, ProjectionError>
  /**
   * Follow the log for ever (a long-running process's background fiber); fails only on an
   * error. One instance per read model follows at a time, across processes: another `run`
   * stands by and takes over when the active one stops (its process ends or it is interrupted).
   */
  readonly run: Effect.Effect<never, ProjectionError>
  /** The position up to which the read models are current. */
  readonly checkpoint: Effect.Effect<number, ProjectionError>
  /** The projection version of the stored read model and of this projector. */
  readonly version: Effect.Effect<ProjectionVersion, ProjectionError>
}>()("terrarium/Projections") {}
