/**
 * Progress of a long catch-up, for short runs that catch the read model up before they read
 * (the CLI): a run after a busy day of writes by other processes may have a large part of the
 * log to project. A decorator of the `Projections` port: when the gap between the read model
 * and the log is at least `threshold` events, or the read model must be rebuilt (another
 * projection version built it), `report` hears where the catch-up is until it ends; a small gap
 * is caught up silently.
 *
 * Progress is read from the port (the checkpoint, moved by each committed batch), so it works
 * with any adapter; a rebuild's progress is not visible there (its checkpoint moves when it
 * swaps in), so a rebuild is reported as such, without a position.
 *
 * @since 0.1.0
 */
import { EventStore, Projections } from "@terrarium/domain"
import { Duration, Effect, Fiber, Layer } from "effect"

/**
 * Where a catch-up is: `from` where it started, `at` where it is, `head` where it ends.
 * `rebuilding`: the read model is being rebuilt from the whole log (`at` stays at `from`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CatchUpProgress {
  readonly phase: "started" | "progress" | "done"
  readonly rebuilding: boolean
  readonly from: number
  readonly at: number
  readonly head: number
}

/**
 * The gap, in events, from which a catch-up is reported: at the projector's pace (bench/README.md,
 * "Projections benchmark"), a few seconds of work.
 *
 * @since 0.1.0
 * @category models
 */
export const DEFAULT_THRESHOLD = 50_000

/** @since 0.1.0 @category models */
export interface CatchUpProgressOptions {
  readonly report: (progress: CatchUpProgress) => void
  /** Report from this gap on (default `DEFAULT_THRESHOLD`). */
  readonly threshold?: number
  /** How often progress is read (default 250 ms). */
  readonly every?: Duration.Input
}

/**
 * Whether a catch-up from `checkpoint` to `head` is reported: the decision, without timing.
 *
 * @since 0.1.0
 * @category progress
 */
export const isReported = (checkpoint: number, head: number, rebuilding: boolean, threshold = DEFAULT_THRESHOLD): boolean =>
  rebuilding || head - checkpoint >= threshold

/**
 * `Projections` from the context, with a `catchUp` that reports its progress when the gap is large.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: CatchUpProgressOptions): Layer.Layer<Projections, never, Projections | EventStore> =>
  Layer.effect(Projections, Effect.gen(function* () {
    const projections = yield* Projections
    const store = yield* EventStore
    const every = options.every ?? "250 millis"
    const threshold = options.threshold ?? DEFAULT_THRESHOLD
    const catchUp = Effect.gen(function* () {
      // Looking costs two small reads; a failure here is left to the catch-up to report.
      const looked = yield* Effect.all([projections.checkpoint, store.head, projections.version]).pipe(Effect.option)
      if (looked._tag === "None") return yield* projections.catchUp
      const [from, head, version] = looked.value
      const rebuilding = version.stored !== null && version.stored !== version.current
      if (!isReported(from, head, rebuilding, threshold)) return yield* projections.catchUp
      const progress = (phase: CatchUpProgress["phase"], at: number) => options.report({ phase, rebuilding, from, at, head })
      progress("started", from)
      const watcher = yield* Effect.forkChild(Effect.forever(
        Effect.sleep(every).pipe(
          Effect.andThen(projections.checkpoint),
          Effect.tap((at) => Effect.sync(() => progress("progress", rebuilding ? from : at))),
          Effect.ignore
        )
      ))
      return yield* projections.catchUp.pipe(
        Effect.ensuring(Fiber.interrupt(watcher)),
        Effect.tap((at) => Effect.sync(() => progress("done", at)))
      )
    })
    return Projections.of({ ...projections, catchUp })
  }))
