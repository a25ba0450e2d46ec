/**
 * Prepared statements below Kysely, on both engines.
 *
 * PostgreSQL (`preparingPool`): `pg` sends a query without a `name` as the unnamed statement,
 * which the server parses and plans on every execution. The event store's queries are a handful
 * of fixed texts run thousands of times (read a stream, read a page, append), so planning is most
 * of the server's work for them (bench/README.md, "Measurements behind code choices"). Drivers in other ecosystems
 * do the same by default (postgres.js prepares every statement; pgx caches them; JDBC after five
 * executions). This wraps the `pg` pool in Kysely's own `PostgresPool` interface, so Kysely and
 * everything above it are untouched: a query text with parameters is given a name the first time
 * it is seen (`terrarium_<n>_<generation>`), and `pg` parses it once per connection and executes
 * it by name afterwards.
 *
 * PGlite (`preparingPglite`): `PGlite.query` parses, describes, binds and executes a query as five
 * separate calls into WebAssembly, every time. This wraps the instance in Kysely's own `PGlite`
 * interface: a text with parameters is parsed and described once (named), and each execution is
 * one call, Bind + Describe + Execute + Sync, through PGlite's public `execProtocol`, its results
 * decoded by PGlite's own `parseResults` with the instance's parsers, so rows come back exactly as
 * `query` returns them, in about half the time of `query` (bench/README.md). Each execution holds
 * the same PGlite locks `query` (outside a transaction) or
 * the transaction's `query` (inside one) would.
 *
 * On both, texts without parameters (BEGIN, COMMIT, DDL, migrations) go the usual way, and at most
 * `capacity` distinct texts get names (default 256); later ones run unnamed, so code that builds
 * ever-new texts cannot grow a session's statement cache forever.
 *
 * Self-healing: a prepared statement can go stale under a running process, when a migration
 * changes the statement's result type ("cached plan must not change result type", raised while
 * revalidating it) or when something deallocates it (`DISCARD ALL` from a connection pooler:
 * "prepared statement … does not exist"). On PostgreSQL that query fails once and the connection
 * moves to a new generation of names, so the next execution is parsed afresh (the pool wrapper
 * cannot tell whether the connection is inside a transaction, where a retry would be refused).
 * On PGlite, which knows, the statement is prepared again and, outside a transaction, the query
 * retried at once.
 *
 * Turn it off on PostgreSQL (`Database.layerPostgres({ preparedStatements: false })`) behind a
 * pooler in transaction mode that does not track prepared statements (PgBouncer before 1.21).
 *
 * @since 0.1.0
 */
import type * as PgliteModule from "@electric-sql/pglite"
import type { PGlite, Results } from "@electric-sql/pglite"
import type {
  PGlite as KyselyPGlite,
  PGliteQueryOptions,
  PGliteQueryResults,
  PGliteTransaction,
  PostgresCursor,
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryResult
} from "kysely"
import type pg from "pg"

/** @since 0.1.0 @category models */
export interface PreparedStatementsOptions {
  /** Distinct statement texts given names, per pool or PGlite instance (default 256; 0 prepares nothing). */
  readonly capacity?: number
}

/**
 * A pooled connection of `preparingPool`: Kysely's `PostgresPoolClient`, whose `query` also takes
 * pg's `rowMode: "array"` (each row as the array of its column values) for callers below Kysely.
 *
 * @since 0.1.0
 * @category models
 */
export interface PreparingPoolClient extends PostgresPoolClient {
  query<R>(sql: string, parameters: ReadonlyArray<unknown>, rowMode?: "array"): Promise<PostgresQueryResult<R>>
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>
}

/**
 * The pool `preparingPool` returns: Kysely's `PostgresPool`, handing out `PreparingPoolClient`s.
 *
 * @since 0.1.0
 * @category models
 */
