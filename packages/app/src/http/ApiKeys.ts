/**
 * The API keys of the HTTP API, as this server takes them: the policy over the `ApiKeyStore`
 * port (packages/domain/src/ports/ApiKeyStore.ts), which keeps the keys (their SHA-256 only) and
 * makes them (`terrarium apikey create`, shown once). Here: the workspace a new key names is
 * checked; a presented key is hashed (text that is no key of ours is not); and a checked key is
 * remembered.
 *
 * A checked key is remembered for `KEY_CACHE_MILLIS` (by its hash, in this process), so that a
 * read does not pay a query for its key each time: a key revoked through this process stops at
 * once; one revoked by another process (`terrarium apikey revoke`, another `serve`) stops within
 * that bound. Unknown and revoked keys are never remembered. What a caller's key opens is
 * `CurrentCaller` (Api.ts); a workspace it does not open answers 404, as one that does not
 * exist (Handlers.ts), and no valid key answers 401 (Server.ts).
 *
 * @since 0.4.0
 */
import { type ApiKeyGrant, type ApiKeyInfo, type ApiKeyStoreError, API_KEY_PREFIX, ApiKeyStore, type CreatedApiKey, MAX_API_KEY_LENGTH, WorkspaceName } from "@terrarium/domain"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { createHash } from "node:crypto"
import { decodeInput, type InvalidInput } from "../InvalidInput.ts"

export type { ApiKeyInfo } from "@terrarium/domain"

/** Who a request's key says the caller is. @since 0.4.0 @category model */
export type ApiCaller = ApiKeyGrant

/** @since 0.4.0 @category service */
export class ApiKeys extends Context.Service<ApiKeys, {
  /** Makes a key of `workspace`; the key is in the answer and nowhere else. */
  readonly create: (input: { readonly workspace: string; readonly description?: string | undefined; readonly actor: string }) =>
    Effect.Effect<CreatedApiKey, ApiKeyStoreError | InvalidInput>
  readonly list: (input: { readonly workspace?: string | undefined }) => Effect.Effect<ReadonlyArray<ApiKeyInfo>, ApiKeyStoreError>
  /** Revokes a key by id (and forgets it here at once); false when there is no such key not yet revoked. */
  readonly revoke: (id: string) => Effect.Effect<boolean, ApiKeyStoreError>
  /** The caller of a key, or `undefined` for a key that is unknown or revoked. */
  readonly authenticate: (key: Redacted.Redacted<string>) => Effect.Effect<ApiCaller | undefined, ApiKeyStoreError>
}>()("terrarium/http/ApiKeys") {}

/**
 * The port's `hashApiKey` with Node's SHA-256: the same function, but synchronous, so a request
 * does not pay WebCrypto's promise (several times the CPU of the hash itself) for its key.
 */
const hashOf = (key: string) => createHash("sha256").update(key, "utf8").digest("hex")

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
 * The keys of the context's `ApiKeyStore`, with a checked key remembered for `cacheMillis`
 * (default `KEY_CACHE_MILLIS`; 0: every request asks the store).
 *
 * @since 0.4.0
 * @category layers
 */
export const layerWith = (options: { readonly cacheMillis?: number; readonly now?: () => number } = {}): Layer.Layer<ApiKeys, never, ApiKeyStore> =>
  Layer.effect(ApiKeys, Effect.gen(function*() {
    const store = yield* ApiKeyStore
    const cache = makeKeyCache({ millis: options.cacheMillis ?? KEY_CACHE_MILLIS, size: KEY_CACHE_SIZE, now: options.now ?? Date.now })
    return ApiKeys.of({
      create: ({ workspace, description, actor }) =>
        Effect.flatMap(
          decodeInput(WorkspaceName, workspace, { root: "workspace" }),
          (ws) => store.create({ workspace: ws, description, createdBy: actor })
        ),
      list: (filter) => store.list(filter),
      revoke: (id) => store.revoke(id).pipe(Effect.tap(() => Effect.sync(() => cache.forget(id)))),
      authenticate: (key) => {
        const text = Redacted.value(key)
        if (text.length === 0 || text.length > MAX_API_KEY_LENGTH || !text.startsWith(API_KEY_PREFIX)) return Effect.succeed(undefined)
        const hash = hashOf(text)
        const known = cache.get(hash)
        if (known !== undefined) return Effect.succeed(known)
        return store.lookup(hash).pipe(Effect.map(Option.match({
          onNone: () => undefined,
          onSome: (caller) => {
            cache.set(hash, caller)
            return caller
          }
        })))
      }
    })
  }))

/** The keys of the context's `ApiKeyStore` (checked keys remembered for `KEY_CACHE_MILLIS`). @since 0.4.0 @category layers */
export const layer: Layer.Layer<ApiKeys, never, ApiKeyStore> = layerWith()
