/**
 * Test event stores as Layers: the SQL store over a `TestDatabase`, plus `EventStoreInstances`,
 * the stores a concurrency test should spread its writers over. On PostgreSQL these are
 * independent instances (each its own pool and group-commit queue, as separate processes would
 * be); on PGlite, which one process opens at a time, there is only the one store.
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { EventStore } from "@terrarium/domain"
import { Context, Effect, Layer } from "effect"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { Database, type DatabaseError } from "../../src/sql/Database.ts"
import { EventStoreInstances } from "./EventStoreInstances.ts"
import { TestDatabase, TestPostgresSchema } from "./TestDatabase.ts"

export { EventStoreInstances } from "./EventStoreInstances.ts"

/** What the SQL store's tests use: the port, the database under it, and the instances to spread writers over. */
export type TestEventStoreServices = EventStore | Database | EventStoreInstances

const single = Layer.effect(EventStoreInstances, Effect.map(EventStore, (store) => [store]))

/**
 * @since 0.1.0
 * @category test support
 */
export const TestEventStore = {
  /** The SQL store on a fresh in-memory PGlite. */
  pglite: (): Layer.Layer<TestEventStoreServices, DatabaseError> =>
    single.pipe(Layer.provideMerge(SqlEventStore.layer), Layer.provideMerge(TestDatabase.pglite())),
  /**
   * The SQL store on a fresh PostgreSQL schema, with `instances - 1` more independent stores
   * (each with a pool of `poolSize`) over the same schema.
   */
  postgres: (options: { readonly instances?: number; readonly poolSize?: number } = {}): Layer.Layer<
    TestEventStoreServices | TestPostgresSchema,
    DatabaseError
  > => {
    const poolSize = options.poolSize ?? 4
    const others = Layer.effect(
      EventStoreInstances,
      Effect.gen(function* () {
        const { connectionString, schema } = yield* TestPostgresSchema
        const stores = [yield* EventStore]
        for (let i = 1; i < (options.instances ?? 4); i++) {
          // Fresh: otherwise the layer's memo would hand back the store already built above,
          // and every "instance" would be that one (one pool, one queue, one announcer).
          const context = yield* Layer.build(Layer.fresh(
            SqlEventStore.layer.pipe(Layer.provide(Database.layerPostgres({ connectionString, schema, poolSize }).pipe(Layer.provide(NodeServices.layer))))
          ))
          stores.push(Context.get(context, EventStore))
        }
        return stores
      })
    )
    return others.pipe(Layer.provideMerge(SqlEventStore.layer), Layer.provideMerge(TestDatabase.postgres({ poolSize })))
  }
} as const
