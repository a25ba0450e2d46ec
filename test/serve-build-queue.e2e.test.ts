/**
 * Builds asked for over the HTTP API where builds are queued: `terrarium serve` on the test
 * PostgreSQL with the pg-boss queue, and a separate `terrarium worker` process that builds.
 * `POST …/builds` answers 202 with a build id at once; `GET /builds/{id}` then goes Queued →
 * Building → Built as the worker takes the job; the version's image names it; a second POST is a
 * cache hit that queues nothing. On the real Docker engine (a local package index of tiny
 * wheels) that flow once, and a failing build retried: each failed build keeps its own failure
 * and log. The rest with the in-memory builder, including a worker killed mid-build: its build is
 * shown failed once another took it over, and a follower of its never-sealed log is told the end.
 *
 * Across processes: two `serve` processes on one database and a worker; a client follows the log
 * as Server-Sent Events through serve B while the worker writes it, and resumes with
 * `Last-Event-ID` exactly after the last line it got. The log store is the file-system one under
 * one TERRARIUM_HOME shared by the servers and the worker (the memory builder's images are files
 * there too); the log's bell between them is the queue's LISTEN/NOTIFY.
 *
 * Every process started here is stopped by its PID.
 */
import { type ChildProcess, execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import pg from "pg"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { testDockerEngine } from "./support/DockerEngine.ts"
import { type PackageIndex, startPackageIndex } from "./support/PackageIndex.ts"
import { cliEnv, json, pipDefinitionFile, runCli, startCli, tempDir, workerEnv } from "./support/cli.ts"
import { testDatabaseUrl } from "./support/postgres.ts"

const home = tempDir("terrarium-serve-queue-")
const schema = `servequeue_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
const env = (extra: Record<string, string> = {}) => workerEnv({ home: home.path, databaseUrl: testDatabaseUrl, schema }, extra)

const children = new Set<ChildProcess>()

/** Starts `terrarium ARGS…` and resolves once its output matches `ready`. */
const start = (args: ReadonlyArray<string>, extra: Record<string, string>, ready: RegExp) => startCli(args, cliEnv(env(extra)), ready, children)

const serve = async (extra: Record<string, string> = {}) =>
  (await start(["serve", "--port", "0"], extra, /listening on (http:\/\/127\.0\.0\.1:\d+)/)).match[1]!

const worker = (extra: Record<string, string> = {}) => start(["worker", "--concurrency", "1"], extra, /takes builds/)

const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()))
  process.kill(child.pid!, "SIGKILL")
  await closed
}

let key: string

const call = async (base: string, method: string, path: string, headers: Record<string, string> = {}) => {
  const r = await fetch(`${base}/api/v1/workspaces/default${path}`, { method, headers: { authorization: `Bearer ${key}`, ...headers } })
  const text = await r.text()
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  return { status: r.status, json: body, text }
}

const query = async <A>(text: string, values: ReadonlyArray<unknown> = []) => {
  const client = new pg.Client({ connectionString: testDatabaseUrl })
  await client.connect()
  try {
    return (await client.query(text, [...values])).rows as Array<A>
  } finally {
    await client.end()
  }
}

const eventCount = async (type: string) =>
  (await query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".events WHERE event_type = $1`, [type]))[0]!.n

/** The jobs pg-boss holds for builds, in any state (none before pg-boss first made its schema). */
const jobCount = async () => {
  const [exists] = await query<{ t: string | null }>(`SELECT to_regclass('"${schema}_pgboss".job')::text AS t`)
  if (exists?.t === null) return 0
  return (await query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}_pgboss".job WHERE name = 'terrarium-builds'`))[0]!.n
}

/** Polls `GET /builds/{id}` until it ends; every status seen, in order, without repeats. */
const watch = async (base: string, buildId: string) => {
  const seen: Array<string> = []
  for (let i = 0; i < 1500; i++) {
    const got = await call(base, "GET", `/builds/${buildId}`)
    assert.strictEqual(got.status, 200, got.text)
    if (seen.at(-1) !== got.json.status) seen.push(got.json.status)
    if (got.json.status === "Built" || got.json.status === "Failed") return { seen, last: got.json }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`build ${buildId} never ended: ${seen.join(" → ")}`)
}

