/**
 * `@terrarium/domain`: the model, the environment decider, the canonical hash and every port.
 * Pure: imports only `effect`. This file is the package's whole public surface, one import path
 * per name: a module whose names belong together is exported as a namespace (`Environment`,
 * `CanonicalHash`, `Diff`, `EventCodec`, `ContextDigest`), the model and the ports by name.
 *
 * @since 0.1.0
 */

// The model: a definition, package specs, the rules what comes in must keep, the limits.
export * from "./Definition.ts"
export * from "./DefinitionCheck.ts"
export * from "./PackageSpec.ts"
export * from "./UrlCredentials.ts"
export * from "./Limits.ts"
export * from "./StoredText.ts"
export * from "./ReservedNames.ts"
export * from "./PrivateWheel.ts"
export * as CuratedCatalog from "./CuratedCatalog.ts"
export * as CanonicalHash from "./CanonicalHash.ts"
export * as ContextDigest from "./ContextDigest.ts"
export * as Diff from "./Diff.ts"

// The environment stream: its events, its decider (with its commands and errors), its codec.
export * from "./Event.ts"
export * from "./Decider.ts"
export * as Environment from "./Environment.ts"
export * as EventCodec from "./EventCodec.ts"

// The build stream of a canonical hash: its events, its decider and lease (namespaced: its
// `ImageBuilt` is not the environment stream's).
export * as Build from "./Build.ts"
// Whether a built image's base can be checked in its registry (`image refresh`).
export * as BaseImage from "./BaseImage.ts"

// The ports.
export * from "./ports/EventStore.ts"
export * from "./ports/Projections.ts"
export * from "./ports/ReadModel.ts"
export * from "./ports/Storage.ts"
export * from "./ports/ImageBuilder.ts"
export * from "./ports/LogStore.ts"
export * from "./ports/BuildContextStore.ts"
export * from "./ports/ImageRegistry.ts"
export * from "./ports/BuildQueue.ts"
export * from "./ports/BlobStore.ts"
export * from "./ports/ApiKeyStore.ts"

export * from "./CauseText.ts"
