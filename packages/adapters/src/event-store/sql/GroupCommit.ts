/**
 * Group commit: concurrent appends to one store instance share transactions.
 *
 * Appends to one database commit one at a time anyway (AppendSql.ts), so the cost per append is
 * one round trip and one WAL flush. An append that finds no write in flight on its store
 * instance is sent at once; appends arriving while one is in flight queue, and everything queued
 * then goes as one write: one statement, one commit, whatever the number of appends. Each item
 * keeps its own outcome (for the event store, its own expected-version check); a failing one
 * fails alone. On PGlite (one connection) this also serialises access.
 *
 * **Without a hand-off for a lone writer.** An appender that finds no write in flight becomes the
 * leader and writes its own item, alone, in its own fiber, with no Deferred (handing every append
 * to a writer fiber was measurably slower on PGlite, see docs/event-store.md). Items arriving
 * meanwhile queue, each with a Deferred to await; if any did, a background fiber keeps writing
 * them batch by batch until the queue is empty, so the leader's caller goes on at once (with
 * concurrent writers the leader would otherwise stall its own next append while writing
 * everybody else's). Invariant: the queue is empty whenever no leader is set, so a leader never
 * has anything but its own item to write.
 *
 * **A defect.** Should writing a batch fail unexpectedly (a defect: a bug in the store or the
 * driver), its callers and the queue behind it fail rather than wait forever, and the next item
 * leads afresh.
 *
 * **An interrupted caller.** While its item is queued, an interrupted caller takes it out of the
 * queue and nothing is written. Once it is sent (the leader's own, or a queued one a batch has
 * taken), it is written or refused as if the caller were still waiting, and the caller cannot
 * know which: for the event store, read the stream to find out (a retry with the same event ids
 * is refused as a duplicate if the first one was written).
 *
 * Generic over the writer, so the queue is tested without a database (GroupCommit.test.ts).
 *
 * @since 0.1.0
 */
import { Cause, Deferred, Effect, Exit, Result, type Scope } from "effect"

/**
 * How the queue writes: one item in a transaction of its own, or several in one.
 *
 * @since 0.1.0
 * @category models
 */
