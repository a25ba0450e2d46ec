/**
 * A lease on a name that one holder has at a time across every process sharing the database:
 * the projector's follower takes one so that a single instance per projection follows the log,
 * and the others wait as standbys to take over when it stops (later the build workers may too).
 *
 * - **PostgreSQL:** a session-level advisory lock (`pg_try_advisory_lock`), keyed by the schema
 *   and the name, held by a connection of its own for as long as the lease is: it ends when the
 *   holder lets it go, or when its connection or its process dies (the server then drops the
 *   session and its locks), so a crashed holder never blocks a standby for longer than it takes
 *   the server to notice. A standby tries again every `retryEvery` (on a connection it keeps
 *   meanwhile, one of its pool's); the holder checks its connection as often, and `lost` fails
 *   once it is gone (the lock may then be someone else's).
 * - **PGlite:** one process has a data directory open at a time (`DataDirectoryLock.ts`), so a
 *   lock in this process is enough: a permit per database and name.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Semaphore } from "effect"
import type { Scope } from "effect"
import { type Kysely, sql } from "kysely"
import type { Database } from "./Database.ts"
import { DatabaseError } from "./DatabaseError.ts"

/** @since 0.1.0 @category models */
export interface Lease {
  /** Fails when the lease can no longer be vouched for (its connection failed); never succeeds. */
  readonly lost: Effect.Effect<never, DatabaseError>
}

/** @since 0.1.0 @category models */
export interface LeaseOptions {
  /** How often a standby tries to take the lease, and the holder checks its connection (default 1 s). */
  readonly retryEvery?: Duration.Input
  /** Run once when this caller starts waiting because another holder has the lease. */
  readonly onStandby?: Effect.Effect<void>
}

/** PGlite's permits: one per database and name, for as long as the database is open. */
const permits = new WeakMap<Database["Service"], Map<string, Semaphore.Semaphore>>()

const permitOf = (database: Database["Service"], name: string) => {
  let byName = permits.get(database)
  if (byName === undefined) permits.set(database, byName = new Map())
  let permit = byName.get(name)
  if (permit === undefined) byName.set(name, permit = Semaphore.makeUnsafe(1))
  return permit
}

/** A connection of the pool reserved for the caller until `release`. */
interface Session {
  readonly connection: Kysely<any>
  readonly release: () => void
}

const reserveConnection = (database: Database["Service"]) =>
  Effect.callback<Session, DatabaseError>((resume, signal) => {
    let settled = false
    database.db.connection().execute(async (connection) => {
      // Interrupted while waiting for a connection: give it back at once.
      if (signal.aborted) return
      settled = true
      await new Promise<void>((release) => resume(Effect.succeed({ connection, release })))
    }).catch((cause) => {
      if (!settled) resume(Effect.fail(new DatabaseError({ operation: "lease", cause })))
    })
  })

const query = <A>(session: Session, statement: (db: Kysely<any>) => Promise<A>) =>
  Effect.tryPromise({ try: () => statement(session.connection), catch: (cause) => new DatabaseError({ operation: "lease", cause }) })

/**
 * Takes the lease on `name`, waiting (as a standby) while another holder has it, and holds it
 * until the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const acquire = (
  database: Database["Service"],
  name: string,
  options: LeaseOptions = {}
): Effect.Effect<Lease, DatabaseError, Scope.Scope> =>
  Effect.gen(function* () {
    const retryEvery = Duration.fromInputUnsafe(options.retryEvery ?? "1 second")
    if (database.kind === "pglite") {
      const permit = permitOf(database, name)
      const taken = yield* Semaphore.takeIfAvailable(permit, 1)
      if (!taken) {
        if (options.onStandby !== undefined) yield* options.onStandby
        yield* Semaphore.take(permit, 1)
      }
      yield* Effect.addFinalizer(() => Semaphore.release(permit, 1))
      return { lost: Effect.never }
    }
    const session = yield* Effect.acquireRelease(reserveConnection(database), (session) =>
      // Unlocked before the connection goes back to the pool, where a lock would outlive the lease.
      query(session, (db) => sql`select pg_advisory_unlock_all()`.execute(db)).pipe(
        Effect.ignore,
        Effect.ensuring(Effect.sync(session.release))
      ))
    // Advisory locks are per database, so the key names the schema too: installations in other
    // schemas of the same database have leases of their own.
    const tryLock = query(session, (db) =>
      sql<{ taken: boolean }>`select pg_try_advisory_lock(hashtext('terrarium lease'), hashtext(current_schema() || '/' || ${name})) as taken`
        .execute(db)).pipe(Effect.map(({ rows }) => rows[0]?.taken === true))
    if (!(yield* tryLock)) {
      if (options.onStandby !== undefined) yield* options.onStandby
      while (!(yield* tryLock)) yield* Effect.sleep(retryEvery)
    }
    const check = query(session, (db) => sql`select 1`.execute(db))
    return { lost: Effect.forever(Effect.andThen(Effect.sleep(retryEvery), check)) }
  })

