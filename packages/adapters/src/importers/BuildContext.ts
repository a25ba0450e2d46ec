/**
 * The content digest of a local Docker build context, for `docker.base.contextDigest`.
 *
 * The definition names its context by path; without this digest, editing a file the Dockerfile
 * COPYs would leave the canonical hash (and so the image cache key) unchanged. This module walks
 * the directory as `docker build` would send it (honouring `.dockerignore`, never following
 * symbolic links) and hands the entries to the domain's `ContextDigest.contextDigest`, which is
 * the specification (docs/canonical-hash.md, "Build context").
 *
 * @since 0.1.0
 */
import { ContextDigest, type ContextEntry } from "@terrarium/domain"
import { Effect, Result } from "effect"
import { createHash } from "node:crypto"
import { createReadStream, type Stats } from "node:fs"
import { lstat, readdir, readlink, stat } from "node:fs/promises"
import { join } from "node:path"
import { type DockerIgnore, NO_DOCKERIGNORE, parseDockerIgnore } from "./DockerIgnore.ts"
import { importError, type ImportError } from "./ImportError.ts"
import { isMissing, readFileNode } from "./SourceFiles.ts"

/**
 * Computes the digest of the build context in `contextDir`, whose Dockerfile is `dockerfilePath`
 * (relative to the context; it names the Dockerfile-specific ignore file). `undefined` when there
 * is no such directory.
 *
 * @since 0.1.0
 * @category build context
 */
export type DigestBuildContext = (
  contextDir: string,
  dockerfilePath: string
) => Effect.Effect<string | undefined, ImportError>

const causeText = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** One file-system call, failing with an `ImportError` that names the path. */
const onDisk = <A>(path: string, what: string, call: () => Promise<A>): Effect.Effect<A, ImportError> =>
  Effect.tryPromise({ try: call, catch: (cause) => importError({ file: path }, `cannot ${what}: ${causeText(cause)}`) })

/** `lstat` (or `stat`, following a link), or `undefined` when the path does not exist. */
const statOrMissing = (path: string, follow = false): Effect.Effect<Stats | undefined, ImportError> =>
  onDisk(path, "read the build context", () =>
    (follow ? stat(path) : lstat(path)).catch((cause: unknown) => (isMissing(cause) ? undefined : Promise.reject(cause))))

/** The lower-case hex SHA-256 of a file, read as a stream so a large context never sits in memory. */
const sha256OfFile = (path: string): Effect.Effect<string, ImportError> =>
  onDisk(path, "read a file of the build context", () =>
    new Promise<string>((resolve, reject) => {
      const hash = createHash("sha256")
      createReadStream(path)
        .on("data", (chunk) => hash.update(chunk))
        .on("error", reject)
        .on("end", () => resolve(hash.digest("hex")))
    }))

/**
 * The ignore file BuildKit uses: `<Dockerfile>.dockerignore` beside the Dockerfile if there is
 * one, else `.dockerignore` at the root of the context; no patterns when there is neither.
 */
const readIgnoreFile = (contextDir: string, dockerfilePath: string): Effect.Effect<DockerIgnore, ImportError> =>
  Effect.gen(function*() {
    for (const file of [join(contextDir, `${dockerfilePath}.dockerignore`), join(contextDir, ".dockerignore")]) {
      const text = yield* readFileNode(file)
      if (text === undefined) continue
      const parsed = parseDockerIgnore(text)
      if (Result.isFailure(parsed)) return yield* importError({ file, line: parsed.failure.line }, parsed.failure.message)
      return parsed.success
    }
    return NO_DOCKERIGNORE
  })

/** Lists the entries under `dir` (at `prefix` inside the context) that the ignore file keeps. */
const listEntries = (
  contextDir: string,
  prefix: string,
  ignore: DockerIgnore,
  entries: Array<ContextEntry>
): Effect.Effect<void, ImportError> =>
  Effect.gen(function*() {
    const dir = prefix === "" ? contextDir : join(contextDir, prefix)
    // The listing gives each entry's type (as `lstat` would: links are not followed), so only the
    // files that are kept need a `stat` of their own, for the executable bit.
    const children = yield* onDisk(dir, "list a directory of the build context", () => readdir(dir, { withFileTypes: true }))
    for (const child of children) {
      const path = prefix === "" ? child.name : `${prefix}/${child.name}`
      const absolute = join(contextDir, path)
      const excluded = ignore.excludes(path)
      if (child.isDirectory()) {
        // An excluded directory can still hold files an exception (`!…`) brings back.
        if (!excluded || ignore.hasExceptions) yield* listEntries(contextDir, path, ignore, entries)
      } else if (excluded) {
        continue
      } else if (child.isFile()) {
        const stats = yield* statOrMissing(absolute)
        if (stats === undefined) continue // removed while walking
        entries.push({ type: "file", path, sha256: yield* sha256OfFile(absolute), executable: (stats.mode & 0o100) !== 0 })
      } else if (child.isSymbolicLink()) {
        entries.push({ type: "symlink", path, target: yield* onDisk(absolute, "read a symbolic link", () => readlink(absolute)) })
      } else {
        return yield* importError(
          { file: absolute },
          "is neither a regular file, a directory nor a symbolic link; a socket, FIFO or device cannot be part of a build context"
        )
      }
    }
  })

/**
 * `DigestBuildContext` over the local file system.
 *
 * @since 0.1.0
 * @category build context
 */
export const digestBuildContextNode: DigestBuildContext = (contextDir, dockerfilePath) =>
  Effect.gen(function*() {
    // The context itself may be reached through a link; nothing inside it is followed.
    const root = yield* statOrMissing(contextDir, true)
    if (root === undefined) return undefined
    if (!root.isDirectory()) return yield* importError({ file: contextDir }, "the build context must be a directory")
    const ignore = yield* readIgnoreFile(contextDir, dockerfilePath)
    const entries: Array<ContextEntry> = []
    yield* listEntries(contextDir, "", ignore, entries)
    return yield* ContextDigest.contextDigest(entries)
  })
