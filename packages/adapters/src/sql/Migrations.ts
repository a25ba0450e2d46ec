/**
 * Schema migrations: every `NNNN_name.sql` file of the repository's `migrations/` directory, read
 * through `FileSystem` and run in file-name order by Kysely's `Migrator`, which records what ran
 * in `kysely_migration` and holds a lock so that two processes starting together do not both
 * migrate.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Path } from "effect"
import { type Kysely, sql } from "kysely"
import { type Migration, type MigrationProvider, Migrator } from "kysely/migration"
import { fileURLToPath } from "node:url"
import { describeCause } from "@terrarium/domain"
import { DatabaseError } from "./DatabaseError.ts"
import { splitStatements } from "./SqlStatements.ts"

/**
 * The repository's `migrations/` directory, found from this file (packages/adapters/src/sql/).
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrationsDirectory: string = fileURLToPath(new URL("../../../../migrations/", import.meta.url))

/**
 * The migrations of `directory`, in file-name order, as a Kysely `MigrationProvider`: the
 * directory is listed now, through the `FileSystem` of the context, but a file's text is read
 * only when its migration runs, so a database that is up to date (every command's start) costs
 * one directory listing. The migration name is the file name without `.sql`; each file's
 * statements run in order, in the Migrator's transaction.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrationProvider = (
  directory: string = migrationsDirectory
): Effect.Effect<MigrationProvider, DatabaseError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const context = yield* Effect.context<never>()
    const files = (yield* fs.readDirectory(directory)).filter((f) => f.endsWith(".sql")).sort()
    const readText = (file: string) =>
      Effect.runPromiseWith(context)(fs.readFileString(path.join(directory, file)))
    return {
      getMigrations: async () =>
        Object.fromEntries(files.map((file): [string, Migration] => [file.slice(0, -".sql".length), {
          up: async (db) => {
            for (const [index, statement] of splitStatements(await readText(file)).entries()) {
              try {
                await sql.raw(statement).execute(db)
              } catch (cause) {
                throw new Error(`${file}, statement ${index + 1}: ${describeCause(cause)}`, { cause })
              }
            }
          }
        }]))
    }
  }).pipe(Effect.mapError((cause) => new DatabaseError({ operation: "read migrations", cause })))

/**
 * Bring the database to the latest migration of `directory` (default: the repository's). Returns
 * the names applied by this call (empty when it was already up to date). The bookkeeping table
 * goes to the connection's current schema, so a database can hold several isolated logs (one per
 * schema).
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate = (
  db: Kysely<any>,
  options?: { readonly directory?: string }
): Effect.Effect<ReadonlyArray<string>, DatabaseError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const provider = yield* migrationProvider(options?.directory)
    const schema = yield* Effect.tryPromise({
      try: () => sql<{ schema: string | null }>`select current_schema() as schema`.execute(db),
      catch: (cause) => new DatabaseError({ operation: "migrate", cause })
    }).pipe(Effect.map((r) => r.rows[0]?.schema ?? null))
    if (schema === null) {
      return yield* new DatabaseError({ operation: "migrate", cause: new Error("no current schema (search_path names no existing schema)") })
    }
    const migrator = new Migrator({ db, provider, migrationTableSchema: schema })
    const { error, results = [] } = yield* Effect.tryPromise({
      try: () => migrator.migrateToLatest(),
      catch: (cause) => new DatabaseError({ operation: "migrate", cause })
    })
    if (error !== undefined) {
      const failed = results.find((r) => r.status === "Error")
      return yield* new DatabaseError({
        operation: failed ? `migration ${failed.migrationName}` : "migrate",
        cause: error
      })
    }
    return results.filter((r) => r.status === "Success").map((r) => r.migrationName)
  })
