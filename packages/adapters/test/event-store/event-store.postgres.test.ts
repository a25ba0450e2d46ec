import { TestEventStore } from "../support/TestEventStore.ts"
import { eventStoreContract } from "./contract.ts"

eventStoreContract("SQL on PostgreSQL (4 store instances, pools of 4)", TestEventStore.postgres({ instances: 4, poolSize: 4 }))
