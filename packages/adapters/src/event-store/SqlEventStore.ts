/**
 * The event store on SQL (PostgreSQL or PGlite, same SQL): the `events` table and the
 * `events_append` function of migrations/0001_event_log.sql.
 *
 * **Global order without a visibility gap.** A `bigserial` position is assigned at insert but
 * becomes visible at commit, so a reader can see position 11 before a slower transaction
 * commits 10, move its checkpoint to 11 and skip 10 forever. Here every append runs
 * `events_append`, which first takes a transaction-level advisory lock (keyed by the table's
 * oid), then, in later statements with fresh READ COMMITTED snapshots, reads `max(position)`
 * and inserts `max+1…`. The lock is released only after the commit is visible, so appends
 * commit one at a time in position order and positions are dense: a reader that reads
 * `position > checkpoint` can never skip one. The cost is that appends to one database
 * serialise for the duration of insert + commit.
 *
 * **Group commit.** Because commits serialise anyway, the cost per append is one round trip and
 * one WAL flush. An append that finds no write in flight on its store instance is sent at once;
 * appends arriving while one is in flight queue, and everything queued then goes as one
 * `events_append` call: one statement, one commit, whatever the number of appends. Each append
 * keeps its own expected-version check; a failing one fails alone.
 * On PGlite (one connection) this also serialises access.
 *
 * **Checked before queueing.** Each append's events are checked and their `data` and `metadata`
 * serialised to JSON once, in the caller's fiber, before it can lead or queue: a value JSON
 * cannot hold (a BigInt, a cycle) fails that caller alone (`StorageFailure` caused by
 * `InvalidAppend`), and a batch never serialises anything. Should writing a batch still fail
 * unexpectedly (a defect), its callers and the queue behind it fail rather than wait forever.
 *
 * **An interrupted caller.** While its append is queued, an interrupted caller takes it out of
 * the queue and nothing is written. Once it is sent (the leader's own append, or a queued one a
 * batch has taken), it is written or refused as if the caller were still waiting, and the caller
 * cannot know which: read the stream to find out (a retry with the same event ids is refused as
 * a duplicate if the first one was written).
 *
 * **PGlite fast path.** One process owns a PGlite database, so a single-event append to a stream
 * this process just wrote is a plain INSERT computed from the remembered tail (LogTail.ts); the
 * keys remain the safety net. **Reads** fetch each event as the row shape its engine decodes fastest
 * (see `selectEvent`).
 *
 * See docs/event-store.md for the measurements behind each choice.
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
  StorageFailure,
  type StreamRef,
  WrongExpectedVersion
} from "@terrarium/domain"
import { Cause, Deferred, Duration, Effect, Exit, Layer, Option, Schema, Stream } from "effect"
import type { Kysely } from "kysely"
import { Database, type DatabaseError, type DatabaseKind } from "../sql/Database.ts"
import { describeCause } from "@terrarium/domain"
import type { EventLogTables } from "../sql/tables.ts"
import { type LogTail, logTailOf } from "./LogTail.ts"

/** @since 0.1.0 @category models */
export interface SqlEventStoreOptions {
  /** Most appends written in one transaction (default 256). */
  readonly maxBatch?: number
}

/**
 * Why an append was refused before anything was sent: the `cause` of its `StorageFailure`. It
 * names the stream, the event (`id (type)`) when one is at fault, and the field.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAppend extends Schema.TaggedError<InvalidAppend>()("InvalidAppend", {
  workspace: Schema.String,
  stream: Schema.String,
  /** The offending event as `id (type)`; absent when the fault is the append's own (`expected`). */
  event: Schema.optional(Schema.String),
  /** `expected`, `id`, `type`, `schemaVersion`, `data` or `metadata`. */
  field: Schema.String,
  problem: Schema.String,
  /** What `JSON.stringify` threw, if that was the problem. */
  cause: Schema.optional(Schema.Defect())
}) {
  override get message() {
    const stream = `${this.workspace}/${this.stream}`
    return `${this.event === undefined ? `append to ${stream}` : `event ${this.event} in ${stream}`}: ${this.field} ${this.problem}`
  }
}

/** One event of an append, its `data` and `metadata` already JSON text. */
interface EncodedEvent {
  readonly id: string
  readonly type: string
  readonly schemaVersion: number
  readonly data: string
  readonly metadata: string
}