/**
 * The whole flow for version 1 of `name`: POST with no worker running (202, Queued, an id),
 * the id readable while queued, a worker started, the build watched to its end, the image, and a
 * second POST answered from the cache with nothing queued.
 */
const queuedBuild = async (base: string, name: string, workerExtra: Record<string, string>) => {
  const jobsBefore = await jobCount()
  const posted = await call(base, "POST", `/environments/${name}/versions/1/builds`)
  assert.strictEqual(posted.status, 202, posted.text)
  assert.strictEqual(posted.json.status, "Queued")
  assert.match(posted.json.buildId, /^[0-9a-f-]{36}$/)
  const buildId: string = posted.json.buildId
  const queued = await call(base, "GET", `/builds/${buildId}`)
  assert.deepStrictEqual([queued.status, queued.json.status, queued.json.buildId], [200, "Queued", buildId], queued.text)
  const w = await worker(workerExtra)
  const { seen, last } = await watch(base, buildId)
  // Queued (seen above) until the worker takes it, which it may do before the first look here.
  assert.deepStrictEqual(seen, ["Queued", "Building", "Built"].slice(-seen.length), w.output())
  assert.include(seen, "Building")
  assert.strictEqual(last.cause, "first")
  assert.isString(last.endedAt)
  const image = await call(base, "GET", `/environments/${name}/versions/1/image`)
  assert.strictEqual(image.json.status, "Built")
  assert.strictEqual(image.json.buildId, buildId)
  assert.match(image.json.digest, /^sha256:[0-9a-f]{64}$/)
  assert.strictEqual(image.json.digest, last.image.digest)
  assert.strictEqual(image.json.reference, `terrarium/env:${image.json.canonicalHash.slice(7, 23)}`)
  assert.strictEqual(await jobCount(), jobsBefore + 1)
  const again = await call(base, "POST", `/environments/${name}/versions/1/builds`)
  assert.deepStrictEqual([again.status, again.json.cacheHit, again.json.status, again.json.buildId], [200, true, "Built", buildId], again.text)
  assert.strictEqual(await jobCount(), jobsBefore + 1, "a cache hit queues nothing")
  await stop(w.child)
  return { buildId, canonicalHash: image.json.canonicalHash as string }
}

/** Server-Sent Events as they come: `{ id, event, data }`, until the stream ends or `until` says stop. */
const followSse = async (url: string, headers: Record<string, string>, until: (events: ReadonlyArray<Sse>) => boolean) => {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { authorization: `Bearer ${key}`, ...headers }, signal: controller.signal })
  assert.strictEqual(response.headers.get("content-type"), "text/event-stream")
  const events: Array<Sse> = []
  const decoder = new TextDecoder()
  let buffer = ""
  const reader = response.body!.getReader()
  try {
    while (true) {
      const { done, value } = await reader.read()
      if (done) return { events, ended: true }
      buffer += decoder.decode(value, { stream: true })
      let cut: number
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const field = (name: string) => block.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2)
        events.push({ id: Number(field("id")), event: field("event") ?? "message", data: JSON.parse(field("data") ?? "null"), at: Date.now() })
      }
      if (until(events)) {
        controller.abort()
        return { events, ended: false }
      }
    }
  } catch (error) {
    if (controller.signal.aborted) return { events, ended: false }
    throw error
  }
}

interface Sse {
  readonly id: number
  readonly event: string
  readonly data: { readonly line: number; readonly text: string }
  readonly at: number
}

beforeAll(() => {
  for (const [name, pip] of [["queued", "demo-a"], ["followed", "demo-b"], ["orphaned", "demo-c"]]) {
    json(runCli(["environment", "create", "--file", pipDefinitionFile(home.path, name!, pip!), "-o", "json"], env()))
  }
  key = json<{ key: string }>(runCli(["apikey", "create", "--workspace", "default", "-o", "json"], env())).key
}, 120_000)
afterEach(async () => {
  // The servers stay for the whole file; workers are the tests' own (one left would take the next test's jobs).
  for (const child of [...children]) if (!child.spawnargs.includes("serve")) await stop(child)
})
afterAll(async () => {
  for (const child of [...children]) await stop(child)
  await query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_pgboss" CASCADE`)
  home.remove()
})

