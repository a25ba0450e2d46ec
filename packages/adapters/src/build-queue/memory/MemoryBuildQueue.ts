/**
 * The build queue in memory, for one process: the app's tests of queued builds, and an
 * embedding service that runs its workers in its own process. Same contract as pg-boss's: one
 * waiting job per hash, a failed run is retried, cancel drops the waiting job.
 *
 * @since 0.3.0
 */
import { type BuildJob, BuildQueue } from "@terrarium/domain"
import { Effect, Exit, Layer, Queue, Stream } from "effect"

/** A job that keeps failing gives up after this many retries (as the pg-boss adapter's). */
const RETRY_LIMIT = 5

/**
 * @since 0.3.0
 * @category layers
 */
export const layer: Layer.Layer<BuildQueue> = Layer.sync(BuildQueue, () => {
  const waiting: Array<{ job: BuildJob; attempts: number }> = []
  /** The running job of each hash. */
  const running = new Map<string, BuildJob>()
  const listeners = new Set<{ readonly logKey: string; readonly ring: () => void }>()
  const takeNext = () => {
    const index = waiting.findIndex((w) => !running.has(w.job.canonicalHash))
    if (index < 0) return undefined
    const [next] = waiting.splice(index, 1)
    running.set(next!.job.canonicalHash, next!.job)
    return next!
  }
  return BuildQueue.of({
    location: "memory",
    enqueue: (job) =>
      Effect.sync(() => {
        const already = waiting.find((w) => w.job.canonicalHash === job.canonicalHash)
        if (already !== undefined) return { queued: false, buildId: already.job.buildId }
        waiting.push({ job, attempts: 0 })
        return { queued: true, buildId: job.buildId }
      }),
    find: (buildId) =>
      Effect.sync(() =>
        waiting.find((w) => w.job.buildId === buildId)?.job ?? [...running.values()].find((job) => job.buildId === buildId)),
    announce: (logKey) => Effect.sync(() => listeners.forEach((l) => l.logKey === logKey && l.ring())),
    announcements: (logKey) =>
      Stream.callback<void>((queue) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const listener = { logKey, ring: () => void Queue.offerUnsafe(queue, undefined) }
            listeners.add(listener)
            return listener
          }),
          (listener) => Effect.sync(() => listeners.delete(listener))
        ), { bufferSize: 1, strategy: "dropping" }),
    pending: (canonicalHash) =>
      Effect.sync(() => running.has(canonicalHash) || waiting.some((w) => w.job.canonicalHash === canonicalHash)),
    cancel: (canonicalHash) =>
      Effect.sync(() => {
        const before = waiting.length
        for (let i = waiting.length - 1; i >= 0; i--) if (waiting[i]!.job.canonicalHash === canonicalHash) waiting.splice(i, 1)
        return before - waiting.length
      }),
    work: (options, run) => {
      const worker = Effect.gen(function*() {
        while (true) {
          // A worker that is stopped lets its running job finish, as the pg-boss one does; taking
          // a job and running it is one step, so none is lost in between.
          const ran = yield* Effect.uninterruptible(Effect.gen(function*() {
            const next = takeNext()
            if (next === undefined) return false
            const exit = yield* Effect.exit(run(next.job))
            running.delete(next.job.canonicalHash)
            if (Exit.isFailure(exit) && next.attempts < RETRY_LIMIT) waiting.push({ job: next.job, attempts: next.attempts + 1 })
            return true
          }))
          if (!ran) yield* Effect.sleep("10 millis")
        }
      })
      return Effect.andThen(
        Effect.forEach(Array.from({ length: Math.max(1, options.concurrency ?? 1) }), () => worker, { concurrency: "unbounded", discard: true }),
        Effect.never
      )
    }
  })
})

/**
 * @since 0.3.0
 * @category adapters
 */
export const MemoryBuildQueue = { layer }
