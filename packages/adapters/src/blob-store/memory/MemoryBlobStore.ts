/**
 * The blob store in memory, for unit tests of the app: blobs in a map, each marked as written
 * whole (`put`) or appended, so that `append` to a `put` blob is refused as on Azure.
 *
 * @since 0.2.0
 */
import { BlobConflict, BlobNotFound, BlobStore, BlobStoreError, checkBlobName, checkBlobPrefix, concatBytes } from "@terrarium/domain"
import { Effect, Layer, Option, Stream } from "effect"
import { blobLimit, boundedBody, tooLarge } from "../BlobBody.ts"
import { loopbackReadUrl } from "../LoopbackBlobUrl.ts"

interface StoredBlob {
  readonly bytes: Uint8Array
  readonly appendable: boolean
}

const make = Effect.sync(() => {
  const blobs = new Map<string, StoredBlob>()
  const store: BlobStore["Service"] = BlobStore.of({
    // Served on 127.0.0.1 under a random path while the scope lasts (LoopbackBlobUrl.ts).
    readUrl: (name, urlOptions) => loopbackReadUrl(store)(name, urlOptions),
    location: "memory",
    put: (name, body, options) =>
      Effect.gen(function*() {
        yield* checkBlobName(name)
        const chunks = yield* Stream.runCollect(boundedBody(name, body, blobLimit(options)))
        blobs.set(name, { bytes: concatBytes(chunks), appendable: false })
      }),
    append: (name, bytes, options) =>
      Effect.gen(function*() {
        yield* checkBlobName(name)
        const stored = blobs.get(name) ?? { bytes: new Uint8Array(0), appendable: true }
        if (!stored.appendable) {
          return yield* Effect.fail(new BlobStoreError({ reason: new BlobConflict({ name, detail: "it was written whole by put and cannot be appended to" }) }))
        }
        const limit = blobLimit(options)
        if (stored.bytes.length + bytes.length > limit) return yield* tooLarge(name, limit)
        blobs.set(name, { bytes: concatBytes([stored.bytes, bytes]), appendable: true })
      }),
    get: (name) =>
      Stream.unwrap(Effect.gen(function*() {
        yield* checkBlobName(name)
        const stored = blobs.get(name)
        if (stored === undefined) return yield* Effect.fail(new BlobStoreError({ reason: new BlobNotFound({ name }) }))
        return Stream.fromIterable([stored.bytes.slice()])
      })),
    head: (name) =>
      Effect.map(checkBlobName(name), () =>
        Option.map(Option.fromUndefinedOr(blobs.get(name)), (stored) => ({ name, size: stored.bytes.length }))),
    list: (prefix) =>
      Stream.unwrap(Effect.map(checkBlobPrefix(prefix), () =>
        Stream.fromIterable(
          [...blobs.entries()].filter(([name]) => name.startsWith(prefix)).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
            .map(([name, stored]) => ({ name, size: stored.bytes.length }))
        ))),
    delete: (name) => Effect.map(checkBlobName(name), () => blobs.delete(name))
  })
  return store
})

/**
 * The in-memory blob store: each layer build starts empty.
 *
 * @since 0.2.0
 */
export const MemoryBlobStore = {
  /** @since 0.2.0 @category layers */
  layer: Layer.effect(BlobStore, make) as Layer.Layer<BlobStore>
} as const
