import { assert, layer } from "@effect/vitest"
import { EventStore } from "@terrarium/domain"
import { Deferred, Effect, Exit, Fiber, Option, Stream } from "effect"
import pg from "pg"
import { headChannelOf } from "../../src/event-store/Heads.ts"
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

layer(TestEventStore.postgres({ instances: 1 }), { excludeTestServices: true })("heads when the listening connection is lost (PostgreSQL)", (it) => {
  it.effect("heads fails when its LISTEN connection is ended from outside; a new subscription follows again", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const { connectionString, schema } = yield* TestPostgresSchema
      const first = yield* Deferred.make<void>()
      const following = yield* store.heads.pipe(Stream.runForEach(() => Deferred.succeed(first, undefined)), Effect.forkChild)
      yield* Deferred.await(first).pipe(Effect.timeout("10 seconds"))
      // An administrator (or a restart) ends the listening backend.
      const ended = yield* Effect.promise(async () => {
        const admin = new pg.Client({ connectionString })
        await admin.connect()
        try {
          const r = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where query = $1", [`listen "${headChannelOf(schema)}"`])
          return r.rowCount
        } finally {
          await admin.end()
        }
      })
      assert.strictEqual(ended, 1)
      const exit = yield* Fiber.await(following).pipe(Effect.timeout("10 seconds"))
      assert.isTrue(Exit.isFailure(exit), "the stream failed")
      // Listening again: the next subscription starts from the head and hears a later append.
      const again = yield* store.heads.pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* Effect.sleep("5 millis").pipe(
        Effect.andThen(Effect.promise(async () => {
          const probe = new pg.Client({ connectionString })
          await probe.connect()
          try {
            return (await probe.query("select count(*)::int as n from pg_stat_activity where query = $1", [`listen "${headChannelOf(schema)}"`])).rows[0].n as number
          } finally {
            await probe.end()
          }
        })),
        Effect.repeat({ until: (n) => n === 1 }),
        Effect.timeout("10 seconds")
      )
      const before = yield* store.head
      const appended = yield* store.append({ workspace: "heads", stream: "after" }, 0, [newEvent()])
      const seen = yield* Fiber.join(again).pipe(Effect.timeout("10 seconds"))
      assert.deepStrictEqual(seen, [before, appended.position])
    }))
})
