/**
 * The log store on a blob store, so that Azure Blob storage can hold build logs: a log is the
 * append blob `<prefix>/<key>.log`, sealed by the empty blob `<key>.sealed` beside it, and marked
 * full by `<key>.truncated` once the truncation line is written (the same facts the file-system
 * store keeps as files). Followers poll, as they do there; a blob store has no notification.
 *
 * One writer per key (the build holding the lease) is assumed across processes; within this
 * process appends are serialised, so the size bound is kept exactly.
 *
 * @since 0.2.0
 */
import {
  BlobStore,
  type BlobStoreError,
  getBlobBytes,
  LogNotFound,
  LogSealed,
  LogStore,
  LogStoreError,
  MAX_LOG_BYTES
} from "@terrarium/domain"
import { Effect, Layer, Option, Semaphore } from "effect"
import { boundedLines, checkKey, linesOf, storageFailure } from "../LogLines.ts"

/** @since 0.2.0 @category models */
export interface BlobLogStoreOptions {
  /** The name prefix of the log blobs (default `logs`). */
  readonly prefix?: string | undefined
  /** How often a follower looks for new lines (default 1 s: each look is a request to the store). */
  readonly pollInterval?: import("effect").Duration.Input
}

const encoder = new TextEncoder()

const make = (options: BlobLogStoreOptions) => Effect.gen(function*() {
  const blobs = yield* BlobStore
  const lock = yield* Semaphore.make(1)
  const prefix = options.prefix ?? "logs"
  // A log key's segment may start with `.`, a blob name's may not: `~` is in no log key, so the escape is unambiguous.
  const blobName = (key: string, suffix: string) =>
    `${prefix}/${key.split("/").map((s) => s.startsWith(".") ? `~${s}` : s).join("/")}.${suffix}`
  const failed = (operation: string, key: string) => (error: BlobStoreError) => storageFailure(operation, key)(error)
  const exists = (key: string, suffix: string) =>
    blobs.head(blobName(key, suffix)).pipe(Effect.map(Option.isSome), Effect.mapError(failed("stat", key)))
  const mark = (key: string, suffix: string) =>
    blobs.put(blobName(key, suffix), new Uint8Array(0)).pipe(Effect.mapError(failed("seal", key)))

  const snapshot = (key: string) =>
    Effect.gen(function*() {
      yield* checkKey(key)
      // The seal is looked at first: a log sealed after this look is read once more next time.
      const sealed = yield* exists(key, "sealed")
      const bytes = yield* getBlobBytes(blobs, blobName(key, "log"), MAX_LOG_BYTES + 65_536).pipe(
        Effect.mapError((error) =>
          error.reason._tag === "BlobNotFound"
            ? new LogStoreError({ reason: new LogNotFound({ key }) })
            : storageFailure("read", key)(error))
      )
      const lines = new TextDecoder().decode(bytes).split("\n")
      // A last line without its `\n` is still being written: it is read when complete.
      lines.pop()
      return { lines, sealed }
    })

  return LogStore.of({
    location: `${blobs.location}/${prefix}`,
    append: (key, lines) =>
      lock.withPermits(1)(Effect.gen(function*() {
        yield* checkKey(key)
        if (yield* exists(key, "sealed")) return yield* Effect.fail(new LogStoreError({ reason: new LogSealed({ key }) }))
        const stored = yield* blobs.head(blobName(key, "log")).pipe(Effect.mapError(failed("stat", key)))
        const truncated = yield* exists(key, "truncated")
        const kept = boundedLines(lines, Option.match(stored, { onNone: () => 0, onSome: (info) => info.size }), truncated)
        const text = kept.lines.map((line) => `${line}\n`).join("")
        if (text.length > 0 || Option.isNone(stored)) {
          yield* blobs.append(blobName(key, "log"), encoder.encode(text)).pipe(Effect.mapError(failed("append", key)))
        }
        if (kept.truncated && !truncated) yield* mark(key, "truncated")
      })),
    seal: (key) =>
      lock.withPermits(1)(Effect.gen(function*() {
        yield* checkKey(key)
        yield* blobs.append(blobName(key, "log"), new Uint8Array(0)).pipe(Effect.mapError(failed("seal", key)))
        yield* mark(key, "sealed")
      })),
    read: (key, readOptions) => linesOf(snapshot(key), readOptions?.follow ?? false, options.pollInterval ?? "1 second"),
    status: (key) =>
      Effect.gen(function*() {
        yield* checkKey(key)
        return { exists: yield* exists(key, "log"), sealed: yield* exists(key, "sealed") }
      })
  })
})

/**
 * The log store on whatever `BlobStore` is provided.
 *
 * @since 0.2.0
 */
export const BlobLogStore = {
  /** @since 0.2.0 @category layers */
  layerWith: (options: BlobLogStoreOptions = {}): Layer.Layer<LogStore, never, BlobStore> =>
    Layer.effect(LogStore, make(options))
} as const
