import { Layer } from "effect"
import { SqlStorage } from "../../src/storage/sql/SqlStorage.ts"
import { TestDatabase } from "../support/TestDatabase.ts"
import { storageContract } from "./StorageContract.ts"

storageContract("SQL on PostgreSQL (a fresh schema)", SqlStorage.layer.pipe(Layer.provide(TestDatabase.postgres())), {
  kind: "postgres",
  migrations: "all"
})
