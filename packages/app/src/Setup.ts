/**
 * Wiring: which database, and the layers that put the ports together.
 *
 * The embedded default is PGlite (real PostgreSQL compiled to WASM, in-process) with its data under
 * `TERRARIUM_HOME` (default `~/.terrarium`); a PostgreSQL URL (`TERRARIUM_DATABASE_URL` or
 * `--database-url`) switches to a shared server. Both run the same migrations and the same SQL.
 *
 * @since 0.1.0
 */
import { Database, type LockOwner, Projections, ReadModel, SqlEventStore } from "@terrarium/adapters"
import { Effect, Layer } from "effect"
import { mkdirSync } from "node:fs"
import { homedir, userInfo } from "node:os"
import { join } from "node:path"
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

/** Options with the environment variables applied. @since 0.1.0 @category config */
export const resolveStorage = (options: StorageOptions): StorageOptions => {
  const databaseUrl = options.databaseUrl ?? process.env["TERRARIUM_DATABASE_URL"]
  const databaseSchema = options.databaseSchema ?? process.env["TERRARIUM_DATABASE_SCHEMA"]
  const preparedStatements = options.preparedStatements ?? parseSwitch(process.env["TERRARIUM_DATABASE_PREPARED_STATEMENTS"])
  return databaseUrl !== undefined && databaseUrl !== ""
    ? { databaseUrl, databaseSchema, preparedStatements }
    : { dataDir: options.dataDir ?? defaultDataDir(), onDataDirectoryBusy: options.onDataDirectoryBusy }
}

/** A one-line description of where the data lives, for messages. @since 0.1.0 @category config */
export const describeStorage = (options: StorageOptions): string => {
  const resolved = resolveStorage(options)
  if (resolved.databaseUrl === undefined) return `embedded PGlite at ${resolved.dataDir}`
  const url = new URL(resolved.databaseUrl)
  url.password = url.password === "" ? "" : "***"
  return `PostgreSQL ${url.host}${url.pathname}${resolved.databaseSchema ? ` schema ${resolved.databaseSchema}` : ""}`
}

/**
 * The database layer for the options (migrations run when it starts).
 *
 * @since 0.1.0
 * @category layers
 */
export const databaseLayer = (options: StorageOptions) => {
  const resolved = resolveStorage(options)
  return resolved.databaseUrl !== undefined
    ? Database.layerPostgres({
      connectionString: resolved.databaseUrl,
      ...(resolved.databaseSchema ? { schema: resolved.databaseSchema } : {}),
      ...(resolved.preparedStatements !== undefined ? { preparedStatements: resolved.preparedStatements } : {})
    })
    : Layer.unwrap(Effect.sync(() => {
      // PGlite creates the data directory itself but not its parents.
      if (resolved.dataDir !== undefined && !resolved.dataDir.includes("://")) mkdirSync(resolved.dataDir, { recursive: true })
      const onWait = resolved.onDataDirectoryBusy
      return Database.layerPglite({
        ...(resolved.dataDir !== undefined ? { dataDir: resolved.dataDir } : {}),
        ...(onWait !== undefined ? { lock: { onWait } } : {})
      })
    }))
}

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