describe("HTTP builds queued for worker processes (pg-boss on PostgreSQL)", () => {
  let serveA: string
  let serveB: string
  beforeAll(async () => {
    serveA = await serve()
    serveB = await serve()
  }, 120_000)

  it("POST answers 202 with a build id; the worker builds it (Queued → Building → Built); the image names it; again: a cache hit, nothing queued", { timeout: 120_000 }, async () => {
    const { buildId } = await queuedBuild(serveA, "queued", { TERRARIUM_MEMORY_BUILD_STEP_MS: "300" })
    // The other server answers the same about it.
    const elsewhere = await call(serveB, "GET", `/builds/${buildId}`)
    assert.deepStrictEqual([elsewhere.json.status, elsewhere.json.buildId], ["Built", buildId])
    assert.strictEqual(await eventCount("BuildStarted"), 1)
  })

  it("a client follows the log through serve B while the worker writes it, live, and resumes after Last-Event-ID exactly", { timeout: 120_000 }, async () => {
    const posted = await call(serveA, "POST", "/environments/followed/versions/1/builds")
    assert.strictEqual(posted.status, 202, posted.text)
    const buildId: string = posted.json.buildId
    // Followed through B from before the worker exists (the build is queued): the first lines
    // come while the build still runs, then the client goes away after two lines.
    const url = `${serveB}/api/v1/workspaces/default/builds/${buildId}/log/stream`
    const w = await worker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "700" })
    let statusWhenFirstLineCame: Promise<string> | undefined
    const first = await followSse(url, {}, (events) => {
      // Asked without waiting, so as not to hold the reader up.
      statusWhenFirstLineCame ??= call(serveA, "GET", `/builds/${buildId}`).then((r) => r.json.status)
      return events.filter((e) => e.event === "message").length >= 2
    })
    assert.isFalse(first.ended)
    // At least two lines (one read may bring more), numbered from 1.
    assert.deepStrictEqual(first.events.map((e) => e.id), first.events.map((_, i) => i + 1))
    assert.notInclude(first.events.map((e) => e.event), "end")
    assert.match(first.events[0]!.data.text, new RegExp(`^build ${buildId} .*\\(first\\)`))
    // Resumed with the last id received: every later line once, then the end.
    const rest = await followSse(url, { "last-event-id": String(first.events.at(-1)!.id) }, () => false)
    assert.isTrue(rest.ended)
    assert.strictEqual(rest.events.at(-1)!.event, "end")
    const lines = [...first.events, ...rest.events].filter((e) => e.event === "message")
    assert.deepStrictEqual(lines.map((e) => e.id), lines.map((_, i) => i + 1), "no line lost, none twice")
    assert.deepStrictEqual(lines.map((e) => e.data.line), lines.map((e) => e.id))
    const { last } = await watch(serveB, buildId)
    assert.strictEqual(last.status, "Built")
    // The lines are the log's, as the worker wrote it.
    const whole = await call(serveB, "GET", `/builds/${buildId}/log`)
    assert.deepStrictEqual(lines.map((e) => e.data.text), whole.text.split("\n").filter((l) => l !== ""))
    assert.isAtLeast(lines.length, 4)
    // Live: the first line reached the client while the build was still running.
    assert.oneOf(await statusWhenFirstLineCame, ["Queued", "Building"], w.output())
  })
})

describe("HTTP builds queued for worker processes: a worker that dies", () => {
  it("its build is shown failed once another took it over, and a follower of its log is told the end (its log is never sealed)", { timeout: 120_000 }, async () => {
    const [serveA, serveB] = [await serve(), await serve()]
    const posted = await call(serveA, "POST", "/environments/orphaned/versions/1/builds")
    const buildId: string = posted.json.buildId
    const doomed = await worker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "60000" })
    const following = followSse(`${serveB}/api/v1/workspaces/default/builds/${buildId}/log/stream`, {}, () => false)
    for (let i = 0; i < 300 && (await call(serveA, "GET", `/builds/${buildId}`)).json.status !== "Building"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await stop(doomed.child)
    // The job is retried once its heartbeat is missed: a new build takes the hash over.
    await worker({ TERRARIUM_MEMORY_BUILD_STEP_MS: "100" })
    const followed = await following
    assert.isTrue(followed.ended)
    assert.strictEqual(followed.events.at(-1)!.event, "end")
    assert.match(followed.events[0]!.data.text, new RegExp(`^build ${buildId} `))
    const builds = await call(serveB, "GET", "/environments/orphaned/versions/1/builds")
    assert.strictEqual(builds.json.value.length, 2, builds.text)
    const [takeover, orphaned] = builds.json.value
    assert.deepStrictEqual([takeover.cause, orphaned.buildId, orphaned.status, orphaned.image.failure.reason], ["takeover", buildId, "Failed", "LeaseExpired"])
    const got = await call(serveA, "GET", `/builds/${buildId}`)
    assert.deepStrictEqual([got.json.status, got.json.endedAt], ["Failed", takeover.startedAt])
  })
})

