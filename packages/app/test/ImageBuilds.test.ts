/**
 * The image use cases over the in-memory ports and builder: the cache, exactly one build per hash
 * under concurrency, a dead holder's lease taken over, a vanished image rebuilt, drift recorded,
 * failures and interruptions recorded, an engine that is down appending nothing. (The same over
 * PostgreSQL with many processes: test/cli-build-processes.e2e.test.ts.)
 */
import { MemoryEngine } from "@terrarium/adapters"
import { assert, describe, it } from "@effect/vitest"
import { Build, EventCodec, EventStore, StepFailed } from "@terrarium/domain"
import { Effect, Fiber, Layer, Stream } from "effect"
import { type BuildSettings, make } from "../src/Terrarium.ts"
import { runWith, withPip } from "./support/MemoryPorts.ts"

const fast: BuildSettings = { holder: "test-holder", lease: "2 seconds", pollEvery: "10 millis" }

/** A Terrarium over fresh memory ports and `engine`, and a version `demo:1` registered. */
const setup = (engine: MemoryEngine, settings: BuildSettings = fast) =>
  Effect.gen(function*() {
    const t = yield* make({ actor: "tester" }, settings)
    yield* t.create({ workspace: "default", name: "demo", definition: yield* withPip("demo-a") })
    return t
  })

const run = runWith

const ref = { name: "demo", version: "1" }

/**
 * Runs `effect` once a build is running in the engine: a second caller that must meet a running
 * build, not a fixed sleep, which a loaded machine can stretch past the whole build.
 */
const onceBuilding = <A, E, R>(engine: MemoryEngine, effect: Effect.Effect<A, E, R>) =>
  Effect.sleep("5 millis").pipe(Effect.repeat({ until: () => engine.requests.length > 0 }), Effect.andThen(effect))

/** The events of a hash's build stream, by type. */
const buildEvents = (hash: string) =>
  EventStore.use((store) => store.readStream(Build.streamOf(hash))).pipe(
    Effect.flatMap((rows) => Effect.forEach(rows, EventCodec.decodeBuild))
  )

const starts = (hash: string) => Effect.map(buildEvents(hash), (events) => events.filter((e) => e._tag === "BuildStarted"))

