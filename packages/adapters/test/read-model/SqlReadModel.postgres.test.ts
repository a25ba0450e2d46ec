import { Layer } from "effect"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { SqlReadModel } from "../../src/read-model/sql/SqlReadModel.ts"
import { TestDatabase } from "../support/TestDatabase.ts"
import { CONTRACT_BATCH_SIZE, CONTRACT_POLL_INTERVAL, readModelContract } from "./ReadModelContract.ts"
import { snapshot, sqlReadModelSuite } from "./SqlReadModelSuite.ts"

// Each test gets its own schema; the pool of 4 lets concurrent projectors really contend.
readModelContract(
  "SQL on PostgreSQL (a schema per test, pool of 4)",
  SqlReadModel.layerWith({ batchSize: CONTRACT_BATCH_SIZE, pollInterval: CONTRACT_POLL_INTERVAL }).pipe(
    Layer.provideMerge(SqlEventStore.layer),
    Layer.provideMerge(TestDatabase.postgres({ poolSize: 4 }))
  ),
  snapshot
)
sqlReadModelSuite("PostgreSQL (a schema per test, pool of 4)", () => TestDatabase.postgres({ poolSize: 4 }))
