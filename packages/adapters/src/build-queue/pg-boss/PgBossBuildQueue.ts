/**
 * The build queue on pg-boss, in its own schema of the registry's PostgreSQL database: no second
 * server. The queue's policy is `stately` keyed by the canonical hash (at most one waiting and
 * one running job per hash). A running job sends heartbeats; a worker that dies stops sending
 * them, and pg-boss's monitor fails the job, which any worker then retries (the build's own
 * lease decides whether that retry builds or joins: `ImageBuilds.ts`).
 *
 * pg-boss is loaded and started on first use, so commands that queue nothing never load it
 * (the CLI's start-up is measured: `pnpm bench:cli`).
 *
 * @since 0.3.0
 */
import { type BuildJob, BuildQueue, BuildQueueError, QueueUnavailable } from "@terrarium/domain"
import { Effect, Exit, Layer, Queue, Stream } from "effect"
import type pg from "pg"
import type { PgBoss } from "pg-boss"

/** @since 0.3.0 @category model */
export interface PgBossBuildQueueOptions {
  readonly connectionString: string
  /** pg-boss's schema (default `pgboss`). */
  readonly schema?: string | undefined
  /** Where the queue is, for messages (never a password). */
  readonly location: string
  /** How long a running job may go without a heartbeat before it is retried (>= 10, default 30). */
  readonly heartbeatSeconds?: number | undefined
  /** How often this process looks for dead jobs and idle work (>= 1, default 10). */
  readonly superviseSeconds?: number | undefined
}

const QUEUE = "terrarium-builds"

/** A job that keeps failing (a build whose engine is down) gives up after this many retries. */
const RETRY_LIMIT = 5

/** A build runs as long as it runs: the heartbeat, not a deadline, says whether its worker lives. */
const EXPIRE_SECONDS = 24 * 60 * 60 - 1

/** The jobs of a hash that are waiting, waiting for a retry, or running. */
const openJobs = async (boss: PgBoss, canonicalHash: string) =>
  (await boss.findJobs(QUEUE, { key: canonicalHash })).filter((j) => j.state === "created" || j.state === "retry" || j.state === "active")

const unavailable = (operation: string) => (cause: unknown) => new BuildQueueError({ reason: new QueueUnavailable({ operation, cause }) })

/**
 * @since 0.3.0
 * @category layers
 */
