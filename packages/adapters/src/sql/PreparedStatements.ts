/**
 * Server-side prepared statements for PostgreSQL, below Kysely.
 *
 * `pg` sends a query without a `name` as an unnamed statement, which the server parses and plans
 * on every execution. The event store's queries are a handful of fixed texts run thousands of
 * times (read a stream, read a page, append), so planning is most of the server's work for them:
 * measured on PostgreSQL 15 over loopback, a 10-event `readStream` took 0.37 ms at the median
 * unnamed and 0.23 ms named. Drivers in other ecosystems do the same by default (postgres.js
 * prepares every statement; pgx caches them; JDBC after five executions).
 *
 * This wraps the `pg` pool in Kysely's own `PostgresPool` interface, so Kysely and everything
 * above it are untouched: a query text with parameters is given a name the first time it is seen
 * (`terrarium_<n>_<generation>`), and `pg` parses it once per connection and executes it by name
 * afterwards. Texts without parameters (BEGIN, COMMIT, DDL, migrations) stay on the simple
 * protocol, which also allows several statements in one text.
 *
 * Bounded: at most `capacity` distinct texts get names (default 256); later ones run unnamed, so
 * code that builds ever-new texts cannot grow each server connection's statement cache forever.
 *
 * Self-healing: a prepared statement can go stale under a running process, when another process
 * migrates the schema so that the statement's result type changes ("cached plan must not change
 * result type", raised while revalidating it) or when something deallocates it (`DISCARD ALL` from
 * a connection pooler: "prepared statement … does not exist"). That query fails once; the
 * connection then moves to a new generation of names, so the next execution is parsed afresh.
 *
 * Turn it off (`Database.layerPostgres({ preparedStatements: false })`) behind a pooler in
 * transaction mode that does not track prepared statements (PgBouncer before 1.21).
 *
 * @since 0.1.0
 */
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely"
import type pg from "pg"

/** @since 0.1.0 @category models */
export interface PreparedStatementsOptions {
  /** Distinct statement texts given names, per pool (default 256). */
  readonly capacity?: number
}

const STALE_ROUTINES = new Set(["RevalidateCachedQuery", "FetchPreparedStatement"])

/**
 * Whether `error` says a named statement no longer matches the server: its plan was invalidated
 * with a different result type, or it was deallocated.
 *
 * @since 0.1.0
 * @category errors
 */
export const isStalePreparedStatement = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null) return false
  const { code, routine } = error as { code?: unknown; routine?: unknown }
  if (typeof routine === "string" && STALE_ROUTINES.has(routine)) return true
  // Without `routine` (servers may omit it): the SQLSTATEs those two errors carry.
  return code === "26000" || (code === "0A000" && String((error as { message?: unknown }).message).includes("cached plan"))
}

/**
 * `pool` as Kysely's `PostgresPool`, running parameterised queries as named prepared statements.
 *
 * @since 0.1.0
 * @category constructors
 */
export const preparingPool = (pool: pg.Pool, options: PreparedStatementsOptions = {}): PostgresPool => {
  const capacity = options.capacity ?? 256
  const numbers = new Map<string, number>()
  // Per server connection: bumped when one of its statements went stale (see the module comment).
  const generations = new WeakMap<pg.PoolClient, number>()

  const nameOf = (client: pg.PoolClient, text: string): string | undefined => {
    let n = numbers.get(text)
    if (n === undefined) {
      if (numbers.size >= capacity) return undefined
      n = numbers.size
      numbers.set(text, n)
    }
    return `terrarium_${n}_${generations.get(client) ?? 0}`
  }

  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>
    function query<R>(first: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): unknown {
      if (typeof first !== "string") return client.query(first as never)
      const values = parameters === undefined ? [] : [...parameters]
      const name = values.length > 0 ? nameOf(client, first) : undefined
      if (name === undefined) return client.query(first, values)
      return client.query({ name, text: first, values }).catch((error: unknown) => {
        if (isStalePreparedStatement(error)) generations.set(client, (generations.get(client) ?? 0) + 1)
        throw error
      })
    }
    return {
      query: query as PostgresPoolClient["query"],
      release: (destroy) => client.release(destroy),
      // Kysely reads the backend pid from here to cancel a query (0: it asks the server instead).
      get processID(): number {
        return (client as { processID?: number }).processID ?? 0
      }
    }
  }

  return {
    options: pool.options,
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end()
  }
}
