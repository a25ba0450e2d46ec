/**
 * The group-commit queue (GroupCommit.ts). First on its own, over a fake writer that records
 * each transaction it is asked for and can hold it in flight behind a gate: batching, a failing
 * item, a defect, an interrupted waiter, with no database. Then inside the SQL store, when
 * writing a batch goes wrong in a way no database error covers (a defect: a bug in the store or
 * the driver), which the contract suite cannot provoke: the store runs over a `Database` double
 * whose single-event statement waits for a gate (holding the leader's write in flight while
 * others queue) and whose batch statement dies or throws.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore, type EventStoreError, type NewEvent } from "@terrarium/domain"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Result, Stream } from "effect"
import type { Kysely } from "kysely"
import * as GroupCommit from "../../src/event-store/sql/GroupCommit.ts"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { Database } from "../../src/sql/Database.ts"

/**
 * A writer of strings: each transaction it is asked for is recorded in `transactions` as it
 * starts, then waits for `gate`. An item named `bad…` is refused (alone, or inside a batch), a
 * batch holding a `poison…` item is refused as a whole (like a statement failed by one bad row),
 * and a batch holding a `die…` item dies.
 */
const fakeQueue = (gate: Deferred.Deferred<void>, maxBatch = 256) => {
  const transactions: Array<ReadonlyArray<string>> = []
  const writer: GroupCommit.Writer<string, string, string> = {
    one: (item) =>
      Effect.sync(() => transactions.push([item])).pipe(
        Effect.andThen(Deferred.await(gate)),
        Effect.andThen(item.startsWith("bad") || item.startsWith("poison") ? Effect.fail(`refused ${item}`) : Effect.succeed(`wrote ${item} alone`))
      ),
    many: (items) =>
      Effect.sync(() => transactions.push(items)).pipe(
        Effect.andThen(Deferred.await(gate)),
        Effect.andThen(
          items.some((i) => i.startsWith("die"))
            ? Effect.die(new Error("writer bug"))
            : items.some((i) => i.startsWith("poison"))
            ? Effect.fail("the statement failed")
            : Effect.succeed(items.map((i) =>
              i.startsWith("bad") ? Result.fail(`refused ${i}`) : Result.succeed(`wrote ${i} with ${items.length - 1} others`)
            ))
        )
      )
  }
  return GroupCommit.make({
    writer,
    maxBatch,
    failed: (defect) => `failed: ${defect instanceof Error ? defect.message : String(defect)}`,
    notWritten: (defect) => `not written: ${defect instanceof Error ? defect.message : String(defect)}`
  }).pipe(Effect.map((queue) => ({ queue, transactions })))
}

/** Start `items` one after the other, each queued behind the write in flight; their fibers. */
const queueUp = (queue: GroupCommit.GroupCommit<string, string, string>, items: ReadonlyArray<string>) =>
  Effect.forEach(items, (item) => Effect.forkChild(queue.submit(item))).pipe(Effect.tap(() => Effect.sleep("20 millis")))

/** What each fiber ended with: its value, its error, or the defect. */
const outcomes = (fibers: ReadonlyArray<Fiber.Fiber<string, string>>) =>
  Effect.forEach(fibers, (f) =>
    Fiber.await(f).pipe(Effect.map((exit) =>
      Exit.isSuccess(exit) ? exit.value : Option.getOrElse(Exit.findErrorOption(exit), () => `defect: ${String(exit)}`)
    ))).pipe(Effect.timeout("5 seconds"))

