/**
 * PostgreSQL stopped in the middle of an operation (a server of the test's own,
 * test/support/PostgresServer.ts, stopped by its PID as a crash would: immediate shutdown, no
 * goodbye to the clients, recovery from the WAL on the next start):
 * - while a `terrarium worker` builds: the requester and the worker say the database cannot be
 *   reached, the worker lives on, and after the restart the job is taken over (the lease on the
 *   build stream ran out) and built once: one `ImageBuilt`, every stream without a gap;
 * - while the worker appends a build's end: nothing of it is in the log after the restart, and
 *   the retry builds it once;
 * - while `environment create` and `environment register` append: a clear error, nothing of the
 *   environment or the version in the log, and the same command works after the restart.
 * To stop the server while a command appends (and not before, or after), the test holds a lock
 * that blocks writes to the events table (reads go on) and stops the server once the command
 * waits for it. The builder is the in-memory one (its images are files under the shared home):
 * what is under test is the database, the queue and the leases. Every process is stopped by its PID.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import pg from "pg"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { bin, type CliResult, cliEnv, json, pipDefinitionFile, repoRoot, runCli, runCliAsync, tempDir, startCli, workerEnv } from "./support/cli.ts"
import { type PostgresServer, startPostgresServer } from "./support/PostgresServer.ts"

let server: PostgresServer
const home = tempDir("terrarium-postgres-faults-")
const env = (extra: Record<string, string> = {}) => workerEnv({ home: home.path, databaseUrl: server.url }, extra)
const definitionFile = (name: string, pip: string) => pipDefinitionFile(home.path, name, pip)

const children = new Set<ChildProcess>()

/** Starts a worker and resolves once it takes builds. */
const startWorker = async (extra: Record<string, string> = {}) => {
  const { child, output } = await startCli(["worker"], cliEnv(env(extra)), /takes builds/, children)
  return Object.assign(child, { output })
}

/** A CLI run in the background, tracked so that a failed test leaves no process waiting behind it. */
const runTracked = (args: ReadonlyArray<string>) =>
  new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: cliEnv(env()) })
    children.add(child)
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => {
      children.delete(child)
      resolve({ status: status ?? -1, stdout, stderr })
    })
  })

const kill = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()))
  process.kill(child.pid!, "SIGKILL")
  await closed
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves once `check` does, looking every 200 ms for at most 3 minutes (a loaded machine starts a CLI slowly). */
const eventually = async <A>(what: string, check: () => Promise<A | undefined> | A | undefined): Promise<A> => {
  for (let i = 0; i < 900; i++) {
    const found = await check()
    if (found !== undefined) return found
    await sleep(200)
  }
  throw new Error(`never: ${what}`)
}

const query = async <A = any>(text: string, values: ReadonlyArray<unknown> = []): Promise<Array<A>> => {
  const client = new pg.Client({ connectionString: server.url })
  await client.connect()
  try {
    return (await client.query(text, [...values])).rows as Array<A>
  } finally {
    await client.end()
  }
}

/**
 * Holds a lock that lets the events table be read but not written, until the server stops (the
 * connection is cut then, and the error that brings is expected).
 */
const locks = new Set<pg.Client>()
const blockAppends = async () => {
  const client = new pg.Client({ connectionString: server.url })
  locks.add(client)
  client.on("error", () => {})
  await client.connect()
  await client.query("BEGIN")
  await client.query("LOCK TABLE events IN EXCLUSIVE MODE")
  return client
}

/** Resolves once some session waits for a lock on the events table. */
const untilAnAppendWaits = () =>
  eventually("an append waits for the events table", async () => {
    const rows = await query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'events'::regclass"
    )
    return rows[0]!.n > 0 ? true : undefined
  })

/** The events of a name's streams, in log order. */
const eventsOf = (pattern: string) =>
  query<{ stream: string; stream_version: number; event_type: string; data: any }>(
    "SELECT stream, stream_version, event_type, data FROM events WHERE stream LIKE $1 ORDER BY position",
    [pattern]
  )

/** Every stream's versions run 1, 2, 3, … with no gap and no repeat. */
const assertStreamsWhole = async () => {
  const rows = await query<{ stream: string; versions: Array<number> }>(
    "SELECT stream, array_agg(stream_version ORDER BY stream_version) AS versions FROM events GROUP BY workspace, stream"
  )
  for (const row of rows) assert.deepStrictEqual(row.versions, row.versions.map((_, i) => i + 1), `stream ${row.stream}`)
}

