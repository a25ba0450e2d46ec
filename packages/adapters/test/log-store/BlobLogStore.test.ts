import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Effect, Layer, Redacted } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { AzureBlobStore } from "../../src/blob-store/azure/AzureBlobStore.ts"
import { FileSystemBlobStore } from "../../src/blob-store/file-system/FileSystemBlobStore.ts"
import { BlobLogStore } from "../../src/log-store/blob/BlobLogStore.ts"
import { type Azurite, startAzurite } from "../blob-store/Azurite.ts"
import { logStoreContract } from "./LogStoreContract.ts"

let emulator: Azurite | undefined
beforeAll(async () => { emulator = await startAzurite() }, 60_000)
afterAll(async () => { await emulator?.dispose() })

logStoreContract(
  "blob store on the file system",
  BlobLogStore.layerWith({ pollInterval: "20 millis" }).pipe(
    Layer.provide(FileSystemBlobStore.layerWith({ root: join(mkdtempSync(join(tmpdir(), "terrarium-bloblogs-")), "blobs") })),
    Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
  )
)

logStoreContract(
  "blob store on Azure (Azurite)",
  BlobLogStore.layerWith({ pollInterval: "20 millis" }).pipe(
    Layer.provide(Layer.unwrap(Effect.sync(() =>
      AzureBlobStore.layerWith({ connectionString: Redacted.make(emulator!.connectionString), container: "logs" }))))
  )
)
