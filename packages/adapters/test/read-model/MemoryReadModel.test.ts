/**
 * The in-memory read model: the contract, the same answers as the SQL read model for the same
 * log, and its rebuild's swap rounds. Its event store is the in-memory one, but where its answers
 * are compared with the SQL read model's, which needs the SQL store on an in-memory PGlite.
 */
import { assert, describe, it } from "@effect/vitest"
import { Defined, EventStore, Projections, ReadModel } from "@terrarium/domain"
import { Context, Effect, Layer } from "effect"
import { MemoryEventStore } from "../../src/event-store/memory/MemoryEventStore.ts"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { MemoryReadModel } from "../../src/read-model/memory/MemoryReadModel.ts"
import { SqlReadModel } from "../../src/read-model/sql/SqlReadModel.ts"
import { TestDatabase } from "../support/TestDatabase.ts"
import { appendAll, appendForeign, hashes, history, trainDraft } from "./History.ts"
import { CONTRACT_BATCH_SIZE, CONTRACT_POLL_INTERVAL, readModelContract, readModelView } from "./ReadModelContract.ts"

const sqlEventStore = () => SqlEventStore.layer.pipe(Layer.provideMerge(TestDatabase.pglite()))

readModelContract(
  "in memory",
  MemoryReadModel.layerWith({ batchSize: CONTRACT_BATCH_SIZE, pollInterval: CONTRACT_POLL_INTERVAL }).pipe(
    Layer.provideMerge(MemoryEventStore.layer)
  )
)

const portsOf = (context: Context.Context<Projections | ReadModel>) =>
  ({ projections: Context.get(context, Projections), view: readModelView.pipe(Effect.provideContext(context)) })

describe("in-memory read model", () => {
  it.effect("answers every query as the SQL read model does, over the same log", () =>
    Effect.gen(function* () {
      const memory = portsOf(yield* Layer.build(MemoryReadModel.layerWith({ batchSize: 3 })))
      const sql = portsOf(yield* Layer.build(SqlReadModel.layerWith({ batchSize: 5 })))
      const store = yield* EventStore
      for (const [i, step] of history(yield* hashes).entries()) {
        yield* appendAll(step)
        if (i === 1) yield* appendForeign
        assert.strictEqual(yield* memory.projections.catchUp, yield* store.head)
        assert.strictEqual(yield* sql.projections.catchUp, yield* store.head)
        const [inMemory, inSql] = [yield* memory.view, yield* sql.view]
        assert.deepStrictEqual(inMemory, inSql, `after step ${i + 1}`)
        // The same order of keys in JSON values too (jsonb's), so their JSON output is the same.
        assert.strictEqual(JSON.stringify(inMemory), JSON.stringify(inSql), `after step ${i + 1}, as JSON`)
      }
    }).pipe(Effect.scoped, Effect.provide(sqlEventStore())))

  it.effect("a rebuild never moves the read model back: it catches up again until it is not behind", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      // A store whose `head` first lets the projector catch up past what it returns (once per
      // rebuild round, `rounds` times): each round of a rebuild then finds the live read model ahead.
      let projections: Projections["Service"] | undefined
      let rounds = 0
      let meddled = 0
      let appended = 0
      let meddling = false
      const meddle = Effect.gen(function* () {
        if (meddling || meddled >= rounds || projections === undefined) return
        meddling = true
        meddled++
        const name = `late-${++appended}`
        yield* appendAll([["team-c", name, [new Defined({ workspace: "team-c", name, curated: false, definition: trainDraft })]]])
        yield* projections.catchUp
        meddling = false
      }).pipe(Effect.provideService(EventStore, store), Effect.orDie)
      const meddlingStore = EventStore.of({ ...store, head: Effect.tap(store.head, () => meddle) })
      const context = yield* Layer.build(
        MemoryReadModel.layerWith({ batchSize: 5 }).pipe(Layer.provide(Layer.succeed(EventStore, meddlingStore)))
      )
      projections = Context.get(context, Projections)
      for (const step of history(yield* hashes)) yield* appendAll(step)
      yield* projections.catchUp
      const view = readModelView.pipe(Effect.provideContext(context))

      // Three rounds find the live model ahead; the fourth swaps.
      rounds = 3
      const rebuilt = yield* projections.rebuild
      assert.strictEqual(meddled, 3)
      assert.strictEqual(rebuilt, yield* store.head, "the swap waited for the rebuilt model to reach the live checkpoint")
      assert.strictEqual(yield* projections.checkpoint, rebuilt)
      const before = yield* view

      // A live model that never stops moving: the rebuild gives up and leaves it alone.
      meddled = 0
      rounds = Number.POSITIVE_INFINITY
      const error = yield* projections.rebuild.pipe(Effect.flip)
      assert.strictEqual(error.reason._tag, "RebuildOvertaken")
      assert.isTrue(error.isRetryable)
      assert.match(error.message, /^projection rebuild failed: the live read model moved past the rebuilt one 20 times in a row; /)
      assert.strictEqual(meddled, 20)
      rounds = 0
      assert.strictEqual(yield* projections.checkpoint, yield* store.head)
      const after = yield* view
      assert.notDeepEqual(after, before, "the live model moved on meanwhile")
      assert.strictEqual(yield* projections.rebuild, yield* store.head)
      assert.deepStrictEqual(yield* view, after, "and what it holds is what a rebuild builds")
    }).pipe(Effect.scoped, Effect.provide(MemoryEventStore.layer)))
})
