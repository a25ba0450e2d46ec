/**
 * The read model on SQL (PostgreSQL or PGlite): the projector (`Projector.ts`) and the queries
 * (`Queries.ts`) over the projection tables of the migrations, as one adapter.
 *
 * @since 0.1.0
 */
import { type EventStore, Projections, ReadModel } from "@terrarium/domain"
import { Effect, Layer } from "effect"
import type { Database } from "../../sql/Database.ts"
import * as Projector from "./Projector.ts"
import * as Queries from "./Queries.ts"

/** @since 0.1.0 @category models */
export type SqlReadModelOptions = Projector.SqlProjectionsOptions

const layerWith = (options: SqlReadModelOptions): Layer.Layer<Projections | ReadModel, never, Database | EventStore> =>
  Layer.mergeAll(
    Layer.effect(Projections, Effect.suspend(() => Projector.make(options))),
    Layer.effect(ReadModel, Effect.suspend(() => Queries.make))
  )

/**
 * The SQL read model.
 *
 * @since 0.1.0
 */
export const SqlReadModel = {
  /**
   * The `Projections` and `ReadModel` ports over the `Database` and `EventStore` of the context.
   *
   * @since 0.1.0
   * @category layers
   */
  layer: layerWith({}),
  /**
   * `layer` with the projector's batch size and poll interval.
   *
   * @since 0.1.0
   * @category layers
   */
  layerWith
} as const
