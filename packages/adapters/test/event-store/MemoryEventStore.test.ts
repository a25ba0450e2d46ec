import { MemoryEventStore } from "../../src/event-store/memory/MemoryEventStore.ts"
import { eventStoreContract } from "./EventStoreContract.ts"

eventStoreContract("in memory", MemoryEventStore.layer)
