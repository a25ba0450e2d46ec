import { TestEventStore } from "../support/TestEventStore.ts"
import { eventStoreContract } from "./EventStoreContract.ts"
import { sqlEventStoreChecks } from "./SqlEventStoreChecks.ts"

eventStoreContract("SQL on PGlite (in memory)", TestEventStore.pglite())
sqlEventStoreChecks("PGlite (in memory)", TestEventStore.pglite())
