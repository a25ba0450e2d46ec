import { assert, layer } from "@effect/vitest"
import { EventStore } from "@terrarium/domain"
import { Effect, Fiber, Option, Stream } from "effect"
import pg from "pg"
import { TestPostgresSchema } from "../support/TestDatabase.ts"
import { TestEventStore } from "../support/TestEventStore.ts"
import { eventStoreContract } from "./EventStoreContract.ts"
import { sqlEventStoreChecks } from "./SqlEventStoreChecks.ts"

eventStoreContract("SQL on PostgreSQL (4 store instances, pools of 4)", TestEventStore.postgres({ instances: 4, poolSize: 4 }))
sqlEventStoreChecks("PostgreSQL (4 store instances, pools of 4)", TestEventStore.postgres({ instances: 4, poolSize: 4 }))

const newEvent = () => {
  const id = crypto.randomUUID()
  return { id, type: "T", schemaVersion: 1, data: {}, metadata: { actor: "t", correlationId: id, causationId: null } }
}

layer(TestEventStore.postgres({ instances: 1 }), { excludeTestServices: true })("visibility gap (deterministic, PostgreSQL)", (it) => {
  it.effect("an append held open blocks the next one, and readers do not pass it until it commits", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const { connectionString, schema } = yield* TestPostgresSchema
      const before = yield* store.head

      // Another process's append, stopped between its insert and its commit.
      const client = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const c = new pg.Client({ connectionString, options: `-c search_path=${schema}` })
          await c.connect()
          return c
        }),
        (c) => Effect.promise(() => c.end())
      )
      const held = { workspace: "gap", stream: "held", expected: 0, events: [newEvent()] }
      const heldResult = yield* Effect.promise(async () => {
        await client.query("begin")
        const r = await client.query<{ r: Array<{ position: number }> }>("select events_append($1::jsonb) as r", [JSON.stringify([held])])
        return r.rows[0]!.r[0]!
      })
      assert.strictEqual(heldResult.position, before + 1)

      // Our append must wait for the held one: it cannot take position before + 2 yet.
      const appending = yield* store.append({ workspace: "gap", stream: "next" }, 0, [newEvent()]).pipe(Effect.forkChild)
      const early = yield* Fiber.join(appending).pipe(Effect.timeoutOption("300 millis"))
      assert.isTrue(Option.isNone(early), "the second append waited for the first to commit")

      // Readers see nothing past the uncommitted position.
      assert.strictEqual(yield* store.head, before)
      assert.deepStrictEqual(yield* Stream.runCollect(store.readAll({ after: before })), [])

      yield* Effect.promise(() => client.query("commit"))
      const second = yield* Fiber.join(appending).pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(second.position, before + 2)
      const seen = yield* Stream.runCollect(store.readAll({ after: before }))
      assert.deepStrictEqual(seen.map((e) => [e.stream, e.position]), [["held", before + 1], ["next", before + 2]])
    }))
})
