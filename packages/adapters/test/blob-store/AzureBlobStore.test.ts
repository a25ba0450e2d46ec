import { assert, describe, it } from "@effect/vitest"
import { BlobStore, getBlobBytes } from "@terrarium/domain"
import { Effect, Layer, Option, Redacted, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import { AZURE_BLOCK_BYTES, AzureBlobStore } from "../../src/blob-store/azure/AzureBlobStore.ts"
import { type Azurite, startAzurite } from "./Azurite.ts"
import { blobStoreContract } from "./BlobStoreContract.ts"

let emulator: Azurite | undefined
beforeAll(async () => { emulator = await startAzurite() }, 60_000)
afterAll(async () => { await emulator?.dispose() })

/** Built when the first test asks, after Azurite is up. */
const storeLayer = (container: string, maxTries = 2) =>
  Layer.unwrap(Effect.sync(() =>
    AzureBlobStore.layerWith({
      connectionString: Redacted.make(emulator!.connectionString),
      container,
      maxTries,
      tryTimeoutMillis: 10_000
    })))

blobStoreContract("Azure Blob storage on Azurite", storeLayer("contract"))

describe("Azure blob store faults", () => {
  it.effect("Azurite stopped mid-operation: a clear, retryable error naming the store and no secret; after a restart the retry works", () =>
    Effect.gen(function*() {
      const blobs = yield* BlobStore
      yield* blobs.put("fault/kept", new TextEncoder().encode("before"))
      // A put of two blocks: Azurite is stopped after the first block is staged, before the second is sent.
      const block = new Uint8Array(AZURE_BLOCK_BYTES).fill(7)
      const body = Stream.fromIterable([block, block]).pipe(
        Stream.mapEffect((chunk, i) => i === 1 ? Effect.as(Effect.promise(() => emulator!.stop()), chunk) : Effect.succeed(chunk))
      )
      const error = yield* Effect.flip(blobs.put("fault/new", body))
      assert.strictEqual(error._tag, "BlobStoreError")
      if (error._tag !== "BlobStoreError") return
      assert.strictEqual(error.reason._tag, "BlobStoreUnavailable")
      assert.isTrue(error.isRetryable)
      assert.include(error.message, `http://127.0.0.1:${emulator!.port}/devstoreaccount1/faults`)
      assert.include(error.message, "put of fault/new")
      assert.notInclude(error.message, "AccountKey")
      assert.notInclude(error.message, "Eby8vdM02")
      const readError = yield* Effect.flip(getBlobBytes(blobs, "fault/kept"))
      assert.strictEqual(readError.reason._tag, "BlobStoreUnavailable")
      yield* Effect.promise(() => emulator!.restart())
      // Nothing of the failed put is visible; the same put again stores it whole.
      assert.isTrue(Option.isNone(yield* blobs.head("fault/new")))
      yield* blobs.put("fault/new", Stream.fromIterable([block, block]))
      assert.deepStrictEqual(yield* blobs.head("fault/new"), Option.some({ name: "fault/new", size: 2 * AZURE_BLOCK_BYTES }))
      assert.strictEqual(new TextDecoder().decode(yield* getBlobBytes(blobs, "fault/kept")), "before")
    }).pipe(Effect.provide(storeLayer("faults", 1))), 60_000)

  it.effect("a wrong account key is a non-retryable failure, and the key is in no message", () =>
    Effect.gen(function*() {
      const wrong = emulator!.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from("not the key at all").toString("base64")}`)
      const error = yield* Effect.flip(Effect.gen(function*() {
        const blobs = yield* BlobStore
        yield* blobs.put("auth/x", new Uint8Array([1]))
      }).pipe(Effect.provide(AzureBlobStore.layerWith({ connectionString: Redacted.make(wrong), container: "auth", maxTries: 1 }))))
      assert.strictEqual(error.reason._tag, "BlobStorageFailure")
      assert.isFalse(error.isRetryable)
      assert.include(error.message, "403")
      assert.notInclude(error.message, Buffer.from("not the key at all").toString("base64"))
    }))

  it.effect("a connection string not set or not valid fails the first operation, saying where it comes from and not what it holds", () =>
    Effect.gen(function*() {
      const attempt = (connectionString: Redacted.Redacted<string> | undefined) =>
        Effect.flip(Effect.flatMap(BlobStore, (blobs) => blobs.head("x")).pipe(Effect.provide(AzureBlobStore.layerWith({
          connectionString,
          connectionStringSource: "the variable TEST_AZURE_CONNECTION",
          container: "bad"
        }))))
      const unset = yield* attempt(undefined)
      assert.strictEqual(unset.reason._tag, "BlobStorageFailure")
      assert.include(unset.message, "the variable TEST_AZURE_CONNECTION is not set")
      const invalid = yield* attempt(Redacted.make("AccountKey=s3cr3t-value;nonsense"))
      assert.include(invalid.message, "the variable TEST_AZURE_CONNECTION is not a valid Azure Storage connection string")
      assert.notInclude(invalid.message, "s3cr3t")
    }))

  it.effect("the location is the container's URL without a SAS", () =>
    Effect.gen(function*() {
      const blobs = yield* BlobStore.pipe(Effect.provide(AzureBlobStore.layerWith({
        connectionString: Redacted.make("BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2024&sig=SECRETSIG"),
        container: "builds"
      })))
      assert.strictEqual(blobs.location, "https://acct.blob.core.windows.net/builds")
      const keyed = yield* BlobStore.pipe(Effect.provide(AzureBlobStore.layerWith({
        connectionString: Redacted.make("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"),
        container: "builds"
      })))
      assert.strictEqual(keyed.location, "https://acct.blob.core.windows.net/builds")
    }))

  it.effect("append to a blob written whole by put is BlobConflict", () =>
    Effect.gen(function*() {
      const blobs = yield* BlobStore
      yield* blobs.put("whole", new Uint8Array([1]))
      assert.strictEqual((yield* Effect.flip(blobs.append("whole", new Uint8Array([2])))).reason._tag, "BlobConflict")
      assert.isTrue(Option.isSome(yield* blobs.head("whole")))
    }).pipe(Effect.provide(storeLayer("conflict"))))

  it.effect("readUrl is a SAS for reading this one blob, expiring after the lifetime asked; it cannot write", () =>
    Effect.gen(function*() {
      const blobs = yield* BlobStore
      yield* blobs.put("wheels/w/p/demo-1.0-py3-none-any.whl", new Uint8Array([1, 2, 3]))
      const before = Date.now()
      const url = new URL(Redacted.value(yield* blobs.readUrl("wheels/w/p/demo-1.0-py3-none-any.whl", { lifetimeSeconds: 600 })))
      assert.strictEqual(url.searchParams.get("sp"), "r")
      assert.strictEqual(url.searchParams.get("sr"), "b")
      const expires = Date.parse(url.searchParams.get("se")!)
      assert.isAtLeast(expires, before + 598_000)
      assert.isAtMost(expires, Date.now() + 601_000)
      const write = yield* Effect.promise(() =>
        fetch(url, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: new Uint8Array([9]) }))
      assert.strictEqual(write.status, 403)
      yield* Effect.promise(() => write.arrayBuffer())
    }).pipe(Effect.scoped, Effect.provide(storeLayer("read-url"))))
})
