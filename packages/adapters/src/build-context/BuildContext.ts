/**
 * A local Docker build context: the files `docker build` would send, and their digest, for
 * `docker.base.contextDigest`.
 *
 * The definition names its context by path; without the digest, editing a file the Dockerfile
 * COPYs would leave the canonical hash (and so the image cache key) unchanged. `walkBuildContext`
 * walks the directory as `docker build` would send it (honouring `.dockerignore`, never following
 * symbolic links) and returns the entries together with the digest of exactly those entries
 * (the domain's `ContextDigest.contextDigest`, the specification: docs/canonical-hash.md, "Build
 * context"). An image builder sends that list and nothing else, so the cache key it files the
 * image under is the key of what it sent.
 *
 * The walk has limits (`BuildContextLimits`): the number of entries, the bytes of the files, and
 * the time it takes, each with a default, an environment variable and an option to raise it, so
 * that `build.path: /usr` is a clear error after a while rather than a walk without end. It yields
 * between entries, so it can be interrupted (Ctrl-C) at any point, and tells an optional reporter
 * how far it has got, so that a terminal can show a long walk.
 *
 * @since 0.1.0
 */
import { type BuildContext as StoredBuildContext, concatBytes, ContextDigest, MAX_BUILD_CONTEXT_BYTES } from "@terrarium/domain"
import { Duration, Effect, FileSystem, Path, type PlatformError, Result, Stream } from "effect"
import { createHash } from "node:crypto"
import { importError, type ImportError } from "../importers/ImportError.ts"
import {
  DEFAULT_MAX_FILE_BYTES,
  failureText,
  isMissing,
  limitSetting,
  readReferencedFile,
  type ReadScope
} from "../importers/SourceFiles.ts"
import { type DockerIgnore, NO_DOCKERIGNORE, parseDockerIgnore } from "./DockerIgnore.ts"

/**
 * A regular file of the context, as digested (`path`, `sha256`, `executable`), with what an image
 * builder needs to send it (`size` and the permission bits of `mode`).
 *
 * @since 0.1.0
 * @category build context
 */
export interface BuildContextFile {
  readonly type: "file"
  /** Relative to the context, `/`-separated. */
  readonly path: string
  /** Lower-case hex SHA-256 of the content read for the digest. */
  readonly sha256: string
  /** The owner's execute bit, the only part of the mode the digest covers. */
  readonly executable: boolean
  /** Size in bytes when walked. */
  readonly size: number
  /** Permission bits (`0o755`) when walked. */
  readonly mode: number
}

/**
 * A symbolic link of the context: its target string, never followed.
 *
 * @since 0.1.0
 * @category build context
 */
export interface BuildContextSymlink {
  readonly type: "symlink"
  /** Relative to the context, `/`-separated. */
  readonly path: string
  readonly target: string
}

/**
 * @since 0.1.0
 * @category build context
 */
export type BuildContextEntry = BuildContextFile | BuildContextSymlink

/**
 * A walked build context. `digest` is computed from `entries` and nothing else; directories are
 * not entries (the digest does not cover them; an image builder creates the parents of each
 * entry).
 *
 * @since 0.1.0
 * @category build context
 */
export interface BuildContext {
  /** The context directory, as given. */
  readonly directory: string
  /** The Dockerfile, relative to the context (it names the Dockerfile-specific ignore file). */
  readonly dockerfilePath: string
  /** Every entry `docker build` would send, in walk order. */
  readonly entries: ReadonlyArray<BuildContextEntry>
  /** `sha256:…`, the digest of `entries` (docs/canonical-hash.md, "Build context"). */
  readonly digest: string
}

/**
 * How much a walk may take in. A context larger than this is refused with an error naming the
 * limit; each limit is raised by its option or environment variable.
 *
 * @since 0.1.0
 * @category build context
 */
export interface BuildContextLimits {
  /** Entries (files and links) at most (default: `TERRARIUM_MAX_CONTEXT_FILES`, else 50,000). */
  readonly maxFiles: number
  /** Bytes of the files at most (default: `TERRARIUM_MAX_CONTEXT_BYTES`, else 1 GiB). */
  readonly maxBytes: number
  /** Seconds the walk may take (default: `TERRARIUM_CONTEXT_TIMEOUT_SECONDS`, else 120). */
  readonly timeoutSeconds: number
  /** The largest ignore file read (default: the importers' file limit, 1 MiB). */
  readonly maxFileBytes: number
}

/**
 * The limits in force when none are given.
 *
 * @since 0.1.0
 * @category build context
 */
export const DEFAULT_BUILD_CONTEXT_LIMITS: BuildContextLimits = {
  maxFiles: 50_000,
  maxBytes: 1024 * 1024 * 1024,
  timeoutSeconds: 120,
  maxFileBytes: DEFAULT_MAX_FILE_BYTES
}

