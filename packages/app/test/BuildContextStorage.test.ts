/**
 * `create` stores the build context of a Dockerfile-based definition by its digest before it
 * appends anything, and `buildContext` gives it back from the store. Files that are not the
 * definition's context are refused, with nothing appended.
 */
import { assert, layer } from "@effect/vitest"
import { BuildContextStore, emptyDefinition, EventStore } from "@terrarium/domain"
import { Effect } from "effect"
import { decodeRef } from "../src/EnvironmentRef.ts"
import { make } from "../src/Terrarium.ts"
import { contextOf, dockerfileDefinition, filesOf } from "./support/BuildContexts.ts"
import { layerPortsMemory } from "./support/MemoryPorts.ts"

const files = { "Dockerfile": "FROM scratch\nCOPY . /app\n", "app/main.py": "print('hi')\n", "run.sh": "#!/bin/sh\n" }

layer(layerPortsMemory, { timeout: 60_000, excludeTestServices: true })("build contexts stored at create", (it) => {
  it.effect("create stores the context under the definition's digest; buildContext gives its files back", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "tester" })
      const context = yield* contextOf(files)
      const registered = yield* t.create({ workspace: "w", name: "docker-app", definition: dockerfileDefinition(context.digest), buildContext: context })
      assert.isTrue(registered.created)
      assert.isTrue(yield* (yield* BuildContextStore).has(context.digest))
      const stored = yield* t.buildContext({ workspace: "w", ref: yield* decodeRef("docker-app:1") })
      assert.strictEqual(stored?.digest, context.digest)
      assert.deepStrictEqual(filesOf(stored), files)
      assert.isTrue(stored?.entries.find((e) => e.path === "run.sh")?.executable)
    }))

  it.effect("a version without a local build context has none", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "tester" })
      yield* t.create({ workspace: "w", name: "image-app", definition: emptyDefinition })
      assert.isUndefined(yield* t.buildContext({ workspace: "w", ref: yield* decodeRef("image-app") }))
    }))

  it.effect("a version whose context was never stored: ContextNotFound, saying how to store it", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "tester" })
      const context = yield* contextOf({ "Dockerfile": "FROM scratch\n# never stored\n" })
      yield* t.create({ workspace: "w", name: "unstored", definition: dockerfileDefinition(context.digest) })
      const error = yield* Effect.flip(t.buildContext({ workspace: "w", ref: yield* decodeRef("unstored:1") }))
      assert.strictEqual(error._tag, "BuildContextStoreError")
      if (error._tag === "BuildContextStoreError") {
        assert.strictEqual(error.reason._tag, "ContextNotFound")
        assert.include(error.message, "register the version again from its folder")
      }
    }))

  it.effect("files that are not the definition's context, or do not digest to it: refused, nothing appended or stored", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "tester" })
      const store = yield* EventStore
      const contexts = yield* BuildContextStore
      const context = yield* contextOf({ ...files, "app/main.py": "print('refused')\n" })
      const other = yield* contextOf({ "Dockerfile": "FROM other\n" })
      const head = yield* store.head
      // Another context than the definition names.
      const wrong = yield* Effect.flip(t.create({ workspace: "w", name: "refused", definition: dockerfileDefinition(context.digest), buildContext: other }))
      assert.strictEqual(wrong._tag, "InvalidInput")
      assert.include(wrong.message, "buildContext")
      // A definition that names no context.
      const none = yield* Effect.flip(t.create({ workspace: "w", name: "refused", definition: emptyDefinition, buildContext: context }))
      assert.strictEqual(none._tag, "InvalidInput")
      // The right digest with files changed since: the store refuses them.
      const changed = { digest: context.digest, entries: [...other.entries] }
      const mismatch = yield* Effect.flip(t.create({ workspace: "w", name: "refused", definition: dockerfileDefinition(context.digest), buildContext: changed }))
      assert.strictEqual(mismatch._tag, "BuildContextStoreError")
      if (mismatch._tag === "BuildContextStoreError") assert.strictEqual(mismatch.reason._tag, "DigestMismatch")
      assert.strictEqual(yield* store.head, head)
      assert.isFalse(yield* contexts.has(context.digest))
      assert.isFalse(yield* contexts.has(other.digest))
    }))
})
