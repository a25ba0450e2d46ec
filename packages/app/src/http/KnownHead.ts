/**
 * The log's head as the HTTP server knows it, without asking PostgreSQL per read: it follows
 * the event store's `heads` (this process's appends at once, another process's when its
 * notification is delivered) in a background fiber. While that stream is not running (not yet
 * started, or its listening connection lost and not yet back) nothing is known, and `current`
 * asks the store, as every read did before: an answer is never kept or reused on a head that a
 * missed notification could have made stale.
 *
 * @since 0.4.0
 */
import { EventStore, type EventStoreError } from "@terrarium/domain"
import { Context, Duration, Effect, Layer, Schedule, Stream } from "effect"

/**
 * @since 0.4.0
 * @category port
 */
export class KnownHead extends Context.Service<KnownHead, {
  /** The head: the one pushed while following, else asked of the store. */
  readonly current: Effect.Effect<number, EventStoreError>
  /** Whether the head is followed now (false: every `current` asks the store). */
  readonly following: Effect.Effect<boolean>
}>()("terrarium/http/KnownHead") {}

/** The longest pause before following again after the listening connection was lost. */
const MAX_RETRY_DELAY = Duration.seconds(10)

/**
 * Follows the store's heads for as long as the layer lives; after a failure, again after a
 * pause (1 s, doubling up to 10 s), every read asking the head meanwhile.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: Layer.Layer<KnownHead, never, EventStore> = Layer.effect(KnownHead)(Effect.gen(function*() {
  const store = yield* EventStore
  let known: number | undefined
  const retries = Schedule.exponential("1 second").pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, MAX_RETRY_DELAY)))
  )
  yield* store.heads.pipe(
    Stream.runForEach((head) => Effect.sync(() => void (known = head))),
    // Whatever ended it, nothing is known from here until a new stream gives its first head.
    Effect.ensuring(Effect.sync(() => void (known = undefined))),
    Effect.andThen(Effect.fail("the heads ended")),
    Effect.retry(retries),
    Effect.forkScoped
  )
  return KnownHead.of({
    current: Effect.suspend(() => known === undefined ? store.head : Effect.succeed(known)),
    following: Effect.sync(() => known !== undefined)
  })
}))