const settleLimits = (contextDir: string, given: Partial<BuildContextLimits>): Effect.Effect<BuildContextLimits, ImportError> =>
  Effect.gen(function*() {
    const d = DEFAULT_BUILD_CONTEXT_LIMITS
    return {
      maxFiles: yield* limitSetting(given.maxFiles, "TERRARIUM_MAX_CONTEXT_FILES", d.maxFiles, contextDir),
      maxBytes: yield* limitSetting(given.maxBytes, "TERRARIUM_MAX_CONTEXT_BYTES", d.maxBytes, contextDir),
      timeoutSeconds: yield* limitSetting(given.timeoutSeconds, "TERRARIUM_CONTEXT_TIMEOUT_SECONDS", d.timeoutSeconds, contextDir),
      maxFileBytes: yield* limitSetting(given.maxFileBytes, "TERRARIUM_MAX_FILE_BYTES", d.maxFileBytes, contextDir)
    }
  })

const overLimit = (contextDir: string, what: string, limit: string, variable: string, option: string) =>
  importError(
    { file: contextDir },
    `the build context ${what} than the limit of ${limit}; check build.path names the folder meant, ` +
      `or raise the limit with ${variable}=N (or the ${option} option of contextLimits)`
  )

/**
 * How far a walk has got: entries and bytes taken in so far.
 *
 * @since 0.1.0
 * @category build context
 */
export interface BuildContextProgress {
  readonly files: number
  readonly bytes: number
}

/**
 * Told how far a walk has got, every `PROGRESS_EVERY` entries (a terminal shows it; the walk
 * waits for it, so it should be quick).
 *
 * @since 0.1.0
 * @category build context
 */
export type BuildContextProgressReporter = (progress: BuildContextProgress) => Effect.Effect<void>

const PROGRESS_EVERY = 256

/** What a walk has taken in so far, against its limits. */
interface Tally {
  files: number
  bytes: number
  readonly limits: BuildContextLimits
  readonly onProgress: BuildContextProgressReporter | undefined
  /** When the files' bytes are kept (to be stored), by path. */
  readonly contents: Map<string, Uint8Array> | undefined
}

/** One file-system call, failing with an `ImportError` that names the path. */
const onDisk = <A>(
  path: string,
  what: string,
  call: Effect.Effect<A, PlatformError.PlatformError>
): Effect.Effect<A, ImportError> =>
  call.pipe(Effect.mapError((error) => importError({ file: path }, `cannot ${what}: ${failureText(error)}`)))

/** `lstat` (or `stat`, following a link), or `undefined` when the path does not exist. */
const statOrMissing = (
  fs: FileSystem.FileSystem,
  path: string,
  follow = false
): Effect.Effect<FileSystem.File.Info | undefined, ImportError> =>
  onDisk(
    path,
    "read the build context",
    (follow ? fs.stat(path) : fs.lstat(path)).pipe(
      Effect.catch((error) => (isMissing(error) ? Effect.succeed(undefined) : Effect.fail(error)))
    )
  )

/**
 * The lower-case hex SHA-256 of a file, read as a stream so a large context never sits in memory,
 * and never past the `size` it was listed with: a file that holds more or less than its size says
 * (one being written, a pseudo-file of /proc) is an error, not a digest of whatever was there.
 */
const sha256OfFile = (
  fs: FileSystem.FileSystem,
  path: string,
  size: number,
  keep?: (chunk: Uint8Array) => void
): Effect.Effect<string, ImportError> =>
  Effect.gen(function*() {
    const hash = createHash("sha256")
    let read = 0
    yield* onDisk(
      path,
      "read a file of the build context",
      fs.stream(path, { bytesToRead: size + 1 }).pipe(
        Stream.runForEach((chunk) =>
          Effect.sync(() => {
            read += chunk.length
            hash.update(chunk)
            keep?.(chunk)
          })
        )
      )
    )
    if (read !== size) {
      return yield* importError(
        { file: path },
        `does not hold the ${size} bytes its size says: it changed while the build context was read, or it is a pseudo-file (as under /proc or /sys)`
      )
    }
    return hash.digest("hex")
  })

/**
 * The ignore file BuildKit uses: `<Dockerfile>.dockerignore` beside the Dockerfile if there is
 * one, else `.dockerignore` at the root of the context; no patterns when there is neither.
 */
