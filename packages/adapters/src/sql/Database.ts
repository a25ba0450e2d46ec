/**
 * The SQL database behind the adapters: one Kysely instance over PostgreSQL (a `pg` pool) or
 * PGlite (embedded PostgreSQL in WebAssembly), migrated to the latest schema when the layer
 * starts and closed when its scope closes.
 *
 * Use `use` / `transaction` / `execute` rather than `db` directly when the engine may be PGlite:
 * PGlite has a single connection, and Kysely's PGlite driver runs any query issued while a
 * transaction is open *inside* that transaction. All three serialise on PGlite, so a reader can
 * never see another caller's uncommitted rows.
 *
 * @since 0.1.0
 */
import type { PGliteOptions } from "@electric-sql/pglite"
import { Cause, Context, Effect, type FileSystem, Layer, type Path, Queue, Semaphore, Stream } from "effect"
import { Kysely, PGliteDialect, PostgresDialect, sql, type Transaction } from "kysely"
import { ensureDirectory, inWords } from "./DataDirectory.ts"
import { acquireDataDirectoryLock, type DataDirectoryLockOptions, dataDirectoryPathOf } from "./DataDirectoryLock.ts"
import { DatabaseError } from "./DatabaseError.ts"
import { migrate } from "./Migrations.ts"
import { preparingPglite, type PreparingPool, preparingPool } from "./PreparedStatements.ts"

export { DatabaseError } from "./DatabaseError.ts"

/** @since 0.1.0 @category models */
export type DatabaseKind = "postgres" | "pglite"

/** @since 0.1.0 @category models */
export interface PostgresOptions {
  /** e.g. `postgres://user@host:5432/db`. */
  readonly connectionString: string
  /**
   * Schema for every pooled connection (`search_path`), created if missing. Default: the
   * server's default search_path (usually `public`). Must be a plain identifier.
   */
  readonly schema?: string
  /** Maximum pooled connections (default 10). */
  readonly poolSize?: number
  /**
   * Run parameterised queries as named server-side prepared statements (default true; see
   * PreparedStatements.ts). Turn off behind a pooler in transaction mode that does not track
   * prepared statements (PgBouncer before 1.21).
   */
  readonly preparedStatements?: boolean
}

/** @since 0.1.0 @category models */
export interface PgliteOptions {
  /**
   * Directory of the database files (a path, or `file://` and a path); absent, or `memory://`,
   * = in memory. PGlite's browser forms (`idb://`, `opfs-ahp://`) are passed through unlocked.
   */
  readonly dataDir?: string
  /** Extra PGlite options (extensions, debug…). */
  readonly pglite?: Omit<PGliteOptions, "dataDir">
  /**
   * PostgreSQL settings for this start (`shared_buffers: "16MB"`), given as `-c name=value` after
   * PGlite's start parameters; not written to the data directory.
   */
  readonly settings?: Readonly<Record<string, string>>
  /**
   * Waiting for another process that has the data directory open (PGlite allows one process at
   * a time; see DataDirectoryLock.ts). Default: wait up to 60 seconds.
   */
  readonly lock?: DataDirectoryLockOptions
}

/**
 * What a `listen` stream gives: `Listening` once the LISTEN is in effect (a notification sent
 * after it will be delivered), then each notification's payload.
 *
 * @since 0.4.0
 * @category models
 */
export type DatabaseNotification = { readonly _tag: "Listening" } | { readonly _tag: "Notified"; readonly payload: string }

/**
 * A database handle.
 *
 * @since 0.1.0
 * @category port
 */
