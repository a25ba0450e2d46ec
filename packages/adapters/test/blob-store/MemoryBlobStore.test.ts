import { assert, it } from "@effect/vitest"
import { BlobStore } from "@terrarium/domain"
import { Effect } from "effect"
import { MemoryBlobStore } from "../../src/blob-store/memory/MemoryBlobStore.ts"
import { blobStoreContract } from "./BlobStoreContract.ts"

blobStoreContract("memory", MemoryBlobStore.layer)

it.effect("memory: append to a blob written whole by put is BlobConflict, as on Azure", () =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    yield* blobs.put("whole", new Uint8Array([1]))
    const error = yield* Effect.flip(blobs.append("whole", new Uint8Array([2])))
    assert.strictEqual(error.reason._tag, "BlobConflict")
  }).pipe(Effect.provide(MemoryBlobStore.layer)))
