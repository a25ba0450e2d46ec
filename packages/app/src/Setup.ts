/**
 * Wiring: which database, and the layers that put the ports together.
 *
 * The embedded default is PGlite (real PostgreSQL compiled to WASM, in-process) with its data under
 * `TERRARIUM_HOME` (default `~/.terrarium`); a PostgreSQL URL (`TERRARIUM_DATABASE_URL` or
 * `--database-url`) switches to a shared server. Both run the same migrations and the same SQL.
 *
 * @since 0.1.0
 */
import {
  AzureBlobStore,
  BlobBuildContextStore,
  BlobLogStore,
  Database,
  type DatabaseError,
  directoryShelf,
  DockerImageBuilder,
  FileSystemBlobStore,
  FileSystemBuildContextStore,
  FileSystemLogStore,
  type LockOwner,
  MemoryEngine,
  MemoryImageBuilder,
  OciImageRegistry,
  PgBossBuildQueue,
  SqlApiKeyStore,
  SqlEventStore,
  SqlReadModel,
  SqlStorage
} from "@terrarium/adapters"
import { ImageBuilder, type ImageBuilderError } from "@terrarium/domain"
// Subpath imports: the package index also loads every other platform module (a Redis client among them).
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Config, Duration, Effect, type FileSystem, Layer, Option, Path, Redacted } from "effect"
import type { BlobStore, ImageRegistry, LogStore } from "@terrarium/domain"
import { homedir, hostname, userInfo } from "node:os"
import * as BackgroundProjection from "./BackgroundProjection.ts"
import * as CatchUpProgress from "./CatchUpProgress.ts"
import { ConflictingStorage } from "./Errors.ts"
import { InvalidInput } from "./InvalidInput.ts"
import type { Caller } from "./Results.ts"
import { type BuildSettings, type RegistrySettings, Terrarium, layer as terrariumLayer } from "./Terrarium.ts"

export { ConflictingStorage } from "./Errors.ts"

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
  /**
   * Where the build contexts of Dockerfile-based versions are kept, by content digest (default
   * `$TERRARIUM_HOME/build-contexts`, `~/.terrarium/build-contexts`); made when the first is stored.
   */
  readonly buildContextDir?: string | undefined
}

/**
 * The environment variables Terrarium reads, through Effect's `Config` (by default from the
 * process environment; a test or an embedding service can provide another `ConfigProvider`).
 * The database URL may carry a password: it is `Redacted` from the moment it is read.
 */
const EnvironmentConfig = Config.all({
  home: Config.option(Config.String("TERRARIUM_HOME")),
  databaseUrl: Config.option(Config.Redacted("TERRARIUM_DATABASE_URL")),
  databaseSchema: Config.option(Config.String("TERRARIUM_DATABASE_SCHEMA")),
  preparedStatements: Config.option(Config.String("TERRARIUM_DATABASE_PREPARED_STATEMENTS")),
  imageBuilder: Config.option(Config.String("TERRARIUM_IMAGE_BUILDER")),
  memoryBuildStepMs: Config.option(Config.String("TERRARIUM_MEMORY_BUILD_STEP_MS")),
  dockerHost: Config.option(Config.String("DOCKER_HOST")),
  buildLeaseSeconds: Config.option(Config.String("TERRARIUM_BUILD_LEASE_SECONDS")),
  buildQueue: Config.option(Config.String("TERRARIUM_BUILD_QUEUE")),
  jobHeartbeatSeconds: Config.option(Config.String("TERRARIUM_BUILD_JOB_HEARTBEAT_SECONDS")),
  queueSuperviseSeconds: Config.option(Config.String("TERRARIUM_BUILD_QUEUE_SUPERVISE_SECONDS")),
  curatedCatalog: Config.option(Config.String("TERRARIUM_CURATED_CATALOG")),
  azureContainer: Config.option(Config.String("TERRARIUM_AZURE_BLOB_CONTAINER")),
  registry: Config.option(Config.String("TERRARIUM_REGISTRY")),
  registryUsername: Config.option(Config.String("TERRARIUM_REGISTRY_USERNAME")),
  registryPassword: Config.option(Config.String("TERRARIUM_REGISTRY_PASSWORD")),
  registryEntraToken: Config.option(Config.String("TERRARIUM_REGISTRY_ENTRA_TOKEN")),
  registryEntraTenant: Config.option(Config.String("TERRARIUM_REGISTRY_ENTRA_TENANT")),
  azureConnectionVariable: Config.option(Config.String("TERRARIUM_AZURE_STORAGE_CONNECTION_STRING_VARIABLE"))
})