describe("HTTP builds queued for a worker on the real Docker engine", () => {
  const engine = testDockerEngine()
  let index: PackageIndex
  let base: string
  const dockerEnv = { TERRARIUM_IMAGE_BUILDER: "docker", DOCKER_HOST: engine.dockerHost, TERRARIUM_BUILD_LEASE_SECONDS: "30" }
  beforeAll(async () => {
    index = await startPackageIndex([{ name: "demo-a", version: "1.0" }])
    const file = `${home.path}/docker-built.yml`
    writeFileSync(file, [
      "name: docker-built", `image: ${engine.baseImage}`, "conda_file:", "  dependencies:", "    - pip:",
      `      - --index-url ${index.url}`, "      - demo-a", ""
    ].join("\n"))
    json(runCli(["environment", "create", "--file", file, "-o", "json"], env(dockerEnv)))
    writeFileSync(`${home.path}/docker-broken.yml`, [
      "name: docker-broken", `image: ${engine.baseImage}`, "conda_file:", "  dependencies:", "    - pip:",
      `      - --index-url ${index.url}`, "      - demo-missing", ""
    ].join("\n"))
    json(runCli(["environment", "create", "--file", `${home.path}/docker-broken.yml`, "-o", "json"], env(dockerEnv)))
    base = await serve(dockerEnv)
  }, 300_000)
  afterAll(async () => {
    await index?.close()
  })

  it("POST answers 202; a worker process builds it with Docker; the image has the engine's image id; again: a cache hit", { timeout: 300_000 }, async () => {
    const { canonicalHash } = await queuedBuild(base, "docker-built", dockerEnv)
    const image = (await call(base, "GET", "/environments/docker-built/versions/1/image")).json
    const inspected = execFileSync("/usr/bin/docker", ["-H", engine.dockerHost, "image", "inspect", "--format", "{{.Id}}", image.reference], { encoding: "utf8" })
    assert.strictEqual(inspected.trim(), image.digest)
    assert.strictEqual(image.canonicalHash, canonicalHash)
  })

  it("a failed build keeps its own failure and log after a retry fails again: both are found by id, newest first in the list", { timeout: 300_000 }, async () => {
    await worker(dockerEnv)
    const failedOnce = async () => {
      const posted = await call(base, "POST", "/environments/docker-broken/versions/1/builds")
      assert.strictEqual(posted.status, 202, posted.text)
      return (await watch(base, posted.json.buildId)).last
    }
    const first = await failedOnce()
    const second = await failedOnce()
    assert.notStrictEqual(second.buildId, first.buildId)
    assert.deepStrictEqual([first.status, first.cause, second.status, second.cause], ["Failed", "first", "Failed", "retry"])
    const earlier = (await call(base, "GET", `/builds/${first.buildId}`)).json
    assert.deepStrictEqual(earlier, first, "the first build reads as it ended, after the second")
    assert.strictEqual(earlier.image.failure.reason, "PipUnresolvable")
    assert.include(earlier.image.failure.message, "demo-missing")
    assert.isNull(earlier.image.digest)
    const log = (await call(base, "GET", `/builds/${first.buildId}/log`)).text
    assert.include(log, first.buildId)
    assert.include(log, "demo-missing")
    assert.notInclude(log, second.buildId)
    const list = (await call(base, "GET", "/environments/docker-broken/versions/1/builds")).json
    assert.deepStrictEqual(list.value.map((b: any) => b.buildId), [second.buildId, first.buildId])
  })
})
