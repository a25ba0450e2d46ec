/**
 * A PGlite data directory that can hold a database, or a failure that says in words why not.
 *
 * Node's `mkdir(…, { recursive: true })` never returns for a path under `/proc` (the kernel
 * answers ENOENT for the parent it has just "made", and Node tries again forever): measured, a
 * `--data-dir /proc/x/data` spun at 95 % CPU for over ten minutes, and in the synchronous form it
 * blocked the event loop, so SIGTERM was never handled. Directories are made here one level at a
 * time instead, and each refusal becomes a sentence naming the directory.
 *
 * PGlite's own file-system failures arrive as Emscripten errors (`ErrnoError` with `errno: 51`,
 * Emscripten's numbering, not the host's); `inWords` turns them into the same sentences.
 *
 * @since 0.1.0
 */
import { accessSync, constants, mkdirSync, type Stats, statfsSync, statSync } from "node:fs"
import { dirname, resolve } from "node:path"

/**
 * File systems the kernel makes up as it is read (`/proc`, `/sys`, …): no database can live on
 * them, and writes there mean something else entirely. Recognised by type (`statfs`), not by path.
 */
const virtualFileSystems: ReadonlyMap<number, string> = new Map([
  [0x9fa0, "proc"],
  [0x62656572, "sysfs"],
  [0x63677270, "cgroup2"],
  [0x27e0eb, "cgroup"],
  [0x64626720, "debugfs"],
  [0x74726163, "tracefs"],
  [0x73636673, "securityfs"],
  [0x1cd1, "devpts"],
  [0x42494e4d, "binfmt_misc"],
  [0xcafe4a11, "bpf"]
])

/** What a file-system error code means, for someone who did not ask for an errno. */
const meaningOf = (code: string | undefined): string | undefined => {
  switch (code) {
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EROFS":
      return "the file system is read-only"
    case "ENOSPC":
      return "no space left on the device (the disk is full)"
    case "EDQUOT":
      return "the disk quota is used up"
    case "ENOTDIR":
      return "a part of the path is a file, not a directory"
    case "ENOENT":
      return "the file system does not allow it there, or the path vanished"
    case "ENAMETOOLONG":
      return "the path is too long"
    case "ELOOP":
      return "the path loops through symbolic links"
    case "EIO":
      return "an input/output error of the device"
    case "EMFILE":
    case "ENFILE":
      return "too many open files"
    default:
      return undefined
  }
}

/**
 * Emscripten's errno numbers (PGlite's file system), for the codes `meaningOf` knows. From the
 * table in PGlite's build (`ERRNO_CODES`).
 */
const emscriptenCodes: ReadonlyMap<number, string> = new Map([
  [63, "EPERM"],
  [44, "ENOENT"],
  [29, "EIO"],
  [2, "EACCES"],
  [54, "ENOTDIR"],
  [51, "ENOSPC"],
  [69, "EROFS"],
  [19, "EDQUOT"],
  [37, "ENAMETOOLONG"],
  [32, "ELOOP"],
  [33, "EMFILE"],
  [41, "ENFILE"]
])

/** A failure about the data directory, in words; the original error is kept as its `cause`. */
export class DataDirectoryProblem extends Error {
  readonly directory: string
  readonly problem: string
  constructor(directory: string, problem: string, cause?: unknown) {
    super(`the PGlite data directory ${directory} cannot be used: ${problem}`, cause === undefined ? undefined : { cause })
    this.name = "DataDirectoryProblem"
    this.directory = directory
    this.problem = problem
  }
}

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { readonly code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

const explain = (error: unknown): string => {
  const code = codeOf(error)
  return meaningOf(code) ?? (code !== undefined ? code : error instanceof Error ? error.message : String(error))
}

// ENOTDIR: a parent is not a directory; walking up finds it and names it.
const statOrUndefined = (path: string) => {
  try {
    return statSync(path)
  } catch (e) {
    if (codeOf(e) === "ENOENT" || codeOf(e) === "ENOTDIR") return undefined
    throw e
  }
}

const kindOf = (stats: Stats): string =>
  stats.isFile() ? "a file" : stats.isFIFO() ? "a FIFO" : stats.isSocket() ? "a socket" :
  stats.isCharacterDevice() || stats.isBlockDevice() ? "a device" : "not a directory"

/**
 * Makes `path` (and its missing parents, one level at a time) and checks that a database can live
 * in it: a directory, on a real file system, that this process may read and write. Throws a
 * `DataDirectoryProblem` naming `directory` (the data directory the user gave) otherwise.
 *
 * @since 0.1.0
 * @category data directory
 */
export const ensureDirectory = (path: string, directory: string = path): void => {
  const target = resolve(path)
  const missing: Array<string> = []
  let existing = target
  for (;;) {
    let stats
    try {
      stats = statOrUndefined(existing)
    } catch (e) {
      throw new DataDirectoryProblem(directory, `${existing} cannot be read: ${explain(e)}`, e)
    }
    if (stats !== undefined) {
      if (!stats.isDirectory()) {
        const what = `${existing} is ${kindOf(stats)}, not a directory`
        throw new DataDirectoryProblem(directory, existing === target ? what : `${what}, so nothing can be made under it`)
      }
      break
    }
    missing.unshift(existing)
    const parent = dirname(existing)
    if (parent === existing) break
    existing = parent
  }
  refuseVirtual(existing, directory)
  for (const dir of missing) {
    try {
      mkdirSync(dir)
    } catch (e) {
      // Another process made it meanwhile: fine, as long as it is a directory (checked below).
      if (codeOf(e) !== "EEXIST") throw new DataDirectoryProblem(directory, `cannot create ${dir}: ${explain(e)}`, e)
    }
  }
  try {
    const made = statSync(target)
    if (!made.isDirectory()) throw new DataDirectoryProblem(directory, `${target} is ${kindOf(made)}, not a directory`)
    accessSync(target, constants.R_OK | constants.W_OK | constants.X_OK)
  } catch (e) {
    if (e instanceof DataDirectoryProblem) throw e
    throw new DataDirectoryProblem(directory, `${target} cannot be written: ${explain(e)}`, e)
  }
}

const refuseVirtual = (existing: string, directory: string) => {
  let type: number
  try {
    type = Number(statfsSync(existing).type)
  } catch {
    // No statfs here (or no answer): the writes below will tell.
    return
  }
  const name = virtualFileSystems.get(type)
  if (name !== undefined) {
    throw new DataDirectoryProblem(directory, `${existing} is on a virtual file system (${name}) that cannot hold files`)
  }
}

/**
 * PGlite's failure while opening or writing `directory`, in words when it is a file-system error
 * (`ErrnoError` with Emscripten's errno, or a Node error with a code), else `cause` unchanged.
 *
 * @since 0.1.0
 * @category data directory
 */
export const inWords = (directory: string, cause: unknown): unknown => {
  if (cause instanceof DataDirectoryProblem) return cause
  const errno = (cause as { readonly errno?: unknown } | null)?.errno
  const emscripten = typeof errno === "number" && (cause as { readonly name?: unknown }).name === "ErrnoError"
    ? emscriptenCodes.get(errno)
    : undefined
  const meaning = meaningOf(emscripten ?? codeOf(cause))
  return meaning === undefined ? cause : new DataDirectoryProblem(directory, meaning, cause)
}
