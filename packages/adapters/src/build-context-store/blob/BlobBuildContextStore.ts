/**
 * The build-context store on a blob store: on the file system (`$TERRARIUM_HOME/build-contexts`,
 * through `FileSystemBuildContextStore`) or on Azure Blob storage. Content-addressed twice over:
 *
 * - `files/<sha256>`: the bytes of each file, named by their SHA-256, so a file that several
 *   contexts hold (a shared `requirements.txt`) is kept once;
 * - `contexts/<sha256>.json`: a context's index, named by its digest: its entries as
 *   `ContextDigest` digests them (path, SHA-256 and execute bit of a file; target of a link).
 *
 * Every blob is written whole or not at all (`BlobStore.put`), and the index is written last, so
 * a context is there once its index is, with every file it names. Reading trusts nothing stored:
 * the index is bounded, decoded and digested again, each file's size is bounded
 * (`MAX_BUILD_CONTEXT_BYTES` in all) and its content hashed again, and any difference is
 * `ContextCorrupted`. Storing a context whose stored copy is damaged writes it again.
 *
 * @since 0.2.0
 */
import {
  BlobStore,
  type BlobStoreError,
  type BuildContextEntry,
  BuildContextStore,
  BuildContextStoreError,
  checkContextDigest,
  ContextCorrupted,
  ContextDigest,
  contextFileSha256,
  ContextNotFound,
  contextStoreFailure,
  getBlobBytes,
  MAX_BUILD_CONTEXT_BYTES,
  MAX_BUILD_CONTEXT_ENTRIES,
  verifyBuildContext
} from "@terrarium/domain"
import { Effect, Layer, Option, Schema } from "effect"

/** @since 0.2.0 @category model */
export interface BlobBuildContextStoreOptions {
  /** The name prefix of the store's blobs (default `build-contexts`; `""`: none). */
  readonly prefix?: string | undefined
  /** Where the contexts are, for messages (default: the blob store's location and the prefix). */
  readonly location?: string | undefined
}

/**
 * The largest index read: a generous bound on the JSON of `MAX_BUILD_CONTEXT_ENTRIES` entries
 * with ordinary paths. An index larger than this was not written by this store.
 */
const MAX_INDEX_BYTES = 64 * 1_048_576

const SHA256_HEX = /^[0-9a-f]{64}$/

const IndexEntry = Schema.Union([
  Schema.Struct({ type: Schema.Literal("file"), path: Schema.String, sha256: Schema.String, executable: Schema.Boolean }),
  Schema.Struct({ type: Schema.Literal("symlink"), path: Schema.String, target: Schema.String })
])

/** The index of a stored context. `format` says how to read the rest, should it ever change. */
const ContextIndex = Schema.Struct({ format: Schema.Literal(1), entries: Schema.Array(IndexEntry) })
const decodeIndex = Schema.decodeUnknownEffect(Schema.fromJsonString(ContextIndex))
const encodeIndex = Schema.encodeSync(Schema.fromJsonString(ContextIndex))

