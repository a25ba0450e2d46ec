/**
 * The API key store port: the keys of the HTTP API, each opening one workspace. A key is
 * `trm_<id>_<secret>` (the id finds nothing by itself; the secret is 32 random bytes). `create`
 * makes one and gives it back once, `Redacted`; the store keeps only its SHA-256
 * (`hashApiKey`), so nothing it holds, lists or says in an error can open a workspace. A
 * revoked key opens nothing, and stays listed (who made it, when it was revoked).
 *
 * A key is a credential, not a fact of the registry's history: it never sits in an event.
 * What a server does with a presented key (hash it, remember the answer for a while, refuse it)
 * is the application's policy; this port only keeps the keys.
 *
 * @since 0.4.0
 */
import { Context, Effect, Redacted, Schema } from "effect"
import type { Option } from "effect"
import * as Base64Url from "effect/encoding/Base64Url"
import * as Hex from "effect/encoding/Hex"
import { describeCause } from "../CauseText.ts"

/**
 * What every key starts with: text without it is no key of ours, and is not looked up.
 *
 * @since 0.4.0
 * @category limits
 */
export const API_KEY_PREFIX = "trm_"

/**
 * The longest key looked up: longer text is no key of ours, and is not hashed.
 *
 * @since 0.4.0
 * @category limits
 */
export const MAX_API_KEY_LENGTH = 128

/** A key as listed: never the key itself, nor its hash. @since 0.4.0 @category model */
export interface ApiKeyInfo {
  readonly id: string
  readonly workspace: string
  /** What the key is for (the label its maker gave), if anything. */
  readonly description: string | null
  readonly createdAt: Date
  /** Who made it (the actor of `apikey create`). */
  readonly createdBy: string
  readonly revokedAt: Date | null
}

/** A key just made: the only time the key itself is seen. @since 0.4.0 @category model */
export interface CreatedApiKey extends ApiKeyInfo {
  readonly key: Redacted.Redacted<string>
}

/** What a key opens: the workspace, and which key it was. @since 0.4.0 @category model */
export interface ApiKeyGrant {
  readonly keyId: string
  readonly workspace: string
}

/** @since 0.4.0 @category model */
export interface NewApiKey {
  /** A workspace name the caller has checked (`WorkspaceName`). */
  readonly workspace: string
  readonly description?: string | undefined
  readonly createdBy: string
}

/**
 * The storage below the store failed (connection lost, table missing). What it says names the
 * operation and the cause, never a key: the store is never given one to lose.
 *
 * @since 0.4.0
 * @category errors
 */
export class ApiKeyStorageFailure extends Schema.TaggedError<ApiKeyStorageFailure>()("ApiKeyStorageFailure", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return false }
  override get message() { return `API key store ${this.operation} failed: ${describeCause(this.cause)}` }
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.4.0
 * @category errors
 */
export class ApiKeyStoreError extends Schema.TaggedError<ApiKeyStoreError>()("ApiKeyStoreError", {
  reason: ApiKeyStorageFailure
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/** @since 0.4.0 @category errors */
export const apiKeyStorageFailure = (operation: string) => (cause: unknown): ApiKeyStoreError =>
  new ApiKeyStoreError({ reason: new ApiKeyStorageFailure({ operation, cause }) })

/**
 * @since 0.4.0
 * @category port
 */
export class ApiKeyStore extends Context.Service<ApiKeyStore, {
  /** Makes a key of the workspace: the answer holds the key, the store only its hash. */
  readonly create: (input: NewApiKey) => Effect.Effect<CreatedApiKey, ApiKeyStoreError>
  /** What the key whose `hashApiKey` is `keyHash` opens; none for a key unknown or revoked. */
  readonly lookup: (keyHash: string) => Effect.Effect<Option.Option<ApiKeyGrant>, ApiKeyStoreError>
  /** The keys of a workspace, or of every workspace, oldest first. */
  readonly list: (filter: { readonly workspace?: string | undefined }) => Effect.Effect<ReadonlyArray<ApiKeyInfo>, ApiKeyStoreError>
  /** Revokes a key by id; false when there is no such key not yet revoked. */
  readonly revoke: (id: string) => Effect.Effect<boolean, ApiKeyStoreError>
}>()("terrarium/ApiKeyStore") {}

/**
 * What the store keeps of a key: the lower-case hex SHA-256 of its UTF-8 text. A key has 256
 * random bits, so a fast hash is enough (there is no password to guess). WebCrypto, present in
 * Node and browsers; a server hashing every request may use its platform's SHA-256, which is
 * the same function.
 *
 * @since 0.4.0
 * @category hashing
 */
export const hashApiKey = (key: Redacted.Redacted<string>): Effect.Effect<string> =>
  Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(Redacted.value(key)))).pipe(
    Effect.map((digest) => Hex.encode(new Uint8Array(digest)))
  )

const randomBytes = (length: number) => globalThis.crypto.getRandomValues(new Uint8Array(length))

/**
 * A new key, its id and its hash, for an adapter's `create`: the id is 6 random bytes in hex,
 * the secret 32 (WebCrypto's random source).
 *
 * @since 0.4.0
 * @category constructors
 */
export const mintApiKey: Effect.Effect<{ readonly id: string; readonly key: Redacted.Redacted<string>; readonly keyHash: string }> =
  Effect.suspend(() => {
    const id = Hex.encode(randomBytes(6))
    const key = Redacted.make(`${API_KEY_PREFIX}${id}_${Base64Url.encode(randomBytes(32))}`)
    return Effect.map(hashApiKey(key), (keyHash) => ({ id, key, keyHash }))
  })
