/**
 * Row types of the tables this package owns, for typed Kysely queries
 * (`database.db.withTables<EventLogTables>()` or a cast).
 *
 * @since 0.1.0
 */
import type { ColumnType, Generated } from "kysely"

/**
 * `events` (migrations/0001_event_log.sql). `bigint` columns come back from `pg` as strings, so
 * `position` is read as `string | number` and converted with `Number` (safe below 2^53).
 *
 * @since 0.1.0
 * @category tables
 */
export interface EventsTable {
  readonly position: ColumnType<string | number, number, never>
  readonly workspace: string
  readonly stream: string
  readonly stream_version: number
  readonly event_id: string
  readonly event_type: string
  readonly schema_version: number
  readonly data: ColumnType<unknown, string, never>
  readonly metadata: ColumnType<unknown, string, never>
  readonly occurred_at: Generated<Date>
}

/** @since 0.1.0 @category tables */
export interface EventLogTables {
  readonly events: EventsTable
}
