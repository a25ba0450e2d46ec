/**
 * The actor and the correlation id go into every appended event's metadata, forever: they are
 * held to the rules of stored text, and a breach appends nothing.
 */
import { assert, layer } from "@effect/vitest"
import { emptyDefinition, MAX_TEXT_LENGTH } from "@terrarium/domain"
import { Effect } from "effect"
import { make } from "../src/Terrarium.ts"
import { layerPortsMemory } from "./support/MemoryPorts.ts"

layer(layerPortsMemory, { excludeTestServices: true })("event metadata checks", (it) => {
  it.effect("an actor or correlation id with credentials, NUL or over the length limit is refused by field, nothing appended", () =>
    Effect.gen(function*() {
      const terrarium = yield* make({ actor: "tester" })
      const cases: ReadonlyArray<readonly [string, { actor?: string; correlationId?: string }]> = [
        ["actor", { actor: "https://bob:s3cret@example.com" }],
        ["actor", { actor: "bob\u0000" }],
        ["actor", { actor: "x".repeat(MAX_TEXT_LENGTH + 1) }],
        ["correlationId", { correlationId: "req\u0000" }]
      ]
      for (const [field, metadata] of cases) {
        const error = yield* terrarium.create({ workspace: "metadata", name: "m", definition: emptyDefinition, ...metadata }).pipe(Effect.flip)
        assert.strictEqual(error._tag, "InvalidInput")
        assert.strictEqual((error as { field?: string }).field, field)
        assert.notInclude(error.message, "s3cret")
      }
      assert.deepStrictEqual(yield* terrarium.environments({ workspace: "metadata" }), [], "nothing was appended")
      // A plain actor and correlation id are taken as given.
      const ok = yield* terrarium.create({ workspace: "metadata", name: "m", definition: emptyDefinition, actor: "alice", correlationId: "req-1" })
      assert.strictEqual(ok.created, true)
      const [defined] = yield* terrarium.audit({ workspace: "metadata", name: "m" })
      assert.deepStrictEqual([defined!.actor, defined!.correlationId], ["alice", "req-1"])
    }))
})
