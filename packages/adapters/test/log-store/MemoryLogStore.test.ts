import { MemoryLogStore } from "../../src/log-store/memory/MemoryLogStore.ts"
import { logStoreContract } from "./LogStoreContract.ts"

logStoreContract("memory", MemoryLogStore.layer)
