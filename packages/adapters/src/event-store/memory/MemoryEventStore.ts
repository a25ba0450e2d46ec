/**
 * The event store in memory: the `EventStore` port with the SQL store's behaviour and no
 * database, for the application's unit tests. It runs the same contract suite.
 *
 * - **Same input, same failures.** Appends go through the SQL store's check (AppendInput.ts), so
 *   what the SQL store refuses (a value JSON cannot hold, text PostgreSQL cannot store, an id that
 *   is not a UUID) is refused here with the same error, and the log keeps each event's `data` and
 *   `metadata` as JSON text: a reader gets a fresh copy, as from a database, never the caller's
 *   object. A duplicate event id, which the table's unique key refuses, is a `StorageFailure`
 *   here too.
 * - **Same order.** Positions are dense from 1 and per-stream versions from 1; an append is
 *   checked against its stream's version and written whole in one synchronous step, so
 *   concurrent appends serialise as the SQL store's do. `occurredAt` is the Effect clock's time
 *   in whole milliseconds, never below the previous event's, so `positionAt` can binary-search.
 * - **Concurrency as against a database.** Every call yields to other fibers once before it
 *   takes effect, as a round trip to a database would: concurrent callers interleave (a writer
 *   that read a stream can lose the race to append to it) instead of each running to completion.
 * - **Subscriptions** wake on the next append instead of polling (`pollInterval` is not needed).
 * - **Heads** are announced as each append completes (one process: nothing else to hear).
 *
 * @since 0.1.0
 */
import {
  type AppendResult,
  EventStore,
  EventStoreError,
  type ExpectedVersion,
  type NewEvent,
  type RecordedEvent,
  storageFailure,
  type StreamRef,
  WrongExpectedVersion
} from "@terrarium/domain"
import { Clock, Deferred, Effect, Layer, Option, Stream } from "effect"
import { parseAsJsonb } from "../../sql/Jsonb.ts"
import { type Append, encodeAppend, InvalidAppend, refusedAppend } from "../AppendInput.ts"
import { HeadAnnouncer, headsOf } from "../Heads.ts"

/** An event as the log keeps it: `data` and `metadata` as JSON text. */
interface StoredEvent {
  readonly position: number
  readonly workspace: string
  readonly stream: string
  readonly streamVersion: number
  readonly id: string
  readonly type: string
  readonly schemaVersion: number
  readonly data: string
  readonly metadata: string
  readonly occurredAt: number
}

const keyOf = (ref: StreamRef) => `${ref.workspace}\u0000${ref.stream}`

const toRecorded = (e: StoredEvent): RecordedEvent => {
  const metadata = JSON.parse(e.metadata) as { actor: string; correlationId: string; causationId?: string | null }
  return {
    id: e.id,
    type: e.type,
    schemaVersion: e.schemaVersion,
    // As a jsonb column gives it back: keys in jsonb's order, not the writer's.
    data: parseAsJsonb(e.data),
    metadata: { actor: metadata.actor, correlationId: metadata.correlationId, causationId: metadata.causationId ?? null },
    workspace: e.workspace,
    stream: e.stream,
    streamVersion: e.streamVersion,
    position: e.position,
    occurredAt: new Date(e.occurredAt)
  }
}


/** Let other fibers run, as a round trip to a database would, before a call takes effect. */
const roundTrip = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> => Effect.andThen(Effect.yieldNow, effect)

