/**
 * What only the SQL read model promises, run against each engine by its own test file
 * (`sqlReadModelSuite(name, makeDatabase)`, next to `readModelContract`): rebuilds compared with
 * the incremental tables after damaging them behind the projector's back (a rebuild that only
 * caught up would leave the damage) and with a rebuild of the same log in an empty database,
 * and watched by readers while they run; a failing batch rolled back; independent projectors
 * (separate connections on PostgreSQL) racing; the shadow tables; inserts that stay strict.
 *
 * Each test gets a fresh database. Tests use the live clock (`it.live`) where the follower polls.
 */
import { assert, describe, it } from "@effect/vitest"
import { Defined, EventCodec, EventStore, Projections, ReadModel } from "@terrarium/domain"
import { Context, Effect, Fiber, Layer, Logger, Ref, Schedule, type Scope, Stream } from "effect"
import { type Kysely, type RawBuilder, sql } from "kysely"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { envelopeOf, project, PROJECTION_VERSION, type RowOp } from "../../src/read-model/Projection.ts"
import {
  applyOps, clearProjections, dropShadowIndexes, indexShadow, SHADOW, swapInShadow, writeCheckpoint
} from "../../src/read-model/sql/ProjectionSql.ts"
import { SqlReadModel, type SqlReadModelOptions } from "../../src/read-model/sql/SqlReadModel.ts"
import { PROJECTION_TABLES, type ProjectionTables, shadowOf } from "../../src/read-model/sql/Tables.ts"
import { Database } from "../../src/sql/Database.ts"
import {
  appendAll, countEnvironmentEvents, environmentEventPositions, growTheLog, hashes, history, trainDraft, watchCheckpoint,
  writeAndCatchUp
} from "./History.ts"

// ---------------------------------------------------------------------------------------------
// Observing the tables

/**
 * The named tables as sorted JSON rows: equal iff same content. One statement, so one MVCC
 * snapshot on PostgreSQL: every table as of the same instant, even while a rebuild commits.
 */
const snapshotOf = (tables: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const database = yield* Database
    const { rows } = yield* database.use("snapshot", (db) =>
      sql<{ name: string; rows: ReadonlyArray<unknown> }>`${sql.join(tables.map((table) =>
        sql`select ${table}::text as name, coalesce((select json_agg(r) from ${sql.table(table)} r), '[]'::json) as rows`
      ), sql` union all `)}`.execute(db))
    const result: Record<string, ReadonlyArray<string>> = {}
    for (const { name, rows: tableRows } of rows) result[name] = tableRows.map((row) => JSON.stringify(row)).sort()
    return result
  })

/** Every live projection table and the views over them. */
export const snapshot = snapshotOf([...PROJECTION_TABLES, "curated_catalog", "cache_lookup"])

const projectionTables = (db: Kysely<any>) => db as Kysely<ProjectionTables>

/**
 * A table's columns, indexes (all, and those of its keys) and checks, with the index names and the
 * table's name left out: equal for a live table and its shadow.
 */
const shapeOf = (table: string) =>
  Effect.gen(function* () {
    const database = yield* Database
    const { rows } = yield* database.use("describe", (db) =>
      sql<{ columns: unknown; indexes: unknown; keys: unknown; checks: unknown }>`
        select
          (select json_agg(json_build_array(column_name, data_type, is_nullable, column_default) order by ordinal_position)
            from information_schema.columns where table_schema = current_schema() and table_name = ${table}) as columns,
          (select json_agg(d order by d) from (
            select regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+', 'CREATE \\1INDEX') as d
            from pg_indexes where schemaname = current_schema() and tablename = ${table}) i) as indexes,
          (select json_agg(d order by d) from (
            select regexp_replace(pg_get_indexdef(c.conindid), '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+', 'CREATE \\1INDEX') as d
            from pg_constraint c where c.conrelid = ${table}::regclass and c.conindid <> 0) k) as keys,
          (select json_agg(pg_get_constraintdef(c.oid) order by pg_get_constraintdef(c.oid))
            from pg_constraint c where c.conrelid = ${table}::regclass and c.contype = 'c') as checks`.execute(db)
    ).pipe(Effect.orDie)
    return rows[0]!
  })

