/**
 * The blob store on the file system: the blob `a/b/c` is the file `<root>/a/b/c`. A `put` writes
 * a temporary file beside the target (`.tmp-<random>`; blob names never start a segment
 * with `.`, so no blob can be one) and renames it over the target, so readers see the old blob
 * or the new one. `append` writes at the end of the file, as Azure's append blobs do. The root
 * is `$TERRARIUM_HOME/blobs` by default.
 *
 * @since 0.2.0
 */
import {
  type BlobInfo,
  BlobConflict,
  BlobNotFound,
  BlobStore,
  BlobStoreError,
  blobStorageFailure,
  checkBlobName,
  checkBlobPrefix
} from "@terrarium/domain"
import { Effect, Exit, FileSystem, Layer, Option, Path, PlatformError, Stream } from "effect"
import { blobLimit, boundedBody, tooLarge } from "../BlobBody.ts"
import { loopbackReadUrl } from "../LoopbackBlobUrl.ts"

/** @since 0.2.0 @category models */
export interface FileSystemBlobStoreOptions {
  /** The directory the blobs are kept in (made when the first blob is written). */
  readonly root: string
}

const isNotFound = (error: PlatformError.PlatformError) => error.reason._tag === "NotFound"

const make = (options: FileSystemBlobStoreOptions) => Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const fileOf = (name: string) => path.join(options.root, ...name.split("/"))
  const conflict = (name: string, detail: string) =>
    Effect.fail(new BlobStoreError({ reason: new BlobConflict({ name, detail }) }))

  /** The file's size, none when there is no file; a directory is no blob (it holds blobs below it). */
  const sizeOf = (name: string) =>
    fs.stat(fileOf(name)).pipe(
      Effect.map((info) => info.type === "File" ? Option.some(Number(info.size)) : Option.none<number>()),
      Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<number>())),
      // `a/b` asked for where `a` is a file: no such blob.
      Effect.catchIf((e) => e.reason._tag === "Unknown" && String(e.message).includes("ENOTDIR"), () => Effect.succeed(Option.none<number>())),
      Effect.mapError(blobStorageFailure("head", name))
    )

  /** Makes the blob's directory; a blob `a` where `a/b` must go is a conflict. */
  const ensureDirectory = (name: string) =>
    fs.makeDirectory(path.dirname(fileOf(name)), { recursive: true }).pipe(
      Effect.catch((error) =>
        error.reason._tag === "AlreadyExists" || String(error.message).includes("ENOTDIR")
          ? conflict(name, "a blob is named like one of its folders; on the file system one name cannot be both")
          : Effect.fail(blobStorageFailure("create", name)(error))
      )
    )

  const refuseFolder = (name: string) =>
    fs.stat(fileOf(name)).pipe(
      Effect.option,
      Effect.flatMap((info) =>
        Option.isSome(info) && info.value.type === "Directory"
          ? conflict(name, "other blobs are named below it; on the file system one name cannot be both")
          : Effect.void)
    )

  const put = <E>(name: string, body: Uint8Array | Stream.Stream<Uint8Array, E>, putOptions?: { readonly maxBytes?: number | undefined }) =>
    Effect.gen(function*() {
      yield* checkBlobName(name)
      yield* refuseFolder(name)
      yield* ensureDirectory(name)
      const target = fileOf(name)
      const temporary = path.join(path.dirname(target), `.tmp-${crypto.randomUUID()}`)
      yield* Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(temporary, { flag: "wx" }).pipe(Effect.mapError(blobStorageFailure("put", name)))
        yield* Stream.runForEach(boundedBody(name, body, blobLimit(putOptions)), (chunk) =>
          file.writeAll(chunk).pipe(Effect.mapError(blobStorageFailure("put", name))))
        yield* file.sync.pipe(Effect.mapError(blobStorageFailure("put", name)))
      })).pipe(
        Effect.flatMap(() => fs.rename(temporary, target).pipe(Effect.mapError(blobStorageFailure("put", name)))),
        // Whatever went wrong (the body's stream failed, too large, interrupted), no temporary file stays.
        Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : fs.remove(temporary).pipe(Effect.ignore))
      )
    })

  const store: BlobStore["Service"] = BlobStore.of({
    // Served on 127.0.0.1 under a random path while the scope lasts (LoopbackBlobUrl.ts).
    readUrl: (name, urlOptions) => loopbackReadUrl(store)(name, urlOptions),
    location: `file://${options.root}`,
    put,
    append: (name, bytes, appendOptions) =>
      Effect.gen(function*() {
        yield* checkBlobName(name)
        yield* refuseFolder(name)
        const limit = blobLimit(appendOptions)
        const size = Option.getOrElse(yield* sizeOf(name), () => 0)
        if (size + bytes.length > limit) return yield* tooLarge(name, limit)
        yield* ensureDirectory(name)
        yield* fs.writeFile(fileOf(name), bytes, { flag: "a" }).pipe(Effect.mapError(blobStorageFailure("append", name)))
      }),
    get: (name) =>
      Stream.unwrap(Effect.gen(function*() {
        yield* checkBlobName(name)
        if (Option.isNone(yield* sizeOf(name))) {
          return yield* Effect.fail(new BlobStoreError({ reason: new BlobNotFound({ name }) }))
        }
        return fs.stream(fileOf(name), { chunkSize: 64 * 1024 }).pipe(
          Stream.mapError((error) =>
            isNotFound(error)
              ? new BlobStoreError({ reason: new BlobNotFound({ name }) })
              : blobStorageFailure("get", name)(error))
        )
      })),
    head: (name) =>
      Effect.gen(function*() {
        yield* checkBlobName(name)
        return Option.map(yield* sizeOf(name), (size): BlobInfo => ({ name, size }))
      }),
    list: (prefix) =>
      Stream.unwrap(Effect.gen(function*() {
        yield* checkBlobPrefix(prefix)
        // Only the folder the prefix points into is walked.
        const folder = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : ""
        const entries = yield* fs.readDirectory(folder === "" ? options.root : fileOf(folder), { recursive: true }).pipe(
          Effect.catchIf(isNotFound, () => Effect.succeed([] as Array<string>)),
          Effect.catchIf((e) => String(e.message).includes("ENOTDIR"), () => Effect.succeed([] as Array<string>)),
          Effect.mapError(blobStorageFailure("list", prefix))
        )
        const names = entries
          .map((entry) => (folder === "" ? entry : `${folder}/${entry}`).split(path.sep).join("/"))
          .filter((name) => name.startsWith(prefix) && name.split("/").every((segment) => !segment.startsWith(".")))
          .sort()
        const infos: Array<BlobInfo> = []
        for (const name of names) {
          const size = yield* sizeOf(name)
          if (Option.isSome(size)) infos.push({ name, size: size.value })
        }
        return Stream.fromIterable(infos)
      })),
    delete: (name) =>
      Effect.gen(function*() {
        yield* checkBlobName(name)
        if (Option.isNone(yield* sizeOf(name))) return false
        return yield* fs.remove(fileOf(name)).pipe(
          Effect.as(true),
          Effect.catchIf(isNotFound, () => Effect.succeed(false)),
          Effect.mapError(blobStorageFailure("delete", name))
        )
      })
  })
  return store
})

/**
 * The file-system blob store.
 *
 * @since 0.2.0
 */
export const FileSystemBlobStore = {
  /** @since 0.2.0 @category layers */
  layerWith: (options: FileSystemBlobStoreOptions): Layer.Layer<BlobStore, never, FileSystem.FileSystem | Path.Path> =>
    Layer.effect(BlobStore, make(options))
} as const
