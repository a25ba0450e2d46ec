/**
 * The head the HTTP server knows (KnownHead.ts), over a store whose `heads` the test drives: it
 * is the pushed one while the stream runs, and asked of the store (every time) before the
 * first element, and again from the moment the stream fails until a new one has given its first.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore, type EventStoreError, storageFailure } from "@terrarium/domain"
import { Effect, Layer, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { KnownHead, layer } from "../../src/http/KnownHead.ts"

describe("the known head", () => {
  it.effect("pushed while the heads run; asked before the first and after a failure, until a new stream gives its first", () =>
    Effect.gen(function*() {
      const world = { head: 3, asked: 0, subscriptions: [] as Array<Queue.Queue<number, EventStoreError>> }
      const store = {
        head: Effect.sync(() => {
          world.asked++
          return world.head
        }),
        heads: Stream.unwrap(Effect.gen(function*() {
          const queue = yield* Queue.unbounded<number, EventStoreError>()
          world.subscriptions.push(queue)
          return Stream.fromQueue(queue)
        }))
      } as unknown as EventStore["Service"]
      yield* Effect.gen(function*() {
        const known = yield* KnownHead
        yield* Effect.yieldNow
        assert.strictEqual(world.subscriptions.length, 1)
        // Nothing heard yet: asked.
        assert.strictEqual(yield* known.current, 3)
        assert.strictEqual(world.asked, 1)
        assert.isFalse(yield* known.following)
        // Pushed: no more asking, and later pushes are taken as they come.
        yield* Queue.offer(world.subscriptions[0]!, 3)
        yield* Effect.yieldNow
        assert.isTrue(yield* known.following)
        world.head = 4
        assert.strictEqual(yield* known.current, 3, "what was pushed, not what the store would say")
        yield* Queue.offer(world.subscriptions[0]!, 4)
        yield* Effect.yieldNow
        assert.strictEqual(yield* known.current, 4)
        assert.strictEqual(world.asked, 1)
        // The listening connection is lost: from now on every read asks, until listening again.
        yield* Queue.fail(world.subscriptions[0]!, storageFailure("heads", new Error("connection lost")))
        yield* Effect.yieldNow
        assert.isFalse(yield* known.following)
        world.head = 6
        assert.strictEqual(yield* known.current, 6)
        world.head = 7
        assert.strictEqual(yield* known.current, 7)
        assert.strictEqual(world.asked, 3)
        // After the pause, a new subscription; still asked until its first element.
        yield* TestClock.adjust("1 second")
        yield* Effect.yieldNow
        assert.strictEqual(world.subscriptions.length, 2)
        assert.strictEqual(yield* known.current, 7)
        assert.strictEqual(world.asked, 4)
        yield* Queue.offer(world.subscriptions[1]!, 7)
        yield* Effect.yieldNow
        assert.strictEqual(yield* known.current, 7)
        assert.strictEqual(world.asked, 4)
      }).pipe(Effect.provide(layer.pipe(Layer.provide(Layer.succeed(EventStore, store)))))
    }))
})
