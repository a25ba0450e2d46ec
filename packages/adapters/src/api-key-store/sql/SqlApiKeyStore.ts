/**
 * The API key store on SQL (PostgreSQL or PGlite, same SQL): the `api_keys` table of
 * migrations/0015_api_keys.sql, in the registry's own database. Assembled from its parts:
 * ApiKeysTable.ts (the row type) and ApiKeySql.ts (the statements).
 *
 * @since 0.4.0
 */
import { apiKeyStorageFailure, ApiKeyStore, mintApiKey } from "@terrarium/domain"
import { Clock, Effect, Layer, Option } from "effect"
import type { Kysely } from "kysely"
import { Database } from "../../sql/Database.ts"
import { grantOf, insertKey, listKeys, revokeKey } from "./ApiKeySql.ts"
import type { ApiKeyTables } from "./ApiKeysTable.ts"

const make = Effect.map(Database, (database) => {
  const query = <A>(operation: string, f: (db: Kysely<ApiKeyTables>) => Promise<A>) =>
    database.use(operation, (db) => f(db as Kysely<ApiKeyTables>)).pipe(
      Effect.mapError((e) => apiKeyStorageFailure(e.operation)(e.cause))
    )
  const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))
  return ApiKeyStore.of({
    create: ({ workspace, description, createdBy }) =>
      Effect.gen(function*() {
        const { id, key, keyHash } = yield* mintApiKey
        const info = { id, workspace, description: description ?? null, createdAt: yield* now, createdBy, revokedAt: null }
        yield* query("create an API key", (db) => insertKey(db, { info, keyHash }))
        return { ...info, key }
      }),
    lookup: (keyHash) => query("check an API key", (db) => grantOf(db, keyHash)).pipe(Effect.map(Option.fromUndefinedOr)),
    list: ({ workspace }) => query("list the API keys", (db) => listKeys(db, workspace)),
    revoke: (id) => Effect.flatMap(now, (at) => query("revoke an API key", (db) => revokeKey(db, id, at)))
  })
})

/**
 * @since 0.4.0
 * @category layers
 */
export const SqlApiKeyStore = {
  /** The `ApiKeyStore` port over the `Database` of the context (either engine). */
  layer: Layer.effect(ApiKeyStore, make) as Layer.Layer<ApiKeyStore, never, Database>
} as const