export class Database extends Context.Service<Database, {
  readonly kind: DatabaseKind
  /** The Kysely instance; prefer `use`/`transaction` (see the module comment on PGlite). */
  readonly db: Kysely<any>
  /** The schema unqualified names resolve to (`public` unless configured). */
  readonly schema: string
  /** Migrations applied when this layer started (empty if it was up to date). */
  readonly applied: ReadonlyArray<string>
  /** Run queries outside a transaction; `operation` names them in errors. */
  readonly use: <A>(operation: string, f: (db: Kysely<any>) => Promise<A>) => Effect.Effect<A, DatabaseError>
  /** Run queries in one transaction (READ COMMITTED), committed when `f` resolves, rolled back if it rejects. */
  readonly transaction: <A>(operation: string, f: (trx: Transaction<any>) => Promise<A>) => Effect.Effect<A, DatabaseError>
  /**
   * Run one parameterised statement outside a transaction, below Kysely (the same connections,
   * prepared statements and, on PGlite, serialisation as `use`), and return its rows. For a
   * fixed text run thousands of times where Kysely's executor shows: the event store's append,
   * where acquiring the connection and running the query through Kysely was a tenth of a
   * single-writer append to PostgreSQL over loopback (bench/README.md).
   */
  readonly execute: <R>(operation: string, text: string, parameters: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<R>, DatabaseError>
  /**
   * `execute`, with each row as the array of its column values in select-list order rather than
   * an object keyed by column name: the driver builds no object per row, and the caller reads
   * fields by index. For reads of many rows (the event store's replay pages and streams).
   */
  readonly executeValues: <R extends ReadonlyArray<unknown>>(
    operation: string,
    text: string,
    parameters: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<R>, DatabaseError>
  /**
   * The notifications sent on `channel` (`pg_notify`): on PostgreSQL a connection of its own,
   * outside the pool, that LISTENs for as long as the stream runs; on PGlite, PGlite's own
   * in-process LISTEN. The stream fails when that connection is lost (the server went away, or
   * an administrator ended it): notifications sent meanwhile are not delivered, so a caller
   * that keeps state by them must stop trusting it.
   */
  readonly listen: (channel: string) => Stream.Stream<DatabaseNotification, DatabaseError>
}>()("terrarium/adapters/Database") {
  /**
   * PostgreSQL through a `pg` pool. Runs the migrations on start (read through the FileSystem of the context).
   *
   * @since 0.1.0
   * @category layers
   */
  static layerPostgres(options: PostgresOptions): Layer.Layer<Database, DatabaseError, FileSystem.FileSystem | Path.Path> {
    return Layer.effect(Database, makePostgres(options))
  }

  /**
   * PGlite, on disk if `dataDir` is given, in memory otherwise. Runs the migrations on start (read through the FileSystem of the context).
   *
   * @since 0.1.0
   * @category layers
   */
  static layerPglite(options: PgliteOptions = {}): Layer.Layer<Database, DatabaseError, FileSystem.FileSystem | Path.Path> {
    return Layer.effect(Database, makePglite(options))
  }
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/

/** How often a listening connection is checked, and how long a check may take. */
const LISTEN_HEARTBEAT_MILLIS = 5_000

/** One statement on a pooled connection, given back whatever happens. */
const statement = async <R>(pool: PreparingPool, text: string, parameters: ReadonlyArray<unknown>, rowMode?: "array") => {
  const client = await pool.connect()
  try {
    return (await client.query<R>(text, parameters, rowMode)).rows
  } finally {
    client.release()
  }
}

const makePostgres = Effect.fnUntraced(function* (options: PostgresOptions) {
  const { schema } = options
  if (schema !== undefined && !identifier.test(schema)) {
    return yield* new DatabaseError({ operation: "connect", cause: new Error(`invalid schema name ${JSON.stringify(schema)}`) })
  }
  // Loaded here, not with this module: `pg` brings Node's TLS, DNS and crypto modules, which a
  // command on the embedded database, or `terrarium --help`, has no use for (the bundled CLI
  // puts it in a chunk of its own).
  const { default: driver } = yield* Effect.tryPromise({ try: () => import("pg"), catch: (cause) => new DatabaseError({ operation: "connect", cause }) })
  const { db, pool } = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const pgPool = new driver.Pool({
        connectionString: options.connectionString,
        max: options.poolSize ?? 10,
        // Set at connection start-up, so every pooled connection has it before its first query.
        ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {})
      })
      // An idle client losing its connection emits on the pool; without a listener that would
      // crash the process. The pool drops the client; the next query reports the failure.
      pgPool.on("error", () => {})
      // A client in use losing its connection (the server stopped in the middle of a query)
      // emits too, after failing its queries: the query reports it; unheard, the emit would
      // crash the process instead. The pool drops the client when it is released.
      pgPool.on("connect", (client) => void client.on("error", () => {}))
      // Without prepared statements: the same wrapper with room for no names, so every text runs unnamed.
      const pool = preparingPool(pgPool, options.preparedStatements === false ? { capacity: 0 } : {})
      return { db: new Kysely<any>({ dialect: new PostgresDialect({ pool }) }), pool }
    }),
    ({ db }) => Effect.promise(() => db.destroy())
  )
  const run = <A>(operation: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (cause) => new DatabaseError({ operation, cause }) })
  if (schema !== undefined) {
    yield* run("connect", () => sql`create schema if not exists ${sql.id(schema)}`.execute(db))
  }
  const listen = (channel: string): Stream.Stream<DatabaseNotification, DatabaseError> =>
    Stream.callback<DatabaseNotification, DatabaseError>((queue) =>
      Effect.gen(function*() {
        const lost = (cause: unknown) => Queue.failCauseUnsafe(queue, Cause.fail(new DatabaseError({ operation: "listen", cause })))
        const client = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              const client = new driver.Client({
                connectionString: options.connectionString,
                keepAlive: true,
                query_timeout: LISTEN_HEARTBEAT_MILLIS,
                ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {})
              })
              client.on("notification", (message) => {
                if (message.channel === channel) Queue.offerUnsafe(queue, { _tag: "Notified", payload: message.payload ?? "" })
              })
              client.on("error", lost)
              client.on("end", () => lost(new Error("the listening connection was closed")))
              await client.connect()
              // A connection that dies without a word (the network, not the server) is found
              // by a query that does not come back; PostgreSQL also delivers every notification
              // committed before a query's answer, so each answer vouches for the time before it.
              const heartbeat = setInterval(() => {
                client.query("select 1").catch((cause: unknown) => lost(cause))
              }, LISTEN_HEARTBEAT_MILLIS)
              client.on("end", () => clearInterval(heartbeat))
              return Object.assign(client, { heartbeat })
            },
            catch: (cause) => new DatabaseError({ operation: "listen", cause })
          }),
          (client) =>
            Effect.promise(() => {
              clearInterval(client.heartbeat)
              client.removeAllListeners("end")
              client.removeAllListeners("error")
              client.on("error", () => {})
              return client.end().catch(() => undefined)
            })
        )
        yield* Effect.tryPromise({
          try: () => client.query(`listen "${channel.replaceAll("\"", "\"\"")}"`),
          catch: (cause) => new DatabaseError({ operation: "listen", cause })
        })
        Queue.offerUnsafe(queue, { _tag: "Listening" })
      })
    )
  return yield* finish("postgres", db, {
    listen,
    use: (operation, f) => run(operation, () => f(db)),
    transaction: (operation, f) => run(operation, () => db.transaction().execute(f)),
    execute: <R>(operation: string, text: string, parameters: ReadonlyArray<unknown>) =>
      run(operation, () => statement<R>(pool, text, parameters)),
    executeValues: <R extends ReadonlyArray<unknown>>(operation: string, text: string, parameters: ReadonlyArray<unknown>) =>
      run(operation, () => statement<R>(pool, text, parameters, "array"))
  })
})

