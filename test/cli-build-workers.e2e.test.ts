/**
 * Builds on `terrarium worker` processes fed by the pg-boss queue on the test PostgreSQL: many
 * requests, two workers, one build per hash (the build stream's lease is the exactly-once guard,
 * whatever the queue does); a killed worker's job is retried by another one once its heartbeat
 * is missed; `environment build --cancel` stops a running build and drops a queued one. The
 * builder is the in-memory one, its images files under one home shared by every process (as
 * test/cli-build-processes.e2e.test.ts does): what is under test is the queue and the leases.
 * Every process started here is stopped by its PID.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import pg from "pg"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { bin, cliEnv, json, pipDefinitionFile, repoRoot, runCli, runCliAsync, tempDir, startCli, workerEnv } from "./support/cli.ts"
import { testDatabaseUrl } from "./support/postgres.ts"

const home = tempDir("terrarium-build-workers-")
const schema = `workers_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
const env = (extra: Record<string, string> = {}) => workerEnv({ home: home.path, databaseUrl: testDatabaseUrl, schema }, extra)

const register = (name: string, pip: string) =>
  json(runCli(["environment", "create", "--file", pipDefinitionFile(home.path, name, pip), "-o", "json"], env()))

const children = new Set<ChildProcess>()

/** Starts a worker and resolves once it takes builds. */
const startWorker = async (extra: Record<string, string> = {}, concurrency = 2) => {
  const { child, output } = await startCli(["worker", "--concurrency", String(concurrency)], cliEnv(env(extra)), /takes builds/, children)
  return Object.assign(child, { output })
}

const stop = async (child: ChildProcess, signal: NodeJS.Signals = "SIGTERM") => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()))
  process.kill(child.pid!, signal)
  await closed
}

