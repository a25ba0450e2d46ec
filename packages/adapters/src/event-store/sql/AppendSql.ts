/**
 * The appends in SQL (PostgreSQL or PGlite, same SQL): the `events_append` and
 * `events_append_one` functions of migrations 0001, 0004 and 0005, and on PGlite a plain INSERT
 * when the store knows the log's tail. This is the writer the group-commit queue
 * (GroupCommit.ts) drives.
 *
 * **Global order without a visibility gap.** A `bigserial` position is assigned at insert but
 * becomes visible at commit, so a reader can see position 11 before a slower transaction
 * commits 10, move its checkpoint to 11 and skip 10 forever. Here every append runs
 * `events_append`, which first takes a transaction-level advisory lock (keyed by the table's
 * oid), then, in later statements with fresh READ COMMITTED snapshots, reads `max(position)`
 * and inserts `max+1…`. The lock is released only after the commit is visible, so appends
 * commit one at a time in position order and positions are dense: a reader that reads
 * `position > checkpoint` can never skip one. The cost is that appends to one database
 * serialise for the duration of insert + commit, which group commit makes up for.
 *
 * **PGlite fast path.** One process owns a PGlite database, so a single-event append to a stream
 * this process just wrote is a plain INSERT computed from the remembered tail (LogTail.ts); the
 * keys remain the safety net.
 *
 * See docs/event-store.md for the measurements behind each choice.
 *
 * @since 0.1.0
 */
import { type AppendResult, EventStoreError, storageFailure, type StreamRef, WrongExpectedVersion } from "@terrarium/domain"
import { Effect, Result } from "effect"
import type { Kysely } from "kysely"
import type { Database, DatabaseError } from "../../sql/Database.ts"
import type { EventLogTables } from "../../sql/tables.ts"
import type { Append, EncodedEvent } from "../AppendInput.ts"
import type { Writer } from "./GroupCommit.ts"
import { headChannelOf } from "../Heads.ts"
import { type LogTail, logTailOf } from "./LogTail.ts"
import { fromDatabaseError } from "./StorageFailures.ts"

type AppendOutcome =
  | { readonly ok: true; readonly version: number; readonly position: number }
  | { readonly ok: false; readonly actual: number }

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
/**
 * On PostgreSQL the same statements announce what they committed to other processes
 * (Heads.ts): `pg_notify` in the append's own statement, so the notification is sent exactly
 * when its transaction commits, and not at all when it is refused. Each append function is
 * called once (a materialised CTE), its outcome read as before. PGlite has one process, which
 * announces in-process: nothing to send there.
 */
const APPEND_ONE_ANNOUNCED = `with a as materialized (
  select events_append_one($1, $2, $3::integer, $4::uuid, $5, $6::integer, $7::jsonb, $8::jsonb) as r)
  select r, case when r[1] = 1 then pg_notify($9, r[3]::text) end as announced from a`
const APPEND_BATCH_ANNOUNCED = `with a as materialized (select events_append($1::jsonb) as results),
  p as (select max((o->>'position')::bigint) as position from a, jsonb_array_elements(a.results::jsonb) o where (o->>'ok')::boolean)
  select a.results, case when p.position is not null then pg_notify($2, p.position::text) end as announced from a, p`
const INSERT_KNOWN = `insert into events (position, workspace, stream, stream_version, event_id, event_type,
  schema_version, data, metadata, occurred_at) values ($1, $2, $3, $4, $5::uuid, $6, $7, $8::jsonb, $9::jsonb, $10::timestamptz)`

/**
 * The appends of one store over `database`, as the group-commit queue writes them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const appendWriter = (database: Database["Service"]): Writer<Append, AppendResult, EventStoreError> => {
  // PGlite: one process, one connection, so what this process wrote is all there is (LogTail.ts).
  const tail = database.kind === "pglite" ? logTailOf(database.db) : undefined
  // PostgreSQL: other processes hear of each append by its notification.
  const channel = database.kind === "postgres" ? headChannelOf(database.schema) : undefined

  /** One event through `events_append_one` (migration 0005): the table decides everything. */
  const appendOne = (p: Append, e: EncodedEvent): Effect.Effect<ReadonlyArray<AppendOutcome>, DatabaseError> =>
    database.execute<{ r: ReadonlyArray<number | string> | null }>("append", channel === undefined ? APPEND_ONE : APPEND_ONE_ANNOUNCED, [
      p.stream.workspace, p.stream.stream, p.expected === "any" ? null : p.expected,
      e.id, e.type, e.schemaVersion, e.data, e.metadata, ...(channel === undefined ? [] : [channel])
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

  // Suspended: whatever it does runs inside the effect, never while a caller is still building it.
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
      return database.execute<{ results: ReadonlyArray<AppendOutcome> }>(
        "append",
        channel === undefined ? APPEND_BATCH : APPEND_BATCH_ANNOUNCED,
        channel === undefined ? [batchDocument(batch)] : [batchDocument(batch), channel]
      ).pipe(
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
    database.use("append", (db) =>
      (db as Kysely<EventLogTables>).selectFrom("events").select("stream_version")
        .where("workspace", "=", stream.workspace).where("stream", "=", stream.stream)
        .orderBy("stream_version", "desc").limit(1).executeTakeFirst()
    ).pipe(Effect.mapError(fromDatabaseError), Effect.map((r) => r?.stream_version ?? 0))

  /** What the caller of one append gets for its outcome. */
  const resultOf = (p: Append, outcome: AppendOutcome | undefined): Result.Result<AppendResult, EventStoreError> =>
    outcome === undefined
      ? Result.fail(storageFailure("append", new Error("events_append returned no result")))
      : outcome.ok
      ? Result.succeed({ streamVersion: outcome.version, position: outcome.position })
      : Result.fail(new EventStoreError({
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

  return {
    /** One append in a transaction of its own. */
    one: (p) =>
      callAppend([p]).pipe(Effect.matchEffect({
        onSuccess: (outcomes) => Effect.fromResult(resultOf(p, outcomes[0])),
        onFailure: (e) => explainFailure(p, e)
      })),
    /** Several in one `events_append` call, each checked against its own stream. */
    many: (batch) => callAppend(batch).pipe(Effect.map((outcomes) => batch.map((p, i) => resultOf(p, outcomes[i]))))
  }
}
