/**
 * The statements of the SQL API key store, one per operation of the port, on either engine.
 *
 * @since 0.4.0
 */
import type { ApiKeyGrant, ApiKeyInfo } from "@terrarium/domain"
import type { Kysely } from "kysely"
import { type ApiKeyTables, INFO_COLUMNS, infoOf } from "./ApiKeysTable.ts"

type Db = Kysely<ApiKeyTables>

/** @since 0.4.0 @category statements */
export const insertKey = (db: Db, row: { readonly info: ApiKeyInfo; readonly keyHash: string }): Promise<unknown> =>
  db.insertInto("api_keys").values({
    id: row.info.id,
    workspace: row.info.workspace,
    key_hash: row.keyHash,
    description: row.info.description,
    created_at: row.info.createdAt,
    created_by: row.info.createdBy,
    revoked_at: null
  }).execute()

/** The key of this hash, if it is not revoked. @since 0.4.0 @category statements */
export const grantOf = async (db: Db, keyHash: string): Promise<ApiKeyGrant | undefined> => {
  const row = await db.selectFrom("api_keys").select(["id", "workspace"])
    .where("key_hash", "=", keyHash).where("revoked_at", "is", null)
    .executeTakeFirst()
  return row === undefined ? undefined : { keyId: row.id, workspace: row.workspace }
}

/** @since 0.4.0 @category statements */
export const listKeys = async (db: Db, workspace: string | undefined): Promise<ReadonlyArray<ApiKeyInfo>> => {
  const all = db.selectFrom("api_keys").select(INFO_COLUMNS).orderBy("created_at").orderBy("id")
  const rows = await (workspace === undefined ? all : all.where("workspace", "=", workspace)).execute()
  return rows.map(infoOf)
}

/** Whether a key not yet revoked had this id (and is revoked now). @since 0.4.0 @category statements */
export const revokeKey = async (db: Db, id: string, at: Date): Promise<boolean> => {
  const rows = await db.updateTable("api_keys").set({ revoked_at: at })
    .where("id", "=", id).where("revoked_at", "is", null)
    .returning("id").execute()
  return rows.length > 0
}
