/**
 * Wiring: which database, and the layers that put the ports together.
 *
 * The embedded default is PGlite (real PostgreSQL compiled to WASM, in-process) with its data under
 * `TERRARIUM_HOME` (default `~/.terrarium`); a PostgreSQL URL (`TERRARIUM_DATABASE_URL` or
 * `--database-url`) switches to a shared server. Both run the same migrations and the same SQL.
 *
 * @since 0.1.0
 */
import { Database, DatabaseError, type LockOwner, Projections, ReadModel, SqlEventStore } from "@terrarium/adapters"
import { Effect, Layer, Result, Schema } from "effect"
import { mkdirSync } from "node:fs"
import { homedir, userInfo } from "node:os"
import { join } from "node:path"
import { InvalidInput } from "./InvalidInput.ts"
import { type Caller, layer as terrariumLayer } from "./Terrarium.ts"

/** @since 0.1.0 @category model */
export interface StorageOptions {
  /** A PostgreSQL connection URL; when absent, the embedded PGlite database is used. */
  readonly databaseUrl?: string | undefined
  /** PostgreSQL schema to work in (default `public`); lets several installations share one database. */
  readonly databaseSchema?: string | undefined
  /**
   * PostgreSQL only: run parameterised queries as named prepared statements (default true, or
   * `TERRARIUM_DATABASE_PREPARED_STATEMENTS=false`). Turn off behind a connection pooler in
   * transaction mode that does not track prepared statements (PgBouncer before 1.21).
   */
  readonly preparedStatements?: boolean | undefined
  /** The PGlite data directory (default `$TERRARIUM_HOME/data`, `~/.terrarium/data`); `memory://` for none. */
  readonly dataDir?: string | undefined
  /**
   * Called once when another process has the PGlite data directory open and this one starts
   * waiting for it (one process at a time; the wait ends after 60 seconds with an error).
   */
  readonly onDataDirectoryBusy?: ((owner: LockOwner, lockFile: string) => void) | undefined
}

/** @since 0.1.0 @category config */
export const terrariumHome = (): string => process.env["TERRARIUM_HOME"] ?? join(homedir(), ".terrarium")

/** @since 0.1.0 @category config */
export const defaultDataDir = (): string => join(terrariumHome(), "data")

/** An opt-out environment variable: `false`, `0`, `off` or `no` turn the feature off; anything else keeps the default. */
const parseSwitch = (value: string | undefined): boolean | undefined =>
  value !== undefined && /^(0|false|off|no)$/i.test(value.trim()) ? false : undefined

/** Where the data lives, once options and environment variables are taken together. @since 0.1.0 @category model */
export type ResolvedStorage =
  | {
    readonly kind: "postgres"
    readonly databaseUrl: string
    readonly databaseSchema?: string | undefined
    readonly preparedStatements?: boolean | undefined
  }
  | {
    readonly kind: "pglite"
    readonly dataDir: string
    readonly onDataDirectoryBusy?: StorageOptions["onDataDirectoryBusy"]
  }

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === "" ? undefined : value)

/**
 * Both a PostgreSQL URL and an embedded data directory were given: which one was meant?
 *
 * @since 0.1.0
 * @category errors
 */
export class ConflictingStorage extends Schema.TaggedError<ConflictingStorage>()("ConflictingStorage", {}) {
  override get message() {
    return "databaseUrl and dataDir: give a PostgreSQL URL or an embedded data directory, not both"
  }
}

/**
 * The storage for the options, environment variables filling in what they leave open. An option
 * given explicitly wins over every environment variable: `dataDir` selects the embedded database
 * even when `TERRARIUM_DATABASE_URL` is set. Giving both `databaseUrl` and `dataDir` is an error,
 * and so is a database URL that is not a `postgres://` / `postgresql://` URL (the message never
 * repeats the text, which may hold a password).
 *
 * @since 0.1.0
 * @category config
 */
