/**
 * How importers read the files a definition refers to (conda files, `-r` includes, Dockerfiles):
 * through Effect's `FileSystem` service, so that the application chooses the file system (the
 * local disk in the CLI and the library, an in-memory one in tests) and importers never touch
 * `node:fs` themselves.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, type PlatformError } from "effect"
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
  return cause instanceof Error ? cause.message : error.message
}

// Node's `readFile(path, "utf8")` keeps a byte-order mark, and the text of a constraints file is
// hashed as read: the decoder must keep it too (TextDecoder drops it by default).
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true })

/**
 * Reads a whole text file (UTF-8); `undefined` when there is no such file (callers decide whether
 * a missing file is an error, a warning, or expected), an `ImportError` when it cannot be read.
 *
 * @since 0.1.0
 * @category files
 */
export const readSourceFile = (path: string): Effect.Effect<string | undefined, ImportError, FileSystem.FileSystem> =>
  FileSystem.FileSystem.use((fs) => fs.readFile(path)).pipe(
    Effect.map((bytes): string | undefined => utf8.decode(bytes)),
    Effect.catch((error) =>
      isMissing(error)
        ? Effect.succeed(undefined)
        : Effect.fail(importError({ file: path }, `cannot read the file: ${failureText(error)}`))
    )
  )
