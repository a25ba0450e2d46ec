/**
 * The API keys of the HTTP API: each opens one workspace. A key is `trm_<id>_<secret>` (the id
 * finds nothing by itself; the secret is 32 random bytes); only its SHA-256 is stored (migration
 * 0015), and the key is shown once, by `terrarium apikey create`. A revoked key opens nothing.
 *
 * Kept in a table of the same database rather than in the event log: a key is a credential, not
 * a fact of the registry's history, and it must never sit in an event.
 *
 * @since 0.4.0
 */
import { Database, type DatabaseError } from "@terrarium/adapters"
import { WorkspaceName } from "@terrarium/domain"
import { Context, Effect, Layer, Redacted } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { decodeInput, type InvalidInput } from "../InvalidInput.ts"

/** A key as listed: never the key itself. @since 0.4.0 @category model */
export interface ApiKeyInfo {
  readonly id: string
  readonly workspace: string
  readonly description: string | null
  readonly createdAt: Date
  readonly createdBy: string
  readonly revokedAt: Date | null
}

/** Who a request's key says the caller is. @since 0.4.0 @category model */
export interface ApiCaller {
  readonly keyId: string
  readonly workspace: string
}

/** @since 0.4.0 @category service */
export class ApiKeys extends Context.Service<ApiKeys, {
  /** Makes a key of `workspace`; the key is in the answer and nowhere else. */
  readonly create: (input: { readonly workspace: string; readonly description?: string | undefined; readonly actor: string }) =>
    Effect.Effect<ApiKeyInfo & { readonly key: Redacted.Redacted<string> }, DatabaseError | InvalidInput>
  readonly list: (input: { readonly workspace?: string | undefined }) => Effect.Effect<ReadonlyArray<ApiKeyInfo>, DatabaseError>
  /** Revokes a key by id; false when there is no such key not yet revoked. */
  readonly revoke: (id: string) => Effect.Effect<boolean, DatabaseError>
  /** The caller of a key, or `undefined` for a key that is unknown or revoked. */
  readonly authenticate: (key: Redacted.Redacted<string>) => Effect.Effect<ApiCaller | undefined, DatabaseError>
}>()("terrarium/http/ApiKeys") {}

const hashOf = (key: string) => createHash("sha256").update(key, "utf8").digest("hex")

/** The longest key looked up: longer text is no key of ours, and is not hashed. */
const MAX_KEY_LENGTH = 128

interface Row {
  readonly id: string
  readonly workspace: string
  readonly description: string | null
  readonly created_at: Date | string
  readonly created_by: string
  readonly revoked_at: Date | string | null
}

const infoOf = (row: Row): ApiKeyInfo => ({
  id: row.id,
  workspace: row.workspace,
  description: row.description,
  createdAt: new Date(row.created_at),
  createdBy: row.created_by,
  revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at)
})

/** The keys in the database the context's `Database` opens. @since 0.4.0 @category layers */
export const layer: Layer.Layer<ApiKeys, never, Database> = Layer.effect(ApiKeys, Effect.gen(function*() {
  const db = yield* Database
  return ApiKeys.of({
    create: ({ workspace, description, actor }) =>
      Effect.gen(function*() {
        const ws = yield* decodeInput(WorkspaceName, workspace, { root: "workspace" })
        const id = randomBytes(6).toString("hex")
        const key = `trm_${id}_${randomBytes(32).toString("base64url")}`
        const createdAt = new Date()
        yield* db.execute(
          "create an API key",
          "INSERT INTO api_keys (id, workspace, key_hash, description, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
          [id, ws, hashOf(key), description ?? null, createdAt, actor]
        )
        return { id, workspace: ws, description: description ?? null, createdAt, createdBy: actor, revokedAt: null, key: Redacted.make(key) }
      }),
    list: ({ workspace }) =>
      db.execute<Row>(
        "list the API keys",
        workspace === undefined
          ? "SELECT id, workspace, description, created_at, created_by, revoked_at FROM api_keys ORDER BY created_at, id"
          : "SELECT id, workspace, description, created_at, created_by, revoked_at FROM api_keys WHERE workspace = $1 ORDER BY created_at, id",
        workspace === undefined ? [] : [workspace]
      ).pipe(Effect.map((rows) => rows.map(infoOf))),
    revoke: (id) =>
      db.execute<{ id: string }>(
        "revoke an API key",
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id",
        [id]
      ).pipe(Effect.map((rows) => rows.length > 0)),
    authenticate: (key) => {
      const text = Redacted.value(key)
      if (text.length === 0 || text.length > MAX_KEY_LENGTH || !text.startsWith("trm_")) return Effect.succeed(undefined)
      return db.execute<{ id: string; workspace: string }>(
        "check an API key",
        "SELECT id, workspace FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        [hashOf(text)]
      ).pipe(Effect.map((rows) => rows[0] === undefined ? undefined : { keyId: rows[0].id, workspace: rows[0].workspace }))
    }
  })
}))
