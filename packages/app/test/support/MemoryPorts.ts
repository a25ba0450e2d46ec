/**
 * The ports in memory (event store, projections, read model, storage, build contexts, image
 * builder, logs, API keys), for the application's unit tests: the same contracts as the SQL adapters, no
 * database, nothing kept after the scope. Test support rather than `Setup`, so that the CLI and the
 * library never load them.
 */
import {
  MemoryApiKeyStore,
  MemoryBuildContextStore,
  MemoryEngine,
  MemoryEventStore,
  MemoryImageBuilder,
  MemoryLogStore,
  MemoryReadModel,
  MemoryStorage
} from "@terrarium/adapters"
import { Effect, Layer } from "effect"
import { decodeDefinitionInput } from "../../src/Input.ts"

/** The ports in memory, the image builder over `engine` (which a test looks into and changes). */
export const layerPortsMemoryWith = (engine: MemoryEngine) =>
  Layer.mergeAll(
    MemoryReadModel.layer, MemoryStorage.layer, MemoryBuildContextStore.layer, MemoryImageBuilder.layerWith(engine), MemoryLogStore.layer,
    MemoryApiKeyStore.layer
  ).pipe(Layer.provideMerge(MemoryEventStore.layer))

export const layerPortsMemory = Layer.suspend(() => layerPortsMemoryWith(new MemoryEngine()))

/** Runs `effect` in a scope over fresh memory ports, the image builder over `engine`. */
export const runWith = <A, E, R>(engine: MemoryEngine, effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.scoped, Effect.provide(layerPortsMemoryWith(engine)))

/** A system-managed definition with just these pip requirements (each distinct list, its own hash). */
export const withPip = (...pip: Array<string>) =>
  decodeDefinitionInput({ python: { userManagedDependencies: false, interpreterPath: "python", conda: { channels: [], conda: [], pip } } })