// Every variable is optional and read as text, so reading cannot fail but for a provider that
// cannot be read at all; that is a defect, not a rule the caller broke.
const readEnvironment = Effect.orDie(EnvironmentConfig)

/** `$TERRARIUM_HOME`, else `~/.terrarium`. @since 0.1.0 @category config */
export const terrariumHome: Effect.Effect<string, never, Path.Path> = Effect.gen(function*() {
  const env = yield* readEnvironment
  const path = yield* Path.Path
  return Option.getOrElse(env.home, () => path.join(homedir(), ".terrarium"))
})

/** The embedded database's default directory: `$TERRARIUM_HOME/data`. @since 0.1.0 @category config */
export const defaultDataDir: Effect.Effect<string, never, Path.Path> = Effect.gen(function*() {
  const path = yield* Path.Path
  return path.join(yield* terrariumHome, "data")
})

/** The build-context store's default directory: `$TERRARIUM_HOME/build-contexts`. @since 0.2.0 @category config */
export const defaultBuildContextDir: Effect.Effect<string, never, Path.Path> = Effect.gen(function*() {
  const path = yield* Path.Path
  return path.join(yield* terrariumHome, "build-contexts")
})

/**
 * The Azure Blob storage container for logs and build contexts, when one is configured:
 * `TERRARIUM_AZURE_BLOB_CONTAINER` names the container, and the connection string is taken by
 * reference from the variable that `TERRARIUM_AZURE_STORAGE_CONNECTION_STRING_VARIABLE` names
 * (default `AZURE_STORAGE_CONNECTION_STRING`), `Redacted` from the moment it is read. The SDK is
 * loaded on the first blob operation, so other commands do not pay for it.
 *
 * @since 0.2.0
 * @category config
 */
export const azureBlobStore: Effect.Effect<Option.Option<Layer.Layer<BlobStore>>> = Effect.gen(function*() {
  const env = yield* readEnvironment
  if (Option.isNone(env.azureContainer) || env.azureContainer.value === "") return Option.none()
  const variable = Option.getOrElse(env.azureConnectionVariable, () => "AZURE_STORAGE_CONNECTION_STRING")
  const connectionString = yield* Effect.orDie(Config.option(Config.Redacted(variable)))
  return Option.some(AzureBlobStore.layerWith({
    connectionString: Option.getOrUndefined(connectionString),
    connectionStringSource: `the variable ${variable}`,
    container: env.azureContainer.value
  }))
})

/**
 * The build-context store for the options: in the Azure container when one is configured
 * (`azureBlobStore`), else on the file system, in `buildContextDir`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerBuildContextStore = (options: Pick<StorageOptions, "buildContextDir">) =>
  Layer.unwrap(Effect.gen(function*() {
    const azure = yield* azureBlobStore
    if (Option.isSome(azure) && options.buildContextDir === undefined) {
      return BlobBuildContextStore.layerWith().pipe(Layer.provide(azure.value))
    }
    const directory = options.buildContextDir ?? (yield* defaultBuildContextDir)
    return FileSystemBuildContextStore.layerWith({ directory })
  }))

/**
 * The blob store private wheels are kept in: the Azure container when one is configured
 * (`azureBlobStore`), else files under `$TERRARIUM_HOME/blobs`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerBlobStore: Layer.Layer<BlobStore, never, FileSystem.FileSystem | Path.Path> = Layer.unwrap(
  Effect.gen(function*() {
    const azure = yield* azureBlobStore
    if (Option.isSome(azure)) return azure.value
    const path = yield* Path.Path
    return FileSystemBlobStore.layerWith({ root: path.join(yield* terrariumHome, "blobs") })
  })
)

/**
 * The blob store of exported definitions (`environment export --to-store`): the Azure container
 * when one is configured (`azureBlobStore`), else files under `$TERRARIUM_HOME` (an export's
 * blobs are then the files `$TERRARIUM_HOME/exports/…`, where a person looks for them).
 *
 * @since 0.3.0
 * @category layers
 */
