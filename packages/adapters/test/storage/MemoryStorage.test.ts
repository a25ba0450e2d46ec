import { MemoryStorage } from "../../src/storage/memory/MemoryStorage.ts"
import { storageContract } from "./StorageContract.ts"

storageContract("in memory", MemoryStorage.layer, { kind: "memory", migrations: "none" })
