/**
 * The API key store in memory, for the app's unit tests: each key's record and its hash in a
 * map by id; nothing that can fail.
 *
 * @since 0.4.0
 */
import { type ApiKeyInfo, ApiKeyStore, mintApiKey } from "@terrarium/domain"
import { Clock, Effect, Layer, Option } from "effect"

const make = Effect.sync(() => {
  const keys = new Map<string, { readonly info: ApiKeyInfo; readonly keyHash: string }>()
  return ApiKeyStore.of({
    create: ({ workspace, description, createdBy }) =>
      Effect.gen(function*() {
        const { id, key, keyHash } = yield* mintApiKey
        const info: ApiKeyInfo = {
          id,
          workspace,
          description: description ?? null,
          createdAt: new Date(yield* Clock.currentTimeMillis),
          createdBy,
          revokedAt: null
        }
        keys.set(id, { info, keyHash })
        return { ...info, key }
      }),
    lookup: (keyHash) =>
      Effect.sync(() => {
        for (const { info, keyHash: stored } of keys.values()) {
          if (stored === keyHash && info.revokedAt === null) return Option.some({ keyId: info.id, workspace: info.workspace })
        }
        return Option.none()
      }),
    list: ({ workspace }) =>
      Effect.sync(() =>
        [...keys.values()]
          .map((k) => k.info)
          .filter((info) => workspace === undefined || info.workspace === workspace)
          // As the SQL store orders them: by creation, then by id.
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))),
    revoke: (id) =>
      Effect.gen(function*() {
        const stored = keys.get(id)
        if (stored === undefined || stored.info.revokedAt !== null) return false
        keys.set(id, { ...stored, info: { ...stored.info, revokedAt: new Date(yield* Clock.currentTimeMillis) } })
        return true
      })
  })
})

/**
 * @since 0.4.0
 * @category layers
 */
export const MemoryApiKeyStore = {
  /** A fresh, empty store. */
  layer: Layer.effect(ApiKeyStore, make) as Layer.Layer<ApiKeyStore>
} as const