export const layerExportBlobStore: Layer.Layer<BlobStore, never, FileSystem.FileSystem | Path.Path> = Layer.unwrap(
  Effect.gen(function*() {
    const azure = yield* azureBlobStore
    if (Option.isSome(azure)) return azure.value
    return FileSystemBlobStore.layerWith({ root: yield* terrariumHome })
  })
)

/** An opt-out environment variable: `false`, `0`, `off` or `no` turn the feature off; anything else keeps the default. */
const parseSwitch = (value: string): boolean | undefined => /^(0|false|off|no)$/i.test(value.trim()) ? false : undefined

/** Where the data lives, once options and environment variables are taken together. @since 0.1.0 @category model */
export type ResolvedStorage =
  | {
    readonly kind: "postgres"
    readonly databaseUrl: Redacted.Redacted<string>
    readonly databaseSchema?: string | undefined
    readonly preparedStatements?: boolean | undefined
  }
  | {
    readonly kind: "pglite"
    readonly dataDir: string
    readonly onDataDirectoryBusy?: StorageOptions["onDataDirectoryBusy"]
  }

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === "" ? undefined : value)

/** An unquoted PostgreSQL identifier; longer than 63 bytes, PostgreSQL would cut it silently. */
const isSchemaName = (name: string): boolean => /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)

const schemaRule = "a PostgreSQL schema name is 1-63 letters, digits or '_', not starting with a digit"

/**
 * The storage for the options, environment variables filling in what they leave open. An option
 * given explicitly wins over every environment variable: `dataDir` selects the embedded database
 * even when `TERRARIUM_DATABASE_URL` is set. Giving both `databaseUrl` and `dataDir` is an error,
 * and so is a database URL that is not a `postgres://` / `postgresql://` URL (the message never
 * repeats the text, which may hold a password), or a schema that is not a plain identifier.
 *
 * @since 0.1.0
 * @category config
 */
export const resolveStorage = (
  options: StorageOptions
): Effect.Effect<ResolvedStorage, InvalidInput | ConflictingStorage, Path.Path> =>
  Effect.gen(function*() {
    const explicitUrl = nonEmpty(options.databaseUrl)
    if (explicitUrl !== undefined && options.dataDir !== undefined) return yield* new ConflictingStorage()
    // A schema given explicitly is checked even where it is not used: it is a wrong argument either way.
    if (options.databaseSchema !== undefined && !isSchemaName(options.databaseSchema)) {
      return yield* new InvalidInput({ field: "databaseSchema", input: options.databaseSchema, reason: schemaRule })
    }
    const env = yield* readEnvironment
    const fromEnv = options.dataDir === undefined ? Option.getOrUndefined(env.databaseUrl) : undefined
    const databaseUrl = explicitUrl !== undefined ? Redacted.make(explicitUrl) : fromEnv
    if (databaseUrl === undefined) {
      return { kind: "pglite", dataDir: options.dataDir ?? (yield* defaultDataDir), onDataDirectoryBusy: options.onDataDirectoryBusy }
    }
    if (!isPostgresUrl(Redacted.value(databaseUrl))) {
      return yield* new InvalidInput({
        field: explicitUrl !== undefined ? "databaseUrl" : "TERRARIUM_DATABASE_URL",
        reason: "not a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE); key=value connection strings are not accepted"
      })
    }
    const databaseSchema = options.databaseSchema ?? Option.getOrUndefined(env.databaseSchema)
    if (databaseSchema !== undefined && !isSchemaName(databaseSchema)) {
      return yield* new InvalidInput({ field: "TERRARIUM_DATABASE_SCHEMA", input: databaseSchema, reason: schemaRule })
    }
    return {
      kind: "postgres",
      databaseUrl,
      databaseSchema,
      preparedStatements: options.preparedStatements ?? Option.getOrUndefined(Option.map(env.preparedStatements, parseSwitch))
    } satisfies ResolvedStorage
  })

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
  const url = new URL(Redacted.value(storage.databaseUrl))
  return `PostgreSQL ${url.host}${url.pathname}${storage.databaseSchema ? ` schema ${storage.databaseSchema}` : ""}`
}

/**
 * PostgreSQL's buffer cache in the embedded database. PGlite starts with PostgreSQL's default,
 * 128 MB, allocated and zeroed inside this process at every start, which was most of a short
 * command's peak memory (bench/README.md, the CLI start-up benchmark). A registry's tables are
 * small, and PGlite reads its files through the operating system's page cache.
 */
