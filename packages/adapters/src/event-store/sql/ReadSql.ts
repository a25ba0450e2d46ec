/**
 * The reads in SQL: `readStream`, `readAll`, `subscribe`, `head` and `positionAt` over the
 * `events` table, on either engine.
 *
 * Each event is fetched as the row shape its engine decodes fastest (see `selectEvent`), as an
 * array of its fields (`Database.executeValues`: no object per row). Replays page by position
 * range, which dense positions make exact (see `page`). See docs/event-store.md ("Reading") for
 * the measurements behind each choice.
 *
 * @since 0.1.0
 */
import type { EventStore, RecordedEvent, StreamRef } from "@terrarium/domain"
import { Duration, Effect, Option, Stream } from "effect"
import type { Kysely } from "kysely"
import type { Database, DatabaseKind } from "../../sql/Database.ts"
import type { EventLogTables } from "../../sql/tables.ts"
import { fromDatabaseError } from "./StorageFailures.ts"

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

// occurred_at as epoch milliseconds: `new Date(number)` is cheaper than parsing an ISO 8601
// string per event. Stored values are whole milliseconds (events_append truncates them), so the
// floor loses nothing.
const EVENT_COLUMNS = `position, workspace, stream, stream_version, event_id, event_type, schema_version, data, metadata,
  floor(extract(epoch from occurred_at) * 1000)::bigint`

/**
 * What each engine selects per event: the shape its driver decodes fastest.
 *
 * - **PGlite** decodes the wire protocol in JavaScript, per field: one JSON value per event
 *   (`json_build_array(...)`, one field, one `JSON.parse`) reads faster than ten columns, both
 *   for a 10-event `readStream` and for replay. One value per event rather than one `json_agg`
 *   per page: as fast, and no string larger than an event, so replay memory stays flat (a
 *   500-event aggregate is a large string in V8's large-object space, and those piled up
 *   between major GCs during a long replay).
 * - **PostgreSQL** is the other way round: building the JSON costs the server more than `pg`'s
 *   native per-column decoding costs the client, so it selects the ten columns, as arrays.
 */
const selectEvent = (kind: DatabaseKind) => (kind === "pglite" ? `json_build_array(${EVENT_COLUMNS})` : EVENT_COLUMNS)

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

/** The read texts for one engine, and how its rows become events. */
const readsFor = (kind: DatabaseKind) => {
  const select = selectEvent(kind)
  return {
    // Fixed texts below Kysely, like the appends: a 10-event readStream is a fraction of a
    // millisecond, of which Kysely's executor was a measurable part.
    stream: `select ${select} from events where workspace = $1 and stream = $2 order by stream_version`,
    streamUntil: `select ${select} from events where workspace = $1 and stream = $2 and position <= $3
  order by stream_version`,
    page: `select ${select} from events where position > $1 and position <= $2 order by position limit $3`,
    decode: kind === "pglite"
      ? (rows: ReadonlyArray<ReadonlyArray<unknown>>) => rows.map((row) => toRecorded(row[0] as EventTuple))
      : (rows: ReadonlyArray<ReadonlyArray<unknown>>) => rows.map((row) => toRecorded(row as unknown as EventTuple))
  }
}

/**
 * The read side of the port over `database`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const reads = (
  database: Database["Service"]
): Pick<EventStore["Service"], "readStream" | "readAll" | "subscribe" | "head" | "positionAt"> => {
  const texts = readsFor(database.kind)
  const query = <A>(operation: string, f: (db: Kysely<EventLogTables>) => Promise<A>) =>
    database.use(operation, (db) => f(db as Kysely<EventLogTables>)).pipe(Effect.mapError(fromDatabaseError))

  /** Run one of the fixed read texts and decode its events. */
  const read = (operation: string, text: string, parameters: ReadonlyArray<unknown>) =>
    database.executeValues(operation, text, parameters).pipe(Effect.mapError(fromDatabaseError), Effect.map(texts.decode))

  const readStream = (stream: StreamRef, options?: { readonly untilPosition?: number }) =>
    options?.untilPosition !== undefined
      ? read("readStream", texts.streamUntil, [stream.workspace, stream.stream, options.untilPosition])
      : read("readStream", texts.stream, [stream.workspace, stream.stream])

  /**
   * The events at positions (after, through], in order. Positions are dense, so this is a page of
   * at most `through - after` events, and it is asked for as that range rather than as
   * `position > after ORDER BY position LIMIT n`: without planner statistics (PGlite never
   * analyzes; a young PostgreSQL table is not analyzed yet) the LIMIT form is planned as a bitmap
   * scan of everything after `after` plus a top-N sort, so each page cost grew with what was left
   * to read and a replay was quadratic, and the JSON of every row in the scan was built before
   * the sort.
   *
   * The `limit` (which the range already implies) is for the planner: without it, once a
   * PostgreSQL table has statistics, a page is planned as a bitmap heap scan of the range plus a
   * sort, and each row's JSON is built below the sort and copied through it; with it, an ordered
   * index scan.
   */
  const page = (after: number, through: number) => read("read", texts.page, [after, through, through - after])

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
  // log2(head) point reads, and no index on occurred_at for every append to maintain. As-of
  // queries are rare; appends are the hot path.
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

  return { readStream, readAll, subscribe, head, positionAt }
}