describe("image builds", () => {
  it.live("builds once, then answers from the cache, for this version and any other with the same hash", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const first = yield* t.build({ workspace: "default", ref })
      assert.strictEqual(first.outcome, "built")
      assert.strictEqual(first.image, Build.imageNameOf(first.canonicalHash))
      assert.match(first.image, /^terrarium\/env:[0-9a-f]{16}$/)
      const again = yield* t.build({ workspace: "default", ref })
      assert.strictEqual(again.outcome, "cached")
      assert.deepStrictEqual(again.built, first.built)
      // Another environment, in another workspace, with the same content: the same hash, no build.
      yield* t.create({ workspace: "other", name: "twin", definition: yield* withPip("demo-a") })
      const twin = yield* t.build({ workspace: "other", ref: { name: "twin", version: "1" } })
      assert.strictEqual(twin.canonicalHash, first.canonicalHash)
      assert.strictEqual(twin.outcome, "cached")
      assert.strictEqual(engine.completed, 1)
      assert.strictEqual((yield* starts(first.canonicalHash)).length, 1)
      const row = yield* t.image({ workspace: "default", target: { ref } })
      assert.strictEqual(row.status, "built")
      assert.strictEqual(row.built?.imageId, first.built.imageId)
      assert.deepStrictEqual((yield* t.images).map((i) => i.canonicalHash), [first.canonicalHash])
    }))
  })

  it.live("8 concurrent build calls of one new hash start exactly one build, and all get its image", () => {
    const engine = new MemoryEngine({ script: () => ({ stepDuration: "50 millis" }) })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const results = yield* Effect.all(Array.from({ length: 8 }, () => t.build({ workspace: "default", ref })), { concurrency: "unbounded" })
      assert.strictEqual(engine.completed, 1)
      assert.strictEqual(engine.requests.length, 1)
      assert.strictEqual((yield* starts(results[0]!.canonicalHash)).length, 1)
      assert.strictEqual(new Set(results.map((r) => r.built.imageId)).size, 1)
      assert.deepStrictEqual(results.map((r) => r.outcome).sort(), ["built", ...Array(7).fill("joined")])
    }))
  })

  it.live("a build whose holder died is taken over when its lease runs out, and not before", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const version = yield* t.show({ workspace: "default", ref })
      const hash = version.canonicalHash
      // A process that started the build and died: its lease runs 600 ms from now, then nobody renews it.
      const now = Date.now()
      yield* EventStore.use((store) => store.append(Build.streamOf(hash), 0, [
        new Build.BuildRequested({ canonicalHash: hash, image: Build.imageNameOf(hash), requestedBy: { workspace: "default", name: "demo", version: "1" }, noCache: false }),
        new Build.BuildStarted({ buildId: "dead-build", holder: "dead:1", leaseExpiresAt: now + 600, noCache: false, cause: "first" })
      ].map((e) => EventCodec.encodeBuild(e, { actor: "dead", correlationId: "c", causationId: null }, crypto.randomUUID()))))
      const waits: Array<string> = []
      const result = yield* t.build({
        workspace: "default", ref,
        onUpdate: (u) => Effect.sync(() => void (u._tag === "Waiting" && waits.push(u.buildId)))
      })
      assert.isAtLeast(Date.now() - now, 590, "it waited for the lease to run out")
      assert.deepStrictEqual(waits, ["dead-build"])
      assert.strictEqual(result.outcome, "built")
      const started = yield* starts(hash)
      assert.deepStrictEqual(started.map((s) => s.cause), ["first", "takeover"])
    }))
  })

  it.live("the holder renews its lease while it builds, so a build longer than the lease is not taken over", () => {
    const engine = new MemoryEngine({ script: () => ({ stepDuration: "250 millis" }) })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine, { holder: "h", lease: "300 millis", pollEvery: "10 millis" })
      const results = yield* Effect.all([
        t.build({ workspace: "default", ref }),
        onceBuilding(engine, t.build({ workspace: "default", ref }))
      ], { concurrency: "unbounded" })
      assert.strictEqual(engine.completed, 1)
      assert.deepStrictEqual(results.map((r) => r.outcome), ["built", "joined"])
      const events = yield* buildEvents(results[0].canonicalHash)
      assert.isAtLeast(events.filter((e) => e._tag === "BuildLeaseRenewed").length, 2)
    }))
  })

  it.live("an image pruned from the engine is built again, not reported as cached", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const first = yield* t.build({ workspace: "default", ref })
      engine.prune(first.image)
      const second = yield* t.build({ workspace: "default", ref })
      assert.strictEqual(second.outcome, "built")
      assert.notStrictEqual(second.built.imageId, first.built.imageId)
      assert.deepStrictEqual((yield* starts(first.canonicalHash)).map((s) => s.cause), ["first", "vanished"])
      assert.strictEqual((yield* t.build({ workspace: "default", ref })).outcome, "cached")
    }))
  })

  it.live("a --no-cache rebuild that resolves other packages records the drift, old → new", () => {
    const engine = new MemoryEngine({
      script: (_, n) => ({ resolved: { conda: [], pip: [{ name: "demo-a", version: n === 1 ? "1.0" : "1.1" }] } })
    })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const first = yield* t.build({ workspace: "default", ref })
      assert.deepStrictEqual(first.built.drift, [])
      const rebuilt = yield* t.build({ workspace: "default", ref, noCache: true })
      assert.strictEqual(rebuilt.outcome, "built")
      assert.isTrue(engine.requests[1]!.noCache)
      assert.deepStrictEqual(rebuilt.built.drift, [{ manager: "pip", name: "demo-a", from: "1.0", to: "1.1" }])
      const status = yield* t.imageStatus(first.canonicalHash)
      assert.deepStrictEqual(status?.built?.drift, rebuilt.built.drift)
      // The audit trail of the environment shows its builds, the drift among them, in log order.
      const trail = yield* t.audit({ workspace: "default", name: "demo" })
      const builds = trail.filter((e) => e.eventType === "ImageBuilt")
      assert.strictEqual(builds.length, 2)
      assert.include(builds[1]!.summary, "drift: pip demo-a 1.0 → 1.1")
      assert.strictEqual(builds[1]!.version, "1")
      assert.deepStrictEqual(trail.map((e) => e.position), [...trail.map((e) => e.position)].sort((a, b) => a - b))
      // As of before the rebuild, the trail has the first build only.
      const before = yield* t.audit({ workspace: "default", name: "demo", asOf: { position: builds[0]!.position } })
      assert.strictEqual(before.filter((e) => e.eventType === "ImageBuilt").length, 1)
    }))
  })

  it.live("a failing step fails the build with its step and log, is recorded, and the hash can be rebuilt", () => {
    let broken = true
    const engine = new MemoryEngine({
      script: () => (broken ? { fail: new StepFailed({ step: "RUN pip install", logTail: ["ERROR: No matching distribution for demo-a"] }), failAtStep: 1 } : {})
    })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const error = yield* Effect.flip(t.build({ workspace: "default", ref }))
      assert.strictEqual(error._tag, "ImageBuildFailed")
      if (error._tag !== "ImageBuildFailed") return
      assert.strictEqual(error.step, "RUN pip install")
      assert.include(error.message, "No matching distribution")
      const row = yield* t.image({ workspace: "default", target: { ref } })
      assert.strictEqual(row.status, "failed")
      assert.deepStrictEqual(row.failure?.logTail, ["ERROR: No matching distribution for demo-a"])
      const log = yield* Stream.runCollect(t.logs({ workspace: "default", target: { ref } }))
      assert.isTrue(log.some((l) => l.includes("failed: build step failed: RUN pip install")), log.join("\n"))
      broken = false
      assert.strictEqual((yield* t.build({ workspace: "default", ref })).outcome, "built")
      assert.deepStrictEqual((yield* starts(row.canonicalHash)).map((s) => s.cause), ["first", "retry"])
    }))
  })

  it.live("what a failure event keeps of the build's output is bounded: 20 lines of at most 2,000 characters", () => {
    const engine = new MemoryEngine({
      script: () => ({ fail: new StepFailed({ step: "RUN pip install", logTail: Array.from({ length: 50 }, (_, i) => `${i}:${"x".repeat(10_000)}`) }) })
    })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      yield* Effect.flip(t.build({ workspace: "default", ref }))
      const row = yield* t.image({ workspace: "default", target: { ref } })
      assert.strictEqual(row.failure?.logTail.length, 20)
      assert.isTrue(row.failure?.logTail[0]?.startsWith("30:"))
      assert.isTrue(row.failure?.logTail.every((l) => l.length === 2_001 && l.endsWith("…")))
    }))
  })

  it.live("an engine that is down fails at once and appends nothing; once it is back the build works", () => {
    const engine = new MemoryEngine()
    engine.engineDown = true
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const error = yield* Effect.flip(t.build({ workspace: "default", ref }))
      assert.strictEqual(error._tag, "ImageBuilderError")
      const hash = (yield* t.show({ workspace: "default", ref })).canonicalHash
      assert.deepStrictEqual(yield* buildEvents(hash), [])
      engine.engineDown = false
      assert.strictEqual((yield* t.build({ workspace: "default", ref })).outcome, "built")
    }))
  })

  it.live("an interrupted build records BuildFailed (Interrupted), seals its log, and the next call builds", () => {
    const engine = new MemoryEngine({ script: (_, n) => ({ stepDuration: n === 1 ? "10 seconds" : "0 millis" }) })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const fiber = yield* Effect.forkChild(t.build({ workspace: "default", ref }))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(engine.interrupted, 1)
      const row = yield* t.image({ workspace: "default", target: { ref } })
      assert.strictEqual(row.status, "failed")
      assert.strictEqual(row.failure?.reason, "Interrupted")
      // The log of the interrupted build is sealed: following it ends.
      const log = yield* Stream.runCollect(t.logs({ workspace: "default", target: { ref }, follow: true }))
      assert.isAbove(log.length, 0)
      assert.strictEqual((yield* t.build({ workspace: "default", ref })).outcome, "built")
    }))
  })

  it.live("a waiter that follows gets the running build's log lines", () => {
    const engine = new MemoryEngine({ script: () => ({ stepDuration: "100 millis" }) })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const lines: Array<string> = []
      const [, joined] = yield* Effect.all([
        t.build({ workspace: "default", ref }),
        onceBuilding(engine, t.build({
          workspace: "default", ref, follow: true,
          onUpdate: (u) => Effect.sync(() => void (u._tag === "Progress" && u.progress._tag === "Log" && lines.push(u.progress.line)))
        }))
      ], { concurrency: "unbounded" })
      assert.strictEqual(joined.outcome, "joined")
      assert.isTrue(lines.some((l) => l.includes("RUN pip install")), lines.join("\n"))
    }))
  })

  it.live("image and logs of something never built say so", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup(engine)
      const error = yield* Effect.flip(t.image({ workspace: "default", target: { ref } }))
      assert.strictEqual(error._tag, "ImageNotFound")
      assert.include(error.message, "demo:1")
    }))
  })
})

// The layer type is what the tests need; keep the import used.
void Layer