/** The build events of a version's hash, renewals left out. */
const buildEvents = async (ref: string) => {
  const hash = json<{ canonicalHash: string }>(runCli(["environment", "show", ref, "-o", "json"], env())).canonicalHash
  const rows = await eventsOf(`%${hash.replace(/^sha256:/, "")}%`)
  return rows.filter((r) => r.event_type !== "BuildLeaseRenewed")
}

const hashOf = (ref: string) =>
  json<{ canonicalHash: string }>(runCli(["environment", "show", ref, "-o", "json"], env())).canonicalHash.replace(/^sha256:/, "")

/**
 * The build started on a hash, once there is one: read from the database itself, every 200 ms (a
 * CLI run takes seconds on a loaded machine, longer than some builds here).
 */
const startedBuild = (hex: string) =>
  eventually(`a build of ${hex} started`, async () => {
    const rows = await eventsOf(`%${hex}%`)
    const started = rows.find((r) => r.event_type === "BuildStarted")
    return started === undefined ? undefined : { buildId: started.data.buildId as string }
  })

/** The build's log as the file-system log store keeps it under the home. */
const logFile = (hex: string, buildId: string) => join(home.path, "logs", "builds", hex, `${buildId.toLowerCase()}.log`)

/**
 * What a failure of a command must look like: which store could not do what, and the driver's
 * word on the connection (`connect ECONNREFUSED 127.0.0.1:PORT`, `Connection terminated
 * unexpectedly`), no stack.
 */
const assertDatabaseDown = (stderr: string) => {
  assert.match(stderr, /(event store|build queue|database) .*(ECONNREFUSED|ECONNRESET|Connection terminated unexpectedly)/, stderr)
  assert.notMatch(stderr, /\n\s+at /, stderr)
}

