import { Effect, Layer, Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import { AzureBlobStore } from "../../src/blob-store/azure/AzureBlobStore.ts"
import { MemoryBlobStore } from "../../src/blob-store/memory/MemoryBlobStore.ts"
import { BlobBuildContextStore } from "../../src/build-context-store/blob/BlobBuildContextStore.ts"
import { type Azurite, startAzurite } from "../blob-store/Azurite.ts"
import { buildContextStoreContract } from "./BuildContextStoreContract.ts"

let emulator: Azurite | undefined
beforeAll(async () => { emulator = await startAzurite() }, 60_000)
afterAll(async () => { await emulator?.dispose() })

buildContextStoreContract("blob store in memory", BlobBuildContextStore.layerWith().pipe(Layer.provide(MemoryBlobStore.layer)))

buildContextStoreContract(
  "blob store on Azure (Azurite)",
  BlobBuildContextStore.layerWith().pipe(
    Layer.provide(Layer.unwrap(Effect.sync(() =>
      AzureBlobStore.layerWith({ connectionString: Redacted.make(emulator!.connectionString), container: "contexts" }))))
  )
)
