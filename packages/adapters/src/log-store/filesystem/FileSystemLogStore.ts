/**
 * The log store on the file system: a log is the text file `<root>/<key>.log`, sealed by the
 * empty file `<root>/<key>.sealed` beside it (the blob store of the next issue keeps the same
 * two facts as a blob and its metadata). The root is `$TERRARIUM_HOME/logs` by default.
 *
 * One writer per key (the build holding the lease) is assumed across processes; within this
 * process appends are serialised, so the size bound is kept exactly.
 *
 * @since 0.2.0
 */
import { LogNotFound, LogSealed, LogStore, LogStoreError } from "@terrarium/domain"
import { Effect, FileSystem, Layer, Option, Path, Semaphore } from "effect"
import { boundedLines, checkKey, linesOf, storageFailure, TRUNCATED_TAIL } from "../LogLines.ts"

/** @since 0.2.0 @category models */
export interface FileSystemLogStoreOptions {
  /** The directory the logs are kept in (made when the first log is written). */
  readonly root: string
  /** How often a follower looks for new lines (default 100 ms). */
  readonly pollInterval?: import("effect").Duration.Input
}

const make = (options: FileSystemLogStoreOptions) => Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const lock = yield* Semaphore.make(1)
  const logFile = (key: string) => path.join(options.root, `${key}.log`)
  const sealFile = (key: string) => path.join(options.root, `${key}.sealed`)
  const exists = (key: string, file: string) => fs.exists(file).pipe(Effect.mapError(storageFailure("stat", key)))

  const ensureDirectory = (key: string) =>
    fs.makeDirectory(path.dirname(logFile(key)), { recursive: true }).pipe(Effect.mapError(storageFailure("create", key)))

  const refuseSealed = (key: string) =>
    Effect.flatMap(exists(key, sealFile(key)), (sealed) =>
      sealed ? Effect.fail(new LogStoreError({ reason: new LogSealed({ key }) })) : Effect.void)

  /** The log's size, and whether it ends with the truncation line (then it is full). */
  const stored = (key: string) =>
    Effect.gen(function*() {
      if (!(yield* exists(key, logFile(key)))) return { bytes: 0, truncated: false }
      const bytes = Number((yield* fs.stat(logFile(key))).size)
      if (bytes < TRUNCATED_TAIL.length) return { bytes, truncated: false }
      const file = yield* fs.open(logFile(key), { flag: "r" })
      const tail = yield* file.readAlloc(TRUNCATED_TAIL.length, { position: BigInt(bytes - TRUNCATED_TAIL.length) })
      const truncated = Option.isSome(tail) && tail.value.every((byte, i) => byte === TRUNCATED_TAIL[i])
      return { bytes, truncated }
    }).pipe(Effect.scoped, Effect.mapError(storageFailure("stat", key)))

  const snapshot = (key: string) =>
    Effect.gen(function*() {
      yield* checkKey(key)
      // The seal is looked at first: a log sealed after this look is read once more next time.
      const sealed = yield* exists(key, sealFile(key))
      if (!(yield* exists(key, logFile(key)))) {
        return yield* Effect.fail(new LogStoreError({ reason: new LogNotFound({ key }) }))
      }
      const text = yield* fs.readFileString(logFile(key)).pipe(Effect.mapError(storageFailure("read", key)))
      const lines = text.split("\n")
      // A last line without its `\n` is still being written: it is read when complete.
      lines.pop()
      return { lines, sealed }
    })

  return LogStore.of({
    location: `file://${options.root}`,
    append: (key, lines) =>
      lock.withPermits(1)(Effect.gen(function*() {
        yield* checkKey(key)
        yield* refuseSealed(key)
        yield* ensureDirectory(key)
        const before = yield* stored(key)
        const kept = boundedLines(lines, before.bytes, before.truncated)
        if (kept.lines.length === 0) {
          if (!(yield* exists(key, logFile(key)))) {
            yield* fs.writeFileString(logFile(key), "", { flag: "a" }).pipe(Effect.mapError(storageFailure("append", key)))
          }
          return
        }
        yield* fs.writeFileString(logFile(key), kept.lines.map((l) => `${l}\n`).join(""), { flag: "a" })
          .pipe(Effect.mapError(storageFailure("append", key)))
      })),
    seal: (key) =>
      lock.withPermits(1)(Effect.gen(function*() {
        yield* checkKey(key)
        yield* ensureDirectory(key)
        yield* fs.writeFileString(logFile(key), "", { flag: "a" }).pipe(Effect.mapError(storageFailure("seal", key)))
        yield* fs.writeFileString(sealFile(key), "").pipe(Effect.mapError(storageFailure("seal", key)))
      })),
    read: (key, readOptions) => linesOf(snapshot(key), readOptions?.follow ?? false, options.pollInterval ?? "100 millis"),
    status: (key) =>
      Effect.gen(function*() {
        yield* checkKey(key)
        return { exists: yield* exists(key, logFile(key)), sealed: yield* exists(key, sealFile(key)) }
      })
  })
})

/**
 * The file-system log store.
 *
 * @since 0.2.0
 */
export const FileSystemLogStore = {
  /** @since 0.2.0 @category layers */
  layerWith: (options: FileSystemLogStoreOptions): Layer.Layer<LogStore, never, FileSystem.FileSystem | Path.Path> =>
    Layer.effect(LogStore, make(options))
} as const
