/**
 * The Terrarium service: every use case of the environment registry (the write use cases of
 * `EnvironmentCommands.ts` and the read use cases of `EnvironmentQueries.ts`) as one Effect
 * service over the ports. The library facade (`Client.ts`) and the CLI call it; `Setup.ts`
 * provides the ports.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import * as CuratedCatalog from "./CuratedCatalog.ts"
import * as EnvironmentCommands from "./EnvironmentCommands.ts"
import * as EnvironmentQueries from "./EnvironmentQueries.ts"
import type { Caller } from "./Results.ts"

export { EventDecodeFailure, StreamContended, type TerrariumError } from "./Errors.ts"
export type {
  CallContext,
  Caller,
  CatalogSync,
  Clone,
  Draft,
  EnvironmentArchive,
  EnvironmentVersion,
  Registration,
  Repair,
  Scope,
  Share,
  Status,
  VersionDiff,
  VersionMetadata,
  WriteScope
} from "./Results.ts"

/**
 * @since 0.1.0
 * @category service
 */
export class Terrarium extends Context.Service<
  Terrarium,
  EnvironmentCommands.EnvironmentCommands & EnvironmentQueries.EnvironmentQueries & CuratedCatalog.CuratedCatalogCommands
>()("terrarium/Terrarium") {}

/**
 * Builds the service from the ports and the caller.
 *
 * @since 0.1.0
 * @category layers
 */
export const make = (caller: Caller) =>
  Effect.all([EnvironmentCommands.make(caller), EnvironmentQueries.make, CuratedCatalog.make(caller)]).pipe(
    Effect.map(([commands, queries, catalog]) => Terrarium.of({ ...commands, ...queries, ...catalog }))
  )

/** @since 0.1.0 @category layers */
export const layer = (caller: Caller) => Layer.effect(Terrarium, make(caller))
