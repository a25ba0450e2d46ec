/**
 * The in-memory read model against the contract. Its event store is the SQL one on an in-memory
 * PGlite until an in-memory event store exists (`MemoryEventStore.layer` replaces it then).
 */
import { Layer } from "effect"
import { SqlEventStore } from "../../src/event-store/SqlEventStore.ts"
import { MemoryReadModel } from "../../src/read-model/memory/MemoryReadModel.ts"
import { TestDatabase } from "../support/TestDatabase.ts"
import { CONTRACT_BATCH_SIZE, CONTRACT_POLL_INTERVAL, readModelContract } from "./ReadModelContract.ts"

readModelContract(
  "in memory",
  MemoryReadModel.layerWith({ batchSize: CONTRACT_BATCH_SIZE, pollInterval: CONTRACT_POLL_INTERVAL }).pipe(
    Layer.provideMerge(SqlEventStore.layer.pipe(Layer.provide(TestDatabase.pglite())))
  )
)
