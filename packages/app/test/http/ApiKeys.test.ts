/**
 * The memory of checked API keys (`ApiKeys.layerWith`): a key checked once is not asked of the
 * store again within the bound, a key revoked elsewhere (straight in the `ApiKeyStore`, as
 * another process would) stops opening its workspace once the bound has passed, and a revoke
 * through this process stops it at once. The store is the memory adapter (the SQL ones pass the
 * same contract); the clock is the test's own, so nothing here waits.
 */
import { assert, describe, it } from "@effect/vitest"
import { MemoryApiKeyStore } from "@terrarium/adapters"
import { ApiKeyStore } from "@terrarium/domain"
import { Effect, Layer, Redacted } from "effect"
import * as ApiKeys from "../../src/http/ApiKeys.ts"

describe("ApiKeys: checked keys remembered for a bounded time", () => {
  let now = 1_000_000
  const layer = ApiKeys.layerWith({ cacheMillis: 5_000, now: () => now }).pipe(Layer.provideMerge(MemoryApiKeyStore.layer))
  const revokeElsewhere = (id: string) => ApiKeyStore.use((store) => store.revoke(id))

  it.effect("a key revoked by another process stops working after the bound, not before", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys.ApiKeys
      const made = yield* keys.create({ workspace: "team-a", actor: "test" })
      assert.deepStrictEqual(yield* keys.authenticate(made.key), { keyId: made.id, workspace: "team-a" })
      yield* revokeElsewhere(made.id)
      now += 4_999
      // Within the bound the remembered check stands (this is the bound's cost)...
      assert.deepStrictEqual(yield* keys.authenticate(made.key), { keyId: made.id, workspace: "team-a" })
      now += 2
      // ...and after it the database is asked again, and the key opens nothing.
      assert.strictEqual(yield* keys.authenticate(made.key), undefined)
      now += 60_000
      assert.strictEqual(yield* keys.authenticate(made.key), undefined)
    }).pipe(Effect.provide(layer)))

  it.effect("a revoke through this process stops the key at once", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys.ApiKeys
      const made = yield* keys.create({ workspace: "team-b", actor: "test" })
      assert.strictEqual((yield* keys.authenticate(made.key))?.workspace, "team-b")
      assert.strictEqual(yield* keys.revoke(made.id), true)
      assert.strictEqual(yield* keys.authenticate(made.key), undefined)
    }).pipe(Effect.provide(layer)))

  it.effect("an unknown key is not remembered: created later, it opens its workspace", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys.ApiKeys
      assert.strictEqual(yield* keys.authenticate(Redacted.make("trm_nope_nope")), undefined)
      const made = yield* keys.create({ workspace: "team-c", actor: "test" })
      assert.strictEqual((yield* keys.authenticate(made.key))?.workspace, "team-c")
    }).pipe(Effect.provide(layer)))

  it.effect("a workspace that is no workspace name is refused naming the field, and makes no key", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys.ApiKeys
      const error = yield* Effect.flip(keys.create({ workspace: "Team A", actor: "test" }))
      assert.strictEqual(error._tag, "InvalidInput")
      assert.strictEqual((error as { field?: string }).field, "workspace")
      assert.isFalse((yield* keys.list({})).some((k) => k.workspace === "Team A"))
    }).pipe(Effect.provide(layer)))

  it("the memory forgets its oldest entry beyond its size", () => {
    const cache = ApiKeys.makeKeyCache({ millis: 1_000, size: 2, now: () => 0 })
    cache.set("h1", { keyId: "1", workspace: "w" })
    cache.set("h2", { keyId: "2", workspace: "w" })
    cache.set("h3", { keyId: "3", workspace: "w" })
    assert.deepStrictEqual([cache.get("h1"), cache.get("h2")?.keyId, cache.get("h3")?.keyId], [undefined, "2", "3"])
  })
})
