/**
 * The Kysely row type of `api_keys` (migrations/0015_api_keys.sql), and a row as the port lists it.
 *
 * @since 0.4.0
 */
import type { ApiKeyInfo } from "@terrarium/domain"
import type { ColumnType } from "kysely"

/** A `timestamptz` column: a `Date` from both drivers, written as a `Date`. */
type Timestamp = ColumnType<Date, Date, Date>

/** @since 0.4.0 @category tables */
export interface ApiKeyTables {
  readonly api_keys: {
    readonly id: string
    readonly workspace: string
    /** `hashApiKey` of the key; the key itself is stored nowhere. */
    readonly key_hash: string
    readonly description: string | null
    readonly created_at: Timestamp
    readonly created_by: string
    readonly revoked_at: ColumnType<Date | null, Date | null, Date>
  }
}

/** The columns a listing reads: every one but the hash. @since 0.4.0 @category tables */
export const INFO_COLUMNS = ["id", "workspace", "description", "created_at", "created_by", "revoked_at"] as const

/** @since 0.4.0 @category tables */
export const infoOf = (row: {
  readonly id: string
  readonly workspace: string
  readonly description: string | null
  readonly created_at: Date
  readonly created_by: string
  readonly revoked_at: Date | null
}): ApiKeyInfo => ({
  id: row.id,
  workspace: row.workspace,
  description: row.description,
  createdAt: new Date(row.created_at),
  createdBy: row.created_by,
  revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at)
})