const readIgnoreFile = (
  path: Path.Path,
  contextDir: string,
  realContext: string,
  dockerfilePath: string,
  maxFileBytes: number
): Effect.Effect<DockerIgnore, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    // The ignore file is read like any file a definition names: inside the context only (a link
    // out of it is refused), a regular file, not past the size limit.
    const scope: ReadScope = { root: realContext, allowOutside: [], maxFileBytes, maxIncludeDepth: 0 }
    for (const name of [`${dockerfilePath}.dockerignore`, ".dockerignore"]) {
      const file = path.join(contextDir, name)
      const text = yield* readReferencedFile(scope, file, { file, field: "ignore file", name }, {
        real: realContext,
        what: `the build context (${realContext})`
      })
      if (text === undefined) continue
      const parsed = parseDockerIgnore(text)
      if (Result.isFailure(parsed)) return yield* importError({ file, line: parsed.failure.line }, parsed.failure.message)
      return parsed.success
    }
    return NO_DOCKERIGNORE
  })

/** Lists the entries under `prefix` inside the context that the ignore file keeps. */
const listEntries = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  contextDir: string,
  prefix: string,
  ignore: DockerIgnore,
  entries: Array<BuildContextEntry>,
  tally: Tally
): Effect.Effect<void, ImportError> =>
  Effect.gen(function*() {
    const dir = prefix === "" ? contextDir : path.join(contextDir, prefix)
    // The listing gives each entry's type (as `lstat` would: links are not followed), so only the
    // files that are kept need a `stat` of their own, for size and mode.
    const children = yield* onDisk(dir, "list a directory of the build context", fs.readDirectoryEntries(dir))
    for (const child of children) {
      // A point where the walk can be interrupted, however fast the file system answers.
      yield* Effect.yieldNow
      const relative = prefix === "" ? child.name : `${prefix}/${child.name}`
      const absolute = path.join(contextDir, relative)
      const excluded = ignore.excludes(relative)
      let type = child.type
      if (type === "Unknown") {
        const stats = yield* statOrMissing(fs, absolute)
        if (stats === undefined) continue // removed while walking
        type = stats.type
      }
      if (type === "Directory") {
        // An excluded directory can still hold files an exception (`!…`) brings back.
        if (!excluded || ignore.hasExceptions) yield* listEntries(fs, path, contextDir, relative, ignore, entries, tally)
      } else if (excluded) {
        continue
      } else if (type === "File") {
        const stats = yield* statOrMissing(fs, absolute)
        if (stats === undefined) continue // removed while walking
        const size = Number(stats.size)
        yield* count(contextDir, tally, size)
        // The bytes kept are the bytes hashed: what is stored is exactly what was digested.
        const chunks: Array<Uint8Array> = []
        const sha256 = yield* sha256OfFile(fs, absolute, size, tally.contents === undefined ? undefined : (chunk) => chunks.push(chunk))
        tally.contents?.set(relative, chunks.length === 1 ? chunks[0]! : concatBytes(chunks, size))
        entries.push({
          type: "file",
          path: relative,
          sha256,
          executable: (stats.mode & 0o100) !== 0,
          size: Number(stats.size),
          mode: stats.mode & 0o7777
        })
      } else if (type === "SymbolicLink") {
        yield* count(contextDir, tally, 0)
        entries.push({
          type: "symlink",
          path: relative,
          target: yield* onDisk(absolute, "read a symbolic link", fs.readLink(absolute))
        })
      } else {
        return yield* importError(
          { file: absolute },
          "is neither a regular file, a directory nor a symbolic link; a socket, FIFO or device cannot be part of a build context"
        )
      }
    }
  })

/** Counts one more entry of `size` bytes, failing when that goes past a limit. */
const count = (contextDir: string, tally: Tally, size: number): Effect.Effect<void, ImportError> => {
  tally.files += 1
  tally.bytes += size
  if (tally.onProgress !== undefined && tally.files % PROGRESS_EVERY === 0) {
    const report = tally.onProgress({ files: tally.files, bytes: tally.bytes })
    return Effect.andThen(checkLimits(contextDir, tally), report)
  }
  return checkLimits(contextDir, tally)
}

const checkLimits = (contextDir: string, tally: Tally): Effect.Effect<void, ImportError> => {
  if (tally.contents !== undefined && tally.bytes > MAX_BUILD_CONTEXT_BYTES) {
    return Effect.fail(importError(
      { file: contextDir },
      `the build context is larger than the ${MAX_BUILD_CONTEXT_BYTES} bytes the registry stores of one (MAX_BUILD_CONTEXT_BYTES); ` +
        "leave out what the Dockerfile does not COPY with a .dockerignore"
    ))
  }
  if (tally.files > tally.limits.maxFiles) {
    return Effect.fail(overLimit(contextDir, "has more entries", `${tally.limits.maxFiles} files`, "TERRARIUM_MAX_CONTEXT_FILES", "maxFiles"))
  }
  if (tally.bytes > tally.limits.maxBytes) {
    return Effect.fail(overLimit(contextDir, "is larger", `${tally.limits.maxBytes} bytes`, "TERRARIUM_MAX_CONTEXT_BYTES", "maxBytes"))
  }
  return Effect.void
}

