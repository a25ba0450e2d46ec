/**
 * The HTTP server's memory of version reads (`makeRemembered` in `Handlers.ts`), over a known
 * head (KnownHead.ts) and a read model checkpoint that the test sets: an answer is reused only at the head it was
 * read at, and never kept when the read model was behind that head (its rows could be stale) or
 * the head moved while it was read.
 */
import { assert, describe, it } from "@effect/vitest"
import { Projections } from "@terrarium/domain"
import { Effect } from "effect"
import { makeRemembered } from "../../src/http/Handlers.ts"
import { KnownHead } from "../../src/http/KnownHead.ts"

describe("the memory of version reads", () => {
  const world = { head: 5, checkpoint: 5, reads: 0, moveHeadWhileReading: false }
  const read = Effect.sync(() => {
    world.reads++
    if (world.moveHeadWhileReading) world.head++
    return `answer ${world.reads} at ${world.head}`
  })
  const run = <A>(effect: Effect.Effect<A, unknown, KnownHead | Projections>) =>
    effect.pipe(
      Effect.provideService(KnownHead, { current: Effect.sync(() => world.head) } as never),
      Effect.provideService(Projections, { checkpoint: Effect.sync(() => world.checkpoint) } as never)
    )

  it.effect("reuses an answer while the head stands; reads again once it moves", () =>
    Effect.gen(function*() {
      Object.assign(world, { head: 5, checkpoint: 5, reads: 0, moveHeadWhileReading: false })
      const remembered = makeRemembered<string>()
      assert.strictEqual(yield* run(remembered("k", read)), "answer 1 at 5")
      assert.strictEqual(yield* run(remembered("k", read)), "answer 1 at 5")
      assert.strictEqual(world.reads, 1)
      world.head = 6
      world.checkpoint = 6
      assert.strictEqual(yield* run(remembered("k", read)), "answer 2 at 6")
      assert.strictEqual(yield* run(remembered("other", read)), "answer 3 at 6")
    }))

  it.effect("keeps nothing read while the read model was behind the head", () =>
    Effect.gen(function*() {
      Object.assign(world, { head: 5, checkpoint: 4, reads: 0, moveHeadWhileReading: false })
      const remembered = makeRemembered<string>()
      yield* run(remembered("k", read))
      yield* run(remembered("k", read))
      assert.strictEqual(world.reads, 2)
    }))

  it.effect("keeps nothing read while the head moved", () =>
    Effect.gen(function*() {
      Object.assign(world, { head: 5, checkpoint: 100, reads: 0, moveHeadWhileReading: true })
      const remembered = makeRemembered<string>()
      yield* run(remembered("k", read))
      world.moveHeadWhileReading = false
      // A request that saw the head at 5 (before the append landed) must not get that answer:
      // it was made while the head moved from 5, so it is not the answer at 5.
      world.head = 5
      yield* run(remembered("k", read))
      assert.strictEqual(world.reads, 2)
    }))
})
