/**
 * The `Projections` port on SQL: keeps the read model of `migrations/0002_projections.sql` up to date
 * with the event log.
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
 * **Rebuild without a gap for readers.** A rebuild replays the log from position 0 into shadow
 * tables (migration 0007) with a checkpoint of their own, by the same batches as a catch-up,
 * while the live tables keep serving reads and following the log; the shadow's secondary
 * indexes are dropped first and built again once its rows are in. Then one transaction swaps
 * the shadow's rows in and moves the live checkpoint to the shadow's (`swapInShadow`): readers
 * see the old read model until that commits and the rebuilt one after, never empty or partial
 * tables. The swap only ever moves the live checkpoint forward: if live projectors got further
 * while the shadow was built, the shadow catches up again first. One transaction for the whole
 * replay would be atomic too, but it would hold the live checkpoint (every projector waiting)
 * for as long as the replay takes, and on PGlite it could not read the log at all (see above).
 *
 * **Never a stale read model.** Each checkpoint row also says which projection version built its
 * tables (`PROJECTION_VERSION`, migration 0009). A catch-up that finds another version there (a
 * read model built by another release) rebuilds instead, as above, before anything reads it, and
 * says so in a warning. A batch is only applied to tables of its own version, so two releases
 * sharing a database never mix their rows (each rebuilds the read model in turn instead).
 *
 * @since 0.1.0
 */
import { EventStore, LogReadFailure, ProjectionError, Projections, ProjectionStorageFailure, RebuildOvertaken } from "@terrarium/domain"
import type { RecordedEvent } from "@terrarium/domain"
import { Duration, Effect, Fiber, Stream } from "effect"
import type { Kysely } from "kysely"
import { Database } from "../../sql/Database.ts"
import * as Lease from "../../sql/Lease.ts"
import { PROJECTION_VERSION, type RowOp, rowOpsOfBatch, SWAP_ROUNDS } from "../Projection.ts"
import {
  applyPrepared, dropShadowIndexes, indexShadow, LIVE, lockCheckpoint, lockCheckpointForBatch, type PreparedBatch, prepareBatch,
  type ProjectionTarget, readCheckpoint, resetShadow, SHADOW, swapInShadow
} from "./ProjectionSql.ts"
import type { ProjectionTables } from "./Tables.ts"

/** @since 0.1.0 @category models */
export interface SqlProjectionsOptions {
  /** Events per transaction (default 2,000: see bench/README.md, "Projections benchmark"). */
  readonly batchSize?: number
  /** How long `run` waits between polls once caught up (default 200 ms). */
  readonly pollInterval?: Duration.Input
  /**
   * The projection version this projector builds (default `PROJECTION_VERSION`); tests give
   * another to play a later release over a read model built by this one.
   */
  readonly projectionVersion?: number
  /**
   * How often `run`, as a standby, tries to take over following the log from the active
   * instance (and the active one checks its lease's connection): default 1 s.
   */
  readonly leaseRetry?: Duration.Input
}

/** A catch-up stopped: its target was built by another projection version (`stale`). */
interface Stale {
  readonly stale: number
}

/** Events decoded between two yields while a batch is prepared (see `opsOf`). */
const DECODE_SLICE = 250

const isStale = (reached: number | Stale): reached is Stale => typeof reached !== "number"