describe("PostgreSQL stopped mid-operation", () => {
  beforeAll(async () => {
    server = await startPostgresServer()
  }, 60_000)
  afterEach(async () => {
    for (const lock of [...locks]) await lock.end().catch(() => {})
    locks.clear()
    for (const child of [...children]) await kill(child)
    await server.start()
  }, 60_000)
  afterAll(async () => {
    for (const child of [...children]) await kill(child)
    await server?.dispose()
    home.remove()
  })

  it("while a worker builds: a clear error to the requester, the worker lives on; after the restart the build is taken over and built once", { timeout: 480_000 }, async () => {
    json(runCli(["environment", "create", "--file", definitionFile("crash", "demo-a"), "-o", "json"], env()))
    // Long steps: the server stops in the middle of the build.
    const hex = hashOf("crash:1")
    const worker = await startWorker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "3000" })
    const request = runTracked(["environment", "build", "crash:1", "-o", "json"])
    const running = await startedBuild(hex)
    await server.stop("immediate")
    const failed = await request
    assert.notStrictEqual(failed.status, 0)
    assertDatabaseDown(failed.stderr)
    // The worker loses its lease renewal, says so for the job, and keeps running.
    await eventually("the worker reports the job failed", () => /crash:1 sha256:[0-9a-f]+: failed: /.test(worker.output()) || undefined)
    assert.strictEqual(worker.exitCode, null, worker.output())
    await server.start()
    // The retry: the job is still queued, so the request joins the build that takes it over.
    const retried = json<{ outcome: string; built: { buildId: string } }>(await runCliAsync(["environment", "build", "crash:1", "-o", "json"], env()))
    assert.oneOf(retried.outcome, ["joined", "cached"])
    assert.notStrictEqual(retried.built.buildId, running.buildId)
    const events = await buildEvents("crash:1")
    assert.deepStrictEqual(events.filter((e) => e.event_type === "ImageBuilt").map((e) => e.data.buildId), [retried.built.buildId])
    // The stopped build never ended in the log: the build after it took it over.
    const started = events.filter((e) => e.event_type === "BuildStarted")
    assert.deepStrictEqual(started.map((e) => e.data.buildId), [running.buildId, retried.built.buildId])
    assert.strictEqual(started[1]!.data.cause, "takeover")
    await assertStreamsWhole()
    // Built once: a second request is answered from the cache.
    assert.strictEqual(json<{ outcome: string }>(runCli(["environment", "build", "crash:1", "-o", "json"], env())).outcome, "cached")
  })

  it("while a worker appends the end of a build: nothing of it is in the log after the restart, and the retry builds it once", { timeout: 480_000 }, async () => {
    json(runCli(["environment", "create", "--file", definitionFile("ending", "demo-b"), "-o", "json"], env()))
    const hex = hashOf("ending:1")
    const worker = await startWorker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "1000", TERRARIUM_BUILD_LEASE_SECONDS: "10" })
    const request = runTracked(["environment", "build", "ending:1", "-o", "json"])
    const running = await startedBuild(hex)
    const lock = await blockAppends()
    // The builder is done (its log says the last step) and the worker waits to append ImageBuilt.
    await eventually("the last step logged", () =>
      existsSync(logFile(hex, running.buildId)) && /#3\/3 /.test(readFileSync(logFile(hex, running.buildId), "utf8")) ? true : undefined)
    await untilAnAppendWaits()
    await server.stop("immediate")
    void lock.end().catch(() => {})
    const failed = await request
    assert.notStrictEqual(failed.status, 0)
    assertDatabaseDown(failed.stderr)
    await eventually("the worker reports the job failed", () => /ending:1 sha256:[0-9a-f]+: failed: /.test(worker.output()) || undefined)
    await server.start()
    const before = await buildEvents("ending:1")
    assert.deepStrictEqual(before.map((e) => e.event_type), ["BuildRequested", "BuildStarted"])
    // The lease of the stopped build lasts 10 s: the retry waits for it (or for the worker's
    // retry of the job, which waits the same way) and builds once.
    const retried = json<{ outcome: string; built: { buildId: string } }>(await runCliAsync(["environment", "build", "ending:1", "-o", "json"], env({ TERRARIUM_BUILD_LEASE_SECONDS: "10" })))
    const after = await buildEvents("ending:1")
    assert.deepStrictEqual(after.filter((e) => e.event_type === "ImageBuilt").map((e) => e.data.buildId), [retried.built.buildId])
    assert.notStrictEqual(retried.built.buildId, running.buildId)
    await assertStreamsWhole()
  })

  it("while `environment create` appends: a clear error, no trace of the environment, and the same command works after the restart", { timeout: 360_000 }, async () => {
    const file = definitionFile("fresh", "demo-c")
    runCli(["environment", "list"], env())
    const lock = await blockAppends()
    const create = runTracked(["environment", "create", "--file", file, "-o", "json"])
    await untilAnAppendWaits()
    await server.stop("immediate")
    void lock.end().catch(() => {})
    const failed = await create
    assert.notStrictEqual(failed.status, 0)
    assertDatabaseDown(failed.stderr)
    await server.start()
    assert.deepStrictEqual(await eventsOf("%fresh%"), [])
    const shown = runCli(["environment", "show", "fresh:1"], env())
    assert.notStrictEqual(shown.status, 0)
    const created = json<{ version: string }>(runCli(["environment", "create", "--file", file, "-o", "json"], env()))
    assert.strictEqual(created.version, "1")
    assert.deepStrictEqual((await eventsOf("%fresh%")).map((e) => e.event_type), ["Defined", "Registered"])
    await assertStreamsWhole()
  })

  it("while `environment register` appends: a clear error, no version 2, and registering works after the restart", { timeout: 360_000 }, async () => {
    json(runCli(["environment", "create", "--file", definitionFile("grown", "demo-d"), "-o", "json"], env()))
    json(runCli(["environment", "add-package", "grown", "--pip", "demo-e", "-o", "json"], env()))
    const before = await eventsOf("%grown%")
    const lock = await blockAppends()
    const register = runTracked(["environment", "register", "grown", "-o", "json"])
    await untilAnAppendWaits()
    await server.stop("immediate")
    void lock.end().catch(() => {})
    const failed = await register
    assert.notStrictEqual(failed.status, 0)
    assertDatabaseDown(failed.stderr)
    await server.start()
    assert.deepStrictEqual(await eventsOf("%grown%"), before)
    assert.notStrictEqual(runCli(["environment", "show", "grown:2"], env()).status, 0)
    const registered = json<{ version: string }>(runCli(["environment", "register", "grown", "-o", "json"], env()))
    assert.strictEqual(registered.version, "2")
    await assertStreamsWhole()
  })
})
