/**
 * The log store in memory: a map of keys to lines, for the application's unit tests.
 *
 * @since 0.2.0
 */
import { LogNotFound, LogSealed, LogStore, LogStoreError } from "@terrarium/domain"
import { Effect, Layer } from "effect"
import { boundedLines, checkKey, linesOf } from "../LogLines.ts"

interface Log {
  lines: Array<string>
  bytes: number
  truncated: boolean
  sealed: boolean
}

const make = Effect.sync(() => {
  const logs = new Map<string, Log>()
  const logOf = (key: string): Log => {
    let log = logs.get(key)
    if (log === undefined) logs.set(key, log = { lines: [], bytes: 0, truncated: false, sealed: false })
    return log
  }
  return LogStore.of({
    location: "memory",
    append: (key, lines) =>
      Effect.andThen(checkKey(key), Effect.suspend(() => {
        const log = logOf(key)
        if (log.sealed) return Effect.fail(new LogStoreError({ reason: new LogSealed({ key }) }))
        const kept = boundedLines(lines, log.bytes, log.truncated)
        log.lines.push(...kept.lines)
        log.bytes += kept.bytes
        log.truncated = kept.truncated
        return Effect.void
      })),
    seal: (key) => Effect.andThen(checkKey(key), Effect.sync(() => void (logOf(key).sealed = true))),
    read: (key, options) =>
      linesOf(
        Effect.andThen(checkKey(key), Effect.suspend(() => {
          const log = logs.get(key)
          return log === undefined
            ? Effect.fail(new LogStoreError({ reason: new LogNotFound({ key }) }))
            : Effect.succeed({ lines: [...log.lines], sealed: log.sealed })
        })),
        options?.follow ?? false,
        "10 millis"
      ),
    status: (key) =>
      Effect.andThen(checkKey(key), Effect.sync(() => {
        const log = logs.get(key)
        return { exists: log !== undefined, sealed: log?.sealed ?? false }
      }))
  })
})

/**
 * The in-memory log store.
 *
 * @since 0.2.0
 */
export const MemoryLogStore = {
  /** @since 0.2.0 @category layers */
  layer: Layer.effect(LogStore, make)
} as const
