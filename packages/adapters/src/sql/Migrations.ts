/**
 * Schema migrations: every `NNNN_name.sql` file of the repository's `migrations/` directory, run
 * in file-name order by Kysely's `Migrator`, which records what ran in `kysely_migration` and
 * holds a lock so that two processes starting together do not both migrate.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Kysely, sql } from "kysely"
import { type Migration, type MigrationProvider, Migrator } from "kysely/migration"
import { readdir, readFile } from "node:fs/promises"
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
 * A Kysely `MigrationProvider` over a directory of `.sql` files. The migration name is the file
 * name without `.sql`; each file's statements run in order, in the Migrator's transaction.
 *
 * @since 0.1.0
 * @category migrations
 */
export class SqlFileMigrationProvider implements MigrationProvider {
  readonly #directory: string
  constructor(directory: string = migrationsDirectory) {
    this.#directory = directory
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.#directory)).filter((f) => f.endsWith(".sql")).sort()
    const migrations: Record<string, Migration> = {}
    for (const file of files) {
      const path = `${this.#directory.replace(/\/$/, "")}/${file}`
      migrations[file.slice(0, -".sql".length)] = {
        up: async (db) => {
          const statements = splitStatements(await readFile(path, "utf8"))
          for (const [index, statement] of statements.entries()) {
            try {
              await sql.raw(statement).execute(db)
            } catch (cause) {
              throw new Error(`${file}, statement ${index + 1}: ${describeCause(cause)}`, { cause })
            }
          }
        }
      }
    }
    return migrations
  }
}

/**
 * Bring the database to the latest migration. Returns the names applied by this call (empty
 * when it was already up to date). The bookkeeping table goes to the connection's current
 * schema, so a database can hold several isolated logs (one per schema).
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate = (
  db: Kysely<any>,
  options?: { readonly directory?: string }
): Effect.Effect<ReadonlyArray<string>, DatabaseError> =>
  Effect.gen(function* () {
    const schema = yield* Effect.tryPromise({
      try: () => sql<{ schema: string | null }>`select current_schema() as schema`.execute(db),
      catch: (cause) => new DatabaseError({ operation: "migrate", cause })
    }).pipe(Effect.map((r) => r.rows[0]?.schema ?? null))
    if (schema === null) {
      return yield* new DatabaseError({ operation: "migrate", cause: new Error("no current schema (search_path names no existing schema)") })
    }
    const migrator = new Migrator({
      db,
      provider: new SqlFileMigrationProvider(options?.directory),
      migrationTableSchema: schema
    })
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
