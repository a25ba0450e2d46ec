/**
 * Builds through a build queue (the in-memory one): the requester queues and follows the build
 * stream, a worker (`work`) runs the build, the lease keeps it to one build per hash; a failure
 * and a cancel reach the requester; a worker with no queue is refused. (The same with pg-boss
 * and real processes: test/cli-build-workers.e2e.test.ts.)
 */
import { MemoryBuildQueue, MemoryEngine, MemoryLogStore } from "@terrarium/adapters"
import { assert, describe, it } from "@effect/vitest"
import { Build, EventCodec, EventStore, LogStorageFailure, LogStore, LogStoreError, StepFailed } from "@terrarium/domain"
import { Effect, Fiber, Layer } from "effect"
import { type BuildSettings, make } from "../src/Terrarium.ts"
import { layerPortsMemoryWith, withPip } from "./support/MemoryPorts.ts"

const fast: BuildSettings = { holder: "test-holder", lease: "600 millis", pollEvery: "10 millis" }

const run = <A, E, R>(engine: MemoryEngine, effect: Effect.Effect<A, E, R>, queued = true) =>
  effect.pipe(
    Effect.scoped,
    Effect.provide(queued ? Layer.merge(layerPortsMemoryWith(engine), MemoryBuildQueue.layer) : layerPortsMemoryWith(engine))
  )

const setup = Effect.gen(function*() {
  const t = yield* make({ actor: "tester" }, fast)
  yield* t.create({ workspace: "default", name: "demo", definition: yield* withPip("demo-a") })
  return t
})

const ref = { name: "demo", version: "1" }

const buildEvents = (hash: string) =>
  EventStore.use((store) => store.readStream(Build.streamOf(hash))).pipe(Effect.flatMap((rows) => Effect.forEach(rows, EventCodec.decodeBuild)))

