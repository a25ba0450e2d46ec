/**
 * The event store on SQL (PostgreSQL or PGlite, same SQL): the `events` table and the
 * `events_append*` functions of migrations/0001_event_log.sql and later. Assembled from its parts:
 *
 * - AppendInput.ts: each append checked and its events serialised to JSON, once, in the
 *   caller's fiber, before it can lead or queue;
 * - GroupCommit.ts: concurrent appends share transactions (leader and queue);
 * - AppendSql.ts: the append statements (dense positions without a visibility gap) and PGlite's
 *   fast path over the remembered tail (LogTail.ts);
 * - ReadSql.ts: the reads;
 * - ../Heads.ts: `heads`, this process's appends announced in-process and, on PostgreSQL, other
 *   processes' heard by LISTEN (each append's statement sends `pg_notify`, AppendSql.ts).
 *
 * See docs/event-store.md for the design and the measurements behind each choice.
 *
 * @since 0.1.0
 */
import { describeCause, EventStore, type ExpectedVersion, type NewEvent, storageFailure, type StreamRef } from "@terrarium/domain"
import { Effect, Layer, Stream } from "effect"
import { Database } from "../../sql/Database.ts"
import { encodeAppend, InvalidAppend, refusedAppend } from "../AppendInput.ts"
import { headAnnouncerOf, headChannelOf, headsOf, type RemoteHeads } from "../Heads.ts"
import { appendWriter } from "./AppendSql.ts"
import * as GroupCommit from "./GroupCommit.ts"
import { reads } from "./ReadSql.ts"

/** @since 0.1.0 @category models */
export interface SqlEventStoreOptions {
  /** Most appends written in one transaction (default 256). */
  readonly maxBatch?: number
}

const make = Effect.fnUntraced(function* (options: SqlEventStoreOptions = {}) {
  const database = yield* Database
  const announcer = headAnnouncerOf(database.db)
  const queue = yield* GroupCommit.make({
    writer: appendWriter(database),
    maxBatch: options.maxBatch ?? 256,
    failed: (defect) => storageFailure("append", defect),
    notWritten: (defect) =>
      storageFailure("append", new Error(
        `not written: the write ahead of it in the queue failed unexpectedly (${describeCause(defect)})`,
        { cause: defect }
      ))
  })

  // Checked and encoded first, so a bad append fails here, its caller's own, before it can lead
  // or queue.
  const append = (stream: StreamRef, expected: ExpectedVersion, events: ReadonlyArray<NewEvent>) =>
    Effect.suspend(() => {
      const encoded = encodeAppend(stream, expected, events)
      return encoded instanceof InvalidAppend
        ? Effect.fail(refusedAppend(encoded))
        : Effect.tap(queue.submit(encoded), (result) => Effect.sync(() => announcer.announce(result.position)))
    })

  const read = reads(database)
  // Other processes append on PostgreSQL only (PGlite: one process has the database).
  const remote: RemoteHeads | undefined = database.kind === "postgres"
    ? database.listen(headChannelOf(database.schema)).pipe(
      Stream.mapError((e) => storageFailure("heads", e)),
      Stream.map((n) => n._tag === "Listening" ? n : { _tag: "Announced" as const, position: Number(n.payload) })
    )
    : undefined
  return EventStore.of({ append, ...read, heads: headsOf(announcer, read.head, remote) })
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