export interface Writer<A, R, E> {
  /** One item in a transaction of its own: the leader's, or a batch of one. */
  readonly one: (item: A) => Effect.Effect<R, E>
  /**
   * Several items in one transaction: what each caller gets, in order. A failure means the
   * transaction as a whole was refused (say, one bad item failed the statement): the items are
   * then written one at a time, so that only the bad one fails. Rare, so the slow path is fine.
   */
  readonly many: (items: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<Result.Result<R, E>>, unknown>
}

/** @since 0.1.0 @category models */
export interface GroupCommitOptions<A, R, E> {
  readonly writer: Writer<A, R, E>
  /** Most items written in one transaction. */
  readonly maxBatch: number
  /** What the caller of an item gets when writing it hit a defect (a bug in the store or the driver). */
  readonly failed: (defect: unknown) => E
  /** What a queued caller gets when the write ahead of it hit a defect: its item was never sent. */
  readonly notWritten: (defect: unknown) => E
}

/** @since 0.1.0 @category models */
export interface GroupCommit<A, R, E> {
  /** Write one item, alone or with those queued beside it; its own outcome. */
  readonly submit: (item: A) => Effect.Effect<R, E>
}

/** An item queued behind the write in flight, and where its outcome goes. */
interface Waiter<A, R, E> {
  readonly item: A
  readonly done: Deferred.Deferred<R, E>
}

/**
 * A queue whose background writes live in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <A, R, E>(options: GroupCommitOptions<A, R, E>): Effect.Effect<GroupCommit<A, R, E>, never, Scope.Scope> =>
  Effect.map(Effect.scope, (scope) => {
    const { failed, notWritten, writer } = options
    // A batch takes at least one item: a batch of none would write nothing and leave the queue as
    // it was, for ever.
    const maxBatch = Math.max(1, Math.floor(options.maxBatch))
    const pending: Array<Waiter<A, R, E>> = []
    let leading = false

    // Suspended: whatever the writer does runs inside the effect, never while a caller is still
    // building it (outside `guarded`, which could then not hand leadership back).
    const writeOne = (item: A) => Effect.suspend(() => writer.one(item))

    const answer = (waiter: Waiter<A, R, E>, result: Result.Result<R, E> | undefined) =>
      result === undefined
        ? Deferred.fail(waiter.done, failed(new Error("the batch gave no result for this item")))
        : Result.isSuccess(result)
        ? Deferred.succeed(waiter.done, result.success)
        : Deferred.fail(waiter.done, result.failure)

    /**
     * Queued items in one transaction; each waiter gets its own outcome. Whatever happens, every
     * waiter of the batch gets an answer: a defect fails those not answered yet and goes on to
     * `guarded`, which fails the queue behind them.
     */
    const write = (batch: ReadonlyArray<Waiter<A, R, E>>): Effect.Effect<void> =>
      Effect.suspend(() =>
        batch.length === 1
          ? writeOne(batch[0]!.item).pipe(Effect.matchEffect({
            onSuccess: (result) => Deferred.succeed(batch[0]!.done, result),
            onFailure: (error) => Deferred.fail(batch[0]!.done, error)
          }))
          : writer.many(batch.map((w) => w.item)).pipe(
            Effect.flatMap((results) => Effect.forEach(batch, (w, i) => answer(w, results[i]), { discard: true })),
            Effect.catch(() => Effect.forEach(batch, (w) => write([w]), { discard: true }))
          )
      ).pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : Effect.forEach(batch, (w) => Deferred.fail(w.done, failed(Cause.squash(exit.cause))), { discard: true })
        ),
        Effect.asVoid
      )

    // A defect must not leave `leading` set (every later item would wait forever): fail what is
    // still queued, unsent, and hand leadership back. Once an item is sent its outcome must be
    // delivered and the queue behind it served, whatever happens to the caller, hence
    // uninterruptible.
    const guarded = <X>(effect: Effect.Effect<X>) =>
      effect.pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : Effect.suspend(() => {
              leading = false
              const error = notWritten(Cause.squash(exit.cause))
              return Effect.forEach(pending.splice(0), (w) => Deferred.fail(w.done, error), { discard: true })
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

    // Yield between batches: on PGlite's single connection a writer that re-takes the connection
    // at once would starve readers waiting for it while writes keep coming.
    const drain: Effect.Effect<void> = Effect.suspend(() => write(pending.splice(0, maxBatch))).pipe(
      Effect.andThen(Effect.yieldNow),
      Effect.andThen(next((d) => d))
    )

    const lead = (item: A) =>
      guarded(
        writeOne(item).pipe(
          // A defect in its own write reaches the leader's caller as it would a waiter (see `write`).
          Effect.catchDefect((defect) => Effect.fail(failed(defect))),
          Effect.exit,
          Effect.tap(next((d) => Effect.forkIn(guarded(d), scope).pipe(Effect.asVoid)))
        )
      ).pipe(Effect.flatten)

    /** Take a waiter out of the queue, if no batch has taken it yet. */
    const dequeue = (waiter: Waiter<A, R, E>) => {
      const i = pending.indexOf(waiter)
      if (i !== -1) pending.splice(i, 1)
    }

    // The check and the push are one synchronous step: a leader cannot hand back leadership
    // between them and leave this item queued with nobody to write it. Uninterruptible from
    // taking leadership until `guarded` holds it, so an interruption cannot land in between and
    // leave `leading` set with no leader; only the wait of a queued item can be interrupted.
    // A waiter interrupted while still queued is taken out and never sent; once a batch has taken
    // it (`drain`'s splice, one synchronous step), it is written and the caller cannot know the outcome.
    const submit = (item: A): Effect.Effect<R, E> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          if (!leading) {
            leading = true
            return lead(item)
          }
          const waiter: Waiter<A, R, E> = { item, done: Deferred.makeUnsafe<R, E>() }
          pending.push(waiter)
          return restore(Deferred.await(waiter.done)).pipe(Effect.onInterrupt(() => Effect.sync(() => dequeue(waiter))))
        })
      )

    return { submit }
  })
