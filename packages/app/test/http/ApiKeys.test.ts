/**
 * The memory of checked API keys (`ApiKeys.layerWith`): a key checked once is not asked of the
 * database again within the bound, a key revoked elsewhere (straight in the table, as another
 * process would) stops opening its workspace once the bound has passed, and a revoke through
 * this process stops it at once. The clock is the test's own, so nothing here waits.
 */
import { assert, describe, it } from "@effect/vitest"
import { Database } from "@terrarium/adapters"
import { Effect, Layer, Redacted } from "effect"
import { TestDatabase } from "../../../adapters/test/support/TestDatabase.ts"
import * as ApiKeys from "../../src/http/ApiKeys.ts"

describe("ApiKeys: checked keys remembered for a bounded time", () => {
  let now = 1_000_000
  const layer = ApiKeys.layerWith({ cacheMillis: 5_000, now: () => now }).pipe(Layer.provideMerge(TestDatabase.pglite()))
  const revokeElsewhere = (id: string) =>
    Database.use((db) => db.execute("revoke a key as another process", "UPDATE api_keys SET revoked_at = now() WHERE id = $1", [id]))

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

  it("the memory forgets its oldest entry beyond its size", () => {
    const cache = ApiKeys.makeKeyCache({ millis: 1_000, size: 2, now: () => 0 })
    cache.set("h1", { keyId: "1", workspace: "w" })
    cache.set("h2", { keyId: "2", workspace: "w" })
    cache.set("h3", { keyId: "3", workspace: "w" })
    assert.deepStrictEqual([cache.get("h1"), cache.get("h2")?.keyId, cache.get("h3")?.keyId], [undefined, "2", "3"])
  })
})
