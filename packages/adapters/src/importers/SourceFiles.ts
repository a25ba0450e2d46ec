/**
 * How importers read the files a definition refers to (conda files, `-r` includes, Dockerfiles),
 * and what they may read.
 *
 * Files are read through Effect's `FileSystem` service, so that the application chooses the file
 * system (the local disk in the CLI and the library, an in-memory one in tests) and importers
 * never touch `node:fs` themselves.
 *
 * What a definition may read: the environment file is the one the user named; every file it
 * refers to must be inside the environment file's own folder tree (a Dockerfile inside its build
 * context), judged on the real path, after `..` and symbolic links are resolved. `allowOutside`
 * (`--allow-outside DIR` on the command line) names more folders. Whatever the folder, only
 * regular files are read, told by their type (`stat`), not by where they are: a FIFO, socket or
 * device is refused, and so is a file whose size the system does not report as what it holds
 * (the pseudo-files of `/proc` and `/sys`, or a file being written). No file is read past
 * `maxFileBytes`, and `-r` includes nest at most `maxIncludeDepth` deep.
 *
 * @since 0.1.0
 */
import { describeCause } from "@terrarium/domain"
import { Config, Effect, FileSystem, Path, type PlatformError, Stream } from "effect"
import { importError, type ImportError } from "./ImportError.ts"

/**
 * True when a file-system call failed because the path is not there (`NotFound`, or `ENOTDIR`
 * when a parent is a file): the callers' "missing", as opposed to a file that cannot be read.
 *
 * @since 0.1.0
 * @category files
 */
export const isMissing = (error: PlatformError.PlatformError): boolean => {
  const reason = error.reason
  if (reason._tag === "NotFound") return true
  return (reason.cause as { code?: unknown } | null | undefined)?.code === "ENOTDIR"
}

/**
 * What went wrong, in the operating system's words when there are some (`EACCES: permission
 * denied, open '…'`), since that is what a person can act on.
 *
 * @since 0.1.0
 * @category files
 */
export const failureText = (error: PlatformError.PlatformError): string => {
  const cause = error.reason.cause
  return cause === undefined ? error.message : describeCause(cause)
}

// Node's `readFile(path, "utf8")` keeps a byte-order mark, and the text of a constraints file is
// hashed as read: the decoder must keep it too (TextDecoder drops it by default).
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true })

/**
 * The largest file an importer reads unless told otherwise (1 MiB): environment files, conda
 * files, requirements and Dockerfiles are far smaller, and a larger one is read whole into memory
 * and, for a Dockerfile, stored in the definition forever.
 *
 * @since 0.1.0
 * @category files
 */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024

/**
 * How deep `-r` includes may nest unless told otherwise.
 *
 * @since 0.1.0
 * @category files
 */
export const DEFAULT_MAX_INCLUDE_DEPTH = 16

/**
 * What an import may read, as the caller gives it (every field optional).
 *
 * @since 0.1.0
 * @category files
 */
export interface ReadOptions {
  /**
   * Folders outside the environment file's own that the files it refers to may also be in
   * (`--allow-outside DIR`). Each must exist; it is judged on its real path.
   */
  readonly allowOutside?: ReadonlyArray<string> | undefined
  /** The largest file read, in bytes (default: `TERRARIUM_MAX_FILE_BYTES`, else 1 MiB). */
  readonly maxFileBytes?: number | undefined
  /** How deep `-r` includes may nest (default: `TERRARIUM_MAX_INCLUDE_DEPTH`, else 16). */
  readonly maxIncludeDepth?: number | undefined
}

/**
 * What an import may read, settled: real paths, and the limits in force.
 *
 * @since 0.1.0
 * @category files
 */
export interface ReadScope {
  /** The real path of the environment file's folder: what is inside it may be read. */
  readonly root: string
  /** The folders given by `allowOutside`, real paths. */
  readonly allowOutside: ReadonlyArray<string>
  readonly maxFileBytes: number
  readonly maxIncludeDepth: number
}