describe("GroupCommit over a fake writer", () => {
  it.live("items queued while one is in flight go out together, at most maxBatch at a time, each with its own outcome", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { queue, transactions } = yield* fakeQueue(gate, 3)
      const [leader] = yield* queueUp(queue, ["a"])
      const queued = yield* queueUp(queue, ["b", "c", "d", "e"])
      assert.deepStrictEqual(transactions, [["a"]], "nothing else is sent while the leader's write is in flight")
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* outcomes([leader!, ...queued]), [
        "wrote a alone",
        "wrote b with 2 others",
        "wrote c with 2 others",
        "wrote d with 2 others",
        "wrote e alone"
      ])
      assert.deepStrictEqual(transactions, [["a"], ["b", "c", "d"], ["e"]])
      // Leadership was handed back: a lone item is written alone, at once.
      assert.strictEqual(yield* queue.submit("f").pipe(Effect.timeout("5 seconds")), "wrote f alone")
      assert.deepStrictEqual(transactions.at(-1), ["f"])
    }))

  it.live("a maxBatch below one still sends one item at a time: the queue drains, nobody waits for ever", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { queue, transactions } = yield* fakeQueue(gate, 0)
      const [leader] = yield* queueUp(queue, ["a"])
      const queued = yield* queueUp(queue, ["b", "c"])
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* outcomes([leader!, ...queued]), ["wrote a alone", "wrote b alone", "wrote c alone"])
      assert.deepStrictEqual(transactions, [["a"], ["b"], ["c"]])
    }))

  it.live("a failing item fails alone, in a batch or when the batch is refused as a whole and written one at a time", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { queue, transactions } = yield* fakeQueue(gate)
      const [leader] = yield* queueUp(queue, ["a"])
      const queued = yield* queueUp(queue, ["b", "bad-c", "d"])
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* outcomes([leader!, ...queued]), [
        "wrote a alone",
        "wrote b with 2 others",
        "refused bad-c",
        "wrote d with 2 others"
      ])
      assert.deepStrictEqual(transactions, [["a"], ["b", "bad-c", "d"]])

      const gate2 = yield* Deferred.make<void>()
      const { queue: queue2, transactions: transactions2 } = yield* fakeQueue(gate2)
      const [leader2] = yield* queueUp(queue2, ["a"])
      const queued2 = yield* queueUp(queue2, ["b", "poison-c", "d"])
      yield* Deferred.succeed(gate2, undefined)
      assert.deepStrictEqual(yield* outcomes([leader2!, ...queued2]), [
        "wrote a alone",
        "wrote b alone",
        "refused poison-c",
        "wrote d alone"
      ])
      assert.deepStrictEqual(transactions2, [["a"], ["b", "poison-c", "d"], ["b"], ["poison-c"], ["d"]])
    }))

  it.live("a batch that dies fails all its waiters and those queued behind it; the queue keeps working", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { queue, transactions } = yield* fakeQueue(gate, 2)
      const [leader] = yield* queueUp(queue, ["a"])
      const queued = yield* queueUp(queue, ["die-b", "c", "d"])
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* outcomes([leader!, ...queued]), [
        "wrote a alone",
        "failed: writer bug",
        "failed: writer bug",
        "not written: writer bug"
      ])
      assert.deepStrictEqual(transactions, [["a"], ["die-b", "c"]], "nothing is sent for the item queued behind the defect")
      // Leadership was handed back: alone, and with a queue again.
      assert.strictEqual(yield* queue.submit("e").pipe(Effect.timeout("5 seconds")), "wrote e alone")
      const [f, g] = yield* queueUp(queue, ["f", "g"])
      assert.deepStrictEqual(yield* outcomes([f!, g!]), ["wrote f alone", "wrote g alone"])
      assert.deepStrictEqual(transactions, [["a"], ["die-b", "c"], ["e"], ["f"], ["g"]])
    }))

  it.live("an interrupted waiter still queued is taken out: nothing is written for it", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { queue, transactions } = yield* fakeQueue(gate)
      const [leader] = yield* queueUp(queue, ["a"])
      const [dropped, kept] = yield* queueUp(queue, ["dropped", "kept"])
      yield* Fiber.interrupt(dropped!)
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* outcomes([leader!, kept!]), ["wrote a alone", "wrote kept alone"])
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(dropped!)))
      assert.deepStrictEqual(transactions, [["a"], ["kept"]])
    }))
})

const event = (): NewEvent => {
  const id = crypto.randomUUID()
  return { id, type: "T", schemaVersion: 1, data: {}, metadata: { actor: "tester", correlationId: id, causationId: null } }
}