/** What the digest covers of an entry: size and mode are for sending it, not part of the key. */
const digested = (entry: BuildContextEntry): ContextDigest.ContextEntry =>
  entry.type === "file"
    ? { type: "file", path: entry.path, sha256: entry.sha256, executable: entry.executable }
    : { type: "symlink", path: entry.path, target: entry.target }

/**
 * Walks the build context in `contextDir`, whose Dockerfile is `dockerfilePath` (relative to the
 * context; it names the Dockerfile-specific ignore file): the entries `docker build` would send,
 * and their digest. `undefined` when there is no such directory.
 *
 * @since 0.1.0
 * @category build context
 */
export const walkBuildContext = (
  contextDir: string,
  dockerfilePath = "Dockerfile",
  limits: Partial<BuildContextLimits> = {},
  onProgress?: BuildContextProgressReporter
): Effect.Effect<BuildContext | undefined, ImportError, FileSystem.FileSystem | Path.Path> =>
  walk(contextDir, dockerfilePath, limits, onProgress, undefined)

const walk = (
  contextDir: string,
  dockerfilePath: string,
  limits: Partial<BuildContextLimits>,
  onProgress: BuildContextProgressReporter | undefined,
  contents: Map<string, Uint8Array> | undefined
): Effect.Effect<BuildContext | undefined, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const settled = yield* settleLimits(contextDir, limits)
    // The context itself may be reached through a link; nothing inside it is followed.
    const root = yield* statOrMissing(fs, contextDir, true)
    if (root === undefined) return undefined
    if (root.type !== "Directory") return yield* importError({ file: contextDir }, "the build context must be a directory")
    const realContext = yield* onDisk(contextDir, "resolve the build context", fs.realPath(contextDir))
    const listing = Effect.gen(function*() {
      const ignore = yield* readIgnoreFile(path, contextDir, realContext, dockerfilePath, settled.maxFileBytes)
      const entries: Array<BuildContextEntry> = []
      yield* listEntries(fs, path, contextDir, "", ignore, entries, { files: 0, bytes: 0, limits: settled, onProgress, contents })
      return entries
    })
    const entries = yield* listing.pipe(
      Effect.timeoutOrElse({
        duration: Duration.seconds(settled.timeoutSeconds),
        orElse: () =>
          Effect.fail(
            overLimit(contextDir, "took longer to read", `${settled.timeoutSeconds} seconds`, "TERRARIUM_CONTEXT_TIMEOUT_SECONDS", "timeoutSeconds")
          )
      })
    )
    const digest = yield* ContextDigest.contextDigest(entries.map(digested))
    return { directory: contextDir, dockerfilePath, entries, digest }
  })

/**
 * The digest alone of the build context in `contextDir` (see `walkBuildContext`); `undefined`
 * when there is no such directory.
 *
 * @since 0.1.0
 * @category build context
 */
export const digestBuildContext = (
  contextDir: string,
  dockerfilePath = "Dockerfile",
  limits: Partial<BuildContextLimits> = {},
  onProgress?: BuildContextProgressReporter
): Effect.Effect<string | undefined, ImportError, FileSystem.FileSystem | Path.Path> =>
  walkBuildContext(contextDir, dockerfilePath, limits, onProgress).pipe(Effect.map((context) => context?.digest))

/**
 * Walks the build context in `contextDir` as `walkBuildContext` does, keeping the bytes of every
 * file it digests: the context as the registry stores it (`BuildContextStore`), with the digest of
 * exactly those bytes. `undefined` when there is no such directory. The bytes are held in memory,
 * so beyond the walk's limits the context may hold at most `MAX_BUILD_CONTEXT_BYTES`.
 *
 * @since 0.2.0
 * @category build context
 */
export const readBuildContext = (
  contextDir: string,
  dockerfilePath = "Dockerfile",
  limits: Partial<BuildContextLimits> = {},
  onProgress?: BuildContextProgressReporter
): Effect.Effect<StoredBuildContext | undefined, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const contents = new Map<string, Uint8Array>()
    const walked = yield* walk(contextDir, dockerfilePath, limits, onProgress, contents)
    if (walked === undefined) return undefined
    return {
      digest: walked.digest,
      entries: walked.entries.map((entry) =>
        entry.type === "file"
          ? { path: entry.path, executable: entry.executable, content: contents.get(entry.path)! }
          : { path: entry.path, executable: false, content: new Uint8Array(0), linkTarget: entry.target }
      )
    }
  })