/**
 * An append checked and encoded by `encodeAppend` before it can join the queue: writing it,
 * alone or in a batch, serialises nothing, so one caller's unserialisable event can never fail
 * the batch it would share, or the leader writing it.
 */
interface Append {
  readonly stream: StreamRef
  readonly expected: ExpectedVersion
  readonly events: ReadonlyArray<EncodedEvent>
}

/** An append queued behind the one in flight, and where its result goes. */
interface Pending extends Append {
  readonly done: Deferred.Deferred<AppendResult, EventStoreError>
}

type AppendOutcome =
  | { readonly ok: true; readonly version: number; readonly position: number }
  | { readonly ok: false; readonly actual: number }

const storageFailure = (operation: string, cause: unknown) =>
  new EventStoreError({ reason: new StorageFailure({ operation, cause }) })

const fromDatabaseError = (e: DatabaseError) => storageFailure(e.operation, e.cause)

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const metadataOf = (e: NewEvent) => ({
  actor: e.metadata.actor,
  correlationId: e.metadata.correlationId,
  causationId: e.metadata.causationId
})

/** `value` as JSON text, or what keeps it from being JSON (a BigInt, a cycle, a throwing `toJSON`, a function). */
const jsonTextOf = (value: unknown): string | { readonly problem: string; readonly cause?: unknown } => {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (cause) {
    return { problem: `is not JSON: ${describeCause(cause)}`, cause }
  }
  // undefined, a function or a symbol (or a toJSON returning one) has no JSON text at all.
  return text ?? { problem: `is not JSON: ${value === undefined ? "undefined" : `a ${typeof value}`} has no JSON form` }
}

/** Why one event cannot be appended: the field, and what is wrong with it. */
interface EventProblem {
  readonly field: string
  readonly problem: string
  readonly cause?: unknown
}

/** One event checked and encoded, or its problem. */
const encodeEvent = (e: NewEvent): EncodedEvent | EventProblem => {
  if (typeof e.id !== "string" || !uuid.test(e.id)) return { field: "id", problem: "is not a UUID" }
  if (typeof e.type !== "string") return { field: "type", problem: "is not a string" }
  if (!Number.isSafeInteger(e.schemaVersion)) return { field: "schemaVersion", problem: `must be an integer, got ${String(e.schemaVersion)}` }
  const data = jsonTextOf(e.data)
  if (typeof data !== "string") return { field: "data", ...data }
  const metadata = jsonTextOf(metadataOf(e))
  if (typeof metadata !== "string") return { field: "metadata", ...metadata }
  return { id: e.id, type: e.type, schemaVersion: e.schemaVersion, data, metadata }
}

/**
 * Check one append and encode each event's `data` and `metadata` as JSON text, once, in the
 * caller's fiber and before it can take leadership or queue: a bad append fails its own caller
 * and reaches nobody else.
 */
const encodeAppend = (stream: StreamRef, expected: ExpectedVersion, events: ReadonlyArray<NewEvent>): Append | InvalidAppend => {
  if (expected !== "any" && !(Number.isSafeInteger(expected) && expected >= 0)) {
    return new InvalidAppend({
      workspace: stream.workspace, stream: stream.stream, field: "expected",
      problem: `version must be "any" or an integer >= 0, got ${String(expected)}`
    })
  }
  const encoded: Array<EncodedEvent> = []
  for (const e of events) {
    const event = encodeEvent(e)
    if ("problem" in event) {
      return new InvalidAppend({ workspace: stream.workspace, stream: stream.stream, event: `${String(e.id)} (${String(e.type)})`, ...event })
    }
    encoded.push(event)
  }
  return { stream, expected, events: encoded }
}

/**
 * A batch as the JSON array `events_append` takes, built around the events' JSON texts so that
 * nothing is serialised a second time:
 * `[{ "workspace", "stream", "expected": int | null, "events": [{ "id", "type", "schemaVersion", "data", "metadata" }] }]`.
 */
const batchDocument = (batch: ReadonlyArray<Append>): string =>
  `[${
    batch.map((a) =>
      `{"workspace":${JSON.stringify(a.stream.workspace)},"stream":${JSON.stringify(a.stream.stream)},` +
      `"expected":${a.expected === "any" ? "null" : a.expected},"events":[${
        a.events.map((e) =>
          `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"schemaVersion":${e.schemaVersion},` +
          `"data":${e.data},"metadata":${e.metadata}}`
        ).join(",")
      }]}`
    ).join(",")
  }]`

