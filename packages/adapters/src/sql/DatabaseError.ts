/**
 * The error of the SQL layer: opening, migrating or querying the database failed.
 *
 * @since 0.1.0
 */
import { describeCause } from "@terrarium/domain"
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

