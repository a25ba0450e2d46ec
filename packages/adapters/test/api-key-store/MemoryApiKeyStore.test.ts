import { MemoryApiKeyStore } from "../../src/api-key-store/memory/MemoryApiKeyStore.ts"
import { apiKeyStoreContract } from "./ApiKeyStoreContract.ts"

apiKeyStoreContract("memory", MemoryApiKeyStore.layer)
