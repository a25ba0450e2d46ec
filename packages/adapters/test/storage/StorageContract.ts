/**
 * The storage contract: what every `Storage` adapter must report, run by each adapter's own
 * test file (`storageContract(name, layer)`).
 */
import { assert, layer } from "@effect/vitest"
import { Storage } from "@terrarium/domain"
import { Effect, type Layer } from "effect"

/**
 * Runs the contract against `storageLayer`; `expected` is what that adapter must say it is.
 */
export const storageContract = <E>(
  name: string,
  storageLayer: Layer.Layer<Storage, E>,
  expected: { readonly kind: Storage["Service"]["kind"]; readonly migrations: "all" | "none" }
) =>
  layer(storageLayer, { excludeTestServices: true, timeout: "120 seconds" })(`Storage contract: ${name}`, (it) => {
    it.effect("says which engine holds the data and which schema names resolve to", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        assert.strictEqual(storage.kind, expected.kind)
        assert.match(storage.schema, /^[A-Za-z_][A-Za-z0-9_]*$/)
      }))

    it.effect("lists its migrations oldest first, including every one it applied when opened", () =>
      Effect.gen(function*() {
        const storage = yield* Storage
        const migrations = yield* storage.migrations
        assert.deepStrictEqual([...migrations].sort(), [...migrations])
        for (const applied of storage.appliedAtOpen) assert.include(migrations, applied)
        if (expected.migrations === "none") {
          assert.deepStrictEqual(migrations, [])
        } else {
          // A fresh database: opening it applied every migration the repository has, in order.
          assert.isAbove(migrations.length, 0)
          assert.deepStrictEqual(storage.appliedAtOpen, migrations)
          assert.match(migrations[0]!, /^0001_/)
        }
        // Asking twice changes nothing.
        assert.deepStrictEqual(yield* storage.migrations, migrations)
      }))
  })