const make = (options: BlobBuildContextStoreOptions) =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    const prefix = options.prefix ?? "build-contexts"
    const named = (name: string) => prefix === "" ? name : `${prefix}/${name}`
    const location = options.location ?? named(`${blobs.location}/`).replace(/\/$/, "")
    const indexOf = (digest: string) => named(`contexts/${digest.slice("sha256:".length)}.json`)
    const fileOf = (sha256: string) => named(`files/${sha256}`)

    const inStore = <A>(operation: string, effect: Effect.Effect<A, BlobStoreError>) =>
      Effect.mapError(effect, (cause) => contextStoreFailure(operation, cause))

    const corrupted = (digest: string, detail: string) =>
      Effect.fail(new BuildContextStoreError({ reason: new ContextCorrupted({ digest, location, detail }) }))

    /** The size of a blob, or `undefined` when there is none. */
    const sizeOf = (name: string) => Effect.map(blobs.head(name), (info) => Option.getOrUndefined(Option.map(info, (i) => i.size)))

    const get = (digest: string) =>
      Effect.gen(function*() {
        yield* checkContextDigest(digest)
        const index = indexOf(digest)
        const indexSize = yield* inStore(`read ${index}`, sizeOf(index))
        if (indexSize === undefined) {
          return yield* Effect.fail(new BuildContextStoreError({ reason: new ContextNotFound({ digest }) }))
        }
        if (indexSize > MAX_INDEX_BYTES) return yield* corrupted(digest, `its index ${index} is larger than ${MAX_INDEX_BYTES} bytes`)
        const text = new TextDecoder().decode(yield* inStore(`read ${index}`, getBlobBytes(blobs, index, MAX_INDEX_BYTES)))
        const decoded = yield* decodeIndex(text).pipe(
          Effect.catch(() => corrupted(digest, `its index ${index} cannot be read`))
        )
        if (decoded.entries.length > MAX_BUILD_CONTEXT_ENTRIES) return yield* corrupted(digest, `its index lists more than ${MAX_BUILD_CONTEXT_ENTRIES} entries`)
        const seen = new Set<string>()
        for (const entry of decoded.entries) {
          const wrong = !ContextDigest.isContextPath(entry.path) || seen.has(entry.path) ||
            (entry.type === "file" && !SHA256_HEX.test(entry.sha256))
          if (wrong) return yield* corrupted(digest, `its index has an entry that no context can have ("${entry.path.slice(0, 200)}")`)
          seen.add(entry.path)
        }
        if ((yield* ContextDigest.contextDigest(decoded.entries)) !== digest) {
          return yield* corrupted(digest, `its index ${index} does not digest to it`)
        }
        let bytes = 0
        const entries: Array<BuildContextEntry> = []
        for (const entry of decoded.entries) {
          if (entry.type === "symlink") {
            entries.push({ path: entry.path, executable: false, content: new Uint8Array(0), linkTarget: entry.target })
            continue
          }
          const file = fileOf(entry.sha256)
          const size = yield* inStore(`read ${file}`, sizeOf(file))
          if (size === undefined) return yield* corrupted(digest, `the content of ${entry.path} (${file}) is missing`)
          bytes += size
          if (bytes > MAX_BUILD_CONTEXT_BYTES) return yield* corrupted(digest, `its files hold more than ${MAX_BUILD_CONTEXT_BYTES} bytes`)
          const content = yield* inStore(`read ${file}`, getBlobBytes(blobs, file, size))
          if ((yield* contextFileSha256(content)) !== entry.sha256) {
            return yield* corrupted(digest, `the content of ${entry.path} (${file}) no longer has the digest it was stored under`)
          }
          entries.push({ path: entry.path, executable: entry.executable, content })
        }
        return { digest, entries }
      })

    return BuildContextStore.of({
      location,
      get,
      has: (digest) =>
        checkContextDigest(digest).pipe(Effect.flatMap(() => inStore(`read ${indexOf(digest)}`, Effect.map(blobs.head(indexOf(digest)), Option.isSome)))),
      put: (context) =>
        Effect.gen(function*() {
          const digested = yield* verifyBuildContext(context)
          // Already there and intact: nothing to do. Damaged: written again below.
          const intact = yield* get(context.digest).pipe(
            Effect.as(true),
            Effect.catch((error) =>
              error.reason._tag === "ContextNotFound" || error.reason._tag === "ContextCorrupted"
                ? Effect.succeed(false)
                : Effect.fail(error)
            )
          )
          if (intact) return
          for (const [i, entry] of digested.entries()) {
            if (entry.type === "file") {
              yield* inStore(`write ${fileOf(entry.sha256)}`, blobs.put(fileOf(entry.sha256), context.entries[i]!.content))
            }
          }
          const sorted = ContextDigest.contextDocument(digested) as ReadonlyArray<typeof IndexEntry.Type>
          const index = new TextEncoder().encode(encodeIndex({ format: 1, entries: sorted }))
          yield* inStore(`write ${indexOf(context.digest)}`, blobs.put(indexOf(context.digest), index))
        })
    })
  })

/**
 * @since 0.2.0
 * @category layers
 */
export const BlobBuildContextStore = {
  /** The store on the context's `BlobStore`. */
  layerWith: (options: BlobBuildContextStoreOptions = {}): Layer.Layer<BuildContextStore, never, BlobStore> =>
    Layer.effect(BuildContextStore, make(options))
} as const