const EMBEDDED_SHARED_BUFFERS = "16MB"

/**
 * The database layer for the options (migrations run when it starts).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDatabase = (
  options: StorageOptions
): Layer.Layer<Database, DatabaseError | InvalidInput | ConflictingStorage, FileSystem.FileSystem | Path.Path> =>
  Layer.unwrap(Effect.gen(function*() {
    const storage = yield* resolveStorage(options)
    if (storage.kind === "postgres") {
      return Database.layerPostgres({
        connectionString: Redacted.value(storage.databaseUrl),
        ...(storage.databaseSchema ? { schema: storage.databaseSchema } : {}),
        ...(storage.preparedStatements !== undefined ? { preparedStatements: storage.preparedStatements } : {})
      })
    }
    // The database layer makes the directory and its parents, and says in words when it cannot.
    const onWait = storage.onDataDirectoryBusy
    return Database.layerPglite({
      dataDir: storage.dataDir,
      settings: { shared_buffers: EMBEDDED_SHARED_BUFFERS },
      ...(onWait !== undefined ? { lock: { onWait } } : {})
    })
  }))

/**
 * An image builder that loads its adapter on first use: the Docker adapter pulls in dockerode and
 * its dependencies, which no command but `environment build` and `image …` needs, and the CLI's
 * start-up is measured (`pnpm bench:cli`). The loaded builder is kept for the process.
 */
const lazyImageBuilder = (
  engine: string,
  load: Effect.Effect<ImageBuilder["Service"], ImageBuilderError>
): Layer.Layer<ImageBuilder> =>
  Layer.effect(ImageBuilder, Effect.map(Effect.cached(load), (loaded) =>
    ImageBuilder.of({
      engine,
      ping: Effect.flatMap(loaded, (b) => b.ping),
      build: (request, progress) => Effect.flatMap(loaded, (b) => b.build(request, progress)),
      inspect: (image) => Effect.flatMap(loaded, (b) => b.inspect(image)),
      tag: (image, as) => Effect.flatMap(loaded, (b) => b.tag(image, as)),
      remove: (image) => Effect.flatMap(loaded, (b) => b.remove(image)),
      push: (image, target) => Effect.flatMap(loaded, (b) => b.push(image, target)),
      pull: (source, digest, image) => Effect.flatMap(loaded, (b) => b.pull(source, digest, image))
    })))

/** The Docker adapter on `host`, made (and dockerode loaded) when first used. */
const loadDockerBuilder = (host: string): Effect.Effect<ImageBuilder["Service"], ImageBuilderError> =>
  DockerImageBuilder.make({ host })

/**
 * The image builder and the log store: Docker at `DOCKER_HOST` (default the local socket) unless
 * `TERRARIUM_IMAGE_BUILDER=memory`, a builder in memory that builds nothing real (for the tests
 * of what sits above the port, e.g. many processes racing to build one hash; its steps take
 * `TERRARIUM_MEMORY_BUILD_STEP_MS`, and the images it holds are files under
 * `$TERRARIUM_HOME/memory-engine`). Logs are files under `$TERRARIUM_HOME/logs`, or blobs in the
 * Azure container when one is configured (`azureBlobStore`). The image registry client (OCI
 * Distribution over fetch) is there for `image refresh`, which asks a base image's registry.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerImages: Layer.Layer<ImageBuilder | LogStore | ImageRegistry, never, FileSystem.FileSystem | Path.Path> = Layer.unwrap(
  Effect.gen(function*() {
    const env = yield* readEnvironment
    const path = yield* Path.Path
    const azure = yield* azureBlobStore
    const logs = Option.isSome(azure)
      ? BlobLogStore.layerWith().pipe(Layer.provide(azure.value))
      : FileSystemLogStore.layerWith({ root: path.join(yield* terrariumHome, "logs") })
    const kind = Option.getOrElse(env.imageBuilder, () => "docker")
    if (kind === "memory") {
      const stepMs = Number(Option.getOrElse(env.memoryBuildStepMs, () => "0"))
      // Its images are kept under the home, so the processes of one home share one engine as
      // they would share a Docker engine: an image is missing only if it was never built.
      const engine = new MemoryEngine({
        script: () => ({ stepDuration: Number.isFinite(stepMs) ? stepMs : 0 }),
        shelf: directoryShelf(path.join(yield* terrariumHome, "memory-engine", "images"))
      })
      return Layer.mergeAll(MemoryImageBuilder.layerWith(engine), logs, OciImageRegistry.layer)
    }
    const host = Option.getOrElse(env.dockerHost, () => "unix:///var/run/docker.sock")
    // The registry a base image comes from is asked by `image refresh` (plain fetch, nothing to load).
    return Layer.mergeAll(lazyImageBuilder(host, loadDockerBuilder(host)), logs, OciImageRegistry.layer)
  })
)

/** A positive number of seconds from an environment variable, else `fallback`. */
const secondsOf = (value: Option.Option<string>, fallback: number): number => {
  const seconds = Number(Option.getOrElse(value, () => String(fallback)))
  return Number.isFinite(seconds) && seconds > 0 ? seconds : fallback
}