const tableSizes = (s: Record<string, ReadonlyArray<string>>) =>
  Object.fromEntries(Object.entries(s).map(([table, rows]) => [table, rows.length]))

/** Copies the log of one database into another, as stored (positions, times, ids). */
const copyLog = (from: Database["Service"], to: Database["Service"]) =>
  Effect.gen(function* () {
    const { rows } = yield* from.use("read the log", (db) =>
      sql<{ events: unknown }>`select coalesce(json_agg(e order by position), '[]'::json) as events from events e`.execute(db))
    yield* to.use("copy the log", (db) =>
      sql`insert into events select * from jsonb_populate_recordset(null::events, ${JSON.stringify(rows[0]!.events)}::jsonb)`
        .execute(db))
  })

/** Another projector over the same database and log, with its own batch size. */
const projectorWith = (options: SqlReadModelOptions) =>
  Layer.build(SqlReadModel.layerWith(options)).pipe(Effect.map((context) => Context.get(context, Projections)))

/** Runs statements that change the read model behind the projector's back. */
const tamper = (statements: ReadonlyArray<RawBuilder<unknown>>) =>
  Effect.gen(function* () {
    const database = yield* Database
    yield* database.transaction("tamper with the read model", async (trx) => {
      for (const statement of statements) await statement.execute(trx)
    })
  })

/**
 * Ways the live read model can be wrong: rows lost, changed or invented, the checkpoint reset,
 * moved back or lost. A catch-up repairs none of them: it does nothing, or fails on a key.
 */
const damages: ReadonlyArray<readonly [what: string, statements: (head: number) => ReadonlyArray<RawBuilder<unknown>>]> = [
  ["a row lost from every table", () => [
    sql`delete from audit_trail where position = (select max(position) from audit_trail)`,
    sql`delete from cache_entries where workspace = 'team-b'`,
    sql`delete from cache_images where canonical_hash = (select min(canonical_hash) from cache_images)`,
    sql`delete from environment_labels where label = 'prod'`,
    sql`delete from environment_versions where name = 'base-cpu'`,
    sql`delete from environments where name = 'draft-only'`
  ]],
  ["rows of every table changed", () => [
    sql`update audit_trail set summary = 'tampered' where position = (select min(position) from audit_trail)`,
    sql`update cache_images set registry = 'tampered', digest = 'sha256:tampered'`,
    sql`update environment_labels set version = '1' where label = 'latest'`,
    sql`update environment_versions set archived = not archived, archived_at = null`,
    sql`update environments set draft_type = 'curated'`
  ]],
  ["a row invented", () => [
    sql`insert into environments (workspace, name, curated, draft_type, created_at, created_by, updated_at, updated_position)
      values ('team-a', 'ghost', false, 'user-managed', now(), 'nobody', now(), 1)`
  ]],
  ["every table emptied, the checkpoint left at the head", () =>
    PROJECTION_TABLES.map((table) => sql`delete from ${sql.table(table)}`)],
  ["the checkpoint reset to 0, every row left", () => [
    sql`update projection_checkpoints set position = 0 where name = 'environments'`
  ]],
  ["the checkpoint moved back to the middle of the log", (head) => [
    sql`update projection_checkpoints set position = ${Math.floor(head / 2)} where name = 'environments'`
  ]],
  ["every checkpoint row lost", () => [sql`delete from projection_checkpoints`]]
]

/**
 * An event store whose `head` first runs `meddle` (after reading the head, so the caller does
 * not see what `meddle` appends): a rebuild over it finds, at each round, that the live read
 * model got past what it just built.
 */
const meddlingEventStore = (meddle: Effect.Effect<void>) =>
  Layer.effect(EventStore, Effect.gen(function* () {
    const store = yield* EventStore
    return EventStore.of({ ...store, head: Effect.tap(store.head, () => meddle) })
  }))