const makePglite = Effect.fnUntraced(function* (options: PgliteOptions) {
  // Before PGlite touches the directory; released after it is closed (finalizers run in reverse).
  // `file://` forms are locked on the path they name, so they exclude its plain form too.
  const directory = options.dataDir === undefined ? undefined : dataDirectoryPathOf(options.dataDir)
  // A failure of PGlite's file system (disk full, read-only) in words naming the directory.
  const failure = (operation: string) => (cause: unknown) =>
    new DatabaseError({ operation, cause: directory === undefined ? cause : inWords(directory, cause) })
  if (directory !== undefined) {
    // PGlite makes the directory itself but not its parents; an impossible one (under /proc, a
    // file, no permission) is refused here in words, before the lock and before PGlite.
    yield* Effect.try({ try: () => ensureDirectory(directory), catch: failure("open") })
    yield* acquireDataDirectoryLock(directory, options.lock)
  }
  const { db, pglite, instance } = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        // Imported here, like `pg` for PostgreSQL: a command on PostgreSQL does not load PGlite.
        const { PGlite } = await import("@electric-sql/pglite")
        const settings = Object.entries(options.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`])
        const instance = await PGlite.create({
          ...options.pglite,
          ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
          ...(settings.length > 0 ? { startParams: [...(options.pglite?.startParams ?? PGlite.defaultStartParams), ...settings] } : {})
        })
        const pglite = preparingPglite(instance)
        return { db: new Kysely<any>({ dialect: new PGliteDialect({ pglite }) }), pglite, instance }
      },
      catch: failure("open")
    }),
    ({ db }) => Effect.promise(() => db.destroy())
  )
  // One connection: one caller at a time. Uninterruptible so that an interrupted caller cannot
  // release the permit while its query is still running.
  const lock = yield* Semaphore.make(1)
  const run = <A>(operation: string, f: () => Promise<A>) =>
    lock.withPermits(1)(Effect.uninterruptible(Effect.tryPromise({ try: f, catch: failure(operation) })))
  const rows = async <R>(text: string, parameters: ReadonlyArray<unknown>, rowMode: "object" | "array") =>
    (await pglite.query<R>(text, [...parameters], { rowMode })).rows
  const listen = (channel: string): Stream.Stream<DatabaseNotification, DatabaseError> =>
    Stream.callback<DatabaseNotification, DatabaseError>((queue) =>
      Effect.gen(function*() {
        yield* Effect.acquireRelease(
          run("listen", () => instance.listen(channel, (payload) => Queue.offerUnsafe(queue, { _tag: "Notified", payload }))),
          (unlisten) => Effect.promise(() => unlisten().catch(() => undefined))
        )
        Queue.offerUnsafe(queue, { _tag: "Listening" })
      })
    )
  return yield* finish("pglite", db, {
    listen,
    use: (operation, f) => run(operation, () => f(db)),
    transaction: (operation, f) => run(operation, () => db.transaction().execute(f)),
    execute: <R>(operation: string, text: string, parameters: ReadonlyArray<unknown>) =>
      run(operation, () => rows<R>(text, parameters, "object")),
    executeValues: <R extends ReadonlyArray<unknown>>(operation: string, text: string, parameters: ReadonlyArray<unknown>) =>
      run(operation, () => rows<R>(text, parameters, "array"))
  })
})

const finish = Effect.fnUntraced(function* (
  kind: DatabaseKind,
  db: Kysely<any>,
  access: Pick<Database["Service"], "use" | "transaction" | "execute" | "executeValues" | "listen">
) {
  // Nobody else holds this instance yet, so no need to serialise. Several processes starting at
  // once may race on creating the bookkeeping table: retry.
  const applied = yield* migrate(db).pipe(Effect.retry({ times: 2 }))
  const schema = yield* access.use("connect", () => sql<{ schema: string }>`select current_schema() as schema`.execute(db)).pipe(
    Effect.map((r) => r.rows[0]?.schema ?? "public")
  )
  return Database.of({ kind, db, schema, applied, ...access })
})