// The append statements, run thousands of times, go below Kysely (`Database.execute`): fixed
// texts, so nothing to build per call.
const APPEND_ONE = `select events_append_one($1, $2, $3::integer, $4::uuid, $5, $6::integer, $7::jsonb, $8::jsonb) as r`
const APPEND_BATCH = `select events_append($1::jsonb) as results`
const INSERT_KNOWN = `insert into events (position, workspace, stream, stream_version, event_id, event_type,
  schema_version, data, metadata, occurred_at) values ($1, $2, $3, $4, $5::uuid, $6, $7, $8::jsonb, $9::jsonb, $10::timestamptz)`

/**
 * An event as the reads fetch it: its fields by index, in this order. Each row arrives as an
 * array (`Database.executeValues`: no object per row). `position` and `occurredAtMillis` are
 * bigints, which `pg` hands over as strings and PGlite's JSON as numbers.
 */
type EventTuple = readonly [
  position: number | string,
  workspace: string,
  stream: string,
  streamVersion: number,
  id: string,
  type: string,
  schemaVersion: number,
  data: unknown,
  metadata: { actor: string; correlationId: string; causationId?: string | null },
  occurredAtMillis: number | string
]

// occurred_at as epoch milliseconds: `new Date(number)` instead of parsing an ISO 8601 string per
// event (measured on PostgreSQL, 10^5-event replays interleaved in one process: the client's
// time outside the queries fell from 65-93 to 38-61 ms). Stored values are whole milliseconds
// (events_append truncates them), so the floor loses nothing.
const EVENT_COLUMNS = `position, workspace, stream, stream_version, event_id, event_type, schema_version, data, metadata,
  floor(extract(epoch from occurred_at) * 1000)::bigint`

/**
 * What each engine selects per event: the shape its driver decodes fastest.
 *
 * - **PGlite** decodes the wire protocol in JavaScript, per field: one JSON value per event
 *   (`json_build_array(...)`, one field, one `JSON.parse`) instead of ten columns made a 10-event
 *   `readStream` ~30% faster at the median with half the p99, and replay ~1.8x faster (74k
 *   against 40k events/s in one process, 2026-12-02). One value per event rather than one
 *   `json_agg` per page: as fast, and no string larger than an event, so replay memory stays flat
 *   (a 500-event aggregate is a ~350 KB string in V8's large-object space, and those piled up to
 *   50-60 MB of RSS between major GCs during a 10^5-event replay).
 * - **PostgreSQL** is the other way round: building the JSON costs the server more than `pg`'s
 *   native per-column decoding costs the client. Interleaved in one process over 10^5 events
 *   (2026-12-02): a replay through `pg` at 123k events/s with the JSON value, 140k with ten
 *   columns as objects, 150k with ten columns as arrays (the raw ceiling's 8 columns: 133k).
 */
const selectEvent = (kind: DatabaseKind) => (kind === "pglite" ? `json_build_array(${EVENT_COLUMNS})` : EVENT_COLUMNS)

/** The read texts for one engine, and how its rows become events. */
const readsFor = (kind: DatabaseKind) => {
  const select = selectEvent(kind)
  return {
    // Fixed texts below Kysely, like the appends: a 10-event readStream is ~0.2 ms, of which
    // Kysely's executor was a measurable part.
    stream: `select ${select} from events where workspace = $1 and stream = $2 order by stream_version`,
    streamUntil: `select ${select} from events where workspace = $1 and stream = $2 and position <= $3
  order by stream_version`,
    page: `select ${select} from events where position > $1 and position <= $2 order by position limit $3`,
    decode: kind === "pglite"
      ? (rows: ReadonlyArray<ReadonlyArray<unknown>>) => rows.map((row) => toRecorded(row[0] as EventTuple))
      : (rows: ReadonlyArray<ReadonlyArray<unknown>>) => rows.map((row) => toRecorded(row as unknown as EventTuple))
  }
}

