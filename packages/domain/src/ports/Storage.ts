/**
 * The storage port: where the log and the read models live, and which schema migrations it has.
 * What `db status` and `db migrate` report; the use cases never need more of the database than
 * this, so the SQL `Database` stays an adapter detail.
 *
 * @since 0.1.0
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import { describeCause } from "../CauseText.ts"

/**
 * The engine behind the ports: a PostgreSQL server, the embedded PGlite, or memory (tests).
 *
 * @since 0.1.0
 * @category model
 */
export type StorageKind = "postgres" | "pglite" | "memory"

/**
 * Reading the storage's own bookkeeping failed (connection lost, table missing).
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return false }
  override get message() {
    return `database ${this.operation} failed: ${describeCause(this.cause)}`
  }
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  reason: StorageUnavailable
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/**
 * @since 0.1.0
 * @category port
 */
export class Storage extends Context.Service<Storage, {
  /** Which engine holds the data. */
  readonly kind: StorageKind
  /** The schema unqualified names resolve to (`public` unless configured). */
  readonly schema: string
  /** The migrations applied when this storage was opened (empty if it was up to date). */
  readonly appliedAtOpen: ReadonlyArray<string>
  /** The names of every migration applied, oldest first. */
  readonly migrations: Effect.Effect<ReadonlyArray<string>, StorageError>
}>()("terrarium/Storage") {}
