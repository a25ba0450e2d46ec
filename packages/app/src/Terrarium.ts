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
import * as ImageBuilds from "./ImageBuilds.ts"
import * as PrivateWheels from "./PrivateWheels.ts"
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
  EnvironmentCommands.EnvironmentCommands & EnvironmentQueries.EnvironmentQueries & ImageBuilds.ImageBuilds &
  CuratedCatalog.CuratedCatalogCommands & PrivateWheels.PrivateWheelCommands
>()("terrarium/Terrarium") {}

export { type BaseRefreshResult, BaseRefreshIncomplete, type PastBuild, type RefreshUpdate } from "./BaseImageRefresh.ts"
export {
  type BuildSettings,
  type BuildUpdate,
  type CancelledBuild,
  ImageBuildFailed,
  type ImageBuildResult,
  ImageNotFound,
  type ImageTarget,
  NothingToCancel,
  type PushedImage,
  PushNotRecorded,
  QueuedBuildDropped
} from "./ImageBuilds.ts"
export type { RegistrySettings } from "./RegistrySettings.ts"
export type { WheelUpload } from "./PrivateWheels.ts"

/** A holder name for builds when none is given: unique to this service. */
const anonymousHolder = () => `terrarium-${crypto.randomUUID()}`

/**
 * Builds the service from the ports and the caller.
 *
 * @since 0.1.0
 * @category layers
 */
export const make = (caller: Caller, builds?: ImageBuilds.BuildSettings) =>
  Effect.all([
    EnvironmentCommands.make(caller),
    EnvironmentQueries.make,
    ImageBuilds.make(caller, builds ?? { holder: anonymousHolder() }),
    CuratedCatalog.make(caller),
    PrivateWheels.make
  ]).pipe(
    Effect.map(([commands, queries, images, catalog, wheels]) => Terrarium.of({ ...commands, ...queries, ...images, ...catalog, ...wheels }))
  )

/** @since 0.1.0 @category layers */
export const layer = (caller: Caller, builds?: ImageBuilds.BuildSettings) => Layer.effect(Terrarium, make(caller, builds))