export const resolveStorage = (options: StorageOptions): Result.Result<ResolvedStorage, InvalidInput | ConflictingStorage> => {
  const explicitUrl = nonEmpty(options.databaseUrl)
  if (explicitUrl !== undefined && options.dataDir !== undefined) return Result.fail(new ConflictingStorage())
  const fromEnv = options.dataDir === undefined ? nonEmpty(process.env["TERRARIUM_DATABASE_URL"]) : undefined
  const databaseUrl = explicitUrl ?? fromEnv
  if (databaseUrl === undefined) {
    return Result.succeed({ kind: "pglite", dataDir: options.dataDir ?? defaultDataDir(), onDataDirectoryBusy: options.onDataDirectoryBusy })
  }
  if (!isPostgresUrl(databaseUrl)) {
    return Result.fail(new InvalidInput({
      field: explicitUrl !== undefined ? "databaseUrl" : "TERRARIUM_DATABASE_URL",
      reason: "not a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE); key=value connection strings are not accepted"
    }))
  }
  return Result.succeed({
    kind: "postgres",
    databaseUrl,
    databaseSchema: options.databaseSchema ?? process.env["TERRARIUM_DATABASE_SCHEMA"],
    preparedStatements: options.preparedStatements ?? parseSwitch(process.env["TERRARIUM_DATABASE_PREPARED_STATEMENTS"])
  })
}

const isPostgresUrl = (text: string): boolean => {
  try {
    const url = new URL(text)
    return url.protocol === "postgres:" || url.protocol === "postgresql:"
  } catch {
    return false
  }
}

/** A one-line description of where the data lives, for messages; never shows a password. @since 0.1.0 @category config */
export const describeStorage = (storage: ResolvedStorage): string => {
  if (storage.kind === "pglite") return `embedded PGlite at ${storage.dataDir}`
  const url = new URL(storage.databaseUrl)
  return `PostgreSQL ${url.host}${url.pathname}${storage.databaseSchema ? ` schema ${storage.databaseSchema}` : ""}`
}

/**
 * PostgreSQL's buffer cache in the embedded database. PGlite starts with PostgreSQL's default,
 * 128 MB, allocated and zeroed inside this process at every start: opening a data directory and
 * running one query peaked at 253 MiB of RSS with it, 141 MiB with 16 MB. A registry's tables
 * are small, and PGlite reads its files through the operating system's page cache.
 */
const EMBEDDED_SHARED_BUFFERS = "16MB"

/**
 * The database layer for the options (migrations run when it starts).
 *
 * @since 0.1.0
 * @category layers
 */
export const databaseLayer = (options: StorageOptions): Layer.Layer<Database, DatabaseError | InvalidInput | ConflictingStorage> =>
  Layer.unwrap(Effect.gen(function*() {
    const storage = yield* Effect.fromResult(resolveStorage(options))
    if (storage.kind === "postgres") {
      return Database.layerPostgres({
        connectionString: storage.databaseUrl,
        ...(storage.databaseSchema ? { schema: storage.databaseSchema } : {}),
        ...(storage.preparedStatements !== undefined ? { preparedStatements: storage.preparedStatements } : {})
      })
    }
    // PGlite creates the data directory itself but not its parents.
    if (!storage.dataDir.includes("://")) {
      const dataDir = storage.dataDir
      yield* Effect.try({
        try: () => mkdirSync(dataDir, { recursive: true }),
        catch: (cause) => new DatabaseError({ operation: "open", cause })
      })
    }
    const onWait = storage.onDataDirectoryBusy
    return Database.layerPglite({
      dataDir: storage.dataDir,
      settings: { shared_buffers: EMBEDDED_SHARED_BUFFERS },
      ...(onWait !== undefined ? { lock: { onWait } } : {})
    })
  }))

/**
 * Event store, projections and read model over one database.
 *
 * @since 0.1.0
 * @category layers
 */
export const portsLayer = <E>(database: Layer.Layer<Database, E>) => {
  const store = SqlEventStore.layer.pipe(Layer.provideMerge(database))
  return Layer.mergeAll(Projections.layer, ReadModel.layer).pipe(Layer.provideMerge(store))
}

/** The OS user, the default actor of every event. @since 0.1.0 @category config */
export const osUser = (): string => {
  try {
    return userInfo().username
  } catch {
    return process.env["USER"] ?? "unknown"
  }
}

/** @since 0.1.0 @category config */
export const defaultCaller = (actor?: string): Caller => ({ actor: actor ?? osUser() })

/**
 * The whole Terrarium service for the options: the application layer over the ports.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: StorageOptions & { readonly caller?: Caller | undefined }) =>
  terrariumLayer(options.caller ?? defaultCaller()).pipe(Layer.provideMerge(portsLayer(databaseLayer(options))))