const toRecorded = (t: EventTuple): RecordedEvent => ({
  id: t[4],
  type: t[5],
  schemaVersion: t[6],
  data: t[7],
  metadata: { actor: t[8].actor, correlationId: t[8].correlationId, causationId: t[8].causationId ?? null },
  workspace: t[1],
  stream: t[2],
  streamVersion: t[3],
  position: Number(t[0]),
  occurredAt: new Date(Number(t[9]))
})

const make = Effect.fnUntraced(function* (options: SqlEventStoreOptions = {}) {
  const database = yield* Database
  const maxBatch = options.maxBatch ?? 256
  const query = <A>(operation: string, f: (db: Kysely<EventLogTables>) => Promise<A>) =>
    database.use(operation, (db) => f(db as Kysely<EventLogTables>)).pipe(Effect.mapError(fromDatabaseError))

  // PGlite: one process, one connection, so what this process wrote is all there is (LogTail.ts).
  const tail = database.kind === "pglite" ? logTailOf(database.db) : undefined

  /** One event through `events_append_one` (migration 0005): the table decides everything. */
  const appendOne = (p: Append, e: EncodedEvent): Effect.Effect<ReadonlyArray<AppendOutcome>, DatabaseError> =>
    database.execute<{ r: ReadonlyArray<number | string> | null }>("append", APPEND_ONE, [
      p.stream.workspace, p.stream.stream, p.expected === "any" ? null : p.expected,
      e.id, e.type, e.schemaVersion, e.data, e.metadata
    ]).pipe(Effect.map((rows) => {
      // [1, version, position, occurred_at ms] when appended, [0, actual version, 0, 0] on a
      // version conflict. bigint elements arrive as numbers (PGlite) or strings (pg).
      const r = rows[0]?.r?.map(Number)
      if (r === undefined || r.length !== 4) return []
      const [appended, version, position, at] = r as [number, number, number, number]
      tail?.streamAt(p.stream, version)
      if (appended !== 1) return [{ ok: false, actual: version }]
      tail?.headAt(position, at)
      return [{ ok: true, version, position }]
    }))

  /**
   * One event by plain INSERT when the tail knows the head and the stream (PGlite only), with
   * events_append_one's rules: next position, next version, `occurred_at` never below the
   * previous event's. `undefined` when the tail cannot decide (unknown, or a version conflict,
   * which the function reports from the table).
   */
  const appendKnown = (tail: LogTail, p: Append, e: EncodedEvent): Effect.Effect<AppendOutcome | undefined, DatabaseError> =>
    Effect.suspend(() => {
      const head = tail.head
      const current = tail.version(p.stream)
      if (head === undefined || current === undefined || (p.expected !== "any" && p.expected !== current)) {
        return Effect.succeed(undefined)
      }
      const position = head.position + 1
      const version = current + 1
      const at = Math.max(Date.now(), head.at)
      return database.execute("append", INSERT_KNOWN, [
        position, p.stream.workspace, p.stream.stream, version, e.id, e.type, e.schemaVersion,
        e.data, e.metadata, new Date(at).toISOString()
      ]).pipe(
        Effect.tapError(() => Effect.sync(() => tail.clear())),
        Effect.map((): AppendOutcome => {
          tail.headAt(position, at)
          tail.streamAt(p.stream, version)
          return { ok: true, version, position }
        })
      )
    })

  // Suspended: whatever it does runs inside the effect, never while a caller is still building
  // it (outside `guarded`, which could then not hand leadership back).
  const callAppend = (batch: ReadonlyArray<Append>): Effect.Effect<ReadonlyArray<AppendOutcome>, DatabaseError> =>
    Effect.suspend(() => {
      const only = batch.length === 1 && batch[0]!.events.length === 1 ? batch[0]! : undefined
      if (only !== undefined) {
        // The common case (a lone writer appending one event): scalar parameters, no jsonb packing.
        const e = only.events[0]!
        if (tail === undefined) return appendOne(only, e)
        return appendKnown(tail, only, e).pipe(
          // Whatever failed (a duplicate event id, say), the tail is cleared: let the function decide.
          Effect.catch(() => Effect.succeed(undefined)),
          Effect.flatMap((outcome) => (outcome === undefined ? appendOne(only, e) : Effect.succeed([outcome])))
        )
      }
      return database.execute<{ results: ReadonlyArray<AppendOutcome> }>("append", APPEND_BATCH, [batchDocument(batch)]).pipe(
        Effect.map((rows) => {
          const outcomes = rows[0]?.results ?? []
          if (tail !== undefined) {
            // The batch stamps its own time, which it does not return.
            tail.forgetHead()
            outcomes.forEach((o, i) => tail.streamAt(batch[i]!.stream, o.ok ? o.version : o.actual))
          }
          return outcomes
        })
      )
    })

  const currentVersion = (stream: StreamRef) =>
    query("append", (db) =>
      db.selectFrom("events").select("stream_version")
        .where("workspace", "=", stream.workspace).where("stream", "=", stream.stream)
        .orderBy("stream_version", "desc").limit(1).executeTakeFirst()
    ).pipe(Effect.map((r) => r?.stream_version ?? 0))

  /** What the caller of one append gets for its outcome. */
  const resultOf = (p: Append, outcome: AppendOutcome | undefined): Effect.Effect<AppendResult, EventStoreError> =>
    outcome === undefined
      ? Effect.fail(storageFailure("append", new Error("events_append returned no result")))
      : outcome.ok
      ? Effect.succeed({ streamVersion: outcome.version, position: outcome.position })
      : Effect.fail(new EventStoreError({
        reason: new WrongExpectedVersion({ ...p.stream, expected: p.expected, actual: outcome.actual })
      }))

  /** A statement that failed for one append alone: say why, in the port's terms. */
  const explainFailure = (p: Append, e: DatabaseError): Effect.Effect<never, EventStoreError> => {
    const cause = e.cause as { code?: string; constraint?: string } | undefined
    // Only reachable by a writer that bypasses events_append (which holds the lock): a race on
    // the stream version is a version conflict.
    if (cause?.code === "23505" && cause.constraint === "events_stream_version_key") {
      return currentVersion(p.stream).pipe(Effect.flatMap((actual) =>
        Effect.fail(new EventStoreError({ reason: new WrongExpectedVersion({ ...p.stream, expected: p.expected, actual }) }))
      ))
    }
    return Effect.fail(fromDatabaseError(e))
  }

  /** One append in a transaction of its own. */
  const writeAlone = (p: Append): Effect.Effect<AppendResult, EventStoreError> =>
    callAppend([p]).pipe(Effect.matchEffect({
      onSuccess: (outcomes) => resultOf(p, outcomes[0]),
      onFailure: (e) => explainFailure(p, e)
    }))

  /** What the caller of an append gets when writing it hit a defect (a bug here or in the driver). */
  const unexpectedFailure = (defect: unknown) => storageFailure("append", defect)

  /**
   * Queued appends in one transaction; each waiter gets its own outcome. Whatever happens, every
   * waiter of the batch gets an answer: a defect fails those not answered yet and goes on to
   * `guarded`, which fails the queue behind them.
   */
  const write = (batch: ReadonlyArray<Pending>): Effect.Effect<void> =>
    Effect.suspend(() =>
      batch.length === 1
        ? writeAlone(batch[0]!).pipe(Effect.matchEffect({
          onSuccess: (result) => Deferred.succeed(batch[0]!.done, result),
          onFailure: (error) => Deferred.fail(batch[0]!.done, error)
        }))
        : callAppend(batch).pipe(
          Effect.flatMap((outcomes) =>
            Effect.forEach(batch, (p, i) => Deferred.into(resultOf(p, outcomes[i]), p.done), { discard: true })
          ),
          // One bad append (say, a duplicate event id) fails the whole statement: isolate it by
          // writing the batch one append at a time. Rare, so the slow path is fine.
          Effect.catch(() => Effect.forEach(batch, (p) => write([p]), { discard: true }))
        )
    ).pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit)
          ? Effect.void
          : Effect.forEach(batch, (p) => Deferred.fail(p.done, unexpectedFailure(Cause.squash(exit.cause))), { discard: true })
      ),
      Effect.asVoid
    )

  // Group commit without a hand-off for a lone writer: an appender that finds no write in flight
  // becomes the leader and writes its own append, alone, in its own fiber, with no Deferred
  // (measured ~100 µs per append cheaper on PGlite than handing every append to a writer
  // fiber). Appends arriving meanwhile queue, each with a Deferred to await; if any did, a
  // background fiber keeps writing them batch by batch until the queue is empty, so the leader's
  // caller goes on at once (with concurrent writers the leader would otherwise stall its own
  // next append while writing everybody else's). Invariant: the queue is empty whenever no
  // leader is set, so a leader never has anything but its own append to write.
  const scope = yield* Effect.scope
  const pending: Array<Pending> = []
  let leading = false

  // A defect must not leave `leading` set (every later append would wait forever): fail what is
  // still queued, unsent, and hand leadership back. Once an append is sent its outcome must be
  // delivered and the queue behind it served, whatever happens to the caller, hence
  // uninterruptible.
  const guarded = <A>(effect: Effect.Effect<A>) =>
    effect.pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit)
          ? Effect.void
          : Effect.suspend(() => {
            leading = false
            const defect = Cause.squash(exit.cause)
            const notWritten = storageFailure("append", new Error(
              `not written: the write ahead of it in the queue failed unexpectedly (${describeCause(defect)})`,
              { cause: defect }
            ))
            return Effect.forEach(pending.splice(0), (p) => Deferred.fail(p.done, notWritten), { discard: true })
          })
      ),
      Effect.uninterruptible
    )

  /** Continue or hand back leadership; the emptiness check and the release are one synchronous step. */
  const next = (continueWith: (e: Effect.Effect<void>) => Effect.Effect<void>): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (pending.length === 0) {
        leading = false
        return Effect.void
      }
      return continueWith(drain)
    })

  // Yield between batches: on PGlite's single connection a writer that re-takes the connection at
  // once would starve readers waiting for it while writes keep coming.
  const drain: Effect.Effect<void> = Effect.suspend(() => write(pending.splice(0, maxBatch))).pipe(
    Effect.andThen(Effect.yieldNow),
    Effect.andThen(next((d) => d))
  )

  const lead = (a: Append) =>
    guarded(
      writeAlone(a).pipe(
        // A defect in its own write reaches the leader's caller as it would a waiter (see `write`).
        Effect.catchDefect((defect) => Effect.fail(unexpectedFailure(defect))),
        Effect.exit,
        Effect.tap(next((d) => Effect.forkIn(guarded(d), scope).pipe(Effect.asVoid)))
      )
    ).pipe(Effect.flatten)

  /** Take a waiter out of the queue, if no batch has taken it yet. */
  const dequeue = (waiter: Pending) => {
    const i = pending.indexOf(waiter)
    if (i !== -1) pending.splice(i, 1)
  }

  // Checked and encoded first, so a bad append fails here, its caller's own, before it can lead or
  // queue. The check and the push are one synchronous step: a leader cannot hand back leadership
  // between them and leave this append queued with nobody to write it. Uninterruptible from
  // taking leadership until `guarded` holds it, so an interruption cannot land in between and
  // leave `leading` set with no leader; only the wait of a queued append can be interrupted.
  // A waiter interrupted while still queued is taken out and never sent; once a batch has taken
  // it (`drain`'s splice, one synchronous step), it is written and the caller cannot know the outcome.
  const append = (stream: StreamRef, expected: ExpectedVersion, events: ReadonlyArray<NewEvent>) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        const encoded = encodeAppend(stream, expected, events)
        if (encoded instanceof InvalidAppend) return Effect.fail(storageFailure("append", encoded))
        if (!leading) {
          leading = true
          return lead(encoded)
        }
        const waiter: Pending = { ...encoded, done: Deferred.makeUnsafe<AppendResult, EventStoreError>() }
        pending.push(waiter)
        return restore(Deferred.await(waiter.done)).pipe(Effect.onInterrupt(() => Effect.sync(() => dequeue(waiter))))
      })
    )

  const reads = readsFor(database.kind)

  /** Run one of the fixed read texts and decode its events. */
  const read = (operation: string, text: string, parameters: ReadonlyArray<unknown>) =>
    database.executeValues(operation, text, parameters).pipe(Effect.mapError(fromDatabaseError), Effect.map(reads.decode))

  const readStream = (stream: StreamRef, options?: { readonly untilPosition?: number }) =>
    options?.untilPosition !== undefined
      ? read("readStream", reads.streamUntil, [stream.workspace, stream.stream, options.untilPosition])
      : read("readStream", reads.stream, [stream.workspace, stream.stream])

  /**
   * The events at positions (after, through], in order. Positions are dense, so this is a page of
   * at most `through - after` events, and it is asked for as that range rather than as
   * `position > after ORDER BY position LIMIT n`: without planner statistics (PGlite never
   * analyzes; a young PostgreSQL table is not analyzed yet) the LIMIT form is planned as a bitmap
   * scan of everything after `after` plus a top-N sort, so each page cost grew with what was left
   * to read and a replay was quadratic, and the JSON of every row in the scan was built before
   * the sort (measured: 74 ms per 500-event page of 40,000 on PostgreSQL, 10x the raw read).
   *
   * The `limit` (which the range already implies) is for the planner: without it, once a
   * PostgreSQL table has statistics, a page is planned as a bitmap heap scan of the range plus a
   * sort, and each row's JSON is built below the sort and copied through it (4.4 ms per 500-event
   * page of 100,000, against 3.2 ms as an ordered index scan; a full replay through `pg` ran at
   * ~65k events/s without it, ~100k with it).
   */
  const page = (after: number, through: number) => read("read", reads.page, [after, through, through - after])

  const head = query("head", (db) =>
    db.selectFrom("events").select("position").orderBy("position", "desc").limit(1).executeTakeFirst()
  ).pipe(Effect.map((r) => (r === undefined ? 0 : Number(r.position))))

  const readAll = (options: { readonly after: number; readonly until?: number; readonly batchSize?: number }) => {
    const batchSize = Math.max(1, options.batchSize ?? 500)
    return Stream.unwrap(
      (options.until !== undefined ? Effect.succeed(options.until) : head).pipe(Effect.map((until) =>
        Stream.paginate(options.after, (after: number) => {
          if (after >= until) return Effect.succeed([[], Option.none()] as const)
          const through = Math.min(until, after + batchSize)
          return page(after, through).pipe(
            Effect.map((events) => [events, through >= until ? Option.none() : Option.some(through)] as const)
          )
        })
      ))
    )
  }

  const subscribe = (options: { readonly after: number; readonly batchSize?: number; readonly pollInterval?: Duration.Input }) => {
    const batchSize = Math.max(1, options.batchSize ?? 500)
    const poll = Duration.fromInputUnsafe(options.pollInterval ?? "100 millis")
    // Positions become visible in order, so everything up to the last one seen is final: go on
    // from there, and sleep only when a page comes back short (caught up).
    return Stream.paginate({ after: options.after, idle: false }, (s: { after: number; idle: boolean }) =>
      (s.idle ? Effect.sleep(poll) : Effect.void).pipe(
        Effect.andThen(page(s.after, s.after + batchSize)),
        Effect.map((events) => [events, Option.some({ after: events.at(-1)?.position ?? s.after, idle: events.length < batchSize })] as const)
      )
    )
  }

  const occurredAt = (position: number) =>
    query("positionAt", (db) =>
      db.selectFrom("events").select("occurred_at").where("position", "=", position).executeTakeFirstOrThrow()
    ).pipe(Effect.map((r) => r.occurred_at.getTime()))

  // events_append keeps occurred_at non-decreasing along the dense positions, so the last
  // position at or before a time is found by binary search over the primary key: about
  // log2(head) point reads (17 for 10^5 events), and no index on occurred_at for every append
  // to maintain. As-of queries are rare; appends are the hot path.
  const positionAt = (at: Date) =>
    Effect.gen(function* () {
      const target = at.getTime()
      let lo = 0
      let hi = yield* head
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2)
        if ((yield* occurredAt(mid)) <= target) lo = mid
        else hi = mid - 1
      }
      return lo
    })

  return EventStore.of({ append, readStream, readAll, subscribe, head, positionAt })
})

/**
 * The SQL event store.
 *
 * @since 0.1.0
 */
export const SqlEventStore = {
  /**
   * The `EventStore` port over the `Database` (either engine).
   *
   * @since 0.1.0
   * @category layers
   */
  layer: Layer.effect(EventStore, make()) as Layer.Layer<EventStore, never, Database>,
  /**
   * `layer` with options.
   *
   * @since 0.1.0
   * @category layers
   */
  layerWith: (options: SqlEventStoreOptions): Layer.Layer<EventStore, never, Database> => Layer.effect(EventStore, make(options))
} as const
