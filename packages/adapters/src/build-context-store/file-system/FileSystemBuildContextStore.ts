/**
 * The build-context store on the file system (`$TERRARIUM_HOME/build-contexts` by default), until
 * the blob storage issue moves it to blob storage. Content-addressed twice over:
 *
 * - `files/<sha256>`: the bytes of each file, named by their SHA-256, so a file that several
 *   contexts hold (a shared `requirements.txt`) is kept once;
 * - `contexts/<sha256>.json`: a context's index, named by its digest: its entries as
 *   `ContextDigest` digests them (path, SHA-256 and execute bit of a file; target of a link).
 *
 * Every file is written to a temporary name beside its final one, flushed, then renamed over it:
 * a reader sees a whole file or none, and a crash leaves at worst a stray temporary file. The
 * index is written last, so a context is there once its index is, with every file it names.
 * Reading trusts nothing on disk: the index is bounded, decoded and digested again, each file's
 * size is bounded (`MAX_BUILD_CONTEXT_BYTES` in all) and its content hashed again, and any
 * difference is `ContextCorrupted`. Storing a context whose stored copy is damaged writes it again.
 *
 * @since 0.2.0
 */
import {
  type BuildContextEntry,
  BuildContextStore,
  BuildContextStoreError,
  checkContextDigest,
  ContextCorrupted,
  ContextDigest,
  contextFileSha256,
  ContextNotFound,
  contextStoreFailure,
  MAX_BUILD_CONTEXT_BYTES,
  MAX_BUILD_CONTEXT_ENTRIES,
  verifyBuildContext
} from "@terrarium/domain"
import { Effect, FileSystem, Layer, Path, type PlatformError, Schema } from "effect"
import { randomUUID } from "node:crypto"

/** @since 0.2.0 @category model */
export interface FileSystemBuildContextStoreOptions {
  /** The store's directory; made (with its parents) when the first context is stored. */
  readonly directory: string
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

const isMissing = (error: PlatformError.PlatformError) => error._tag === "PlatformError" && error.reason._tag === "NotFound"

const make = (options: FileSystemBuildContextStoreOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const filesDir = path.join(options.directory, "files")
    const contextsDir = path.join(options.directory, "contexts")
    const indexOf = (digest: string) => path.join(contextsDir, `${digest.slice("sha256:".length)}.json`)
    const fileOf = (sha256: string) => path.join(filesDir, sha256)

    const onDisk = <A>(operation: string, effect: Effect.Effect<A, PlatformError.PlatformError>) =>
      Effect.mapError(effect, (cause) => contextStoreFailure(operation, cause))

    const corrupted = (digest: string, detail: string) =>
      Effect.fail(new BuildContextStoreError({ reason: new ContextCorrupted({ digest, location: options.directory, detail }) }))

    /** The size of a file, or `undefined` when there is none. */
    const sizeOf = (file: string) =>
      fs.stat(file).pipe(
        Effect.map((info) => (info.type === "File" ? Number(info.size) : -1)),
        Effect.catch((error) => (isMissing(error) ? Effect.succeed(undefined) : Effect.fail(error)))
      )

    /** Writes `bytes` to a temporary file beside `file`, flushes it, and renames it over `file`. */
    const writeAtomically = (file: string, bytes: Uint8Array) => {
      const temporary = `${file}.${randomUUID()}.tmp`
      const write = Effect.scoped(Effect.gen(function*() {
        const handle = yield* fs.open(temporary, { flag: "wx", mode: 0o644 })
        yield* handle.writeAll(bytes)
        yield* handle.sync
      }))
      return onDisk(
        `write ${file}`,
        write.pipe(
          Effect.andThen(fs.rename(temporary, file)),
          Effect.onError(() => Effect.ignore(fs.remove(temporary)))
        )
      )
    }

    const get = (digest: string) =>
      Effect.gen(function*() {
        yield* checkContextDigest(digest)
        const index = indexOf(digest)
        const indexSize = yield* onDisk(`read ${index}`, sizeOf(index))
        if (indexSize === undefined) {
          return yield* Effect.fail(new BuildContextStoreError({ reason: new ContextNotFound({ digest }) }))
        }
        if (indexSize < 0 || indexSize > MAX_INDEX_BYTES) return yield* corrupted(digest, `its index ${index} is not a file of at most ${MAX_INDEX_BYTES} bytes`)
        const text = yield* onDisk(`read ${index}`, fs.readFileString(index))
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
          const size = yield* onDisk(`read ${file}`, sizeOf(file))
          if (size === undefined || size < 0) return yield* corrupted(digest, `the content of ${entry.path} (${file}) is missing`)
          bytes += size
          if (bytes > MAX_BUILD_CONTEXT_BYTES) return yield* corrupted(digest, `its files hold more than ${MAX_BUILD_CONTEXT_BYTES} bytes`)
          const content = yield* onDisk(`read ${file}`, fs.readFile(file))
          if ((yield* contextFileSha256(content)) !== entry.sha256) {
            return yield* corrupted(digest, `the content of ${entry.path} (${file}) no longer has the digest it was stored under`)
          }
          entries.push({ path: entry.path, executable: entry.executable, content })
        }
        return { digest, entries }
      })

    return BuildContextStore.of({
      location: options.directory,
      get,
      has: (digest) =>
        checkContextDigest(digest).pipe(Effect.flatMap(() => onDisk(`read ${indexOf(digest)}`, fs.exists(indexOf(digest))))),
      put: (context) =>
        Effect.gen(function*() {
          const digested = yield* verifyBuildContext(context)
          // Already there and intact: nothing to do. Damaged: written again below.
          const stored = yield* get(context.digest).pipe(
            Effect.as(true),
            Effect.catch((error) =>
              error.reason._tag === "ContextNotFound" || error.reason._tag === "ContextCorrupted"
                ? Effect.succeed(false)
                : Effect.fail(error)
            )
          )
          if (stored) return
          yield* onDisk(`make ${filesDir}`, fs.makeDirectory(filesDir, { recursive: true }))
          yield* onDisk(`make ${contextsDir}`, fs.makeDirectory(contextsDir, { recursive: true }))
          for (const [i, entry] of digested.entries()) {
            if (entry.type === "file") yield* writeAtomically(fileOf(entry.sha256), context.entries[i]!.content)
          }
          const sorted = ContextDigest.contextDocument(digested) as ReadonlyArray<typeof IndexEntry.Type>
          yield* writeAtomically(indexOf(context.digest), new TextEncoder().encode(encodeIndex({ format: 1, entries: sorted })))
        })
    })
  })

/**
 * @since 0.2.0
 * @category layers
 */
export const FileSystemBuildContextStore = {
  /** The store in `options.directory`, on the context's `FileSystem` and `Path`. */
  layerWith: (options: FileSystemBuildContextStoreOptions): Layer.Layer<BuildContextStore, never, FileSystem.FileSystem | Path.Path> =>
    Layer.effect(BuildContextStore, make(options))
} as const
