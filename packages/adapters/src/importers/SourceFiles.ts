/**
 * How importers read the files a definition refers to (conda files, `-r` includes, Dockerfiles).
 *
 * Parsers take a `ReadFile` function rather than touching the disk, so they can be run over
 * in-memory text in tests; `readFileNode` is the real one, over `node:fs/promises`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import { importError, type ImportError } from "./ImportError.ts"

/**
 * Reads a whole text file; `undefined` when there is no such file (callers decide whether a
 * missing file is an error, a warning, or expected), an `ImportError` when it cannot be read.
 *
 * @since 0.1.0
 * @category files
 */
export type ReadFile = (path: string) => Effect.Effect<string | undefined, ImportError>

/**
 * True when a file-system call failed because the path is not there (`ENOENT`, or `ENOTDIR`
 * when a parent is a file): the callers' "missing", as opposed to a file that cannot be read.
 *
 * @since 0.1.0
 * @category files
 */
export const isMissing = (cause: unknown): boolean => {
  const code = (cause as { code?: unknown } | null)?.code
  return code === "ENOENT" || code === "ENOTDIR"
}

/**
 * `ReadFile` over the local file system (UTF-8).
 *
 * @since 0.1.0
 * @category files
 */
export const readFileNode: ReadFile = (path) =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8").catch((cause: unknown) => (isMissing(cause) ? undefined : Promise.reject(cause))),
    catch: (cause) =>
      importError({ file: path }, `cannot read the file: ${cause instanceof Error ? cause.message : String(cause)}`)
  })

/**
 * `ReadFile` over a map of path → text, for tests and for definitions held in memory.
 *
 * @since 0.1.0
 * @category files
 */
export const readFileFromMap = (files: Readonly<Record<string, string>>): ReadFile => (path) =>
  Effect.succeed(Object.hasOwn(files, path) ? files[path] : undefined)
