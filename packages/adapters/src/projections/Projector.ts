/**
 * Keeps the read models of `migrations/0002_projections.sql` up to date with the event log.
 *
 * **Exactly once.** A batch is read from the log first, outside any transaction; then one
 * transaction locks the checkpoint row (`SELECT … FOR UPDATE`), checks that it still is where
 * the batch starts, applies the batch and advances the checkpoint. A crash before the commit
 * leaves both untouched; a crash after leaves both moved. If another process moved the
 * checkpoint meanwhile (its own catch-up, or a rebuild), the batch is dropped and re-read from
 * the new checkpoint, so concurrent projectors never interleave or apply an event twice.
 *
 * Reading outside the transaction is also what PGlite needs: it has one connection, and a read
 * of the log inside the transaction would wait for the transaction to end.
 *
 * @since 0.1.0
 */
import { EventCodec, EventStore } from "@terrarium/domain"
import type { RecordedEvent } from "@terrarium/domain"
import { Context, Duration, Effect, Fiber, Layer, Schema, Stream } from "effect"
import type { Kysely } from "kysely"
import { Database } from "../sql/Database.ts"
import { envelopeOf, project, type RowOp } from "./Projection.ts"
import { applyOps, clearProjections, lockCheckpoint, readCheckpoint, writeCheckpoint } from "./ProjectionSql.ts"
import type { ProjectionTables } from "./Tables.ts"

/**
 * Projecting failed: the database or the event store failed (`cause` says which), or an event
 * could not be decoded (`position` says which; the checkpoint stays before it).
 *
 * @since 0.1.0
 * @category errors
 */
export class ProjectionError extends Schema.TaggedError<ProjectionError>()("ProjectionError", {
  operation: Schema.String,
  position: Schema.optionalKey(Schema.Number),
  cause: Schema.Defect()
}) {
  override get message() {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `projection ${this.operation}${this.position !== undefined ? ` at position ${this.position}` : ""} failed: ${cause}`
  }
}

/** @since 0.1.0 @category models */
export interface ProjectionsOptions {
  /** Events per transaction (default 500). */
  readonly batchSize?: number
  /** How long `run` waits between polls once caught up (default 200 ms). */
  readonly pollInterval?: Duration.Input
}

/**
 * The projector.
 *
 * @since 0.1.0
 * @category port
 */
export class Projections extends Context.Service<Projections, {
  /** Apply every event up to the head (as of the call), in batches; returns the new checkpoint. */
  readonly catchUp: Effect.Effect<number, ProjectionError>
  /** Clear every projection table and reset the checkpoint in one transaction, then catch up. */
  readonly rebuild: Effect.Effect<number, ProjectionError>
  /** Follow the log for ever (a server's background fiber); fails only on an error. */
  readonly run: Effect.Effect<never, ProjectionError>
  /** The position up to which the read models are current. */
  readonly checkpoint: Effect.Effect<number, ProjectionError>
}>()("terrarium/adapters/Projections") {
  /**
   * The projector over the `Database` and `EventStore` of the context.
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layer: Layer.Layer<Projections, never, Database | EventStore> =
    Layer.effect(Projections, Effect.suspend(() => make({})))

  /** @since 0.1.0 @category layers */
  static layerWith(options: ProjectionsOptions): Layer.Layer<Projections, never, Database | EventStore> {
    return Layer.effect(Projections, make(options))
  }
}

