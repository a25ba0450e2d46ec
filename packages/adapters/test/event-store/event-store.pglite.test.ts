import { TestEventStore } from "../support/TestEventStore.ts"
import { eventStoreContract } from "./contract.ts"

eventStoreContract("SQL on PGlite (in memory)", TestEventStore.pglite())
