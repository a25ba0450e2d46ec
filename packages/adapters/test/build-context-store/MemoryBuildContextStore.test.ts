import { MemoryBuildContextStore } from "../../src/build-context-store/memory/MemoryBuildContextStore.ts"
import { buildContextStoreContract } from "./BuildContextStoreContract.ts"

buildContextStoreContract("memory", MemoryBuildContextStore.layer)