const make = Effect.fnUntraced(function* (options: ProjectionsOptions) {
  const database = yield* Database
  const store = yield* EventStore
  const batchSize = Math.max(1, options.batchSize ?? 500)
  const pollInterval = options.pollInterval ?? "200 millis"

  const fail = (operation: string) => (cause: unknown) => new ProjectionError({ operation, cause })
  const tables = (db: Kysely<any>) => db as Kysely<ProjectionTables>

  const checkpoint = database.use("read projection checkpoint", (db) => readCheckpoint(tables(db))).pipe(
    Effect.mapError(fail("checkpoint"))
  )

  /** Decode and project a batch; events of non-environment streams yield no rows. */
  const prepare = (events: ReadonlyArray<RecordedEvent>) =>
    Effect.forEach(events, (recorded) => {
      const envelope = envelopeOf(recorded)
      if (envelope === undefined) return Effect.succeed<ReadonlyArray<RowOp>>([])
      return EventCodec.decode(recorded).pipe(
        Effect.map((event) => project(event, envelope)),
        Effect.mapError((cause) => new ProjectionError({ operation: "decode", position: recorded.position, cause }))
      )
    }).pipe(Effect.map((ops) => ops.flat()))

  /**
   * Apply a prepared batch if the checkpoint is still `expected`. Returns the new checkpoint, or
   * undefined when another process moved it first (nothing was written then).
   */
  const apply = (expected: number, events: ReadonlyArray<RecordedEvent>, ops: ReadonlyArray<RowOp>) =>
    Effect.gen(function* () {
      const last = events.at(-1)?.position
      if (last === undefined) return expected
      return yield* database.transaction("apply projection batch", async (trx) => {
        const db = tables(trx)
        if (await lockCheckpoint(db) !== expected) return undefined
        await applyOps(db, ops)
        await writeCheckpoint(db, last)
        return last
      }).pipe(Effect.mapError((cause) => new ProjectionError({ operation: "apply", position: events[0]!.position, cause })))
    })

  const commit = (expected: number, events: ReadonlyArray<RecordedEvent>) =>
    Effect.flatMap(prepare(events), (ops) => apply(expected, events, ops))

  /** Read and prepare the batch after `after`, up to `head`. */
  const load = (after: number, head: number) =>
    Effect.gen(function* () {
      const events = yield* store.readAll({ after, until: head, batchSize }).pipe(
        Stream.take(batchSize),
        Stream.runCollect,
        Effect.mapError(fail("read log"))
      )
      // The head is committed, so an empty read below it means the log lost events: stop
      // rather than spin.
      if (events.length === 0) {
        return yield* new ProjectionError({ operation: "read log", position: after + 1, cause: new Error(`no events after ${after} although the head is ${head}`) })
      }
      return { events, ops: yield* prepare(events) }
    })

  /**
   * While a batch's transaction runs, the next batch is already read and decoded (on PostgreSQL
   * that overlaps; PGlite serialises it). The prefetch assumes the commit succeeds: if another
   * process moved the checkpoint instead, it is dropped and the read restarts from there, so
   * exactly-once still rests on the checkpoint check alone. A prefetch that fails surfaces only
   * after the batch before it committed.
   */
  const catchUp = Effect.gen(function* () {
    const head = yield* store.head.pipe(Effect.mapError(fail("read head")))
    let position = yield* checkpoint
    let next = position < head ? yield* Effect.forkChild(load(position, head)) : undefined
    while (next !== undefined) {
      const { events, ops } = yield* Fiber.join(next)
      const last = events.at(-1)!.position
      next = last < head ? yield* Effect.forkChild(load(last, head)) : undefined
      const moved = yield* apply(position, events, ops)
      if (moved === undefined) {
        if (next !== undefined) yield* Fiber.interrupt(next)
        position = yield* checkpoint
        next = position < head ? yield* Effect.forkChild(load(position, head)) : undefined
      } else position = moved
    }
    return position
  }).pipe(Effect.withSpan("Projections.catchUp"))

  const rebuild = database.transaction("clear projections", async (trx) => {
    const db = tables(trx)
    await lockCheckpoint(db)
    await clearProjections(db)
    await writeCheckpoint(db, 0)
  }).pipe(
    Effect.mapError(fail("rebuild")),
    Effect.andThen(catchUp),
    Effect.withSpan("Projections.rebuild")
  )

  /**
   * One subscription from the current checkpoint, until another process moves the checkpoint
   * under it (then `run` starts a fresh one from there).
   */
  const followOnce = Effect.gen(function* () {
    let position = yield* checkpoint
    yield* store.subscribe({ after: position, batchSize, pollInterval }).pipe(
      Stream.mapError(fail("follow log")),
      Stream.groupedWithin(batchSize, Duration.millis(20)),
      Stream.runForEachWhile((events) =>
        commit(position, events).pipe(Effect.map((moved) => {
          if (moved === undefined) return false
          position = moved
          return true
        }))
      )
    )
  })

  const run: Effect.Effect<never, ProjectionError> = Effect.forever(followOnce).pipe(Effect.withSpan("Projections.run"))

  return Projections.of({ catchUp, rebuild, run, checkpoint })
})
