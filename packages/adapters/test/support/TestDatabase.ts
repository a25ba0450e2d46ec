/**
 * Test databases as Layers, for any test that needs the SQL schema (event store, projections):
 *
 * - `TestDatabase.pglite()`: a fresh in-memory PGlite, migrated.
 * - `TestDatabase.postgres()`: the test PostgreSQL server, in a fresh schema with a random name
 *   (so test files can run in parallel), migrated, and dropped when the layer's scope closes.
 *   Also provides `TestPostgresSchema` so a test can open more connections to the same schema.
 *
 * PostgreSQL is required, never skipped: if it is down the layer fails with a message saying how
 * to start it. The server is `TERRARIUM_TEST_DATABASE_URL`, default
 * postgres://postgres@127.0.0.1:5432/test.
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Context, Effect, Layer } from "effect"
import pg from "pg"
import { Database, DatabaseError } from "../../src/sql/Database.ts"

/** The test server's connection string. */
export const testConnectionString: string =
  process.env["TERRARIUM_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

/**
 * The schema a `TestDatabase.postgres()` layer created, and how to reach it.
 *
 * @since 0.1.0
 * @category test support
 */
export class TestPostgresSchema extends Context.Service<TestPostgresSchema, {
  readonly connectionString: string
  readonly schema: string
}>()("terrarium/test/TestPostgresSchema") {
  /**
   * Create a fresh schema named `test_<random>`; drop it (cascade) on scope close.
   *
   * @since 0.1.0
   * @category test support
   */
  static readonly layer: Layer.Layer<TestPostgresSchema, DatabaseError> = Layer.effect(
    TestPostgresSchema,
    Effect.gen(function* () {
      const schema = `test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`
      yield* Effect.acquireRelease(
        admin("create schema", `create schema ${schema}`),
        () => admin("drop schema", `drop schema if exists ${schema} cascade`).pipe(Effect.ignore)
      )
      return TestPostgresSchema.of({ connectionString: testConnectionString, schema })
    })
  )
}

const admin = (operation: string, statement: string) =>
  Effect.tryPromise({
    try: async () => {
      const client = new pg.Client({ connectionString: testConnectionString, connectionTimeoutMillis: 5000 })
      await client.connect()
      try {
        await client.query(statement)
      } finally {
        await client.end()
      }
    },
    catch: (cause) =>
      new DatabaseError({
        operation: `${operation} (is PostgreSQL running at ${testConnectionString}? ` +
          "`pnpm test` starts it; or: pg_ctlcluster --skip-systemctl-redirect <version> main start)",
        cause
      })
  })

/**
 * Test `Database` layers.
 *
 * @since 0.1.0
 * @category test support
 */
export const TestDatabase = {
  /** A fresh in-memory PGlite, migrated. */
  pglite: (): Layer.Layer<Database, DatabaseError> => Database.layerPglite().pipe(Layer.provide(NodeServices.layer)),
  /**
   * A fresh schema on the test PostgreSQL server, migrated, dropped afterwards. The pool closes
   * before the schema is dropped.
   */
  postgres: (options?: { readonly poolSize?: number }): Layer.Layer<Database | TestPostgresSchema, DatabaseError> =>
    Layer.effect(
      Database,
      Effect.gen(function* () {
        const { connectionString, schema } = yield* TestPostgresSchema
        const context = yield* Layer.build(Database.layerPostgres({ connectionString, schema, ...options }).pipe(Layer.provide(NodeServices.layer)))
        return Context.get(context, Database)
      })
    ).pipe(Layer.provideMerge(TestPostgresSchema.layer))
} as const
