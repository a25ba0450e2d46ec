/**
 * The ports in memory (event store, projections, read model, storage, image builder, logs), for the application's
 * unit tests: the same contracts as the SQL adapters, no database, nothing kept after the scope.
 * Test support rather than `Setup`, so that the CLI and the library never load them.
 */
import { MemoryEventStore, MemoryImageBuilder, MemoryLogStore, MemoryReadModel, MemoryStorage } from "@terrarium/adapters"
import { Layer } from "effect"

export const layerPortsMemory = Layer.mergeAll(MemoryReadModel.layer, MemoryStorage.layer, MemoryImageBuilder.layer, MemoryLogStore.layer).pipe(
  Layer.provideMerge(MemoryEventStore.layer)
)