export interface PreparingPool extends PostgresPool {
  connect(): Promise<PreparingPoolClient>
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
export const preparingPool = (pool: pg.Pool, options: PreparedStatementsOptions = {}): PreparingPool => {
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

  const wrap = (client: pg.PoolClient): PreparingPoolClient => {
    function query<R>(sql: string, parameters: ReadonlyArray<unknown>, rowMode?: "array"): Promise<PostgresQueryResult<R>>
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>
    function query<R>(first: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>, rowMode?: "array"): unknown {
      if (typeof first !== "string") return client.query(first as never)
      const values = parameters === undefined ? [] : [...parameters]
      const name = values.length > 0 ? nameOf(client, first) : undefined
      const mode = rowMode === undefined ? {} : { rowMode }
      if (name === undefined) return client.query({ text: first, values, ...mode })
      return client.query({ name, text: first, values, ...mode }).catch((error: unknown) => {
        if (isStalePreparedStatement(error)) generations.set(client, (generations.get(client) ?? 0) + 1)
        throw error
      })
    }
    return {
      query: query as PreparingPoolClient["query"],
      release: (destroy) => client.release(destroy),
      // Kysely reads the backend pid from here to cancel a query (0: it asks the server instead).
      get processID(): number {
        return (client as { processID?: number }).processID ?? 0
      }
    }
  }

  // One wrapper per pooled client, so that Kysely's driver, which keeps a connection object per
  // client it is handed, finds the one it made before instead of making one per query.
  const wrappers = new WeakMap<pg.PoolClient, PreparingPoolClient>()
  return {
    options: pool.options,
    connect: async () => {
      const client = await pool.connect()
      let wrapper = wrappers.get(client)
      if (wrapper === undefined) {
        wrapper = wrap(client)
        wrappers.set(client, wrapper)
      }
      return wrapper
    },
    end: () => pool.end()
  }
}

type RowMode = "object" | "array"

interface PgliteStatement {
  readonly name: string
  /** Parameter type OIDs, to serialise values as `PGlite.query` does. */
  readonly parameterTypes: ReadonlyArray<number>
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * PGlite's protocol helpers, imported with the first statement prepared rather than with this
 * module: PGlite's module is 0.5 MB of JavaScript, which a command on PostgreSQL (or
 * `terrarium --help`) has no use for. By then the PGlite instance has loaded it, so this costs
 * nothing more.
 */
let pgliteModule: typeof PgliteModule | undefined
const pgliteHelpers = async (): Promise<typeof PgliteModule> => (pgliteModule ??= await import("@electric-sql/pglite"))

/**
 * `pglite` as Kysely's `PGlite`, running parameterised queries as named prepared statements
 * through `execProtocol`, one call into WebAssembly per execution.
 *
 * @since 0.1.0
 * @category constructors
 */
export const preparingPglite = (pglite: PGlite, options: PreparedStatementsOptions = {}): KyselyPGlite => {
  const capacity = options.capacity ?? 256
  const statements = new Map<string, PgliteStatement>()
  let counter = 0

  const prepare = async (text: string): Promise<PgliteStatement | undefined> => {
    const known = statements.get(text)
    if (known !== undefined || statements.size >= capacity) return known
    const name = `terrarium_${counter++}`
    const { parse, protocol } = pgliteModule ?? (await pgliteHelpers())
    const { messages } = await pglite.execProtocol(
      concat([protocol.serialize.parse({ name, text, types: [] }), protocol.serialize.describe({ type: "S", name }), protocol.serialize.sync()]),
      { syncToFs: false }
    )
    const statement = { name, parameterTypes: parse.parseDescribeStatementResults(messages) }
    statements.set(text, statement)
    return statement
  }

  const execute = async (statement: PgliteStatement, parameters: ReadonlyArray<unknown>, inTransaction: boolean, rowMode: RowMode) => {
    const { parse, protocol } = pgliteModule ?? (await pgliteHelpers())
    const values = parameters.map((value, i) => {
      if (value === null || value === undefined) return null
      const serializer = pglite.serializers[statement.parameterTypes[i]!]
      return serializer !== undefined ? serializer(value) : String(value)
    })
    const { messages } = await pglite.execProtocol(
      concat([
        protocol.serialize.bind({ statement: statement.name, values }),
        protocol.serialize.describe({ type: "P" }),
        protocol.serialize.execute({}),
        protocol.serialize.sync()
      ]),
      // What `query` does: write the file system back after a statement outside a transaction.
      { syncToFs: !inTransaction }
    )
    return parse.parseResults(messages, pglite.parsers, { rowMode })[0]!
  }

  /** Undefined when the text is new and the capacity is used up: the caller runs it unnamed. */
  const run = async (text: string, parameters: ReadonlyArray<unknown>, inTransaction: boolean, rowMode: RowMode): Promise<Results | undefined> => {
    const statement = await prepare(text)
    if (statement === undefined) return undefined
    try {
      return await execute(statement, parameters, inTransaction, rowMode)
    } catch (error) {
      if (!isStalePreparedStatement(error)) throw error
      statements.delete(text)
      // In a transaction the failure has aborted it: nothing may run there but a rollback.
      if (inTransaction) throw error
      const fresh = await prepare(text)
      return fresh === undefined ? undefined : execute(fresh, parameters, false, rowMode)
    }
  }

  // Only options the prepared path honours: rowMode (both modes) and nothing else.
  const preparable = (parameters: ReadonlyArray<unknown> | undefined, options: PGliteQueryOptions | undefined) =>
    parameters !== undefined && parameters.length > 0 &&
    (options === undefined || Object.keys(options).every((key) => key === "rowMode"))

  const toKysely = <T>(results: Results): PGliteQueryResults<T> => ({
    rows: results.rows as Array<T>,
    fields: results.fields,
    ...(results.affectedRows !== undefined ? { affectedRows: results.affectedRows } : {})
  })

  return {
    get closed() {
      return pglite.closed
    },
    get ready() {
      return pglite.ready
    },
    get waitReady() {
      return pglite.waitReady
    },
    close: () => pglite.close(),
    // The locks `PGlite.query` takes: no other transaction open, no other query running.
    query: async <T>(text: string, parameters?: Array<unknown>, options?: PGliteQueryOptions) => {
      if (preparable(parameters, options)) {
        await pglite._checkReady()
        const results = await pglite._runExclusiveTransaction(() => pglite._runExclusiveQuery(() => run(text, parameters!, false, options?.rowMode ?? "object")))
        if (results !== undefined) return toKysely<T>(results)
      }
      return pglite.query<T>(text, parameters, options)
    },
    transaction: <T>(callback: (tx: PGliteTransaction) => Promise<T>) =>
      pglite.transaction((tx) =>
        callback({
          // Inside the transaction (it holds the transaction lock): the lock a transaction's `query` takes.
          query: async <R>(text: string, parameters?: Array<unknown>, options?: PGliteQueryOptions) => {
            if (preparable(parameters, options)) {
              const results = await pglite._runExclusiveQuery(() => run(text, parameters!, true, options?.rowMode ?? "object"))
              if (results !== undefined) return toKysely<R>(results)
            }
            return tx.query<R>(text, parameters, options)
          },
          rollback: () => tx.rollback()
        })
      )
  }
}
