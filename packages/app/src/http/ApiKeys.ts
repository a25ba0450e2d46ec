/**
 * The API keys of the HTTP API: each opens one workspace. A key is `trm_<id>_<secret>` (the id
 * finds nothing by itself; the secret is 32 random bytes); only its SHA-256 is stored (migration
 * 0015), and the key is shown once, by `terrarium apikey create`. A revoked key opens nothing.
 *
 * A checked key is remembered for `KEY_CACHE_MILLIS` (by its hash, in this process), so that a
 * read does not pay a query for its key each time: a key revoked through this process stops at
 * once; one revoked by another process (`terrarium apikey revoke`, another `serve`) stops within
 * that bound. Unknown and revoked keys are never remembered.
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

/**
 * How long a checked key is taken as valid without asking the database again: the longest a key
 * revoked by another process still opens its workspace here.
 *
 * @since 0.4.0
 * @category limits
 */
export const KEY_CACHE_MILLIS = 5_000

/** The most keys remembered at once; beyond it the oldest is forgotten (it is checked again). */
export const KEY_CACHE_SIZE = 1_000

/**
 * Checked keys by hash, each until `millis` after its check. `now` is the clock (a test's own).
 *
 * @since 0.4.0
 * @category constructors
 */
export const makeKeyCache = (options: { readonly millis: number; readonly size: number; readonly now: () => number }) => {
  const entries = new Map<string, { readonly caller: ApiCaller; readonly until: number }>()
  return {
    get: (hash: string): ApiCaller | undefined => {
      const entry = entries.get(hash)
      if (entry === undefined) return undefined
      if (entry.until > options.now()) return entry.caller
      entries.delete(hash)
      return undefined
    },
    set: (hash: string, caller: ApiCaller): void => {
      entries.delete(hash)
      if (entries.size >= options.size) entries.delete(entries.keys().next().value!)
      entries.set(hash, { caller, until: options.now() + options.millis })
    },
    /** Forgets every entry of a key id (a revoke through this process). */
    forget: (keyId: string): void => {
      for (const [hash, entry] of entries) if (entry.caller.keyId === keyId) entries.delete(hash)
    }
  }
}

/**
 * The keys in the database the context's `Database` opens, with a checked key remembered for
 * `cacheMillis` (default `KEY_CACHE_MILLIS`; 0: every request asks the database).
 *
 * @since 0.4.0
 * @category layers
 */
export const layerWith = (options: { readonly cacheMillis?: number; readonly now?: () => number } = {}): Layer.Layer<ApiKeys, never, Database> =>
  Layer.effect(ApiKeys, Effect.gen(function*() {
    const db = yield* Database
    const cache = makeKeyCache({ millis: options.cacheMillis ?? KEY_CACHE_MILLIS, size: KEY_CACHE_SIZE, now: options.now ?? Date.now })
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
        ).pipe(Effect.map((rows) => {
          cache.forget(id)
          return rows.length > 0
        })),
      authenticate: (key) => {
        const text = Redacted.value(key)
        if (text.length === 0 || text.length > MAX_KEY_LENGTH || !text.startsWith("trm_")) return Effect.succeed(undefined)
        const hash = hashOf(text)
        const known = cache.get(hash)
        if (known !== undefined) return Effect.succeed(known)
        return db.execute<{ id: string; workspace: string }>(
          "check an API key",
          "SELECT id, workspace FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
          [hash]
        ).pipe(Effect.map((rows) => {
          if (rows[0] === undefined) return undefined
          const caller = { keyId: rows[0].id, workspace: rows[0].workspace }
          cache.set(hash, caller)
          return caller
        }))
      }
    })
  }))

/** The keys in the database the context's `Database` opens (checked keys remembered for `KEY_CACHE_MILLIS`). @since 0.4.0 @category layers */
export const layer: Layer.Layer<ApiKeys, never, Database> = layerWith()
