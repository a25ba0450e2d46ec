/**
 * `image refresh` over the in-memory ports and builder, with a registry in this file whose tags a
 * test moves: an image whose base moved is built again (cause `base-moved`) with the new digest
 * and the drift, the old image kept under its own tag; an unmoved base is up to date and appends
 * nothing; a registry that refuses fails that image alone, appending nothing; a local base is
 * not checkable. (The same on a real engine and registry: test/cli-image-refresh.e2e.test.ts.)
 */
import { MemoryEngine } from "@terrarium/adapters"
import { assert, describe, it } from "@effect/vitest"
import {
  Build,
  EventCodec,
  EventStore,
  ImageRegistry,
  ImageRegistryError,
  RegistryUnauthorized,
  RegistryUnavailable
} from "@terrarium/domain"
import { Effect, Layer } from "effect"
import { decodeDefinitionInput } from "../src/Input.ts"
import { type BaseRefreshResult, type BuildSettings, make } from "../src/Terrarium.ts"
import { layerPortsMemoryWith } from "./support/MemoryPorts.ts"

const REGISTRY = "127.0.0.1:5999"
const BASE = `${REGISTRY}/team/python`
const digest = (c: string) => `sha256:${c.repeat(64)}`

/** A registry in memory: `repository:tag` → digest, and a failure a test can switch on per repository. */
class FakeRegistry {
  readonly tags = new Map<string, string>()
  readonly failing = new Map<string, ImageRegistryError["reason"]>()
  readonly asked: Array<{ repository: string; reference: string; credentials: string }> = []
  readonly layer = Layer.succeed(ImageRegistry, ImageRegistry.of({
    resolve: (repository, reference) =>
      Effect.suspend(() => {
        this.asked.push({ repository: `${repository.registry}/${repository.repository}`, reference, credentials: repository.credentials._tag })
        const failure = this.failing.get(repository.repository)
        if (failure !== undefined) return Effect.fail(new ImageRegistryError({ reason: failure }))
        const found = this.tags.get(`${repository.registry}/${repository.repository}:${reference}`)
        return found === undefined ? Effect.die(`unknown tag ${reference}`) : Effect.succeed(found)
      }),
    listTags: () => Effect.die("not used"),
    exists: () => Effect.die("not used"),
    delete: () => Effect.die("not used")
  }))
}

const fast: BuildSettings = { holder: "test-holder", lease: "2 seconds", pollEvery: "10 millis" }

const onBase = (image: string, pip: string, registry = true) =>
  decodeDefinitionInput({
    python: { userManagedDependencies: false, interpreterPath: "python", conda: { channels: [], conda: [], pip: [pip] } },
    docker: {
      base: { kind: "image", image },
      ...(registry ? { baseImageRegistry: { address: REGISTRY, username: "env:REG_USER", password: "env:REG_PASSWORD" } } : {})
    }
  })

const run = <A, E, R>(engine: MemoryEngine, registry: FakeRegistry, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.scoped, Effect.provide(Layer.merge(layerPortsMemoryWith(engine), registry.layer)))

const buildEvents = (hash: string) =>
  EventStore.use((store) => store.readStream(Build.streamOf(hash))).pipe(Effect.flatMap((rows) => Effect.forEach(rows, EventCodec.decodeBuild)))

/** The second build of a hash resolves numpy 1.1 where the first had 1.0: what a new base brings. */
const engineWithDrift = () =>
  new MemoryEngine({ script: (_, n) => ({ resolved: { conda: [], pip: [{ name: "numpy", version: n === 1 ? "1.0" : "1.1" }] } }) })