export const layerWith = (options: PgBossBuildQueueOptions): Layer.Layer<BuildQueue> =>
  Layer.effect(BuildQueue, Effect.gen(function*() {
    const heartbeatSeconds = Math.max(10, Math.round(options.heartbeatSeconds ?? 30))
    const superviseSeconds = Math.max(1, Math.round(options.superviseSeconds ?? 10))
    let starting: Promise<PgBoss> | undefined
    const start = () => {
      starting ??= (async () => {
        const { PgBoss } = await import("pg-boss")
        const boss = new PgBoss({
          connectionString: options.connectionString,
          schema: options.schema ?? "pgboss",
          application_name: "terrarium-build-queue",
          max: 4,
          superviseIntervalSeconds: superviseSeconds,
          monitorIntervalSeconds: superviseSeconds,
          // No cron in a build queue: no clock-skew checks or schedule polling.
          schedule: false
        })
        // Reported through the failed operation; an event with no listener would end the process.
        boss.on("error", () => {})
        await boss.start()
        await boss.createQueue(QUEUE, {
          policy: "stately", retryLimit: RETRY_LIMIT, retryDelay: 1, expireInSeconds: EXPIRE_SECONDS, heartbeatSeconds
        }).catch(async (error) => {
          // Another process created it first.
          if ((await boss.getQueue(QUEUE)) === null) throw error
        })
        return boss
      })()
      return starting
    }
    const boss = (operation: string) => Effect.tryPromise({ try: start, catch: unavailable(operation) })
    yield* Effect.addFinalizer(() =>
      starting === undefined
        ? Effect.void
        : Effect.promise(() => starting!.then((b) => b.stop({ graceful: true, close: true, timeout: 30_000 }), () => undefined)).pipe(Effect.ignore)
    )

    // The log bell: one channel per pg-boss schema (so installations sharing a database do not
    // hear each other), the log key as the payload (at most 512 characters: `isLogKey`).
    const channel = `${options.schema ?? "pgboss"}_build_logs`.slice(0, 63)
    let bell: pg.Pool | undefined
    yield* Effect.addFinalizer(() => (bell === undefined ? Effect.void : Effect.promise(() => bell!.end()).pipe(Effect.ignore)))
    const ring = (logKey: string) =>
      Effect.tryPromise({
        try: async () => {
          // `pg` is loaded on first use, as the database layer loads it (CLI start-up).
          const { default: driver } = await import("pg")
          bell ??= new driver.Pool({ connectionString: options.connectionString, max: 1, application_name: "terrarium-build-logs" }).on("error", () => {})
          await bell.query("SELECT pg_notify($1, $2)", [channel, logKey])
        },
        catch: unavailable("announce the build log")
      })

    return BuildQueue.of({
      announce: ring,
      announcements: (logKey) =>
        Stream.callback<void, BuildQueueError>((queue) =>
          Effect.acquireRelease(
            Effect.tryPromise({
              try: async () => {
                const { default: driver } = await import("pg")
                const client = new driver.Client({ connectionString: options.connectionString, application_name: "terrarium-build-logs" })
                client.on("error", () => void Queue.offerUnsafe(queue, undefined))
                client.on("notification", (n) => {
                  if (n.channel === channel && n.payload === logKey) Queue.offerUnsafe(queue, undefined)
                })
                await client.connect()
                // The channel is an identifier made from our schema name: quoted, never a value.
                await client.query(`LISTEN "${channel}"`)
                return client
              },
              catch: unavailable("follow the build log")
            }),
            (client) => Effect.promise(() => client.end()).pipe(Effect.ignore)
          ), { bufferSize: 1, strategy: "dropping" }),
      location: options.location,
      enqueue: (job) =>
        Effect.flatMap(boss("queue the build"), (b) =>
          Effect.tryPromise({
            try: async () => {
              // The build id is the job's id too (both are UUIDs): `find` is then a lookup by id.
              const id = await b.send(QUEUE, { ...job }, { singletonKey: job.canonicalHash, ...(job.buildId === undefined ? {} : { id: job.buildId }) })
              if (id !== null) return { queued: true, buildId: job.buildId }
              const waiting = (await openJobs(b, job.canonicalHash)).find((j) => j.state === "created" || j.state === "retry")
              return { queued: false, buildId: (waiting?.data as BuildJob | undefined)?.buildId }
            },
            catch: unavailable("queue the build")
          })),
      find: (buildId) =>
        // A job id is a UUID: anything else names no job (and pg-boss would refuse to look).
        !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(buildId) ? Effect.succeed(undefined) :
        Effect.flatMap(boss("read the queue"), (b) =>
          Effect.tryPromise({
            try: async () => {
              const [job] = (await b.findJobs<BuildJob>(QUEUE, { id: buildId }))
                .filter((j) => j.state === "created" || j.state === "retry" || j.state === "active")
              return job?.data
            },
            catch: unavailable("read the queue")
          })),
      pending: (canonicalHash) =>
        Effect.flatMap(boss("read the queue"), (b) =>
          Effect.tryPromise({ try: () => openJobs(b, canonicalHash), catch: unavailable("read the queue") })).pipe(
            Effect.map((jobs) => jobs.length > 0)
          ),
      cancel: (canonicalHash) =>
        Effect.flatMap(boss("cancel the build"), (b) =>
          Effect.tryPromise({
            try: async () => {
              const open = await openJobs(b, canonicalHash)
              if (open.length > 0) await b.cancel(QUEUE, open.map((j) => j.id))
              return open.length
            },
            catch: unavailable("cancel the build")
          })),
      work: (workOptions, run) =>
        Effect.gen(function*() {
          const b = yield* boss("take builds")
          const services = yield* Effect.context<never>()
          const id = yield* Effect.acquireRelease(
            Effect.tryPromise({
              try: () =>
                b.work<BuildJob>(QUEUE, {
                  localConcurrency: Math.max(1, workOptions.concurrency ?? 1),
                  pollingIntervalSeconds: 1,
                  notifyPollingIntervalSeconds: 5
                }, async ([job]) => {
                  const exit = await Effect.runPromiseExitWith(services)(run(job!.data))
                  // A failed run fails the job, and pg-boss retries it.
                  if (Exit.isFailure(exit)) throw new Error(`build job ${job!.id} failed`)
                }),
              catch: unavailable("take builds")
            }),
            // Stop taking jobs; wait for the running ones to end.
            (workerId) => Effect.promise(() => b.offWork(QUEUE, { id: workerId, wait: true })).pipe(Effect.ignore)
          )
          void id
          return yield* Effect.never
        }).pipe(Effect.scoped)
    })
  }))

/**
 * @since 0.3.0
 * @category adapters
 */
export const PgBossBuildQueue = { layerWith }
