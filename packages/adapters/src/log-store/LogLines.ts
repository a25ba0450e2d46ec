/**
 * What both log stores do to lines before keeping them: split at newlines, and stop at
 * `MAX_LOG_BYTES` with one line saying so. Shared so that they keep exactly the same text.
 *
 * @since 0.2.0
 */
import { InvalidLogKey, isLogKey, LogStoreError, LogStorageFailure, MAX_LOG_BYTES } from "@terrarium/domain"
import { Effect, Stream } from "effect"

/** @since 0.2.0 */
export const TRUNCATED_LINE = `[log truncated: more than ${MAX_LOG_BYTES} bytes]`

const encoder = new TextEncoder()

/** The bytes of the truncation line with its newline: a log that ends with them is full. @since 0.2.0 */
export const TRUNCATED_TAIL = encoder.encode(`${TRUNCATED_LINE}\n`)

const TRUNCATED_BYTES = TRUNCATED_TAIL.length

/**
 * The lines to store, given how many bytes the log holds already (and whether it was already
 * truncated): `text` is the lines joined, each ending in `\n`; `bytes` its UTF-8 size.
 *
 * @since 0.2.0
 */
export const boundedLines = (
  lines: ReadonlyArray<string>,
  storedBytes: number,
  truncated: boolean
): { readonly lines: ReadonlyArray<string>; readonly bytes: number; readonly truncated: boolean } => {
  const kept: Array<string> = []
  let bytes = 0
  if (truncated) return { lines: kept, bytes, truncated }
  for (const line of lines.flatMap((l) => l.split(/\r?\n/))) {
    const size = encoder.encode(line).length + 1
    // Room is kept for the line that says the log was truncated.
    if (storedBytes + bytes + size > MAX_LOG_BYTES - TRUNCATED_BYTES) {
      kept.push(TRUNCATED_LINE)
      // Whatever follows is dropped: the log is full from now on.
      return { lines: kept, bytes: bytes + TRUNCATED_BYTES, truncated: true }
    }
    kept.push(line)
    bytes += size
  }
  return { lines: kept, bytes, truncated: false }
}

/** Fails with `InvalidLogKey` unless `key` is a log key. @since 0.2.0 */
export const checkKey = (key: string): Effect.Effect<void, LogStoreError> =>
  isLogKey(key) ? Effect.void : Effect.fail(new LogStoreError({ reason: new InvalidLogKey({ key }) }))

/** @since 0.2.0 */
export const storageFailure = (operation: string, key: string) => (cause: unknown) =>
  new LogStoreError({ reason: new LogStorageFailure({ operation, key, cause }) })

/** What a log looks like at one moment: all its lines, and whether it is sealed. @since 0.2.0 */
export interface LogSnapshot {
  readonly lines: ReadonlyArray<string>
  readonly sealed: boolean
}

/**
 * A log's lines from a snapshot function: once, or (`follow`) polling every `interval` for new
 * lines until a snapshot says the log is sealed. Both stores follow this way; a blob store can
 * only be polled too.
 *
 * @since 0.2.0
 */
export const linesOf = <E>(
  snapshot: Effect.Effect<LogSnapshot, E>,
  follow: boolean,
  interval: import("effect").Duration.Input
): Stream.Stream<string, E> => {
  const from = (seen: number): Stream.Stream<string, E> =>
    Stream.unwrap(Effect.map(snapshot, (s) => {
      const fresh = Stream.fromIterable(s.lines.slice(seen))
      if (!follow || s.sealed) return fresh
      return Stream.concat(fresh, Stream.unwrap(Effect.as(Effect.sleep(interval), from(Math.max(seen, s.lines.length)))))
    }))
  return from(0)
}
