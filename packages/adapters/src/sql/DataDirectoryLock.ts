/**
 * One process at a time on a PGlite data directory.
 *
 * PGlite is PostgreSQL in single-user mode: it takes no lock on its data directory (its
 * `postmaster.pid` holds a fixed fake pid), so two processes can open the same directory, both
 * write, and lose or corrupt each other's commits. Measured here before this lock existed: two
 * processes inserting 300 rows each into one directory, 86 of one side's acknowledged rows gone.
 * Two `terrarium` commands run from two terminals do exactly that.
 *
 * The lock is a file beside the directory (`<dataDir>.lock`, outside it so that PGlite's
 * initialisation never sees a foreign file), created with O_EXCL and holding the owner's pid,
 * host, start time and command words. Another process waits for it (polling) up to a timeout, then fails naming
 * the owner. A lock whose owner is gone (same host, pid no longer running) is stale and is taken
 * over at once, so a killed process does not block the next one.
 *
 * A live owner is never dispossessed, however old its lock: liveness is the pid, not a heartbeat,
 * because PGlite runs long synchronous WebAssembly calls (checkpoints, large imports) that would
 * starve a heartbeat timer and make a working owner look dead. A lock held from another host (a
 * shared network directory) cannot be checked and is treated as live.
 *
 * @since 0.1.0
 */
import { describeCause } from "@terrarium/domain"
import { Duration, Effect, type Scope } from "effect"
import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync, writeSync } from "node:fs"
import { hostname } from "node:os"
import { basename, dirname, resolve } from "node:path"
import { ensureDirectory } from "./DataDirectory.ts"
import { DatabaseError } from "./DatabaseError.ts"

/** What a lock file says about its owner. @since 0.1.0 @category models */
export interface LockOwner {
  readonly pid: number
  readonly hostname: string
  readonly since: string
  /** The owner's script and leading words (no flags), to tell the user what to wait for. */
  readonly command: string
}

/** @since 0.1.0 @category models */
export interface DataDirectoryLockOptions {
  /** How long to wait for another process to let go (default 60 seconds). */
  readonly timeout?: Duration.Input
  /** Called once, when the lock is found held by another live process and waiting begins. */
  readonly onWait?: (owner: LockOwner, lockFile: string) => void
}

/** Path of the lock file guarding `dataDir`. @since 0.1.0 @category locking */
export const lockFileOf = (dataDir: string): string => `${resolve(dataDir)}.lock`

/** `dataDir` prefixes PGlite keeps off the local file system (in memory, or a browser's storage). */
const notOnDisk = ["memory://", "idb://", "opfs-ahp://", "memfs2opfs://"]

/**
 * The directory on the local file system that a PGlite `dataDir` names, read as PGlite 0.5 reads
 * it, or `undefined` when it names none (in memory, IndexedDB, OPFS). `file://` is a prefix, not a
 * URL: PGlite strips it and opens the rest as a path, so `file:///srv/db` is `/srv/db`, and any
 * other text, `://` or not, is a path too. This is what must be locked.
 *
 * @since 0.1.0
 * @category locking
 */
export const dataDirectoryPathOf = (dataDir: string): string | undefined => {
  if (notOnDisk.some((prefix) => dataDir.startsWith(prefix))) return undefined
  const path = dataDir.startsWith("file://") ? dataDir.slice("file://".length) : dataDir
  // Empty: PGlite opens nothing on disk (or refuses `file://` alone); never lock the working directory.
  return path === "" ? undefined : path
}

/** Lock files this process holds (by path): a second open in the same process fails at once. */
const heldHere = new Set<string>()

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

type Probe =
  | { readonly _tag: "Acquired"; readonly text: string }
  | { readonly _tag: "Held"; readonly owner: LockOwner }
  | { readonly _tag: "Retry" }

/** How long a takeover guard or a half-written lock file may exist before it counts as abandoned. */
const ABANDONED_MS = 10_000

const ageMs = (path: string): number | undefined => {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}

