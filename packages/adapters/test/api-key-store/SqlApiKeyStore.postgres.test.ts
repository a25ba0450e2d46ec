import { Layer } from "effect"
import { SqlApiKeyStore } from "../../src/api-key-store/sql/SqlApiKeyStore.ts"
import { TestDatabase } from "../support/TestDatabase.ts"
import { apiKeyStoreContract } from "./ApiKeyStoreContract.ts"
import { storedRows } from "./SqlApiKeyRows.ts"

apiKeyStoreContract("SQL on PostgreSQL (a fresh schema, pool of 4)", SqlApiKeyStore.layer.pipe(Layer.provideMerge(TestDatabase.postgres({ poolSize: 4 }))), {
  stored: storedRows
})