describe("image refresh", () => {
  it.live("rebuilds an image whose base moved, keeps the old one, then finds it up to date", () => {
    const engine = engineWithDrift()
    const registry = new FakeRegistry()
    return run(engine, registry, Effect.gen(function*() {
      const t = yield* make({ actor: "tester" }, fast)
      yield* t.create({ workspace: "default", name: "demo", definition: yield* onBase(`${BASE}:3.11`, "numpy") })
      engine.baseImageDigest = `${BASE}@${digest("0")}`
      registry.tags.set(`${BASE}:3.11`, digest("0"))
      const first = yield* t.build({ workspace: "default", ref: { name: "demo", version: "1" } })
      const hash = first.canonicalHash

      // Not moved: up to date, nothing appended.
      const before = (yield* buildEvents(hash)).length
      const unmoved = yield* t.refresh({ workspace: "default" })
      assert.deepStrictEqual(unmoved.map((r) => [r.image, r.outcome, r.usedBy]), [[first.image, "up-to-date", ["default/demo:1"]]])
      assert.strictEqual((yield* buildEvents(hash)).length, before)
      assert.deepStrictEqual(registry.asked.at(-1), { repository: BASE, reference: "3.11", credentials: "Basic" })

      // A new image pushed under the base's tag.
      registry.tags.set(`${BASE}:3.11`, digest("1"))
      engine.baseImageDigest = `${BASE}@${digest("1")}`
      const updates: Array<string> = []
      const [moved] = yield* t.refresh({ workspace: "default", onUpdate: (u) => Effect.sync(() => void updates.push(u._tag)) })
      assert.strictEqual(moved!.outcome, "rebuilt")
      assert.strictEqual(moved!.recordedDigest, digest("0"))
      assert.strictEqual(moved!.currentDigest, digest("1"))
      assert.strictEqual(moved!.built?.baseImageDigest, `${BASE}@${digest("1")}`)
      assert.deepStrictEqual(moved!.built?.drift, [{ manager: "pip", name: "numpy", from: "1.0", to: "1.1" }])
      assert.notStrictEqual(moved!.built?.imageId, first.built.imageId)
      assert.isTrue(engine.requests.at(-1)?.pullBase, "the rebuild pulls the base again")
      assert.includeMembers(updates, ["Checking", "Rebuilding", "Checked"])

      const events = yield* buildEvents(hash)
      const starts = events.filter((e) => e._tag === "BuildStarted")
      assert.deepStrictEqual(starts.map((s) => s.cause), ["first", "base-moved"])
      const builds = events.filter((e): e is Build.ImageBuilt => e._tag === "ImageBuilt")
      assert.deepStrictEqual(builds.map((b) => b.baseImageDigest), [`${BASE}@${digest("0")}`, `${BASE}@${digest("1")}`])
      assert.deepStrictEqual(builds[1]!.drift, [{ manager: "pip", name: "numpy", from: "1.0", to: "1.1" }])

      // The old image is still there by its own tag, the hash's name is the new one.
      const keptAs = Build.keptImageNameOf(hash, first.built.buildId)
      assert.deepStrictEqual(moved!.previous, { buildId: first.built.buildId, imageId: first.built.imageId, keptAs })
      assert.strictEqual(engine.images.get(keptAs)?.imageId, first.built.imageId)
      assert.strictEqual(engine.images.get(first.image)?.imageId, moved!.built?.imageId)
      const previous = yield* t.previousBuilds(hash)
      assert.deepStrictEqual(previous.map((p) => [p.buildId, p.imageId, p.keptAs]), [[first.built.buildId, first.built.imageId, keptAs]])
      const row = yield* t.image({ workspace: "default", target: { canonicalHash: hash } })
      assert.strictEqual(row.built?.imageId, moved!.built?.imageId)

      // Refreshed again: up to date, nothing appended, nothing built.
      const count = events.length
      const completed = engine.completed
      const again = yield* t.refresh({ workspace: "default", targets: [{ ref: { name: "demo", version: "1" } }] })
      assert.deepStrictEqual(again.map((r) => r.outcome), ["up-to-date"])
      // By hash too (the version that asked for its build gives the definition); an unknown hash fails alone.
      const unknown = digest("9")
      const byHash = yield* t.refresh({ workspace: "default", targets: [{ canonicalHash: hash }, { canonicalHash: unknown }] })
      assert.deepStrictEqual(byHash.map((r) => [r.canonicalHash, r.outcome, r.usedBy]), [[hash, "up-to-date", ["default/demo:1"]], [unknown, "failed", []]])
      assert.include(byHash[1]!.detail, `no image has been built for ${unknown}`)
      assert.strictEqual((yield* buildEvents(hash)).length, count)
      assert.strictEqual(engine.completed, completed)
    }))
  })

  it.live("a registry that refuses or is down fails its image alone and appends nothing; a local base is not checkable", () => {
    const engine = new MemoryEngine()
    const registry = new FakeRegistry()
    return run(engine, registry, Effect.gen(function*() {
      const t = yield* make({ actor: "tester" }, fast)
      const OTHER = `${REGISTRY}/team/other`
      yield* t.create({ workspace: "default", name: "a-refused", definition: yield* onBase(`${BASE}:1`, "a") })
      yield* t.create({ workspace: "default", name: "b-down", definition: yield* onBase(`${OTHER}:1`, "b") })
      yield* t.create({ workspace: "default", name: "c-fine", definition: yield* onBase(`${BASE}:1`, "c") })
      yield* t.create({ workspace: "default", name: "d-local", definition: yield* onBase("local/python:1", "d", false) })
      yield* t.create({ workspace: "default", name: "e-unbuilt", definition: yield* onBase(`${BASE}:1`, "e") })
      const hashes: Record<string, string> = {}
      for (const name of ["a-refused", "b-down", "c-fine"]) {
        engine.baseImageDigest = `${name === "b-down" ? OTHER : BASE}@${digest("0")}`
        hashes[name] = (yield* t.build({ workspace: "default", ref: { name, version: "1" } })).canonicalHash
      }
      engine.baseImageDigest = digest("b") // a local base: the engine's image id only
      hashes["d-local"] = (yield* t.build({ workspace: "default", ref: { name: "d-local", version: "1" } })).canonicalHash
      registry.tags.set(`${BASE}:1`, digest("0"))
      registry.tags.set(`${OTHER}:1`, digest("1"))

      const lengths = () => Effect.forEach(Object.values(hashes), (h) => Effect.map(buildEvents(h), (e) => e.length))
      const before = yield* lengths()
      registry.failing.set("team/other", new RegistryUnavailable({ registry: REGISTRY, detail: "connection refused" }))
      const results: ReadonlyArray<BaseRefreshResult> = yield* t.refresh({ workspace: "default" })
      const byName = Object.fromEntries(results.map((r) => [r.usedBy[0]?.split("/")[1]?.split(":")[0], r]))
      assert.deepStrictEqual(Object.keys(byName).sort(), ["a-refused", "b-down", "c-fine", "d-local"], "an unbuilt version is not checked")
      assert.strictEqual(byName["b-down"]!.outcome, "failed")
      assert.include(byName["b-down"]!.detail, `registry ${REGISTRY} is unavailable: connection refused`)
      assert.include(byName["b-down"]!.detail, `${OTHER}:1`)
      assert.strictEqual(byName["c-fine"]!.outcome, "up-to-date")
      assert.strictEqual(byName["d-local"]!.outcome, "not-checkable")
      assert.include(byName["d-local"]!.detail, "names no registry")
      assert.deepStrictEqual(yield* lengths(), before, "nothing appended")

      registry.failing.clear()
      registry.failing.set("team/python", new RegistryUnauthorized({ registry: REGISTRY, detail: "HTTP 401" }))
      const refused = yield* t.refresh({ workspace: "default", targets: [{ ref: { name: "a-refused", version: "1" } }, { ref: { name: "e-unbuilt", version: "1" } }] })
      assert.deepStrictEqual(refused.map((r) => r.outcome), ["failed", "failed"])
      assert.include(refused[0]!.detail, "refused the credentials")
      assert.include(refused[1]!.detail, "no image has been built for e-unbuilt:1")
      assert.deepStrictEqual(yield* lengths(), before, "nothing appended")
    }))
  })
})
