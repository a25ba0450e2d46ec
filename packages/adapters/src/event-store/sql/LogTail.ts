/**
 * What a process that owns its database alone knows of the log's tail: the head (last position
 * and its `occurred_at`) and the current version of recently written streams.
 *
 * On PGlite one process has the data directory (DataDirectoryLock.ts) and every statement goes
 * through one connection, so after this process has appended or read them, nobody else can have
 * moved the head or a stream. With both known, a single-event append is a plain `INSERT` with
 * the position, version and timestamp computed here, instead of `events_append_one` (a PL/pgSQL
 * call that takes the lock and probes both indexes). On PGlite the function's call costs about as
 * much as the insert itself, so this is what brings a lone writer up to the raw ceiling
 * (docs/event-store.md, "The log's tail in memory").
 *
 * The primary key and `UNIQUE (workspace, stream, stream_version)` stay the safety net: if the
 * tail were ever wrong the insert would fail, the tail is cleared, and the append is retried
 * through `events_append_one`, which decides from the table alone.
 *
 * Never used on PostgreSQL, where other processes append.
 *
 * @since 0.1.0
 */
import type { StreamRef } from "@terrarium/domain"

/** Streams whose version is remembered; the least recently used is forgotten first. */
const CAPACITY = 10_000

const keyOf = (ref: StreamRef) => `${ref.workspace}\u0000${ref.stream}`

/** @since 0.1.0 @category models */
export class LogTail {
  #head: { readonly position: number; readonly at: number } | undefined
  readonly #versions = new Map<string, number>()

  /** The known head, if any. */
  get head(): { readonly position: number; readonly at: number } | undefined {
    return this.#head
  }

  /** The stream's current version if known (and mark it recently used). */
  version(ref: StreamRef): number | undefined {
    const key = keyOf(ref)
    const v = this.#versions.get(key)
    if (v !== undefined) {
      this.#versions.delete(key)
      this.#versions.set(key, v)
    }
    return v
  }

  /** The stream is at `version` (read or written under the database's exclusive access). */
  streamAt(ref: StreamRef, version: number): void {
    const key = keyOf(ref)
    this.#versions.delete(key)
    this.#versions.set(key, version)
    if (this.#versions.size > CAPACITY) {
      const oldest = this.#versions.keys().next()
      if (!oldest.done) this.#versions.delete(oldest.value)
    }
  }

  /** The last event is at `position`, stamped `at` (epoch ms). */
  headAt(position: number, at: number): void {
    this.#head = { position, at }
  }

  /** The head moved without us learning its timestamp (a batch append). */
  forgetHead(): void {
    this.#head = undefined
  }

  /** Something unexpected happened: trust nothing remembered. */
  clear(): void {
    this.#head = undefined
    this.#versions.clear()
  }
}

/** One tail per database handle, shared by every store over it. */
const tails = new WeakMap<object, LogTail>()

/** @since 0.1.0 @category constructors */
export const logTailOf = (database: object): LogTail => {
  let tail = tails.get(database)
  if (tail === undefined) {
    tail = new LogTail()
    tails.set(database, tail)
  }
  return tail
}