/** Resolves once `image show REF` says `status`. */
const until = async (ref: string, status: string) => {
  for (let i = 0; i < 300; i++) {
    const r = runCli(["image", "show", ref, "-o", "json"], env())
    if (r.status === 0 && JSON.parse(r.stdout).status === status) return JSON.parse(r.stdout)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${ref} never became ${status}`)
}

const eventCount = async (type: string) => {
  const client = new pg.Client({ connectionString: testDatabaseUrl })
  await client.connect()
  try {
    const r = await client.query(`SELECT count(*)::int AS n FROM "${schema}".events WHERE event_type = $1`, [type])
    return r.rows[0].n as number
  } finally {
    await client.end()
  }
}

describe("builds on worker processes (pg-boss on PostgreSQL)", () => {
  beforeAll(() => {
    for (const [name, pip] of [["w1", "demo-a"], ["w2", "demo-b"], ["w3", "demo-c"], ["w4", "demo-d"], ["killed", "demo-e"], ["cancelled", "demo-f"], ["dropped", "demo-g"], ["live", "demo-h"], ["stopped", "demo-i"]]) {
      register(name!, pip!)
    }
  }, 120_000)
  afterEach(async () => {
    for (const child of [...children]) await stop(child, "SIGKILL")
  })
  afterAll(async () => {
    for (const child of [...children]) await stop(child, "SIGKILL")
    const client = new pg.Client({ connectionString: testDatabaseUrl })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_pgboss" CASCADE`).finally(() => client.end())
    home.remove()
  })

  it("two workers and 16 requests for 4 hashes: exactly 4 builds and 4 ImageBuilt, every request answered", { timeout: 120_000 }, async () => {
    const workers = [await startWorker(), await startWorker()]
    const refs = ["w1:1", "w2:1", "w3:1", "w4:1"]
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      runCliAsync(["environment", "build", refs[i % 4]!, "-o", "json"], env())))
    const answers = results.map((r) => json<{ name: string; canonicalHash: string; outcome: string; built: { buildId: string } }>(r))
    for (const answer of answers) assert.oneOf(answer.outcome, ["joined", "cached"])
    for (const ref of refs) {
      const name = ref.split(":")[0]
      const ofRef = answers.filter((a) => a.name === name)
      assert.lengthOf(ofRef, 4)
      assert.strictEqual(new Set(ofRef.map((a) => a.built.buildId)).size, 1, `one build of ${ref}`)
      // Counted apart from the answers: one build log for the hash.
      const logs = readdirSync(join(home.path, "logs", "builds", ofRef[0]!.canonicalHash.replace(/^sha256:/, "")))
      assert.deepStrictEqual(logs.filter((f) => f.endsWith(".log")), [`${ofRef[0]!.built.buildId.toLowerCase()}.log`])
    }
    assert.strictEqual(await eventCount("ImageBuilt"), 4)
    assert.strictEqual(await eventCount("BuildStarted"), 4)
    // The requests queued them: the builds ran on the workers, which say so.
    const said = workers.map((w) => w.output()).join("")
    for (const ref of refs) assert.match(said, new RegExp(`/${ref.replace(":", ":")} sha256:[0-9a-f]+: (built|joined|cached)`))
    for (const worker of workers) await stop(worker)
  })

  it("a killed worker's job is retried by another worker once its heartbeat is missed", { timeout: 120_000 }, async () => {
    const doomed = await startWorker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "60000" }, 1)
    const request = runCliAsync(["environment", "build", "killed:1", "-o", "json"], env())
    const running = await until("killed:1", "building")
    await stop(doomed, "SIGKILL")
    await startWorker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "10" }, 1)
    const answer = json<{ outcome: string; built: { buildId: string } }>(await request)
    assert.strictEqual(answer.outcome, "joined")
    assert.notStrictEqual(answer.built.buildId, running.buildId)
    const audit = runCli(["audit", "killed", "-o", "json"], env())
    assert.match(audit.stdout, /started \(takeover\)/)
  })

  it("--cancel stops a running build (BuildFailed, reason Cancelled) and its requester fails with it", { timeout: 120_000 }, async () => {
    const worker = await startWorker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "60000" }, 1)
    const request = runCliAsync(["environment", "build", "cancelled:1", "-o", "json"], env())
    const running = await until("cancelled:1", "building")
    const cancelled = json<{ cancelledBuildId: string }>(runCli(["environment", "build", "--cancel", "cancelled:1", "-o", "json"], env()))
    assert.strictEqual(cancelled.cancelledBuildId, running.buildId)
    const failed = await request
    assert.notStrictEqual(failed.status, 0)
    assert.match(failed.stderr, /cancelled/)
    const shown = await until("cancelled:1", "failed")
    assert.strictEqual(shown.failure.reason, "Cancelled")
    // The worker's builder stops at its next lease renewal, and the worker builds nothing again.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.strictEqual(worker.exitCode, null)
    assert.strictEqual((await until("cancelled:1", "failed")).buildId, running.buildId)
    assert.match(worker.output(), /cancelled:1 sha256:[0-9a-f]+: failed: .*cancelled/)
  })

  it("--follow shows the worker's log lines as the build goes, not at its end", { timeout: 120_000 }, async () => {
    await startWorker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "1500" }, 1)
    const started = Date.now()
    const seen: Array<{ readonly line: string; readonly at: number }> = []
    const child = spawn(process.execPath, [bin, "environment", "build", "live:1", "--follow", "-o", "json"], { cwd: repoRoot, env: cliEnv(env()) })
    children.add(child)
    let stdout = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n").filter((l) => l !== "")) seen.push({ line, at: Date.now() - started })
    })
    const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
    children.delete(child)
    assert.strictEqual(status, 0, seen.map((s) => s.line).join("\n"))
    assert.strictEqual(JSON.parse(stdout).outcome, "joined")
    const end = Date.now() - started
    // The worker's log: its first line names the build, then a line per step.
    const first = seen.find((s) => /^build .* \(first\)$/.test(s.line))
    const steps = seen.filter((s) => /^#\d\/\d /.test(s.line))
    assert.isDefined(first, seen.map((s) => s.line).join("\n"))
    assert.isAtLeast(steps.length, 3)
    // Three steps of 1.5 s: the first lines arrived while the build still had seconds to go.
    assert.isBelow(first!.at, end - 2500, seen.map((s) => `${s.at} ${s.line}`).join("\n"))
  })

  it("a worker stopped with SIGTERM finishes its running build, then exits", { timeout: 120_000 }, async () => {
    const worker = await startWorker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "1000" }, 1)
    const request = runCliAsync(["environment", "build", "stopped:1", "-o", "json"], env())
    await until("stopped:1", "building")
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      worker.on("close", (code, signal) => resolve({ code, signal })))
    process.kill(worker.pid!, "SIGTERM")
    const answer = json<{ outcome: string }>(await request)
    assert.strictEqual(answer.outcome, "joined")
    const how = await exited
    children.delete(worker)
    assert.isNull(how.signal, worker.output())
    assert.match(worker.output(), /stopped:1 sha256:[0-9a-f]+: built/)
    const shown = await until("stopped:1", "built")
    assert.strictEqual(shown.status, "built")
  })

  it("--cancel drops a queued build that no worker took: its requester ends with a clear error", { timeout: 120_000 }, async () => {
    const request = runCliAsync(["environment", "build", "dropped:1"], env())
    // Queued once the request says so.
    for (let i = 0; i < 100 && !runCli(["environment", "build", "--cancel", "dropped:1", "-o", "json"], env()).stdout.includes("cancelledJobs"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const dropped = await request
    assert.notStrictEqual(dropped.status, 0)
    assert.match(dropped.stderr, /queued build of .* ended without a result/)
    assert.strictEqual(await eventCount("BuildFailed"), 1)
  })
})