describe("queued builds", () => {
  it.live("8 requests queue one job; a worker builds it once; every requester answers with its image and hears the log", () => {
    const engine = new MemoryEngine({ script: () => ({ stepDuration: "30 millis" }) })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup
      const lines: Array<string> = []
      const queued: Array<boolean> = []
      const requests = yield* Effect.forkChild(Effect.all(Array.from({ length: 8 }, () =>
        t.build({
          workspace: "default", ref, follow: true,
          onUpdate: (u) => Effect.sync(() => {
            if (u._tag === "Queued") queued.push(u.queued)
            if (u._tag === "Progress" && u.progress._tag === "Log") lines.push(u.progress.line)
          })
        })), { concurrency: "unbounded" }))
      // Nothing builds before a worker runs.
      yield* Effect.sleep("100 millis")
      assert.strictEqual(engine.requests.length, 0)
      const worker = yield* Effect.forkChild(t.work({ concurrency: 2 }))
      const results = yield* Fiber.join(requests)
      yield* Fiber.interrupt(worker)
      assert.strictEqual(engine.completed, 1)
      assert.deepStrictEqual(results.map((r) => r.outcome), Array(8).fill("joined"))
      assert.strictEqual(new Set(results.map((r) => r.built.buildId)).size, 1)
      assert.deepStrictEqual(queued.filter((q) => q), [true])
      assert.isTrue(lines.some((l) => /^build .* \(first\)$/.test(l)), lines.join("\n"))
      const events = yield* buildEvents(results[0]!.canonicalHash)
      assert.deepStrictEqual(events.map((e) => e._tag).filter((tag) => tag !== "BuildLeaseRenewed"), ["BuildRequested", "BuildStarted", "ImageBuilt"])
      // Built: the next request answers from the cache, queueing nothing.
      assert.strictEqual((yield* t.build({ workspace: "default", ref })).outcome, "cached")
    }))
  })

  it.live("a build that fails on the worker fails its requester the same way, and the job is not retried", () => {
    const engine = new MemoryEngine({
      script: () => ({ fail: new StepFailed({ step: "RUN pip install", logTail: ["ERROR: no demo-a"] }), failAtStep: 1 })
    })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup
      const worker = yield* Effect.forkChild(t.work({}))
      const failure = yield* Effect.flip(t.build({ workspace: "default", ref }))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(worker)
      assert.strictEqual(failure._tag, "ImageBuildFailed")
      assert.match(failure.message, /RUN pip install/)
      assert.strictEqual(engine.requests.length, 1)
    }))
  })

  it.live("cancelBuild stops the running build: BuildFailed (Cancelled) for its requester, and no build again", () => {
    const engine = new MemoryEngine({ script: () => ({ stepDuration: "5 seconds" }) })
    return run(engine, Effect.gen(function*() {
      const t = yield* setup
      const worker = yield* Effect.forkChild(t.work({}))
      const request = yield* Effect.forkChild(Effect.flip(t.build({ workspace: "default", ref })))
      while (engine.requests.length === 0) yield* Effect.sleep("10 millis")
      const cancelled = yield* t.cancelBuild({ workspace: "default", ref })
      assert.isNotNull(cancelled.cancelledBuildId)
      const failure = yield* Fiber.join(request)
      assert.strictEqual(failure._tag, "ImageBuildFailed")
      assert.strictEqual(failure._tag === "ImageBuildFailed" ? failure.reason : "", "Cancelled")
      // The worker's builder stops at its next renewal and does not start again.
      yield* Effect.sleep("600 millis")
      yield* Fiber.interrupt(worker)
      assert.strictEqual(engine.requests.length, 1)
      assert.strictEqual(engine.completed, 0)
      assert.strictEqual((yield* Effect.flip(t.cancelBuild({ workspace: "default", ref })))._tag, "NothingToCancel")
    }))
  })

  it.live("a log store that fails: the worker's build goes on, and the worker hears once that its log misses lines", () => {
    const engine = new MemoryEngine({ script: () => ({ stepDuration: "10 millis" }) })
    const down = new LogStoreError({ reason: new LogStorageFailure({ operation: "append", key: "k", cause: new Error("the store is down") }) })
    const failingLogs = Layer.effect(LogStore, Effect.gen(function*() {
      const logs = yield* LogStore
      return LogStore.of({ ...logs, append: () => Effect.fail(down) })
    })).pipe(
      Layer.provide(MemoryLogStore.layer)
    )
    return Effect.gen(function*() {
      const t = yield* setup
      const heard: Array<string> = []
      const worker = yield* Effect.forkChild(t.work({ onJob: (_, outcome) => Effect.sync(() => void heard.push(outcome)) }))
      assert.strictEqual((yield* t.build({ workspace: "default", ref })).outcome, "joined")
      yield* Fiber.interrupt(worker)
      assert.deepStrictEqual(heard, ["warning: the build log could not be written: log store append of k failed: the store is down", "built"])
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.mergeAll(layerPortsMemoryWith(engine), MemoryBuildQueue.layer, failingLogs))
    )
  })

  it.live("without a queue a worker is refused, and builds run in the requesting process", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup
      assert.strictEqual((yield* Effect.flip(t.work({})))._tag, "InvalidInput")
      assert.strictEqual((yield* t.build({ workspace: "default", ref })).outcome, "built")
    }), false)
  })

  it.live("with a queue, the requester pushes after the worker's build, and an engine that lost the image pulls it without a job", () => {
    const engine = new MemoryEngine()
    return run(engine, Effect.gen(function*() {
      const t = yield* setup
      const worker = yield* Effect.forkChild(t.work({ concurrency: 1 }))
      const first = yield* t.build({ workspace: "default", ref, push: { registry: "127.0.0.1:5999/team/envs" } })
      assert.strictEqual(first.outcome, "joined")
      assert.isTrue(first.pushed?.recorded)
      engine.prune(first.image)
      yield* Fiber.interrupt(worker)
      // No worker runs now: only a pull, in the requester, can answer.
      const again = yield* t.build({ workspace: "default", ref })
      assert.strictEqual(again.outcome, "pulled")
      assert.strictEqual(engine.completed, 1)
      const events = yield* buildEvents(first.canonicalHash)
      assert.deepStrictEqual(events.filter((e) => e._tag === "ImagePushed" || e._tag === "BuildStarted").map((e) => e._tag), ["BuildStarted", "ImagePushed"])
    }))
  })
})
