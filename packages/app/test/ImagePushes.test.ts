/**
 * Pushing built images and pulling them through, over the in-memory ports and engine (whose
 * registry is in memory): `build` with `push` records one `ImagePushed` per reference and digest,
 * a cached hash is pushed without a build, wrong credentials or a registry that is down record
 * nothing, a bad destination fails before anything is built, and a built hash whose image the
 * engine lacks is pulled by digest from where it was pushed (no build), or built again when no
 * registry has it. (The same on a real engine and docker-registry: test/cli-push.e2e.test.ts.)
 */
import { MemoryEngine } from "@terrarium/adapters"
import { assert, describe, it } from "@effect/vitest"
import { Build, EventCodec, EventStore } from "@terrarium/domain"
import { Effect } from "effect"
import { type BuildSettings, make } from "../src/Terrarium.ts"
import { runWith, withPip } from "./support/MemoryPorts.ts"

const REGISTRY = "127.0.0.1:5999"
const fast: BuildSettings = { holder: "test-holder", lease: "2 seconds", pollEvery: "10 millis" }
const withDefault: BuildSettings = { ...fast, registry: { registry: `${REGISTRY}/team/envs`, username: "env:U", password: "env:P" } }

const setup = (settings: BuildSettings = fast) =>
  Effect.gen(function*() {
    const t = yield* make({ actor: "tester" }, settings)
    yield* t.create({ workspace: "default", name: "demo", definition: yield* withPip("demo-a") })
    return t
  })

const run = runWith

const ref = { name: "demo", version: "1" }
const workspace = "default"

const buildEvents = (hash: string) =>
  EventStore.use((store) => store.readStream(Build.streamOf(hash))).pipe(
    Effect.flatMap((rows) => Effect.forEach(rows, EventCodec.decodeBuild))
  )
const ofType = <T extends Build.BuildEvent["_tag"]>(hash: string, tag: T) =>
  Effect.map(buildEvents(hash), (events) => events.filter((e): e is Extract<Build.BuildEvent, { _tag: T }> => e._tag === tag))

