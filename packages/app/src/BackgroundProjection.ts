/**
 * Keeps the read model following the log in the background, for long-running processes (a
 * library user who asks for it; later the HTTP server and the build workers): reads then find
 * the read model caught up instead of catching it up themselves. Short CLI runs do not use it;
 * they catch up before they read.
 *
 * It runs `Projections.run`, which follows the log as the one active instance per read model
 * across processes (a lease: PostgreSQL advisory lock, or PGlite's one process): in a second
 * process it stands by and takes over when the first stops. A failure (the database gone for a
 * while) is logged and the follower starts again after a pause, for as long as the layer lives.
 *
 * @since 0.1.0
 */
import { Projections } from "@terrarium/domain"
import { Duration, Effect, Layer, Schedule } from "effect"

/** @since 0.1.0 @category models */
export interface BackgroundProjectionOptions {
  /** The longest pause before the follower starts again after a failure (default 30 s; the first is 1 s). */
  readonly maxRestartDelay?: Duration.Input
}

/**
 * A layer whose scope runs the follower; it ends (interrupting it, which lets another process
 * take over) when the scope closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: BackgroundProjectionOptions = {}): Layer.Layer<never, never, Projections> =>
  Layer.effectDiscard(Effect.gen(function* () {
    const projections = yield* Projections
    const maxDelay = Duration.fromInputUnsafe(options.maxRestartDelay ?? "30 seconds")
    const restarts = Schedule.exponential("1 second").pipe(
      Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, maxDelay)))
    )
    yield* projections.run.pipe(
      Effect.tapError((error) =>
        Effect.logWarning(`the read model stopped following the event log, starting again: ${error.message}`)
      ),
      Effect.retry(restarts),
      Effect.forkScoped
    )
  }))

/** `layerWith` its defaults. @since 0.1.0 @category layers */
export const layer: Layer.Layer<never, never, Projections> = layerWith()
