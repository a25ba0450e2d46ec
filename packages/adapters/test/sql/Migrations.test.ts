import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { PGlite } from "@electric-sql/pglite"
import { Effect } from "effect"
import { Kysely, PGliteDialect, sql } from "kysely"
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { migrate, migrationsDirectory } from "../../src/sql/Migrations.ts"
import { splitStatements } from "../../src/sql/SqlStatements.ts"

/** An empty migrations directory and an empty in-memory database, removed with the scope. */
const scratch = Effect.gen(function* () {
  const dir = mkdtempSync(join(tmpdir(), "terrarium-migrations-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
  const db = yield* Effect.acquireRelease(
    Effect.sync(() => new Kysely<any>({ dialect: new PGliteDialect({ pglite: new PGlite() }) })),
    (db) => Effect.promise(() => db.destroy())
  )
  return { dir, db }
})

describe("SQL migrations", () => {
  it("splits scripts on semicolons outside comments, quotes and dollar bodies", () => {
    const script = `-- a; comment
create table a (x text default 'it''s; fine'); /* b; */
create function f() returns int language plpgsql as $body$ begin return 1; end $body$;
select "odd;name", $$;$$ from a;
-- trailing comment only`
    assert.deepStrictEqual(splitStatements(script).length, 3)
    assert.match(splitStatements(script)[1]!, /\$body\$ begin return 1; end \$body\$$/)
  })

  it.effect("runs files in name order, picks up new ones, and names the failing file", () =>
    Effect.gen(function* () {
      const { dir, db } = yield* scratch
      writeFileSync(join(dir, "0002_b.sql"), "insert into t values (2);")
      writeFileSync(join(dir, "0001_a.sql"), "create table t (n int); insert into t values (1);")
      assert.deepStrictEqual(yield* migrate(db, { directory: dir }), ["0001_a", "0002_b"])
      assert.deepStrictEqual(yield* migrate(db, { directory: dir }), [])

      writeFileSync(join(dir, "0003_c.sql"), "insert into t values (3);")
      assert.deepStrictEqual(yield* migrate(db, { directory: dir }), ["0003_c"])

      writeFileSync(join(dir, "0004_bad.sql"), "insert into t values (4);\ninsert into nope values (1);")
      const error = yield* migrate(db, { directory: dir }).pipe(Effect.flip)
      assert.strictEqual(error.operation, "migration 0004_bad")
      assert.match(error.message, /0004_bad\.sql, statement 2: relation "nope" does not exist/)
      const rows = yield* Effect.promise(() => sql<{ n: number }>`select n from t order by n`.execute(db))
      assert.deepStrictEqual(rows.rows.map((r) => r.n), [1, 2, 3], "the failed migration was rolled back")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("0011 keeps every row of the cache lookup, its images now one per hash", () =>
    Effect.gen(function* () {
      const { dir, db } = yield* scratch
      const files = readdirSync(migrationsDirectory).filter((file) => file.endsWith(".sql")).sort()
      const copy = (file: string) => copyFileSync(join(migrationsDirectory, file), join(dir, file))
      for (const file of files.filter((file) => file < "0011")) copy(file)
      yield* migrate(db, { directory: dir })
      // Two registrations of a built hash (both carry its image, as the projector left them), one of another.
      yield* Effect.promise(() => sql`insert into cache_lookup values
        ('sha256:a', 'ws', 'x', '1', 1, 'reg', 'repo', 't1', 'sha256:d1', '2026-01-01T00:00:00Z', 'b1'),
        ('sha256:a', 'ws', 'y', '1', 2, 'reg', 'repo', 't1', 'sha256:d1', '2026-01-01T00:00:00Z', 'b1'),
        ('sha256:b', 'ws', 'z', '1', 3, null, null, null, null, null, null)`.execute(db))
      const lookup = () =>
        Effect.promise(() => sql`select row_to_json(c)::text as row from cache_lookup c order by registered_position`.execute(db))
          .pipe(Effect.map(({ rows }) => rows.map((r: any) => r.row)))
      const before = yield* lookup()
      for (const file of files.filter((file) => file.startsWith("0011"))) copy(file)
      assert.deepStrictEqual(yield* migrate(db, { directory: dir }), ["0011_cache_images"])
      assert.deepStrictEqual(yield* lookup(), before)
      const images = yield* Effect.promise(() => sql<{ canonical_hash: string }>`select canonical_hash from cache_images`.execute(db))
      assert.deepStrictEqual(images.rows.map((r) => r.canonical_hash), ["sha256:a"])
    }).pipe(Effect.provide(NodeServices.layer)))
})
