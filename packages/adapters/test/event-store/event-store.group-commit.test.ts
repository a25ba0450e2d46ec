/**
 * The group-commit queue when writing a batch goes wrong in a way no database error covers (a
 * defect: a bug in the store or the driver). The contract suite cannot provoke one, so the store
 * runs here over a `Database` double whose single-event statement waits for a gate (holding the
 * leader's write in flight while others queue) and whose batch statement dies or throws.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore, type EventStoreError, type NewEvent } from "@terrarium/domain"
import { Deferred, Effect, Exit, Fiber, Layer, Option } from "effect"
import type { Kysely } from "kysely"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { Database, DatabaseError } from "../../src/sql/Database.ts"

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

describe("SqlEventStore group commit: a defect while writing a batch", () => {
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
