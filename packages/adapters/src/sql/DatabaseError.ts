/**
 * The error of the SQL layer: opening, migrating or querying the database failed.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * `operation` names what was attempted (`connect`, `migration 0001_event_log`, a query name);
 * `cause` is the driver's error.
 *
 * @since 0.1.0
 * @category errors
 */
export class DatabaseError extends Schema.TaggedError<DatabaseError>()("DatabaseError", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  override get message() {
    return `database ${this.operation} failed: ${describeCause(this.cause)}`
  }
}

/**
 * A one-line text for any thrown value. `String(x)` itself throws for objects without a
 * prototype (PGlite and pg sometimes reject with such plain objects), so it is not enough.
 *
 * @since 0.1.0
 * @category errors
 */
export const describeCause = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  if (typeof cause === "object" && cause !== null) {
    const message = (cause as { readonly message?: unknown }).message
    if (typeof message === "string") return message
    try {
      return JSON.stringify(cause)
    } catch {
      return Object.prototype.toString.call(cause)
    }
  }
  return String(cause)
}
