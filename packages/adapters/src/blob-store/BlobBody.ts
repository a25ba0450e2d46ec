/**
 * What every blob store does to a `put` body: one stream of chunks, counted against the bound,
 * so that a body over it fails with `BlobTooLarge` before the adapter commits anything.
 *
 * @since 0.2.0
 */
import { BlobStoreError, BlobTooLarge, MAX_BLOB_BYTES, type PutBlobOptions } from "@terrarium/domain"
import { Effect, Stream } from "effect"

/** The bound `options` set, or `MAX_BLOB_BYTES`. @since 0.2.0 */
export const blobLimit = (options: PutBlobOptions | undefined): number =>
  Math.min(options?.maxBytes ?? MAX_BLOB_BYTES, MAX_BLOB_BYTES)

/** The failure for a blob `name` over `limit`. @since 0.2.0 */
export const tooLarge = (name: string, limit: number) =>
  Effect.fail(new BlobStoreError({ reason: new BlobTooLarge({ name, limit }) }))

/**
 * The body as a stream of non-empty chunks that fails with `BlobTooLarge` as soon as the bytes
 * so far pass `limit`.
 *
 * @since 0.2.0
 */
export const boundedBody = <E>(
  name: string,
  body: Uint8Array | Stream.Stream<Uint8Array, E>,
  limit: number
): Stream.Stream<Uint8Array, E | BlobStoreError> => {
  const chunks: Stream.Stream<Uint8Array, E> = body instanceof Uint8Array ? Stream.fromIterable([body]) : body
  let size = 0
  return chunks.pipe(
    Stream.filter((chunk) => chunk.length > 0),
    Stream.mapEffect((chunk) => {
      size += chunk.length
      return size > limit ? tooLarge(name, limit) : Effect.succeed(chunk)
    })
  )
}
