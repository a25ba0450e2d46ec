import { Layer } from "effect"
import { SqlStorage } from "../../src/storage/sql/SqlStorage.ts"
import { TestDatabase } from "../support/TestDatabase.ts"
import { storageContract } from "./StorageContract.ts"

storageContract("SQL on PGlite (in memory)", SqlStorage.layer.pipe(Layer.provide(TestDatabase.pglite())), {
  kind: "pglite",
  migrations: "all"
})