/**
 * A limit: the positive whole number given in the options, else the environment variable's,
 * else the default; `at` names the file the error is reported against.
 *
 * @since 0.1.0
 * @category files
 */
export const limitSetting = (
  given: number | undefined,
  variable: string,
  fallback: number,
  at: string
): Effect.Effect<number, ImportError> =>
  Effect.gen(function*() {
    const value = given ?? (yield* Effect.mapError(
      Effect.gen(function*() {
        return yield* Config.Int(variable).pipe(Config.withDefault(fallback))
      }),
      () => importError({ file: at }, `${variable} must be a whole number`)
    ))
    if (!Number.isSafeInteger(value) || value < 1) {
      return yield* importError({ file: at }, `${given === undefined ? variable : "the limit"} must be a positive whole number, not ${value}`)
    }
    return value
  })

/**
 * The real path (`..` and links resolved), or `undefined` when there is nothing there.
 *
 * @since 0.1.0
 * @category files
 */
export const realPathOrMissing = (path: string): Effect.Effect<string | undefined, ImportError, FileSystem.FileSystem> =>
  FileSystem.FileSystem.use((fs) => fs.realPath(path)).pipe(
    Effect.catch((error) =>
      isMissing(error)
        ? Effect.succeed(undefined)
        : Effect.fail(importError({ file: path }, `cannot resolve the path: ${failureText(error)}`))
    )
  )

/**
 * Settles what an import of `file` may read (see the module notes).
 *
 * @since 0.1.0
 * @category files
 */
export const readScope = (
  file: string,
  options: ReadOptions = {}
): Effect.Effect<ReadScope, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const folder = path.dirname(file)
    const root = (yield* realPathOrMissing(folder)) ?? path.resolve(folder)
    const allowOutside: Array<string> = []
    for (const dir of options.allowOutside ?? []) {
      const real = yield* realPathOrMissing(dir)
      if (real === undefined) {
        return yield* importError({ file: dir }, "a folder allowed outside the environment's folder (--allow-outside) must exist")
      }
      allowOutside.push(real)
    }
    return {
      root,
      allowOutside,
      maxFileBytes: yield* limitSetting(options.maxFileBytes, "TERRARIUM_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES, file),
      maxIncludeDepth: yield* limitSetting(options.maxIncludeDepth, "TERRARIUM_MAX_INCLUDE_DEPTH", DEFAULT_MAX_INCLUDE_DEPTH, file)
    }
  })

/**
 * True when `real` is `dir` or inside it (both real paths).
 *
 * @since 0.1.0
 * @category files
 */
export const isInside = (path: Path.Path, dir: string, real: string): boolean => {
  const relative = path.relative(dir, real)
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative))
}

const TYPE_NAMES: Record<FileSystem.File.Type, string> = {
  File: "a regular file",
  Directory: "a directory",
  SymbolicLink: "a symbolic link",
  BlockDevice: "a block device",
  CharacterDevice: "a character device",
  FIFO: "a FIFO (named pipe)",
  Socket: "a socket",
  Unknown: "a file of unknown type"
}

/**
 * Where a file is named, for the errors about it.
 *
 * @since 0.1.0
 * @category files
 */
export interface FileReference {
  /** The file that names it, and the line and field that do. */
  readonly file: string
  readonly line?: number | undefined
  readonly field: string
  /** The name as written. */
  readonly name: string
}

const tooLarge = (at: { readonly file: string; readonly line?: number | undefined; readonly field?: string | undefined }, what: string, max: number) =>
  importError(
    at,
    `${what} is larger than the limit of ${max} bytes on a file an import reads; raise it with TERRARIUM_MAX_FILE_BYTES=N (or the maxFileBytes option)`
  )

/**
 * Reads a regular file whole, but never more than `maxBytes`: `undefined` when there is no such
 * file, an `ImportError` (reported `at`) when it is of another type, larger, or its size is not
 * what it holds.
 */
