/**
 * The build queue contract: what every `BuildQueue` adapter must do, run by each adapter's own
 * test file (`buildQueueContract(name, layer)`). Each test queues hashes of its own, and a
 * worker of one test may meet jobs another left: runs are told apart by hash.
 */
import { assert, layer } from "@effect/vitest"
import { type BuildJob, BuildQueue } from "@terrarium/domain"
import { Deferred, Effect, Fiber, type Layer, Stream } from "effect"

const jobOf = (canonicalHash: string): BuildJob => ({
  workspace: "default", name: "env", version: "1", canonicalHash, noCache: false, requestedBy: "tester"
})

const hash = () => `sha256:${crypto.randomUUID().replaceAll("-", "")}`

/** Waits (at most `seconds`) until `check` holds. */
const eventually = (check: Effect.Effect<boolean, unknown>, seconds = 30) =>
  Effect.gen(function*() {
    for (let i = 0; i < seconds * 10; i++) {
      if (yield* check) return
      yield* Effect.sleep("100 millis")
    }
    assert.fail("never happened")
  })

export const buildQueueContract = <E>(name: string, queueLayer: Layer.Layer<BuildQueue, E>) =>
  layer(queueLayer, { excludeTestServices: true, timeout: "90 seconds" })(`BuildQueue contract: ${name}`, (it) => {
    it.effect("one waiting job per hash: a second request adds nothing; the job runs once, with its data", () =>
      Effect.gen(function*() {
        const queue = yield* BuildQueue
        const h = hash()
        assert.deepStrictEqual(yield* queue.enqueue(jobOf(h)), { queued: true, buildId: undefined })
        assert.deepStrictEqual(yield* queue.enqueue(jobOf(h)), { queued: false, buildId: undefined })
        assert.isTrue(yield* queue.pending(h))
        const runs: Array<BuildJob> = []
        const worker = yield* Effect.forkChild(queue.work({}, (job) => Effect.sync(() => void (job.canonicalHash === h && runs.push(job)))))
        yield* eventually(Effect.map(queue.pending(h), (p) => !p && runs.length > 0))
        yield* Effect.sleep("1500 millis")
        yield* Fiber.interrupt(worker)
        assert.deepStrictEqual(runs, [jobOf(h)])
      }))

    it.effect("a job's build id: answered for the job waiting, found while it waits and runs, not once it ended", () =>
      Effect.gen(function*() {
        const queue = yield* BuildQueue
        const h = hash()
        const [first, second] = [crypto.randomUUID(), crypto.randomUUID()]
        const job = { ...jobOf(h), buildId: first }
        assert.deepStrictEqual(yield* queue.enqueue(job), { queued: true, buildId: first })
        assert.deepStrictEqual(yield* queue.enqueue({ ...jobOf(h), buildId: second }), { queued: false, buildId: first }, "the waiting job's id")
        assert.deepStrictEqual(yield* queue.find(first), job)
        assert.isUndefined(yield* queue.find(second))
        assert.isUndefined(yield* queue.find("not-a-build"))
        const release = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const worker = yield* Effect.forkChild(queue.work({}, (run) =>
          run.canonicalHash !== h ? Effect.void : Deferred.succeed(started, undefined).pipe(Effect.andThen(Deferred.await(release)))))
        yield* Deferred.await(started)
        assert.deepStrictEqual(yield* queue.find(first), job, "found while it runs")
        yield* Deferred.succeed(release, undefined)
        yield* eventually(Effect.map(queue.pending(h), (p) => !p))
        yield* Fiber.interrupt(worker)
        assert.isUndefined(yield* queue.find(first), "gone once it ended")
      }))

    it.effect("a failed run is retried", () =>
      Effect.gen(function*() {
        const queue = yield* BuildQueue
        const h = hash()
        let attempts = 0
        yield* queue.enqueue(jobOf(h))
        const worker = yield* Effect.forkChild(queue.work({}, (job) =>
          job.canonicalHash !== h ? Effect.void : Effect.suspend(() => (++attempts === 1 ? Effect.fail("engine down") : Effect.void))))
        yield* eventually(Effect.map(queue.pending(h), (p) => !p && attempts >= 2))
        yield* Fiber.interrupt(worker)
        assert.strictEqual(attempts, 2)
      }))

    it.effect("cancel drops a waiting job: it never runs", () =>
      Effect.gen(function*() {
        const queue = yield* BuildQueue
        const h = hash()
        yield* queue.enqueue(jobOf(h))
        assert.strictEqual(yield* queue.cancel(h), 1)
        assert.isFalse(yield* queue.pending(h))
        assert.strictEqual(yield* queue.cancel(h), 0)
        let ran = false
        const worker = yield* Effect.forkChild(queue.work({}, (job) => Effect.sync(() => void (job.canonicalHash === h && (ran = true)))))
        yield* Effect.sleep("2 seconds")
        yield* Fiber.interrupt(worker)
        assert.isFalse(ran)
      }))

    it.effect("an announced log rings its followers, and only those of that log", () =>
      Effect.gen(function*() {
        const queue = yield* BuildQueue
        const key = `builds/${crypto.randomUUID()}/1`
        const heard = yield* Effect.forkChild(Stream.runCollect(Stream.take(queue.announcements(key), 2)))
        const other = yield* Effect.forkChild(Stream.runCollect(Stream.take(queue.announcements(`${key}-other`), 1)))
        // The followers listen once their stream has started; ring until both bells were heard.
        let rings = 0
        while (heard.pollUnsafe() === undefined && rings < 100) {
          yield* queue.announce(key)
          rings++
          yield* Effect.sleep("100 millis")
        }
        assert.lengthOf(yield* Fiber.join(heard), 2)
        yield* Effect.sleep("200 millis")
        assert.isUndefined(other.pollUnsafe())
        yield* Fiber.interrupt(other)
      }))

    it.effect("concurrency N runs N jobs at once; interrupted, the worker lets the running job finish", () =>
      Effect.gen(function*() {
        const queue = yield* BuildQueue
        const hashes = [hash(), hash()]
        for (const h of hashes) yield* queue.enqueue(jobOf(h))
        const release = yield* Deferred.make<void>()
        let running = 0
        let finished = 0
        const worker = yield* Effect.forkChild(queue.work({ concurrency: 2 }, (job) =>
          !hashes.includes(job.canonicalHash)
            ? Effect.void
            : Effect.gen(function*() {
              running++
              yield* Deferred.await(release)
              finished++
            })))
        yield* eventually(Effect.sync(() => running === 2))
        const stopping = yield* Effect.forkChild(Fiber.interrupt(worker))
        yield* Effect.sleep("200 millis")
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(stopping)
        assert.strictEqual(finished, 2)
      }))
  })