/** How the double's batch statement (`events_append`) goes wrong. */
type BatchDefect = "dies" | "throws while building its effect"

/**
 * A `Database` on which single-event appends succeed once `gate` opens (and die in workspace
 * `broken`) and batches fail with a defect. Only `execute` is used by the append path.
 */
const databaseDouble = (gate: Deferred.Deferred<void>, defect: BatchDefect) => {
  let position = 0
  const unused = () => Effect.die(new Error("not used by the append path"))
  return Database.of({
    kind: "postgres",
    db: {} as Kysely<any>,
    schema: "double",
    applied: [],
    use: unused,
    transaction: unused,
    executeValues: unused,
    listen: () => Stream.die(new Error("not used by the append path")),
    execute: <R>(_operation: string, text: string, parameters: ReadonlyArray<unknown>) => {
      if (text.includes("events_append_one(")) {
        if (parameters[0] === "broken") return Effect.die(new Error("driver bug: single result undecodable"))
        return Deferred.await(gate).pipe(Effect.as([{ r: [1, 1, ++position, 0] }] as unknown as ReadonlyArray<R>))
      }
      if (defect === "dies") return Effect.die(new Error("driver bug: batch result undecodable"))
      throw new Error("driver bug: cannot build the batch statement")
    }
  })
}

const storeOver = (gate: Deferred.Deferred<void>, defect: BatchDefect) =>
  SqlEventStore.layerWith({ maxBatch: 2 }).pipe(Layer.provide(Layer.succeed(Database, databaseDouble(gate, defect))))

describe("GroupCommit in SqlEventStore: a defect while writing a batch", () => {
  for (const defect of ["dies", "throws while building its effect"] as const) {
    it.live(`a batch that ${defect}: its appends and the queue behind it fail, nothing hangs, the store keeps writing`, () =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        yield* Effect.gen(function* () {
          const store = yield* EventStore
          const append = (stream: string) => store.append({ workspace: "w", stream }, "any", [event()])
          const leader = yield* Effect.forkChild(append("leader"))
          yield* Effect.sleep("20 millis") // the leader's write is in flight, waiting for the gate
          // Queued: with maxBatch 2, the first two go out as one batch, the third behind them.
          const queued = yield* Effect.forEach(["a", "b", "c"], (s) => Effect.forkChild(append(s)))
          yield* Effect.sleep("20 millis")
          yield* Deferred.succeed(gate, undefined)

          assert.deepStrictEqual(yield* Fiber.join(leader), { streamVersion: 1, position: 1 })
          const exits = yield* Effect.forEach(queued, (f) => Fiber.await(f)).pipe(Effect.timeout("5 seconds"))
          const failures = exits.map((exit): EventStoreError =>
            Option.getOrElse(Exit.findErrorOption(exit), () => assert.fail(`expected a typed failure, got ${String(exit)}`))
          )
          for (const failure of failures) assert.strictEqual(failure.reason._tag, "StorageFailure")
          assert.match(failures[0]!.message, /driver bug/)
          assert.match(failures[1]!.message, /driver bug/)
          assert.match(failures[2]!.message, /not written/)

          // Leadership was handed back.
          const next = yield* append("next").pipe(Effect.timeout("5 seconds"))
          assert.strictEqual(next.streamVersion, 1)
        }).pipe(Effect.provide(storeOver(gate, defect)))
      }))
  }

  it.live("a defect in the leader's own write fails its caller as a StorageFailure; the store keeps writing", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.gen(function* () {
        const store = yield* EventStore
        const failure = yield* store.append({ workspace: "broken", stream: "s" }, "any", [event()]).pipe(
          Effect.flip,
          Effect.timeout("5 seconds")
        )
        assert.strictEqual(failure.reason._tag, "StorageFailure")
        assert.match(failure.message, /driver bug: single result undecodable/)
        const next = yield* store.append({ workspace: "w", stream: "s" }, "any", [event()]).pipe(Effect.timeout("5 seconds"))
        assert.strictEqual(next.streamVersion, 1)
      }).pipe(Effect.provide(storeOver(gate, "dies")))
    }))
})