describe("image pushes", () => {
  it.live("--push records the reference and digest once; pushing the cached hash again builds nothing and records nothing", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup()
      const first = yield* t.build({ workspace, ref, push: { registry: `${REGISTRY}/team/envs` } })
      const tag = first.image.split(":")[1]!
      assert.strictEqual(first.outcome, "built")
      assert.strictEqual(first.pushed?.reference, `${REGISTRY}/team/envs:${tag}`)
      assert.match(first.pushed?.digest ?? "", /^sha256:[0-9a-f]{64}$/)
      assert.isTrue(first.pushed?.recorded)
      const again = yield* t.build({ workspace, ref, push: { registry: `${REGISTRY}/team/envs` } })
      assert.strictEqual(again.outcome, "cached")
      assert.strictEqual(again.pushed?.digest, first.pushed?.digest)
      assert.isFalse(again.pushed?.recorded)
      assert.strictEqual(engine.completed, 1)
      assert.strictEqual(engine.pushes, 2)
      const pushed = yield* ofType(first.canonicalHash, "ImagePushed")
      assert.deepStrictEqual(pushed.map((p) => [p.reference, p.digest, p.buildId, p.imageId]), [
        [first.pushed!.reference, first.pushed!.digest, first.built.buildId, first.built.imageId]
      ])
      // The read model says it too, for image show / list and environment show.
      const row = yield* t.image({ workspace, target: { ref } })
      assert.deepStrictEqual(row.pushes.map((p) => `${p.reference}@${p.digest}`), [`${first.pushed!.reference}@${first.pushed!.digest}`])
      // Another repository is another reference: recorded.
      const other = yield* t.build({ workspace, ref, push: { registry: `${REGISTRY}/other` } })
      assert.isTrue(other.pushed?.recorded)
      assert.strictEqual((yield* ofType(first.canonicalHash, "ImagePushed")).length, 2)
    }))
  })

  it.live("a configured default registry: every build pushes there, a cached one included", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(withDefault)
      const first = yield* t.build({ workspace, ref })
      assert.strictEqual(first.pushed?.reference.startsWith(`${REGISTRY}/team/envs:`), true)
      assert.strictEqual((yield* ofType(first.canonicalHash, "ImagePushed")).length, 1)
    }))
  })

  it.live("a bad destination or credential setting fails before anything is built or appended", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup()
      for (const registry of ["no-repository", "127.0.0.1:5000/Upper", "http://127.0.0.1:5000/x", "bad host/x", "127.0.0.1:99999/x"]) {
        const error = yield* Effect.flip(t.build({ workspace, ref, push: { registry } }))
        assert.strictEqual(error._tag, "InvalidInput", registry)
        assert.include(error.message, "HOST[:PORT]/REPOSITORY")
      }
      const none = yield* Effect.flip(t.build({ workspace, ref, push: {} }))
      assert.include(none.message, "TERRARIUM_REGISTRY")
      const plain = yield* setup({ ...fast, registry: { username: "alice", password: "env:P" } })
      const secret = yield* Effect.flip(plain.build({ workspace, ref, push: { registry: `${REGISTRY}/x` } }))
      assert.strictEqual(secret._tag === "InvalidInput" ? secret.field : "", "TERRARIUM_REGISTRY_USERNAME")
      assert.notInclude(secret.message, "alice")
      assert.strictEqual(engine.requests.length, 0)
      const version = yield* t.show({ workspace, ref })
      assert.deepStrictEqual(yield* buildEvents(version.canonicalHash), [])
    }))
  })

  it.live("wrong credentials or a registry that is down: the error names the registry, the build stays, no push is recorded; a retry records one", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(withDefault)
      engine.registriesRefusing.add(REGISTRY)
      const refused = yield* Effect.flip(t.build({ workspace, ref }))
      assert.strictEqual(refused._tag, "ImageBuilderError")
      assert.include(refused.message, `registry ${REGISTRY} refused the credentials`)
      engine.registriesRefusing.delete(REGISTRY)
      engine.registriesDown.add(REGISTRY)
      const down = yield* Effect.flip(t.build({ workspace, ref }))
      assert.include(down.message, `registry ${REGISTRY} is unavailable`)
      const hash = (yield* t.show({ workspace, ref })).canonicalHash
      assert.strictEqual((yield* ofType(hash, "ImageBuilt")).length, 1, "the build is recorded; only the push failed")
      assert.deepStrictEqual(yield* ofType(hash, "ImagePushed"), [])
      engine.registriesDown.delete(REGISTRY)
      const retried = yield* t.build({ workspace, ref })
      assert.strictEqual(retried.outcome, "cached")
      assert.strictEqual((yield* ofType(hash, "ImagePushed")).length, 1)
      assert.strictEqual(engine.completed, 1)
    }))
  })

  it.live("an engine that lacks a pushed image pulls it by digest: no build, the same image id", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(withDefault)
      const first = yield* t.build({ workspace, ref })
      engine.prune(first.image)
      const again = yield* t.build({ workspace, ref })
      assert.strictEqual(again.outcome, "pulled")
      assert.strictEqual(engine.pulls, 1)
      assert.strictEqual(engine.completed, 1)
      assert.strictEqual(engine.images.get(first.image)?.imageId, first.built.imageId)
      assert.strictEqual((yield* ofType(first.canonicalHash, "BuildStarted")).length, 1)
      // Without a default registry too: the push recorded says where it is.
      engine.prune(first.image)
      const anywhere = yield* setup()
      assert.strictEqual((yield* anywhere.build({ workspace, ref })).outcome, "pulled")
      assert.strictEqual((yield* ofType(first.canonicalHash, "BuildStarted")).length, 1)
    }))
  })

  it.live("when no registry has the image, it is built again as vanished; a registry that is down fails the call, appending nothing", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(withDefault)
      const first = yield* t.build({ workspace, ref })
      engine.prune(first.image)
      engine.registriesDown.add(REGISTRY)
      const down = yield* Effect.flip(t.build({ workspace, ref }))
      assert.include(down.message, `registry ${REGISTRY} is unavailable`)
      assert.strictEqual((yield* ofType(first.canonicalHash, "BuildStarted")).length, 1)
      engine.registriesDown.delete(REGISTRY)
      engine.registryImages.clear()
      const rebuilt = yield* t.build({ workspace, ref })
      assert.strictEqual(rebuilt.outcome, "built")
      const starts = yield* ofType(first.canonicalHash, "BuildStarted")
      assert.deepStrictEqual(starts.map((s) => s.cause), ["first", "vanished"])
      // The new image is pushed (its own digest), recorded beside the earlier image's push.
      assert.strictEqual((yield* ofType(first.canonicalHash, "ImagePushed")).length, 2)
    }))
  })
})