const readRegularFile = (
  real: string,
  what: string,
  at: { readonly file: string; readonly line?: number | undefined; readonly field?: string | undefined },
  maxBytes: number
): Effect.Effect<string | undefined, ImportError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const cannot = (error: PlatformError.PlatformError) => importError(at, `cannot read ${what}: ${failureText(error)}`)
    const info = yield* fs.stat(real).pipe(
      Effect.map((info): FileSystem.File.Info | undefined => info),
      Effect.catch((error) => (isMissing(error) ? Effect.succeed(undefined) : Effect.fail(cannot(error))))
    )
    if (info === undefined) return undefined
    if (info.type !== "File") {
      return yield* importError(at, `${what} is ${TYPE_NAMES[info.type]}; only regular files are read`)
    }
    if (Number(info.size) > maxBytes) return yield* tooLarge(at, what, maxBytes)
    // Read at most one byte past the limit, so that a file growing meanwhile is caught, not read whole.
    const chunks = yield* fs.stream(real, { bytesToRead: maxBytes + 1 }).pipe(Stream.runCollect, Effect.mapError(cannot))
    const bytes = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0))
    let offset = 0
    for (const chunk of chunks) {
      bytes.set(chunk, offset)
      offset += chunk.length
    }
    if (bytes.length > maxBytes) return yield* tooLarge(at, what, maxBytes)
    if (bytes.length !== Number(info.size)) {
      return yield* importError(
        at,
        `${what} does not hold the ${info.size} bytes its size says: it is a pseudo-file (as under /proc or /sys) or it changed while it was read; only regular files are read`
      )
    }
    return utf8.decode(bytes)
  })

/**
 * Reads the environment file the user named (UTF-8): `undefined` when there is no such file (the
 * callers decide whether a missing file is an error, a warning, or expected), an `ImportError`
 * when it cannot be read, is not a regular file, or is larger than `maxBytes`.
 *
 * @since 0.1.0
 * @category files
 */
export const readSourceFile = (
  path: string,
  maxBytes: number = DEFAULT_MAX_FILE_BYTES
): Effect.Effect<string | undefined, ImportError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const real = yield* realPathOrMissing(path)
    return real === undefined ? undefined : yield* readRegularFile(real, "the file", { file: path }, maxBytes)
  })

/**
 * Reads a file the environment file refers to (`reference.name`, found at `path`), if it is
 * inside `within` (real paths of folders; by default the environment file's folder) or a folder
 * of `scope.allowOutside`: `undefined` when there is no such file, an `ImportError` naming the
 * file, line and field that refer to it when it is outside, or not a regular file, or too large.
 *
 * @since 0.1.0
 * @category files
 */
export const readReferencedFile = (
  scope: ReadScope,
  path: string,
  reference: FileReference,
  within?: { readonly real: string; readonly what: string } | undefined
): Effect.Effect<string | undefined, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const real = yield* realPathOrMissing(path)
    if (real === undefined) return undefined
    yield* checkInside(scope, real, reference, within)
    return yield* readRegularFile(real, `"${reference.name}"`, reference, scope.maxFileBytes)
  })

/**
 * Fails unless `real` (what `reference` names, resolved) is inside `within` (by default the
 * environment file's folder) or a folder of `scope.allowOutside`.
 *
 * @since 0.1.0
 * @category files
 */
export const checkInside = (
  scope: ReadScope,
  real: string,
  reference: FileReference,
  within?: { readonly real: string; readonly what: string } | undefined
): Effect.Effect<void, ImportError, Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const home = within ?? { real: scope.root, what: `the environment file's folder (${scope.root})` }
    if (isInside(path, home.real, real) || scope.allowOutside.some((dir) => isInside(path, dir, real))) return
    return yield* importError(
      reference,
      `${reference.field} names "${reference.name}", which is ${real}, outside ${home.what}: ` +
        `an environment file may read only inside its own folder tree, and a Dockerfile only inside its build context. ` +
        `To allow it, pass --allow-outside ${path.dirname(real)} (the allowOutside option in the library)`
    )
  })
