/**
 * `share` copies a version into another workspace: the same definition and canonical hash there,
 * a `Shared` event on the source and a registration naming where it came from on the copy, under
 * one correlation id; the build context stays available. Bad input is a clear error with nothing
 * appended in either workspace.
 */
import { assert, layer } from "@effect/vitest"
import { emptyDefinition, EventStore } from "@terrarium/domain"
import { Effect } from "effect"
import { decodeRef } from "../src/EnvironmentRef.ts"
import { make, type TerrariumError } from "../src/Terrarium.ts"
import { contextOf, dockerfileDefinition, filesOf } from "./support/BuildContexts.ts"
import { layerPortsMemory } from "./support/MemoryPorts.ts"

const withImage = (image: string) => ({ ...emptyDefinition, docker: { ...emptyDefinition.docker, base: { kind: "image" as const, image } } })

/** The `_tag` of an error, and of its reason when it has one. */
const tagsOf = (error: TerrariumError) =>
  ["reason" in error && typeof error.reason === "object" ? `${error._tag}/${error.reason._tag}` : error._tag, error.message] as const

layer(layerPortsMemory, { timeout: 60_000, excludeTestServices: true })("share", (it) => {
  it.effect("copies a version with its hash; both audit trails record it under one correlation id", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "ana" })
      yield* t.create({ workspace: "team-a", name: "pydata", definition: withImage("python:3.11") })
      const v2 = yield* t.create({ workspace: "team-a", name: "pydata", definition: withImage("python:3.12") })
      const shared = yield* t.share({ workspace: "team-a", ref: yield* decodeRef("pydata:2"), toWorkspace: "team-b" })
      assert.deepStrictEqual(shared.from, { workspace: "team-a", name: "pydata", version: "2", canonicalHash: v2.canonicalHash })
      assert.deepStrictEqual([shared.to.workspace, shared.to.name, shared.to.version, shared.to.created], ["team-b", "pydata", "2", true])
      assert.strictEqual(shared.to.canonicalHash, v2.canonicalHash)
      assert.strictEqual(shared.buildContext, "none")

      const copy = yield* t.show({ workspace: "team-b", ref: yield* decodeRef("pydata:2") })
      assert.strictEqual(copy.canonicalHash, v2.canonicalHash)
      assert.deepStrictEqual(copy.definition, (yield* t.show({ workspace: "team-a", ref: yield* decodeRef("pydata:2") })).definition)

      const target = yield* t.audit({ workspace: "team-b", name: "pydata" })
      assert.deepStrictEqual(target.map((e) => e.eventType), ["Defined", "Registered"])
      assert.deepInclude(target[1]!.details as object, { sharedFrom: shared.from })
      assert.include(target[1]!.summary, "shared from workspace team-a as pydata:2")
      const source = yield* t.audit({ workspace: "team-a", name: "pydata" })
      const record = source.at(-1)!
      assert.strictEqual(record.eventType, "Shared")
      assert.strictEqual(record.version, "2")
      assert.deepInclude(record.details as object, { to: { workspace: "team-b", name: "pydata", version: "2" } })
      assert.strictEqual(record.summary, "shared version 2 to workspace team-b as pydata:2")
      assert.strictEqual(record.correlationId, target[1]!.correlationId)
      assert.strictEqual(record.actor, "ana")
    }))

  it.effect("sharing the same version to the same place again appends nothing", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "ana" })
      const store = yield* EventStore
      yield* t.create({ workspace: "team-a", name: "again", definition: withImage("python:3.10") })
      const ref = yield* decodeRef("again")
      yield* t.share({ workspace: "team-a", ref, toWorkspace: "team-b" })
      const head = yield* store.head
      const twice = yield* t.share({ workspace: "team-a", ref, toWorkspace: "team-b" })
      assert.isFalse(twice.to.created)
      assert.strictEqual(yield* store.head, head)
    }))

  it.effect("under another name and version there; a label resolves to its version", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "ana" })
      yield* t.create({ workspace: "team-a", name: "named", definition: withImage("python:3.9") })
      yield* t.label({ workspace: "team-a", ref: yield* decodeRef("named:1"), label: "prod" })
      const shared = yield* t.share({
        workspace: "team-a", ref: yield* decodeRef("named@prod"), toWorkspace: "prod", shareWithName: "named-prod", shareWithVersion: "2024.1"
      })
      assert.deepStrictEqual([shared.from.version, shared.to.name, shared.to.version], ["1", "named-prod", "2024.1"])
      assert.strictEqual((yield* t.show({ workspace: "prod", ref: yield* decodeRef("named-prod:2024.1") })).canonicalHash, shared.from.canonicalHash)
    }))

  it.effect("the build context stored for the source serves the copy", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "ana" })
      const files = { "Dockerfile": "FROM scratch\nCOPY . /app\n", "app/shared.py": "print('shared')\n" }
      const context = yield* contextOf(files)
      yield* t.create({ workspace: "team-a", name: "docker-app", definition: dockerfileDefinition(context.digest), buildContext: context })
      const shared = yield* t.share({ workspace: "team-a", ref: yield* decodeRef("docker-app:1"), toWorkspace: "team-b" })
      assert.strictEqual(shared.buildContext, "stored")
      assert.deepStrictEqual(filesOf(yield* t.buildContext({ workspace: "team-b", ref: yield* decodeRef("docker-app:1") })), files)
      // A version whose context was never stored is shared, and says so.
      const unstored = yield* contextOf({ "Dockerfile": "FROM scratch\n# unstored\n" })
      yield* t.create({ workspace: "team-a", name: "old-app", definition: dockerfileDefinition(unstored.digest) })
      const old = yield* t.share({ workspace: "team-a", ref: yield* decodeRef("old-app:1"), toWorkspace: "team-b" })
      assert.strictEqual(old.buildContext, "missing")
    }))

  it.effect("bad input: a clear error naming what is wrong, nothing appended in either workspace", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "ana" })
      const store = yield* EventStore
      yield* t.create({ workspace: "team-a", name: "src", definition: withImage("python:3.11") })
      yield* t.create({ workspace: "team-b", name: "src", definition: withImage("python:3.8") })
      const head = yield* store.head
      const ref = yield* decodeRef("src:1")
      const cases: ReadonlyArray<readonly [Parameters<typeof t.share>[0], string, string]> = [
        [{ workspace: "team-a", ref, toWorkspace: "Team B" }, "InvalidInput", `toWorkspace "Team B": a workspace name is 1-63 lower-case`],
        [{ workspace: "team-a", ref, toWorkspace: "team-a" }, "InvalidInput", "is the workspace the environment is in"],
        [{ workspace: "team-a", ref, toWorkspace: "team-c", shareWithName: "bad name" }, "InvalidInput", `shareWithName "bad name"`],
        [{ workspace: "team-a", ref, toWorkspace: "team-c", shareWithVersion: "-1" }, "InvalidInput", `shareWithVersion "-1"`],
        [{ workspace: "team-a", ref: yield* decodeRef("nothing:1"), toWorkspace: "team-c" }, "EnvironmentError/EnvironmentNotFound", "'team-a/nothing' does not exist"],
        [{ workspace: "team-a", ref: yield* decodeRef("src:9"), toWorkspace: "team-c" }, "EnvironmentError/VersionNotFound", "version 9"],
        [{ workspace: "team-a", ref, toWorkspace: "team-b" }, "EnvironmentError/ShareConflict", "cannot share into workspace 'team-b' as environment 'src' version 1"],
        [{ workspace: "team-a", ref, toWorkspace: "team-c", shareWithName: "AzureML-src" }, "EnvironmentError/ReservedPrefix", "reserved"]
      ]
      for (const [input, tag, text] of cases) {
        const [got, message] = tagsOf(yield* Effect.flip(t.share(input)))
        assert.strictEqual(got, tag, message)
        assert.include(message, text)
      }
      assert.strictEqual(yield* store.head, head)
      assert.deepStrictEqual(yield* t.environments({ workspace: "team-c" }), [])
    }))
})