/**
 * The build queue: on PostgreSQL, pg-boss in its own schema of the same database (`pgboss`, or
 * `<schema>_pgboss` beside a schema of ours), so builds run on `terrarium worker` processes;
 * none on the embedded database, or with `TERRARIUM_BUILD_QUEUE=in-process`, where a build runs
 * in the process that asks for it. `TERRARIUM_BUILD_JOB_HEARTBEAT_SECONDS` (default 30, at
 * least 10): how long a killed worker's job waits before another worker retries it.
 *
 * The layer provides `BuildQueue` or nothing (its type says neither): the app looks for the
 * queue with `Effect.serviceOption`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerBuildQueue = (options: StorageOptions): Layer.Layer<never, InvalidInput | ConflictingStorage, Path.Path> =>
  Layer.unwrap(Effect.gen(function*() {
    const storage = yield* resolveStorage(options)
    const env = yield* readEnvironment
    if (storage.kind !== "postgres" || Option.getOrUndefined(env.buildQueue) === "in-process") return Layer.empty
    const schema = storage.databaseSchema === undefined || storage.databaseSchema === "public"
      ? "pgboss"
      : `${storage.databaseSchema.slice(0, 63 - "_pgboss".length)}_pgboss`
    return PgBossBuildQueue.layerWith({
      connectionString: Redacted.value(storage.databaseUrl),
      schema,
      location: `pg-boss on ${describeStorage(storage)}`,
      heartbeatSeconds: secondsOf(env.jobHeartbeatSeconds, 30),
      superviseSeconds: secondsOf(env.queueSuperviseSeconds, 10)
    })
  }))

/**
 * Event store, projections, read model and API keys over one database, and the image builder
 * and logs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPorts = <E, R>(database: Layer.Layer<Database, E, R>) => {
  const store = SqlEventStore.layer.pipe(Layer.provideMerge(database))
  return Layer.mergeAll(SqlReadModel.layer, SqlStorage.layer, SqlApiKeyStore.layer, layerImages).pipe(Layer.provideMerge(store))
}

/**
 * The API key store of the database the options name, alone (`terrarium apikey`): no event
 * store, no read model.
 *
 * @since 0.4.0
 * @category layers
 */
export const layerApiKeyStore = (options: StorageOptions) => SqlApiKeyStore.layer.pipe(Layer.provide(layerDatabase(options)))

/**
/**
 * Where builds push (`TERRARIUM_REGISTRY=HOST[:PORT]/REPOSITORY`: every build pushes there) and
 * the registry's credentials **by reference**: `TERRARIUM_REGISTRY_USERNAME` and
 * `TERRARIUM_REGISTRY_PASSWORD` (`env:NAME` or `file:PATH`), or `TERRARIUM_REGISTRY_ENTRA_TOKEN`
 * (an Entra ID access token by reference, for ACR; `TERRARIUM_REGISTRY_ENTRA_TENANT` optional).
 * Kept as text: they are checked by the call that pushes or pulls (`RegistrySettings.ts`).
 *
 * @since 0.3.0
 * @category config
 */
export const registrySettings: Effect.Effect<RegistrySettings> = Effect.map(readEnvironment, (env) => ({
  registry: Option.getOrUndefined(env.registry),
  username: Option.getOrUndefined(env.registryUsername),
  password: Option.getOrUndefined(env.registryPassword),
  entraToken: Option.getOrUndefined(env.registryEntraToken),
  entraTenant: Option.getOrUndefined(env.registryEntraTenant)
}))

