/**
 * What only the SQL store can be asked, beyond the contract (EventStoreContract.ts): the table
 * is append-only even to raw SQL and in replica mode, a row written behind the store's back is
 * seen by the next append (the keys catch a stale tail), `occurred_at` reads back as stored, and
 * an append queued behind the append lock can be withdrawn. Run on each engine by its test file.
 */
import { assert, layer } from "@effect/vitest"
import { EventStore, type StreamRef } from "@terrarium/domain"
import { Effect, Fiber, type Layer, Stream } from "effect"
import { sql } from "kysely"
import { Database } from "../../src/sql/Database.ts"
import { assertDense, event, freshWorkspace, reasonOf } from "./EventStoreContract.ts"

/**
 * Runs the SQL store's own checks against `storeLayer`.
 */
export const sqlEventStoreChecks = <E>(name: string, storeLayer: Layer.Layer<EventStore | Database, E>) =>
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`SqlEventStore: ${name}`, (it) => {
    it.effect("a queued append whose caller is interrupted before it is sent is not written", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const database = yield* Database
        const ws = freshWorkspace()
        const start = yield* store.head
        // Hold the append lock from a transaction of our own, so the leader's write waits (on
        // PostgreSQL for the advisory lock, on PGlite for the one connection) and the next
        // appends stay queued until we let go.
        let signalLocked = () => {}
        const locked = new Promise<void>((resolve) => (signalLocked = resolve))
        let letGo = () => {}
        const released = new Promise<void>((resolve) => (letGo = resolve))
        const holder = yield* database.transaction("hold the append lock", async (trx) => {
          await sql`select pg_advisory_xact_lock('events'::regclass::oid::bigint)`.execute(trx)
          signalLocked()
          await released
        }).pipe(Effect.forkChild)
        yield* Effect.gen(function* () {
          yield* Effect.promise(() => locked)
          const leader = yield* Effect.forkChild(store.append({ workspace: ws, stream: "leader" }, 0, [event("Leader", {})]))
          yield* Effect.sleep("50 millis") // the leader's write is in flight, waiting for the lock
          const dropped = yield* Effect.forkChild(store.append({ workspace: ws, stream: "dropped" }, 0, [event("Dropped", {})]))
          const kept = yield* Effect.forkChild(store.append({ workspace: ws, stream: "kept" }, 0, [event("Kept", {})]))
          yield* Effect.sleep("20 millis") // both queued
          yield* Fiber.interrupt(dropped)
          letGo()
          yield* Fiber.join(holder)
          const written = yield* Effect.all([Fiber.join(leader), Fiber.join(kept)]).pipe(Effect.timeout("30 seconds"))
          assert.deepStrictEqual(written.map((r) => r.streamVersion), [1, 1])
        }).pipe(Effect.ensuring(Effect.sync(() => letGo())))
        assert.deepStrictEqual(yield* store.readStream({ workspace: ws, stream: "dropped" }), [], "the interrupted append was never sent")
        const all = yield* Stream.runCollect(store.readAll({ after: start }))
        assert.deepStrictEqual(all.filter((e) => e.workspace === ws).map((e) => e.type).sort(), ["Kept", "Leader"])
        assertDense(all.map((e) => e.position), start + 1)
      }))

    it.effect("the log is append-only: UPDATE, DELETE and TRUNCATE are refused", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const database = yield* Database
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "immutable" }
        yield* store.append(ref, 0, [event("A", { v: 1 })])
        for (const statement of [
          sql`update events set data = '{"v":2}' where workspace = ${ref.workspace}`,
          sql`delete from events where workspace = ${ref.workspace}`,
          sql`truncate events`
        ]) {
          const error = yield* database.use("tamper", (db) => statement.execute(db)).pipe(Effect.flip)
          assert.match(error.message, /events is append-only: (UPDATE|DELETE|TRUNCATE) is not allowed/)
        }
        assert.deepStrictEqual((yield* store.readStream(ref)).map((e) => e.data), [{ v: 1 }])
      }))

    it.effect("the log stays append-only under session_replication_role = replica", () =>
      Effect.gen(function* () {
        // Ordinary triggers do not fire in replica mode (logical replication's apply workers and
        // some bulk-load tools set it); the append-only trigger is ENABLE ALWAYS (migration 0006).
        const store = yield* EventStore
        const database = yield* Database
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "replica" }
        yield* store.append(ref, 0, [event("A", { v: 1 })])
        for (const statement of [
          sql`update events set data = '{"v":2}' where workspace = ${ref.workspace}`,
          sql`delete from events where workspace = ${ref.workspace}`,
          sql`truncate events`
        ]) {
          // Rolled back whatever happens, so that a failing run does not damage the shared log.
          const error = yield* database.transaction("tamper as a replica", async (trx) => {
            await sql`set local session_replication_role = replica`.execute(trx)
            await statement.execute(trx)
            throw new Error("the statement was allowed (rolled back)")
          }).pipe(Effect.flip)
          assert.match(error.message, /events is append-only: (UPDATE|DELETE|TRUNCATE) is not allowed/)
        }
        assert.deepStrictEqual((yield* store.readStream(ref)).map((e) => e.data), [{ v: 1 }])
      }))

    it.effect("a row written behind the store's back is seen by the next append", () =>
      Effect.gen(function* () {
        // Only events_append* should write, but the store must not trust its memory blindly: the
        // keys catch a stale tail and the table decides.
        const store = yield* EventStore
        const database = yield* Database
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "bypassed" }
        yield* store.append(ref, 0, [event("A", {})])
        yield* store.append(ref, 1, [event("B", {})])
        const head = yield* store.head
        yield* database.use("bypass", (db) =>
          sql`insert into events (position, workspace, stream, stream_version, event_id, event_type, schema_version, data, metadata)
              values (${head + 1}, ${ref.workspace}, ${ref.stream}, 3, ${crypto.randomUUID()}::uuid, 'Sneaky', 1, '{}'::jsonb,
                      '{"actor":"x","correlationId":"y"}'::jsonb)`.execute(db))
        const conflict = yield* store.append(ref, 2, [event("C", {})]).pipe(Effect.flip)
        assert.deepInclude(reasonOf(conflict), { _tag: "WrongExpectedVersion", expected: 2, actual: 3 })
        const next = yield* store.append(ref, 3, [event("D", {})])
        assert.deepStrictEqual([next.streamVersion, next.position], [4, head + 2])
      }))

    it.effect("occurredAt reads back as stored, to the millisecond, through readStream and readAll", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const database = yield* Database
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "clock" }
        const before = Date.now()
        yield* store.append(ref, 0, [event("One", {})]) // a single event (events_append_one, or PGlite's plain INSERT)
        yield* store.append(ref, 1, [event("Two", {}), event("Three", {})]) // a batch (events_append)
        const after = Date.now()
        // A row with microseconds, written behind the store's back: its time reads back truncated
        // to the millisecond, as a JavaScript Date would take it. Just after the head's time, so
        // occurred_at stays non-decreasing along the log for the tests that share it.
        const head = yield* store.head
        yield* database.use("bypass", (db) =>
          sql`insert into events (position, workspace, stream, stream_version, event_id, event_type, schema_version, data, metadata, occurred_at)
              select ${head + 1}, ${ref.workspace}, ${ref.stream}, 4, ${crypto.randomUUID()}::uuid, 'Four', 1, '{}'::jsonb,
                     '{"actor":"x","correlationId":"y"}'::jsonb, date_trunc('milliseconds', max(occurred_at)) + interval '789 microseconds'
              from events`.execute(db))
        const stored = yield* database.use("read back", (db) =>
          sql<{ text: string }>`select to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as text
              from events where workspace = ${ref.workspace} order by position`.execute(db))
        // "…SS.123789" → the Date of "…SS.123Z": the stored value, truncated to milliseconds.
        const expected = stored.rows.map((r) => new Date(`${r.text.slice(0, 23)}Z`).getTime())
        assert.strictEqual(stored.rows[3]!.text.slice(23), "789", "the bypassing row has microseconds")
        for (const t of expected.slice(0, 3)) {
          assert.isTrue(t >= before - 1 && t <= after + 1, `an append's time ${new Date(t).toISOString()} is when it happened`)
        }
        const viaStream = (yield* store.readStream(ref)).map((e) => e.occurredAt.getTime())
        const viaAll = (yield* Stream.runCollect(store.readAll({ after: head - 3 }))).filter((e) => e.workspace === ref.workspace)
          .map((e) => e.occurredAt.getTime())
        assert.deepStrictEqual(viaStream, expected)
        assert.deepStrictEqual(viaAll, expected)
      }))

  })