// ---------------------------------------------------------------------------------------------
// The suite

type Services = Database | EventStore | Projections | ReadModel | Scope.Scope

export const sqlReadModelSuite = <E>(name: string, makeDatabase: () => Layer.Layer<Database, E>) => {
  const stack = (options: { readonly batchSize: number }) =>
    SqlReadModel.layerWith({ ...options, pollInterval: "20 millis" }).pipe(
      Layer.provideMerge(SqlEventStore.layer),
      Layer.provideMerge(makeDatabase())
    )
  const run = <A, E2>(effect: Effect.Effect<A, E2, Services>, batchSize = 4) =>
    effect.pipe(Effect.scoped, Effect.provide(stack({ batchSize })))

  /**
   * The read model a rebuild gives in another, empty database (a new schema, or a new PGlite)
   * after copying this database's log into it.
   */
  const rebuiltElsewhere = Effect.gen(function* () {
    const head = yield* EventStore.use((s) => s.head)
    // Fresh: not the memoised layers (the same schema) of the test's own stack.
    const elsewhere = yield* Layer.build(Layer.fresh(stack({ batchSize: 1000 })))
    yield* copyLog(yield* Database, Context.get(elsewhere, Database))
    assert.strictEqual(yield* Context.get(elsewhere, Projections).rebuild, head)
    return yield* snapshot.pipe(Effect.provide(elsewhere))
  })

  describe(`SQL read model: ${name}`, () => {
    it.effect("a rebuild restores the incremental read model, whatever was damaged", () =>
      run(Effect.gen(function* () {
        const h = yield* writeAndCatchUp
        const projections = yield* Projections
        const head = yield* EventStore.use((s) => s.head)
        const incremental = yield* snapshot
        assert.deepStrictEqual(tableSizes(incremental), {
          audit_trail: countEnvironmentEvents(h, 3),
          cache_entries: 7,
          cache_images: 1,
          cache_lookup: 7,
          environment_labels: 4, // team-a/train latest + prod, team-b/train latest, curated latest
          environment_versions: 7,
          environments: 5,
          curated_catalog: 1,
          quarantined_events: 0,
          images: 0,
          image_pushes: 0,
          builds: 0
        })
        // Other transaction boundaries than the incremental catch-up's (batches of 4) too.
        const wholeLog = yield* projectorWith({ batchSize: 1000 })
        for (const [i, [what, statements]] of damages.entries()) {
          yield* tamper(statements(head))
          const damaged = { tables: yield* snapshot, checkpoint: yield* projections.checkpoint }
          assert.notDeepEqual(damaged, { tables: incremental, checkpoint: head }, `${what}: something is damaged`)
          assert.strictEqual(yield* (i % 2 === 0 ? projections : wholeLog).rebuild, head, what)
          assert.deepStrictEqual(yield* snapshot, incremental, what)
          assert.strictEqual(yield* projections.checkpoint, head, what)
          assert.strictEqual(yield* projections.catchUp, head, `${what}: nothing left to catch up`)
        }
        // A rebuild leaves its shadow tables empty.
        const shadows = PROJECTION_TABLES.map(shadowOf)
        assert.deepStrictEqual(tableSizes(yield* snapshotOf(shadows)), Object.fromEntries(shadows.map((table) => [table, 0])))
      })))

    it.effect("a rebuild in a fresh database from the same log equals the incremental read model", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        assert.deepStrictEqual(yield* rebuiltElsewhere, yield* snapshot)
      })))

    it.live("readers see the old read model or the rebuilt one, never a partial one", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const projections = yield* Projections
        const database = yield* Database
        const head = yield* projections.checkpoint
        const incremental = yield* snapshot
        yield* tamper(damages[0]![1](head))
        const damaged = yield* snapshot
        const read = (seen: Array<"old" | "rebuilt">, when: string) =>
          Effect.gen(function* () {
            const tables = yield* snapshot
            const checkpoint = yield* projections.checkpoint
            assert.strictEqual(checkpoint, head, `${when}: the live checkpoint stays at the head`)
            if (JSON.stringify(tables) === JSON.stringify(damaged)) seen.push("old")
            else {
              assert.deepStrictEqual(tables, incremental, `${when}, read ${seen.length + 1}`)
              seen.push("rebuilt")
            }
          })
        // A reader between every two steps of the rebuild: its database runs one after each
        // statement or transaction ends. So a state that a step leaves committed for a while, as a
        // rebuild that cleared the live tables in a transaction of its own before filling them
        // would, is read on both engines, however the engine schedules the concurrent reader
        // below (PGlite, with one connection, hardly ever lets it in between).
        const betweenSteps: Array<"old" | "rebuilt"> = []
        const readAfter = <A, E2>(step: Effect.Effect<A, E2>, operation: string) =>
          Effect.tap(step, () =>
            read(betweenSteps, `after the rebuild's ${operation}`).pipe(Effect.provideService(Database, database), Effect.orDie))
        const readingDatabase = Database.of({
          ...database,
          use: (operation, f) => readAfter(database.use(operation, f), operation),
          transaction: (operation, f) => readAfter(database.transaction(operation, f), operation)
        })
        // Batches of one: the rebuild commits dozens of times before it swaps.
        const rebuilder = yield* Layer.build(
          SqlReadModel.layerWith({ batchSize: 1 }).pipe(Layer.provide(Layer.succeed(Database, readingDatabase)))
        ).pipe(Effect.map((context) => Context.get(context, Projections)))
        const done = yield* Ref.make(false)
        const rebuilding = yield* Effect.forkChild(rebuilder.rebuild.pipe(Effect.ensuring(Ref.set(done, true))))
        const concurrently: Array<"old" | "rebuilt"> = []
        while (!(yield* Ref.get(done))) {
          yield* read(concurrently, "during the rebuild")
          // Let the rebuild have the connection: on PGlite a reader that takes it back at once
          // would starve it.
          yield* Effect.sleep("1 millis")
        }
        assert.strictEqual(yield* Fiber.join(rebuilding), head)
        assert.deepStrictEqual(yield* snapshot, incremental)
        assert.include(concurrently, "old", "readers read while the rebuild ran")
        assert.deepStrictEqual(concurrently, [...concurrently].sort(), "once rebuilt, never old again")
        assert.isAtLeast(betweenSteps.length, head, "a read after every step of the rebuild")
        assert.strictEqual(betweenSteps[0], "old")
        assert.strictEqual(betweenSteps.at(-1), "rebuilt")
        assert.deepStrictEqual(betweenSteps, [...betweenSteps].sort(), "once rebuilt, never old again")
      })))

    it.effect("a batch that fails leaves the tables and the checkpoint as they were", () =>
      run(Effect.gen(function* () {
        const h = yield* hashes
        const projections = yield* Projections
        const database = yield* Database
        const steps = history(h)
        yield* appendAll(steps[0]!)
        const checkpoint = yield* projections.catchUp
        yield* appendAll(steps[1]!)
        const before = yield* snapshot
        // A row in the way of the third event of the next batch: the batch's INSERT fails
        // after its first two events were applied inside the transaction.
        const poison = checkpoint + 3
        const insertPoison = database.use("poison", (db) => sql`
          insert into audit_trail (position, workspace, name, event_type, actor, occurred_at, correlation_id, summary, details)
          values (${poison}, 'x', 'x', 'x', 'x', now(), 'x', 'x', '{}'::jsonb)`.execute(db))
        yield* insertPoison
        const error = yield* projections.catchUp.pipe(Effect.flip)
        assert.strictEqual(error._tag, "ProjectionError")
        assert.strictEqual(error.reason._tag, "ProjectionStorageFailure")
        assert.strictEqual(error.reason._tag === "ProjectionStorageFailure" ? error.reason.operation : undefined, "apply")
        assert.match(error.message, /^projection apply at position \d+ failed: database apply projection batch failed: /)
        assert.strictEqual(yield* projections.checkpoint, checkpoint)
        yield* database.use("unpoison", (db) => sql`delete from audit_trail where position = ${poison}`.execute(db))
        assert.deepStrictEqual(yield* snapshot, before)
        // Recovered: the batch is applied once, as if nothing had happened.
        const head = yield* EventStore.use((s) => s.head)
        assert.strictEqual(yield* projections.catchUp, head)
        assert.deepStrictEqual(yield* snapshot, yield* rebuiltElsewhere)
      })))

    it.live("catch-ups, a follower and rebuilds racing while the log grows apply every event once", () =>
      run(Effect.gen(function* () {
        const h = yield* hashes
        const steps = history(h)
        const projections = yield* Projections
        yield* appendAll(steps[0]!)
        yield* projections.catchUp
        // Independent projectors (on PostgreSQL they use different pooled connections).
        const projectors = [projections]
        for (const batchSize of [1, 3, 7]) projectors.push(yield* projectorWith({ batchSize }))
        const follower = yield* Effect.forkChild(projectors[3]!.run)
        // The live checkpoint only ever moves forward, rebuilds included.
        const stopWatching = yield* watchCheckpoint(projections, "the live checkpoint")
        yield* Effect.all([
          growTheLog(steps),
          projectors[1]!.rebuild,
          projectors[0]!.catchUp,
          projectors[2]!.rebuild,
          projectors[2]!.catchUp,
          projectors[1]!.catchUp
        ], { concurrency: "unbounded" })
        const head = yield* EventStore.use((s) => s.head)
        assert.strictEqual(yield* projections.catchUp, head)
        yield* Fiber.interrupt(follower)
        yield* stopWatching

        const raced = yield* snapshot
        const positions = yield* environmentEventPositions
        assert.strictEqual(raced["audit_trail"]!.length, positions.length, "one audit row per environment event")
        assert.deepStrictEqual(yield* rebuiltElsewhere, raced, "the same log rebuilt in an empty database")
      }), 2))

    it.live("one instance follows the log at a time: another stands by, and takes over when it stops", () =>
      run(Effect.gen(function* () {
        const steps = history(yield* hashes)
        const store = yield* EventStore
        const said: Array<string> = []
        const heard = (who: string) =>
          Logger.layer([Logger.make(({ message }) => {
            said.push(`${who}: ${(Array.isArray(message) ? message : [message]).join(" ")}`)
          })])
        const until = (what: string, done: () => boolean) =>
          Effect.sync(done).pipe(
            Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("10 millis") }),
            Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die(new Error(`never: ${what}; said ${said}`)) })
          )
        const caughtUp = Effect.gen(function* () {
          const head = yield* store.head
          yield* Projections.use((p) => p.checkpoint).pipe(
            Effect.repeat({ until: (at) => at >= head, schedule: Schedule.spaced("10 millis") }),
            Effect.timeout("20 seconds")
          )
        })
        // Separate projectors, as separate processes would have (on PostgreSQL, their leases
        // are held by separate connections, which is what the server sees of a process).
        const options = { batchSize: 4, pollInterval: "20 millis", leaseRetry: "50 millis" } as const
        const [first, second] = [yield* projectorWith(options), yield* projectorWith(options)]
        yield* appendAll(steps[0]!)
        const firstRun = yield* Effect.forkChild(first.run.pipe(Effect.provide(heard("first"))))
        yield* until("the first follows", () => said.includes("first: following the event log for the read model"))
        const secondRun = yield* Effect.forkChild(second.run.pipe(Effect.provide(heard("second"))))
        const standingBy = "second: another instance follows the event log for the read model: standing by"
        yield* until("the second stands by", () => said.includes(standingBy))
        for (const step of steps.slice(1, 3)) yield* appendAll(step)
        yield* caughtUp
        assert.deepStrictEqual(said, ["first: following the event log for the read model", standingBy])

        yield* Fiber.interrupt(firstRun)
        yield* until("the second takes over", () => said.includes("second: following the event log for the read model"))
        for (const step of steps.slice(3)) yield* appendAll(step)
        yield* caughtUp
        yield* Fiber.interrupt(secondRun)
        assert.deepStrictEqual(said, [
          "first: following the event log for the read model", standingBy, "second: following the event log for the read model"
        ])
        const followed = yield* snapshot
        assert.strictEqual(yield* (yield* Projections).rebuild, yield* store.head)
        assert.deepStrictEqual(yield* snapshot, followed, "what the followers built is what a rebuild builds")
      })))

    it.effect("a rebuild never moves the live read model back: it catches up again until it is not behind", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const projections = yield* Projections
        const store = yield* EventStore
        let meddled = 0
        let appended = 0
        const meddle = (rounds: number) =>
          Effect.gen(function* () {
            if (meddled >= rounds) return
            meddled++
            const name = `late-${++appended}`
            yield* appendAll([["team-c", name, [new Defined({ workspace: "team-c", name, curated: false, definition: trainDraft })]]])
            yield* projections.catchUp
          }).pipe(Effect.provideService(EventStore, store), Effect.orDie)
        const rebuilderWith = (rounds: number) =>
          Layer.build(SqlReadModel.layerWith({ batchSize: 5 }).pipe(Layer.provide(meddlingEventStore(meddle(rounds))))).pipe(
            Effect.map((context) => Context.get(context, Projections))
          )

        // Three rounds find the live model ahead; the fourth swaps.
        const rebuilt = yield* (yield* rebuilderWith(3)).rebuild
        const head = yield* EventStore.use((s) => s.head)
        assert.strictEqual(meddled, 3)
        assert.strictEqual(rebuilt, head, "the swap waited for the shadow to reach the live checkpoint")
        assert.deepStrictEqual(yield* snapshot, yield* rebuiltElsewhere)

        // A live model that never stops moving: the rebuild gives up and leaves it alone.
        yield* tamper([sql`update audit_trail set summary = 'left alone' where position = 1`])
        meddled = 0
        const error = yield* (yield* rebuilderWith(Number.POSITIVE_INFINITY)).rebuild.pipe(Effect.flip)
        assert.strictEqual(error.reason._tag, "RebuildOvertaken")
        assert.isTrue(error.isRetryable)
        assert.strictEqual(error.message, "projection rebuild failed: the live read model moved past the rebuilt one 20 times in a row; " +
          "the live read model is unchanged, try again when fewer events are being appended")
        assert.strictEqual(meddled, 20)
        assert.strictEqual(yield* projections.checkpoint, yield* EventStore.use((s) => s.head))
        const trail = yield* (yield* ReadModel).audit({ workspace: "team-a" })
        assert.strictEqual(trail[0]!.summary, "left alone")
      })))

    it.effect("a read model of another projection version is rebuilt by the first catch-up, before it is read, and only then", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const database = yield* Database
        const head = yield* EventStore.use((s) => s.head)
        const incremental = yield* snapshot
        const storedVersions = database.use("read the projection versions", (db) =>
          sql<{ name: string; projection_version: number }>`select name, projection_version from projection_checkpoints order by name`
            .execute(db)).pipe(Effect.map(({ rows }) => rows.map((row) => [row.name, row.projection_version])))
        assert.deepStrictEqual(yield* storedVersions, [["environments", PROJECTION_VERSION]])
        // Damage a catch-up alone would keep: seeing it gone shows the tables were recomputed.
        yield* tamper(damages[1]![1](head))
        const damaged = yield* snapshot
        assert.notDeepEqual(damaged, incremental)
        const warnings: Array<string> = []
        const collect = Logger.make(({ logLevel, message }) => {
          if (logLevel === "Warn") warnings.push((Array.isArray(message) ? message : [message]).join(" "))
        })
        const upgrade = PROJECTION_VERSION + 1

        // The same code, one projection version on: what the next release would run.
        const upgraded = yield* projectorWith({ batchSize: 4, projectionVersion: upgrade })
        assert.deepStrictEqual(yield* upgraded.version, { stored: PROJECTION_VERSION, current: upgrade })
        assert.strictEqual(yield* upgraded.catchUp.pipe(Effect.provide(Logger.layer([collect]))), head)
        assert.deepStrictEqual(yield* snapshot, incremental, "rebuilt, not caught up")
        assert.deepStrictEqual(warnings, [
          `the read model was built by projection version ${PROJECTION_VERSION} and this Terrarium projects version ${upgrade}: ` +
            "rebuilding it from the event log before it is read"
        ])
        assert.deepStrictEqual(yield* storedVersions, [["environments", upgrade], ["environments:rebuild", upgrade]])
        assert.deepStrictEqual(yield* upgraded.version, { stored: upgrade, current: upgrade })

        // Current now: the next catch-up neither rebuilds (the damage stays) nor says anything.
        yield* tamper(damages[1]![1](head))
        assert.strictEqual(yield* upgraded.catchUp.pipe(Effect.provide(Logger.layer([collect]))), head)
        assert.deepStrictEqual(yield* snapshot, damaged)
        assert.strictEqual(warnings.length, 1)

        // New events after the upgrade are caught up as usual, by the new version.
        yield* appendAll([["team-c", "after-upgrade", [new Defined({ workspace: "team-c", name: "after-upgrade", curated: false, definition: trainDraft })]]])
        assert.strictEqual(yield* upgraded.catchUp, yield* EventStore.use((s) => s.head))
        assert.strictEqual(warnings.length, 1)

        // The old release over the upgraded read model: stale for it, so it neither applies a batch
        // to those tables nor reads them; it rebuilds them as its own (and the rebuild repairs).
        const old = yield* Projections
        assert.strictEqual(yield* old.catchUp.pipe(Effect.provide(Logger.layer([collect]))), yield* EventStore.use((s) => s.head))
        assert.strictEqual(warnings.length, 2)
        assert.match(warnings[1]!, new RegExp(`built by projection version ${upgrade} and this Terrarium projects version ${PROJECTION_VERSION}:`))
        assert.deepStrictEqual((yield* storedVersions)[0], ["environments", PROJECTION_VERSION])
        assert.deepStrictEqual(yield* snapshot, yield* rebuiltElsewhere)
      })))

    it.effect("a fresh database takes the projection version of its first projector, without a rebuild", () =>
      run(Effect.gen(function* () {
        const database = yield* Database
        const upgraded = yield* projectorWith({ batchSize: 4, projectionVersion: PROJECTION_VERSION + 7 })
        assert.deepStrictEqual(yield* upgraded.version, { stored: null, current: PROJECTION_VERSION + 7 })
        yield* appendAll(history(yield* hashes)[0]!)
        const warnings: Array<string> = []
        const collect = Logger.make(({ logLevel, message }) => {
          if (logLevel === "Warn") warnings.push(String(message))
        })
        assert.strictEqual(yield* upgraded.catchUp.pipe(Effect.provide(Logger.layer([collect]))), yield* EventStore.use((s) => s.head))
        assert.deepStrictEqual(warnings, [])
        const { rows } = yield* database.use("read the projection versions", (db) =>
          sql<{ name: string; projection_version: number }>`select name, projection_version from projection_checkpoints`.execute(db))
        assert.deepStrictEqual(rows.map((row) => [row.name, row.projection_version]), [["environments", PROJECTION_VERSION + 7]])
      })))

    it.effect("every projection table has a shadow of the same shape", () =>
      run(Effect.gen(function* () {
        for (const table of PROJECTION_TABLES) {
          const live = yield* shapeOf(table)
          assert.isNotNull(live.columns, table)
          assert.deepStrictEqual(yield* shapeOf(shadowOf(table)), live, `${shadowOf(table)} is shaped like ${table}`)
        }
      })))

    it.effect("a rebuild fills shadow tables without their secondary indexes and swaps them in with every index", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const database = yield* Database
        const shapes = (tables: ReadonlyArray<string>) => Effect.forEach(tables, shapeOf)
        const live = yield* shapes(PROJECTION_TABLES)
        const shadows = PROJECTION_TABLES.map(shadowOf)
        assert.deepStrictEqual(yield* shapes(shadows), live)
        // What a rebuild starts with: only the indexes of keys are left in the shadow.
        yield* database.transaction("drop", (trx) => dropShadowIndexes(projectionTables(trx)))
        const dropped = yield* shapes(shadows)
        assert.deepStrictEqual(dropped.map((shape) => shape.columns), live.map((shape) => shape.columns))
        assert.deepStrictEqual(dropped.map((shape) => shape.indexes), live.map((shape) => shape.keys))
        assert.notDeepEqual(dropped, live)
        // And what it ends with, whether the shadow was indexed before the swap or not.
        yield* database.transaction("index", (trx) => indexShadow(projectionTables(trx)))
        assert.deepStrictEqual(yield* shapes(shadows), live)
        const projections = yield* Projections
        const head = yield* EventStore.use((s) => s.head)
        for (let round = 0; round < 2; round++) {
          assert.strictEqual(yield* projections.rebuild, head)
          assert.deepStrictEqual(yield* shapes(PROJECTION_TABLES), live, `the live tables after rebuild ${round + 1}`)
          assert.deepStrictEqual(yield* shapes(shadows), live, `the shadow tables after rebuild ${round + 1}`)
        }
        // A shadow that lost its indexes after they were built (another rebuild started) is indexed
        // by the swap itself. (Its rows do not matter here: it is marked as built to the head.)
        yield* database.transaction("drop", async (trx) => {
          await dropShadowIndexes(projectionTables(trx))
          await writeCheckpoint(projectionTables(trx), head, SHADOW.checkpoint, PROJECTION_VERSION)
        })
        assert.strictEqual(yield* database.transaction("swap", (trx) => swapInShadow(projectionTables(trx), PROJECTION_VERSION)), head)
        assert.deepStrictEqual(yield* shapes(PROJECTION_TABLES), live, "the live tables after a swap of an unindexed shadow")
      })))

    it.effect("an insert applied twice fails, across batches and within one batch", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const database = yield* Database
        const recorded = yield* EventStore.use((s) => Stream.runCollect(s.readAll({ after: 0 })))
        const ops: Array<RowOp> = []
        for (const event of recorded) {
          const envelope = envelopeOf(event)
          if (envelope !== undefined) ops.push(...project(yield* EventCodec.decode(event), envelope))
        }
        const before = yield* snapshot
        const apply = (batch: ReadonlyArray<RowOp>, clearFirst: boolean) =>
          database.transaction("apply twice", async (trx) => {
            if (clearFirst) await clearProjections(projectionTables(trx))
            await applyOps(projectionTables(trx), batch)
          }).pipe(Effect.flip)
        for (const tag of ["InsertEnvironment", "InsertVersion", "InsertCacheEntry", "InsertAudit"] as const) {
          const inserts = ops.filter((op) => op._tag === tag)
          assert.isAbove(inserts.length, 0)
          // Every row already exists (an earlier batch wrote it).
          const again = yield* apply(inserts, false)
          assert.strictEqual(again._tag, "DatabaseError", `${tag} across batches`)
          // Twice in one batch: the fold must not merge the copies.
          const twice = yield* apply([...inserts, ...inserts], true)
          assert.strictEqual(twice._tag, "DatabaseError", `${tag} within one batch`)
        }
        // The whole history twice in one batch fails too, and every failure rolled back.
        assert.strictEqual((yield* apply([...ops, ...ops], true))._tag, "DatabaseError")
        assert.deepStrictEqual(yield* snapshot, before)
        // Once is fine: the one batch gives what the incremental catch-up gave.
        yield* database.transaction("apply once", async (trx) => {
          await clearProjections(projectionTables(trx))
          await applyOps(projectionTables(trx), ops)
        })
        assert.deepStrictEqual(yield* snapshot, before)
      })))
  })
}