/**
 * How this process holds build leases: its name (host, pid and a random part, since a pid is
 * reused) and the lease's length (`TERRARIUM_BUILD_LEASE_SECONDS`, default 30: how long others
 * wait for a build whose process was killed before taking it over); and where builds push.
 */
const buildSettings: Effect.Effect<BuildSettings> = Effect.gen(function*() {
  const env = yield* readEnvironment
  const seconds = Number(Option.getOrElse(env.buildLeaseSeconds, () => "30"))
  return {
    holder: `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`,
    lease: Duration.seconds(Number.isFinite(seconds) && seconds > 0 ? seconds : 30),
    registry: yield* registrySettings
  }
})

/**
 * How the read model is kept up to date besides the catch-up every read starts with.
 *
 * @since 0.1.0
 * @category model
 */
export interface ProjectionOptions {
  /**
   * Follow the log in the background for as long as the layer lives (a long-running process),
   * so reads find the read model caught up: one process at a time follows, the others stand by
   * and take over when it stops (`BackgroundProjection.ts`). Default false.
   */
  readonly projectInBackground?: boolean | undefined
  /** Hear the progress of a catch-up with a large gap (`CatchUpProgress.ts`; the CLI shows it on a terminal). */
  readonly catchUpProgress?: CatchUpProgress.CatchUpProgressOptions | undefined
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

/** @since 0.1.0 @category model */
export interface CatalogOptions {
  /**
   * Publish the curated catalog this Terrarium ships when the database has not got its release
   * (default true; `TERRARIUM_CURATED_CATALOG=off` turns it off where the option is not given).
   * When the release is there already this costs one short read of the log.
   */
  readonly curatedCatalog?: boolean | undefined
}

/**
 * On start: the curated catalog, published if this database lacks its release. A failure here
 * never fails the command that started Terrarium: it is said on stderr, and the next start (or
 * `curated sync`) tries again; refused versions are said too, and `curated sync` reports them.
 */
const publishCuratedCatalog = (options: CatalogOptions) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const env = yield* readEnvironment
    const enabled = options.curatedCatalog ?? Option.getOrUndefined(Option.map(env.curatedCatalog, parseSwitch)) ?? true
    if (!enabled) return
    const terrarium = yield* Terrarium
    const sync = yield* terrarium.syncCurated({}).pipe(
      Effect.tapError((error) => Effect.logWarning(`the curated catalog could not be published (${error.message}); terrarium curated sync tries again`)),
      Effect.option
    )
    if (Option.isSome(sync) && sync.value.refused.length > 0) {
      yield* Effect.logWarning(
        `the curated catalog ${sync.value.release} refused ${sync.value.refused.length} version(s) whose number is registered with other content ` +
          `(versions are immutable; see terrarium curated sync)`
      )
    }
  }))

/**
 * The whole Terrarium service for the options: the application layer over the ports, on this
 * machine's file system, which it also provides to its users (the data directory, the migrations,
 * the files a caller imports). `layerDatabase` and `layerPorts` take the file system from their
 * context instead. Once it is up, the curated catalog is published if the database lacks its
 * release (`CatalogOptions`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: StorageOptions & ProjectionOptions & CatalogOptions & {
  readonly caller?: Caller | undefined
  /** Who this process is when it holds a build lease, and for how long (default: `buildSettings`). */
  readonly builds?: BuildSettings | undefined
}) => {
  const terrarium = Layer.unwrap(Effect.map(
    options.builds === undefined ? buildSettings : Effect.succeed(options.builds),
    (settings) => terrariumLayer(options.caller ?? defaultCaller(), settings)
  ))
  const service = Layer.merge(
    options.catchUpProgress !== undefined ? terrarium.pipe(Layer.provide(CatchUpProgress.layer(options.catchUpProgress))) : terrarium,
    options.projectInBackground === true ? BackgroundProjection.layer : Layer.empty
  ).pipe(
    Layer.provideMerge(Layer.mergeAll(layerPorts(layerDatabase(options)), layerBuildContextStore(options), layerBuildQueue(options), layerBlobStore)),
    Layer.provideMerge(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
  )
  return Layer.provideMerge(publishCuratedCatalog(options), service)
}
