/**
 * The storage port over the SQL `Database`: its engine, schema and the migrations Kysely's
 * `Migrator` recorded in `kysely_migration` (in the working schema).
 *
 * @since 0.1.0
 */
import { Storage, StorageError, StorageUnavailable } from "@terrarium/domain"
import { Effect, Layer } from "effect"
import { Database } from "../../sql/Database.ts"

const layer: Layer.Layer<Storage, never, Database> = Layer.effect(
  Storage,
  Effect.map(Database, (database) =>
    Storage.of({
      kind: database.kind,
      schema: database.schema,
      appliedAtOpen: database.applied,
      migrations: database.use("list migrations", (db) =>
        db.selectFrom("kysely_migration").select("name").orderBy("name").execute()
      ).pipe(
        Effect.map((rows) => rows.map((row: { readonly name: string }) => row.name)),
        Effect.mapError((e) => new StorageError({ reason: new StorageUnavailable({ operation: e.operation, cause: e.cause }) }))
      )
    }))
)

/**
 * @since 0.1.0
 * @category layers
 */
export const SqlStorage = {
  /** The storage port over the `Database` of the context. */
  layer
} as const
