import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it, layer } from "@effect/vitest"
import { PGlite } from "@electric-sql/pglite"
import { Context, Effect, Layer } from "effect"
import { Kysely, PostgresDialect, sql } from "kysely"
import pg from "pg"
import { Database } from "../../src/sql/Database.ts"
import { isStalePreparedStatement, preparingPglite, preparingPool } from "../../src/sql/PreparedStatements.ts"
import { TestPostgresSchema } from "../support/TestDatabase.ts"

/** A one-connection database in the test schema: every query runs in the same server session. */
const oneConnection = (options: { readonly preparedStatements?: boolean } = {}) =>
  Effect.gen(function* () {
    const { connectionString, schema } = yield* TestPostgresSchema
    const context = yield* Layer.build(Database.layerPostgres({ connectionString, schema, poolSize: 1, ...options }).pipe(Layer.provide(NodeServices.layer)))
    return Context.get(context, Database)
  })

const use = <A>(database: Database["Service"], f: (db: Kysely<any>) => Promise<A>) => database.use("test", f)

/** Compiles to `select $1::int as n`. */
const selectN = (db: Kysely<any>, n: number) => sql<{ n: number }>`select ${n}::int as n`.execute(db)

/** Names of the session's prepared statements whose text is `text`. */
const preparedAs = (database: Database["Service"], text: string) =>
  use(database, (db) => sql<{ name: string }>`select name from pg_prepared_statements where statement = ${text}`.execute(db))
    .pipe(Effect.map((r) => r.rows.map((row) => row.name)))

layer(TestPostgresSchema.layer, { excludeTestServices: true })("prepared statements on PostgreSQL", (it) => {
  it.effect("a parameterised text is prepared once per connection, then executed by name", () =>
    Effect.gen(function* () {
      const database = yield* oneConnection()
      for (const n of [1, 2, 3]) {
        assert.deepStrictEqual((yield* use(database, (db) => selectN(db, n))).rows, [{ n }])
      }
      const names = yield* preparedAs(database, "select $1::int as n")
      assert.strictEqual(names.length, 1)
      assert.match(names[0]!, /^terrarium_\d+_0$/)
      // A text without parameters stays on the simple protocol: not prepared.
      yield* use(database, (db) => sql`select 42 as answer`.execute(db))
      assert.deepStrictEqual(yield* preparedAs(database, "select 42 as answer"), [])
    }).pipe(Effect.scoped))

  it.effect("preparedStatements: false prepares nothing", () =>
    Effect.gen(function* () {
      const database = yield* oneConnection({ preparedStatements: false })
      assert.deepStrictEqual((yield* use(database, (db) => selectN(db, 7))).rows, [{ n: 7 }])
      const all = yield* use(database, (db) => sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(db))
      assert.strictEqual(all.rows[0]!.n, 0)
    }).pipe(Effect.scoped))

  it.effect("a statement whose result type changed under it (another process migrated) fails once, then runs again", () =>
    Effect.gen(function* () {
      const database = yield* oneConnection()
      yield* use(database, (db) => sql`create table widened (a int)`.execute(db))
      yield* use(database, (db) => sql`insert into widened values (${1})`.execute(db))
      const read = use(database, (db) => sql<Record<string, unknown>>`select * from widened where a = ${1}`.execute(db))
      assert.deepStrictEqual((yield* read).rows, [{ a: 1 }])

      yield* use(database, (db) => sql`alter table widened add column b text default 'x'`.execute(db))
      const error = yield* read.pipe(Effect.flip)
      assert.isTrue(isStalePreparedStatement(error.cause), String(error.cause))
      assert.deepStrictEqual((yield* read).rows, [{ a: 1, b: "x" }])
    }).pipe(Effect.scoped))

  it.effect("a deallocated statement (DISCARD ALL from a pooler) fails once, then runs again", () =>
    Effect.gen(function* () {
      const database = yield* oneConnection()
      assert.deepStrictEqual((yield* use(database, (db) => selectN(db, 1))).rows, [{ n: 1 }])
      yield* use(database, (db) => sql`deallocate all`.execute(db))
      const error = yield* use(database, (db) => selectN(db, 2)).pipe(Effect.flip)
      assert.isTrue(isStalePreparedStatement(error.cause), String(error.cause))
      assert.deepStrictEqual((yield* use(database, (db) => selectN(db, 3))).rows, [{ n: 3 }])
      assert.match((yield* preparedAs(database, "select $1::int as n"))[0]!, /^terrarium_\d+_1$/)
    }).pipe(Effect.scoped))

  it.effect("execute runs a text below Kysely, prepared on the pool's connections; a failure names the operation and frees the connection", () =>
    Effect.gen(function* () {
      // One connection: an execute that did not give it back would leave the next one waiting.
      const database = yield* oneConnection()
      for (const n of [1, 2]) {
        assert.deepStrictEqual(yield* database.execute("test", "select $1::int as n", [n]), [{ n }])
      }
      assert.strictEqual((yield* preparedAs(database, "select $1::int as n")).length, 1)
      const error = yield* database.execute("read widgets", "select * from no_such_table where a = $1", [1]).pipe(Effect.flip)
      assert.strictEqual(error.operation, "read widgets")
      assert.strictEqual((error.cause as { code?: string }).code, "42P01")
      assert.deepStrictEqual(yield* database.execute("test", "select $1::int as n", [3]), [{ n: 3 }])
    }).pipe(Effect.scoped))

  for (const preparedStatements of [true, false]) {
    it.effect(`executeValues returns each row as its column values in select-list order (preparedStatements: ${preparedStatements})`, () =>
      Effect.gen(function* () {
        const database = yield* oneConnection({ preparedStatements })
        const text = "select $1::int as n, $2::text as t, $3::jsonb as j, null::int as z"
        for (const n of [1, 2]) {
          assert.deepStrictEqual(yield* database.executeValues("test", text, [n, `t${n}`, JSON.stringify({ n })]), [[n, `t${n}`, { n }, null]])
        }
        // The same text as objects: the row mode is per call, not per statement.
        assert.deepStrictEqual(yield* database.execute("test", text, [3, "t3", "{}"]), [{ n: 3, t: "t3", j: {}, z: null }])
        assert.strictEqual((yield* preparedAs(database, text)).length, preparedStatements ? 1 : 0)
        const error = yield* database.executeValues("read widgets", "select * from no_such_table where a = $1", [1]).pipe(Effect.flip)
        assert.strictEqual(error.operation, "read widgets")
        assert.deepStrictEqual(yield* database.executeValues("test", "select $1::int", [4]), [[4]])
      }).pipe(Effect.scoped))
  }

  it.effect("only `capacity` distinct texts get names; the rest run unnamed", () =>
    Effect.gen(function* () {
      const { connectionString } = yield* TestPostgresSchema
      const db = yield* Effect.acquireRelease(
        Effect.sync(() =>
          new Kysely<any>({ dialect: new PostgresDialect({ pool: preparingPool(new pg.Pool({ connectionString, max: 1 }), { capacity: 2 }) }) })
        ),
        (db) => Effect.promise(() => db.destroy())
      )
      const texts = yield* Effect.promise(async () => {
        for (const k of [1, 2, 3, 4]) {
          // Four distinct texts: `select $1::int + 1`, `+ 2`, …
          const r = await sql<{ n: number }>`select ${k}::int + ${sql.lit(k)} as n`.execute(db)
          assert.strictEqual(r.rows[0]!.n, 2 * k)
        }
        return (await sql<{ statement: string }>`select statement from pg_prepared_statements order by statement`.execute(db)).rows
      })
      assert.deepStrictEqual(texts.map((t) => t.statement), ["select $1::int + 1 as n", "select $1::int + 2 as n"])
    }).pipe(Effect.scoped))
})

