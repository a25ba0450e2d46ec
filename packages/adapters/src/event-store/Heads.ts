/**
 * The `heads` stream of the port (EventStore.ts), for every store: this process's appends are
 * announced in-process, synchronously as each completes (`HeadAnnouncer`); another process's,
 * on PostgreSQL, by `pg_notify` in the append's own statement (AppendSql.ts), so a notification
 * is delivered exactly at its commit, to a connection that LISTENs (`Database.listen`).
 *
 * A subscriber starts listening first (both ways), then asks the head and gives it as its first
 * element: an append committed before the question is in that answer, one committed after it
 * is announced. Announcements before the first element are dropped (the answer covers them),
 * and the elements only ever rise. Losing the listening connection fails the stream: what was
 * announced meanwhile is lost, and the subscriber must go back to asking.
 *
 * @since 0.4.0
 */
import { type EventStoreError, storageFailure } from "@terrarium/domain"
import { Cause, Effect, Queue, Stream } from "effect"
import { createHash } from "node:crypto"

/**
 * This process's announcements of appends to one log (one per database handle, or per memory
 * store): listeners are called synchronously, in the appender's fiber.
 *
 * @since 0.4.0
 * @category models
 */
export class HeadAnnouncer {
  readonly #listeners = new Set<(position: number) => void>()

  /** An append reached `position` and is committed. */
  announce(position: number): void {
    for (const listener of this.#listeners) listener(position)
  }

  /** Hear every announcement from now until the returned function is called. */
  hear(listener: (position: number) => void): () => void {
    this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }
}

const announcers = new WeakMap<object, HeadAnnouncer>()

/**
 * The announcer of the log behind `handle` (a database handle), shared by every store over it.
 *
 * @since 0.4.0
 * @category constructors
 */
export const headAnnouncerOf = (handle: object): HeadAnnouncer => {
  let announcer = announcers.get(handle)
  if (announcer === undefined) {
    announcer = new HeadAnnouncer()
    announcers.set(handle, announcer)
  }
  return announcer
}

/**
 * The channel a schema's appends are announced on (PostgreSQL notifications are per database,
 * and several schemas may hold logs in one): a name of at most 63 bytes, as PostgreSQL allows.
 *
 * @since 0.4.0
 * @category constructors
 */
export const headChannelOf = (schema: string): string => {
  const plain = `terrarium_head_${schema}`
  return Buffer.byteLength(plain) <= 63 ? plain : `terrarium_head_${createHash("sha256").update(schema).digest("hex").slice(0, 40)}`
}

/**
 * What other processes announce, for `heads`: `listening` once their announcements will be
 * heard, then each announced position. None on a log no other process writes (memory, PGlite).
 *
 * @since 0.4.0
 * @category models
 */
export type RemoteHeads = Stream.Stream<{ readonly _tag: "Listening" } | { readonly _tag: "Announced"; readonly position: number }, EventStoreError>

/**
 * The port's `heads`: listen (in-process, and to `remote` if any), ask `head`, then follow.
 *
 * @since 0.4.0
 * @category constructors
 */
export const headsOf = (
  announcer: HeadAnnouncer,
  head: Effect.Effect<number, EventStoreError>,
  remote?: RemoteHeads
): Stream.Stream<number, EventStoreError> =>
  Stream.callback<number, EventStoreError>((queue) =>
    Effect.gen(function*() {
      let last = -1
      let started = false
      const offer = (position: number) => {
        if (started && position > last) {
          last = position
          Queue.offerUnsafe(queue, position)
        }
      }
      yield* Effect.acquireRelease(Effect.sync(() => announcer.hear(offer)), (stop) => Effect.sync(stop))
      const start = Effect.flatMap(head, (position) =>
        Effect.sync(() => {
          started = true
          offer(position)
        }))
      if (remote === undefined) return yield* start
      yield* remote.pipe(
        Stream.runForEach((message) => message._tag === "Listening" ? start : Effect.sync(() => offer(message.position))),
        Effect.andThen(Effect.fail(storageFailure("heads", new Error("the listening connection ended")))),
        Effect.catchCause((cause: Cause.Cause<EventStoreError>) => Effect.sync(() => Queue.failCauseUnsafe(queue, cause))),
        Effect.forkScoped
      )
    })
  )