const parseOwner = (text: string): LockOwner | undefined => {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>
    return typeof o.pid === "number" && typeof o.hostname === "string"
      ? { pid: o.pid, hostname: o.hostname, since: String(o.since ?? ""), command: String(o.command ?? "") }
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Remove a stale lock file, unless somebody replaced it meanwhile. Two processes may find the
 * same stale lock: only the one holding the takeover guard (an atomic mkdir) may unlink, and it
 * re-reads the file under the guard, so it can never remove a fresh lock another process just made.
 */
const takeOver = (lockFile: string, staleText: string) => {
  const guard = `${lockFile}.takeover`
  try {
    mkdirSync(guard)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    // A process that died inside the guard leaves it behind.
    if ((ageMs(guard) ?? 0) > ABANDONED_MS) rmdirSync(guard)
    return
  }
  try {
    if (readText(lockFile) === staleText) unlinkSync(lockFile)
  } finally {
    rmdirSync(guard)
  }
}

/**
 * What this process is, for another one waiting on it: the script and its leading words
 * (`terrarium.mjs environment create`), never the flags or their values, which may hold secrets.
 *
 * @since 0.1.0
 * @category locking
 */
export const commandOf = (argv: ReadonlyArray<string>): string => {
  const words: Array<string> = []
  for (const arg of argv.slice(2)) {
    if (arg.startsWith("-") || words.length === 3) break
    words.push(arg)
  }
  return [basename(argv[1] ?? argv[0] ?? "node"), ...words].join(" ")
}

const probe = (lockFile: string): Probe => {
  const me: LockOwner = { pid: process.pid, hostname: hostname(), since: new Date().toISOString(), command: commandOf(process.argv) }
  const text = JSON.stringify(me)
  let fd: number
  try {
    fd = openSync(lockFile, "wx")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    const found = readText(lockFile)
    if (found === undefined) return { _tag: "Retry" } // released meanwhile
    const owner = parseOwner(found)
    if (owner === undefined) {
      // Being written right now, or left half-written by a crash.
      if ((ageMs(lockFile) ?? 0) > ABANDONED_MS) takeOver(lockFile, found)
      return { _tag: "Retry" }
    }
    if (owner.hostname === me.hostname && owner.pid !== process.pid && !isAlive(owner.pid)) {
      takeOver(lockFile, found)
      return { _tag: "Retry" }
    }
    return { _tag: "Held", owner }
  }
  try {
    writeSync(fd, text)
  } finally {
    closeSync(fd)
  }
  return { _tag: "Acquired", text }
}

const release = (lockFile: string, text: string) => {
  heldHere.delete(lockFile)
  try {
    // Only our own file: never remove a lock somebody else holds.
    if (readText(lockFile) === text) unlinkSync(lockFile)
  } catch {
    // Already gone: nothing to release.
  }
}

const describeOwner = (owner: LockOwner) =>
  `process ${owner.pid} on ${owner.hostname}${owner.command ? ` (${owner.command})` : ""}, since ${owner.since}`

/**
 * Hold the lock on `dataDir` for the life of the scope.
 *
 * @since 0.1.0
 * @category locking
 */
export const acquireDataDirectoryLock = (
  dataDir: string,
  options: DataDirectoryLockOptions = {}
): Effect.Effect<void, DatabaseError, Scope.Scope> => {
  const lockFile = lockFileOf(dataDir)
  const timeout = Duration.fromInputUnsafe(options.timeout ?? "60 seconds")
  const fail = (message: string, cause?: unknown) =>
    new DatabaseError({ operation: "open", cause: new Error(message, cause === undefined ? undefined : { cause }) })

  const attempt = Effect.suspend(() => {
    if (heldHere.has(lockFile)) {
      return Effect.fail(fail(
        `the PGlite data directory ${resolve(dataDir)} is already open in this process; share one Database layer instead of opening it twice`
      ))
    }
    return Effect.try({
      try: () => probe(lockFile),
      catch: (cause) => fail(`cannot lock the PGlite data directory (${lockFile}): ${describeCause(cause)}`, cause)
    })
  })

  const acquire = Effect.gen(function* () {
    // The lock sits beside the data directory, whose parent may not exist yet.
    // Not `mkdirSync(…, { recursive: true })`: under /proc it never returns (see DataDirectory.ts).
    yield* Effect.try({
      try: () => ensureDirectory(dirname(lockFile), resolve(dataDir)),
      catch: (cause) => new DatabaseError({ operation: "open", cause })
    })
    const deadline = Date.now() + Duration.toMillis(timeout)
    let waiting: LockOwner | undefined
    while (true) {
      const p = yield* attempt
      if (p._tag === "Acquired") return p.text
      if (p._tag === "Held") {
        if (waiting === undefined) options.onWait?.(p.owner, lockFile)
        waiting = p.owner
      }
      if (Date.now() >= deadline) {
        return yield* Effect.fail(fail(
          `the PGlite data directory ${resolve(dataDir)} is in use by ${waiting ? describeOwner(waiting) : "another process"}; ` +
            `waited ${Duration.format(timeout)}. PGlite allows one process at a time: wait for it to finish, or use a ` +
            `PostgreSQL server (TERRARIUM_DATABASE_URL) for concurrent access. If that process is not Terrarium, remove ${lockFile}.`
        ))
      }
      // Short polls: a CLI command holds the directory for a second or two. The acquisition of
      // `acquireRelease` is uninterruptible, which made a waiting command deaf to Ctrl-C and
      // SIGTERM for the whole timeout; only the wait is opened to interruption, between probes,
      // so the lock is either not taken or taken with its release registered.
      yield* Effect.interruptible(Effect.sleep("50 millis"))
    }
  })

  return Effect.acquireRelease(
    acquire.pipe(Effect.tap(() => Effect.sync(() => heldHere.add(lockFile)))),
    (text) => Effect.sync(() => release(lockFile, text))
  ).pipe(Effect.asVoid)
}