describe("prepared statements on PGlite", () => {
  /** A PGlite instance and the same instance as Kysely's `PGlite`, prepared. */
  const open = (capacity?: number) =>
    Effect.acquireRelease(
      Effect.promise(async () => {
        const pglite = await PGlite.create()
        return { pglite, prepared: preparingPglite(pglite, capacity !== undefined ? { capacity } : {}) }
      }),
      ({ pglite }) => Effect.promise(() => pglite.close())
    )

  const prepared = (pglite: PGlite) =>
    Effect.promise(() => pglite.query<{ name: string; statement: string }>("select name, statement from pg_prepared_statements order by statement"))
      .pipe(Effect.map((r) => r.rows))

  it.effect("rows, fields and affected rows are what PGlite.query returns, for every common type", () =>
    Effect.gen(function* () {
      const { pglite, prepared: db } = yield* open()
      yield* Effect.promise(() =>
        pglite.exec(`create table t (id bigint primary key, n numeric, ok boolean, tags text[], doc jsonb, j json,
          at timestamptz, b bytea, note text)`)
      )
      const insert = "insert into t values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
      const row = [9007199254740993n, "12.50", true, ["a", "b,c"], { k: [1, "x"] }, { z: null }, new Date("2026-03-03T10:00:00.123Z"), new Uint8Array([0, 255]), null]
      const viaPrepared = yield* Effect.promise(() => db.query(insert, row))
      assert.strictEqual(viaPrepared.affectedRows, 1)
      const again = yield* Effect.promise(() => pglite.query(insert.replace("$1,", "$1::bigint + 1,"), row))
      assert.strictEqual(again.affectedRows, 1)

      for (const text of ["select * from t where id >= $1 order by id", "update t set note = $1 where id > 0", "delete from t where id = $1"]) {
        const parameters = text.startsWith("update") ? ["n"] : [9007199254740993n]
        // Run each text through the plain path first, on a copy, so that both see the same rows.
        yield* Effect.promise(() => pglite.exec("begin"))
        const expected = yield* Effect.promise(() => pglite.query(text, parameters))
        yield* Effect.promise(() => pglite.exec("rollback"))
        const actual = yield* Effect.promise(() => db.query(text, parameters))
        assert.deepStrictEqual(actual.rows, expected.rows, text)
        assert.deepStrictEqual(actual.fields, expected.fields, text)
        assert.strictEqual(actual.affectedRows, expected.affectedRows, text)
      }
      // Each parameterised text this wrapper ran is one named statement.
      assert.deepStrictEqual((yield* prepared(pglite)).map((s) => s.statement), [
        "delete from t where id = $1",
        insert,
        "select * from t where id >= $1 order by id",
        "update t set note = $1 where id > 0"
      ])
    }).pipe(Effect.scoped))

  it.effect("a text is prepared once; texts without parameters and over capacity run unnamed", () =>
    Effect.gen(function* () {
      const { pglite, prepared: db } = yield* open(2)
      for (const k of [1, 2, 3, 1, 2, 3]) {
        const r = yield* Effect.promise(() => db.query<{ n: number }>(`select $1::int + ${k} as n`, [k]))
        assert.deepStrictEqual(r.rows, [{ n: 2 * k }])
      }
      yield* Effect.promise(() => db.query("select 1 as one"))
      assert.deepStrictEqual((yield* prepared(pglite)).map((s) => s.statement), ["select $1::int + 1 as n", "select $1::int + 2 as n"])
    }).pipe(Effect.scoped))

  it.effect("rowMode array: the same values as PGlite.query gives, prepared, inside a transaction too", () =>
    Effect.gen(function* () {
      const { pglite, prepared: db } = yield* open()
      const text = "select $1::bigint as n, $2::jsonb as j, $3::text as t"
      const parameters = [7, JSON.stringify({ a: [1] }), "x"]
      const expected = yield* Effect.promise(() => pglite.query(text, parameters, { rowMode: "array" }))
      assert.deepStrictEqual(expected.rows, [[7, { a: [1] }, "x"]])
      const actual = yield* Effect.promise(() => db.query(text, parameters, { rowMode: "array" }))
      assert.deepStrictEqual(actual.rows, expected.rows)
      assert.deepStrictEqual(actual.fields, expected.fields)
      const inTransaction = yield* Effect.promise(() => db.transaction((tx) => tx.query(text, parameters, { rowMode: "array" })))
      assert.deepStrictEqual(inTransaction.rows, expected.rows)
      // And objects again on the same prepared statement.
      assert.deepStrictEqual((yield* Effect.promise(() => db.query(text, parameters))).rows, [{ n: 7, j: { a: [1] }, t: "x" }])
      assert.deepStrictEqual((yield* prepared(pglite)).map((s) => s.statement), [text])
    }).pipe(Effect.scoped))

  it.effect("inside a transaction, prepared queries see its writes and a rollback undoes them", () =>
    Effect.gen(function* () {
      const { pglite, prepared: db } = yield* open()
      yield* Effect.promise(() => pglite.exec("create table t (n int primary key)"))
      const seen = yield* Effect.promise(() =>
        db.transaction(async (tx) => {
          await tx.query("insert into t values ($1)", [1])
          const r = await tx.query<{ n: number }>("select n from t where n = $1", [1])
          await tx.rollback()
          return r.rows
        }).catch((e: unknown) => e)
      )
      assert.deepStrictEqual(seen, [{ n: 1 }])
      const after = yield* Effect.promise(() => db.query<{ n: number }>("select n from t where n >= $1", [0]))
      assert.deepStrictEqual(after.rows, [])
      // A constraint violation keeps its SQLSTATE.
      yield* Effect.promise(() => db.query("insert into t values ($1)", [2]))
      const error = yield* Effect.promise(() => db.query("insert into t values ($1)", [2]).then(() => undefined, (e: unknown) => e))
      assert.strictEqual((error as { code?: string }).code, "23505")
    }).pipe(Effect.scoped))

  it.effect("a stale statement is prepared again: retried at once outside a transaction, failed once inside", () =>
    Effect.gen(function* () {
      const { pglite, prepared: db } = yield* open()
      yield* Effect.promise(() => pglite.exec("create table widened (a int); insert into widened values (1)"))
      const read = () => db.query<Record<string, unknown>>("select * from widened where a = $1", [1])
      assert.deepStrictEqual((yield* Effect.promise(read)).rows, [{ a: 1 }])

      yield* Effect.promise(() => pglite.exec("alter table widened add column b text default 'x'"))
      assert.deepStrictEqual((yield* Effect.promise(read)).rows, [{ a: 1, b: "x" }])

      yield* Effect.promise(() => pglite.exec("deallocate all"))
      assert.deepStrictEqual((yield* Effect.promise(read)).rows, [{ a: 1, b: "x" }])

      yield* Effect.promise(() => pglite.exec("alter table widened add column c int default 3"))
      const inside = yield* Effect.promise(() =>
        db.transaction((tx) => tx.query("select * from widened where a = $1", [1])).then(() => undefined, (e: unknown) => e)
      )
      assert.isTrue(isStalePreparedStatement(inside), String(inside))
      assert.deepStrictEqual((yield* Effect.promise(read)).rows, [{ a: 1, b: "x", c: 3 }])
    }).pipe(Effect.scoped))
})