/**
 * The projector over the `Database` and `EventStore` of the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function* (options: SqlProjectionsOptions) {
  const database = yield* Database
  const store = yield* EventStore
  const batchSize = Math.max(1, options.batchSize ?? 2000)
  const pollInterval = options.pollInterval ?? "200 millis"
  const version = options.projectionVersion ?? PROJECTION_VERSION

  const storage = (operation: string, position?: number) => (cause: unknown) =>
    new ProjectionError({ reason: new ProjectionStorageFailure({ operation, cause, ...(position === undefined ? {} : { position }) }) })
  const log = (operation: string, position?: number) => (cause: unknown) =>
    new ProjectionError({ reason: new LogReadFailure({ operation, cause, ...(position === undefined ? {} : { position }) }) })
  const tables = (db: Kysely<any>) => db as Kysely<ProjectionTables>

  const checkpointOf = (target: ProjectionTarget) =>
    database.use("read projection checkpoint", (db) => readCheckpoint(tables(db), target.checkpoint)).pipe(
      Effect.mapError(storage("checkpoint"))
    )

  /**
   * Apply a prepared batch to `target` if its checkpoint is still `expected` and its tables are of
   * this projector's version. Returns the new checkpoint, or undefined when another process moved
   * it first or rebuilt it with another version (nothing was written then).
   */
  const apply = (target: ProjectionTarget, expected: number, events: ReadonlyArray<RecordedEvent>, batch: PreparedBatch) =>
    Effect.gen(function* () {
      const last = events.at(-1)?.position
      if (last === undefined) return expected
      return yield* database.transaction("apply projection batch", async (trx) => {
        const db = tables(trx)
        const locked = await lockCheckpointForBatch(db, target.checkpoint, version)
        if (locked.position !== expected || locked.version !== version) return undefined
        await applyPrepared(db, batch, target, { name: target.checkpoint, position: last, version })
        return last
      }).pipe(Effect.mapError(storage("apply", events[0]!.position)))
    })

  const commit = (expected: number, events: ReadonlyArray<RecordedEvent>) =>
    Effect.flatMap(rowOpsOfBatch(events), (ops) => apply(LIVE, expected, events, prepareBatch(ops)))

  /**
   * The row operations of a batch, a slice at a time with a yield between slices: this runs while
   * the batch before commits, and one long synchronous stretch would hold up every reply of that
   * commit's round trips (bench/README.md, "Measurements behind code choices").
   */
  const opsOf = (events: ReadonlyArray<RecordedEvent>) =>
    Effect.gen(function* () {
      const ops: Array<RowOp> = []
      for (let start = 0; start < events.length; start += DECODE_SLICE) {
        if (start > 0) yield* Effect.yieldNow
        for (const op of yield* rowOpsOfBatch(events.slice(start, start + DECODE_SLICE))) ops.push(op)
      }
      return ops
    })

  /** Read and prepare the batch after `after`, up to `head`. */
  const load = (after: number, head: number) =>
    Effect.gen(function* () {
      const events = yield* store.readAll({ after, until: head, batchSize }).pipe(
        Stream.take(batchSize),
        Stream.runCollect,
        Effect.mapError(log("read log"))
      )
      // The head is committed, so an empty read below it means the log lost events: stop
      // rather than spin.
      if (events.length === 0) {
        return yield* Effect.fail(log("read log", after + 1)(new Error(`no events after ${after} although the head is ${head}`)))
      }
      const ops = yield* opsOf(events)
      yield* Effect.yieldNow
      return { events, batch: prepareBatch(ops) }
    })

  /**
   * While a batch's transaction runs, the next batch is already read, decoded and prepared
   * (`prepareBatch`: folded and serialised but for its labels; on PostgreSQL that overlaps,
   * PGlite serialises it), so that a transaction holds little but the server's work: four round
   * trips (begin, lock the checkpoint, read what the labels need, write the batch and move the
   * checkpoint) and the commit. The prefetch assumes the commit succeeds: if another
   * process moved the checkpoint instead, it is dropped and the read restarts from there, so
   * exactly-once still rests on the checkpoint check alone. A prefetch that fails surfaces only
   * after the batch before it committed. Stops, applying nothing more, when `target` turns out to
   * be of another projection version (returns `Stale`): catching up would mix two versions' rows.
   */
  const catchUpTo = (target: ProjectionTarget) => Effect.gen(function* () {
    const head = yield* store.head.pipe(Effect.mapError(log("read head")))
    // No checkpoint yet: nothing was projected, so nothing can be stale.
    const current = yield* checkpointOf(target)
    if (current !== undefined && current.version !== version) return { stale: current.version } satisfies Stale
    let position = current?.position ?? 0
    let next = position < head ? yield* Effect.forkChild(load(position, head)) : undefined
    while (next !== undefined) {
      const { batch, events } = yield* Fiber.join(next)
      const last = events.at(-1)!.position
      next = last < head ? yield* Effect.forkChild(load(last, head)) : undefined
      const moved = yield* apply(target, position, events, batch)
      if (moved === undefined) {
        if (next !== undefined) yield* Fiber.interrupt(next)
        const now = yield* checkpointOf(target)
        if (now !== undefined && now.version !== version) return { stale: now.version } satisfies Stale
        position = now?.position ?? 0
        next = position < head ? yield* Effect.forkChild(load(position, head)) : undefined
      } else position = moved
    }
    return position
  })

  const checkpoint = checkpointOf(LIVE).pipe(Effect.map((current) => current?.position ?? 0))
  const storedVersion = checkpointOf(LIVE).pipe(Effect.map((stored) => ({ stored: stored?.version ?? null, current: version })))

  /**
   * Build the shadow, then swap it in; if live projectors got past the shadow meanwhile, catch
   * the shadow up again and retry. A round after the first only replays what was appended during
   * the one before, so it is short, and it fails again only if a live projector commits within
   * it. Should that keep happening (a log growing without pause under a live follower), the
   * rebuild gives up after `SWAP_ROUNDS` rather than run for ever, the live read model untouched.
   */
  const resetShadowTables = database.transaction("reset rebuild tables", async (trx) => {
    await resetShadow(tables(trx), version)
    await dropShadowIndexes(tables(trx))
  }).pipe(Effect.mapError(storage("rebuild")))
  // Outside the swap's transaction, which holds the live checkpoint: projectors need not wait
  // for the index builds. The shadow's checkpoint is locked first, as by everything else that
  // writes the shadow (batches of another rebuild, its reset): taking the tables' locks in
  // another order deadlocked with such a batch.
  const indexShadowTables = database.transaction("index rebuild tables", async (trx) => {
    await lockCheckpoint(tables(trx), SHADOW.checkpoint, version)
    await indexShadow(tables(trx))
  }).pipe(Effect.mapError(storage("rebuild")))
  const rebuild = Effect.gen(function* () {
    yield* resetShadowTables
    for (let round = 1; ; round++) {
      // A rebuild of another release took the shadow over: start again (a round of its own).
      const swapped = isStale(yield* catchUpTo(SHADOW))
        ? yield* Effect.as(resetShadowTables, undefined)
        : yield* indexShadowTables.pipe(
          Effect.andThen(database.transaction("swap in rebuilt projections", (trx) => swapInShadow(tables(trx), version))),
          Effect.mapError(storage("rebuild"))
        )
      if (swapped !== undefined) return swapped
      if (round === SWAP_ROUNDS) {
        return yield* new ProjectionError({ reason: new RebuildOvertaken({ rounds: SWAP_ROUNDS }) })
      }
    }
  }).pipe(Effect.withSpan("Projections.rebuild"))

  /**
   * Up to the head; but a read model of another projection version is rebuilt instead (which
   * also brings it to the head), so that no read is ever served from it.
   */
  const catchUp = Effect.gen(function* () {
    const reached = yield* catchUpTo(LIVE)
    if (!isStale(reached)) return reached
    yield* Effect.logWarning(
      `the read model was built by projection version ${reached.stale} and this Terrarium projects version ${version}: ` +
        "rebuilding it from the event log before it is read"
    )
    return yield* rebuild
  }).pipe(Effect.withSpan("Projections.catchUp"))

  /**
   * One subscription from the head as of now (caught up, or rebuilt if stale), until another
   * process moves the checkpoint under it or rebuilds it with another version (then `run` starts
   * a fresh one from there).
   */
  const followOnce = Effect.gen(function* () {
    let position = yield* catchUp
    yield* store.subscribe({ after: position, batchSize, pollInterval }).pipe(
      Stream.mapError(log("follow log")),
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

  /**
   * Following the log is leased (`Lease.ts`): one instance per projection across processes
   * follows it, the others wait as standbys and the first to retry takes over when it stops.
   * Two followers would both be correct (every batch is checked against the checkpoint), but
   * each would read and decode every event only for one of them to commit it.
   */
  const run: Effect.Effect<never, ProjectionError> = Effect.scoped(Effect.gen(function* () {
    const lease = yield* Lease.acquire(database, `projection/${LIVE.checkpoint}`, {
      retryEvery: options.leaseRetry ?? "1 second",
      onStandby: Effect.logInfo("another instance follows the event log for the read model: standing by")
    }).pipe(Effect.mapError(storage("lease")))
    yield* Effect.logInfo("following the event log for the read model")
    return yield* Effect.raceFirst(Effect.forever(followOnce), lease.lost.pipe(Effect.mapError(storage("lease"))))
  })).pipe(Effect.withSpan("Projections.run"))

  return Projections.of({ catchUp, rebuild, run, checkpoint, version: storedVersion })
})
