import { Layer } from "effect"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { SqlReadModel } from "../../src/read-model/sql/SqlReadModel.ts"
import { TestDatabase } from "../support/TestDatabase.ts"
import { CONTRACT_BATCH_SIZE, CONTRACT_POLL_INTERVAL, readModelContract } from "./ReadModelContract.ts"
import { snapshot, sqlReadModelSuite } from "./SqlReadModelSuite.ts"

readModelContract(
  "SQL on PGlite (in memory)",
  SqlReadModel.layerWith({ batchSize: CONTRACT_BATCH_SIZE, pollInterval: CONTRACT_POLL_INTERVAL }).pipe(
    Layer.provideMerge(SqlEventStore.layer),
    Layer.provideMerge(TestDatabase.pglite())
  ),
  snapshot
)
sqlReadModelSuite("PGlite (in memory)", () => TestDatabase.pglite())