const make = Effect.sync(() => {
  const log: Array<StoredEvent> = []
  /** Each stream's positions, in version order. */
  const streams = new Map<string, Array<number>>()
  const ids = new Set<string>()
  /** Completed, and replaced, by every append that writes: what a caught-up subscriber waits for. */
  let appended = Deferred.makeUnsafe<void>()
  const announcer = new HeadAnnouncer()

  const write = (a: Append, now: number): Effect.Effect<AppendResult, EventStoreError> => {
    const positions = streams.get(keyOf(a.stream)) ?? []
    const current = positions.length
    if (a.expected !== "any" && a.expected !== current) {
      return Effect.fail(new EventStoreError({ reason: new WrongExpectedVersion({ ...a.stream, expected: a.expected, actual: current }) }))
    }
    const fresh = new Set<string>()
    for (const e of a.events) {
      const id = e.id.toLowerCase() // a uuid column compares ids case-insensitively
      if (ids.has(id) || fresh.has(id)) return Effect.fail(storageFailure("append", new Error(`event id ${e.id} is already in the log`)))
      fresh.add(id)
    }
    if (a.events.length === 0) return Effect.succeed({ streamVersion: current, position: log.length })
    // Whole milliseconds, as a Date holds, and never below the previous event's.
    const occurredAt = Math.max(Math.floor(now), log.at(-1)?.occurredAt ?? Number.NEGATIVE_INFINITY)
    for (const [i, e] of a.events.entries()) {
      const position = log.length + 1
      log.push({ ...e, id: e.id.toLowerCase(), position, workspace: a.stream.workspace, stream: a.stream.stream, streamVersion: current + i + 1, occurredAt })
      positions.push(position)
    }
    for (const id of fresh) ids.add(id)
    streams.set(keyOf(a.stream), positions)
    const done = appended
    appended = Deferred.makeUnsafe<void>()
    Deferred.doneUnsafe(done, Effect.void)
    announcer.announce(log.length)
    return Effect.succeed({ streamVersion: positions.length, position: log.length })
  }

  const append = (stream: StreamRef, expected: ExpectedVersion, events: ReadonlyArray<NewEvent>) =>
    Effect.suspend(() => {
      const encoded = encodeAppend(stream, expected, events)
      return encoded instanceof InvalidAppend
        ? Effect.fail(refusedAppend(encoded))
        : roundTrip(Effect.flatMap(Clock.currentTimeMillis, (now) => write(encoded, now)))
    })

  const readStream = (stream: StreamRef, options?: { readonly untilPosition?: number }) =>
    roundTrip(Effect.sync(() => {
      const until = options?.untilPosition ?? Number.POSITIVE_INFINITY
      const positions = streams.get(keyOf(stream)) ?? []
      return positions.filter((p) => p <= until).map((p) => toRecorded(log[p - 1]!))
    }))

  /** The events at positions (after, through], in order. */
  const page = (after: number, through: number): ReadonlyArray<RecordedEvent> =>
    log.slice(Math.max(0, after), Math.max(0, through)).map(toRecorded)

  const head = roundTrip(Effect.sync(() => log.length))

  const readAll = (options: { readonly after: number; readonly until?: number; readonly batchSize?: number }) => {
    const batchSize = Math.max(1, options.batchSize ?? 500)
    return Stream.unwrap(
      (options.until !== undefined ? Effect.succeed(options.until) : head).pipe(Effect.map((until) =>
        Stream.paginate(options.after, (after: number) =>
          roundTrip(Effect.sync(() => {
            if (after >= until) return [[], Option.none<number>()] as const
            const through = Math.min(until, after + batchSize)
            return [page(after, through), through >= until ? Option.none<number>() : Option.some(through)] as const
          })))
      ))
    )
  }

  const subscribe = (options: { readonly after: number; readonly batchSize?: number }) => {
    const batchSize = Math.max(1, options.batchSize ?? 500)
    // Read and take the next append's signal in one synchronous step, so an append in between
    // cannot be missed: once caught up, wait for it.
    return Stream.paginate(options.after, (after: number) =>
      roundTrip(Effect.suspend(() => {
        const events = page(after, after + batchSize)
        if (events.length > 0) return Effect.succeed([events, Option.some(events.at(-1)!.position)] as const)
        return Deferred.await(appended).pipe(Effect.as([[] as ReadonlyArray<RecordedEvent>, Option.some(after)] as const))
      })))
  }

  // occurredAt never decreases along the positions: binary search, as the SQL store does.
  const positionAt = (at: Date) =>
    roundTrip(Effect.sync(() => {
      const target = at.getTime()
      let lo = 0
      let hi = log.length
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2)
        if (log[mid - 1]!.occurredAt <= target) lo = mid
        else hi = mid - 1
      }
      return lo
    }))

  return EventStore.of({ append, readStream, readAll, subscribe, head, heads: headsOf(announcer, head), positionAt })
})

/**
 * The in-memory event store.
 *
 * @since 0.1.0
 */
export const MemoryEventStore = {
  /**
   * A fresh, empty `EventStore` per build of the layer.
   *
   * @since 0.1.0
   * @category layers
   */
  layer: Layer.effect(EventStore, make) satisfies Layer.Layer<EventStore>
} as const
