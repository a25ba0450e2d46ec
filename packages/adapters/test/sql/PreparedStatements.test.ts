import { assert, describe, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Kysely, PostgresDialect, sql } from "kysely"
import pg from "pg"
import { Database } from "../../src/sql/Database.ts"
import { isStalePreparedStatement, preparingPool } from "../../src/sql/PreparedStatements.ts"
import { TestPostgresSchema } from "../support/TestDatabase.ts"

/** A one-connection database in the test schema: every query runs in the same server session. */
const oneConnection = (options: { readonly preparedStatements?: boolean } = {}) =>
  Effect.gen(function* () {
    const { connectionString, schema } = yield* TestPostgresSchema
    const context = yield* Layer.build(Database.layerPostgres({ connectionString, schema, poolSize: 1, ...options }))
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
