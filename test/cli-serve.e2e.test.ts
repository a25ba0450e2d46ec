/**
 * `terrarium serve` as a user runs it: the built executable in its own process on a free port,
 * a key made beforehand with `terrarium apikey create`, stopped by its PID (SIGTERM: it closes and
 * exits 130, interrupted), then revoked with `terrarium apikey revoke`. On PostgreSQL, two `serve` processes on one
 * schema stay consistent: what one writes the other reads, a key one makes (`--dev-key`) opens the other, and a
 * version put through both at once is made once.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import pg from "pg"
import { bin, cliEnv, json, repoRoot, runCli, tempDir } from "./support/cli.ts"
import { testDatabaseUrl } from "./support/postgres.ts"

interface Served {
  readonly url: string
  /** The key `--dev-key` printed, if asked. */
  readonly devKey: string | undefined
  readonly child: ChildProcess
  readonly stop: () => Promise<number | null>
}

/** Starts `terrarium serve --port 0` and waits for its `listening on` line. */
const serve = (env: Record<string, string>, args: ReadonlyArray<string> = []): Promise<Served> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", "--port", "0", ...args], { cwd: repoRoot, env: cliEnv(env) })
    let stdout = ""
    let stderr = ""
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)
      if (match !== null) {
        resolve({
          url: match[1]!,
          devKey: /^api key: (\S+) /m.exec(stdout)?.[1],
          child,
          stop: () => {
            // By its PID, never by name.
            if (child.exitCode === null) process.kill(child.pid!, "SIGTERM")
            return exited
          }
        })
      }
    })
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening:\n${stderr}\n${stdout}`)))
  })

const conda = (pkg: string) => `channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - ${pkg}\n`

const request = async (url: string, key: string, method = "GET", body?: unknown) => {
  const r = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: r.status, json: await r.json() as any }
}

const running: Array<Served> = []
afterAll(async () => {
  for (const s of running) await s.stop()
})

describe("terrarium serve (embedded database)", () => {
  it("serves the API with a key made by apikey create, and stops on SIGTERM", { timeout: 120_000 }, async () => {
    const home = tempDir("terrarium-serve-")
    const env = { TERRARIUM_HOME: home.path, TERRARIUM_IMAGE_BUILDER: "memory" }
    try {
      const made = json<{ id: string; key: string; workspace: string }>(runCli(["apikey", "create", "--workspace", "team-a", "-o", "json"], env))
      assert.match(made.key, /^trm_/)
      const listed = runCli(["apikey", "list", "--workspace", "team-a", "-o", "json"], env)
      assert.notInclude(listed.stdout, made.key)
      const s = await serve(env)
      running.push(s)
      const created = await request(`${s.url}/api/v1/workspaces/team-a/environments/cli-env/versions`, made.key, "POST", {
        properties: { image: "python:3.12-slim", condaFile: conda("requests==2.32.3") }
      })
      assert.deepStrictEqual([created.status, created.json.name], [201, "1"])
      const read = await request(`${s.url}/api/v1/workspaces/team-a/environments/cli-env/versions/latest`, made.key)
      assert.deepStrictEqual([read.status, read.json.properties.image], [200, "python:3.12-slim"])
      assert.strictEqual((await request(`${s.url}/api/v1/workspaces/team-b/environments/cli-env/versions/1`, made.key)).status, 404)
      // Stopped as runMain stops on a signal: interrupted, exit code 130, after closing the server.
      assert.strictEqual(await s.stop(), 130)
      // What the API wrote is the registry's: the CLI reads it.
      const shown = json<{ version: string }>(runCli(["environment", "show", "cli-env", "--workspace", "team-a", "-o", "json"], env))
      assert.strictEqual(shown.version, "1")
      // Revoked, the key stays listed with the time; a second revoke is refused naming the id.
      const id = made.id
      assert.strictEqual(json(runCli(["apikey", "revoke", id, "-o", "json"], env)).revoked, true)
      const [revoked] = json<Array<{ id: string; revokedAt: string | null }>>(runCli(["apikey", "list", "--workspace", "team-a", "-o", "json"], env))
      assert.deepStrictEqual([revoked!.id, typeof revoked!.revokedAt], [id, "string"])
      const again = runCli(["apikey", "revoke", id, "-o", "json"], env)
      assert.strictEqual(again.status, 2)
      assert.include(again.stdout + again.stderr, "ID")
    } finally {
      home.remove()
    }
  })
})

describe("two terrarium serve processes on one PostgreSQL schema", () => {
  const schema = `serve_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  afterAll(async () => {
    const client = new pg.Client({ connectionString: testDatabaseUrl })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_pgboss" CASCADE`).finally(() => client.end())
  })

  it("what one writes the other reads; one version put through both at once is made once", { timeout: 180_000 }, async () => {
    const home = tempDir("terrarium-serve-pg-")
    const env = {
      TERRARIUM_HOME: home.path,
      TERRARIUM_IMAGE_BUILDER: "memory",
      TERRARIUM_DATABASE_URL: testDatabaseUrl,
      TERRARIUM_DATABASE_SCHEMA: schema,
      TERRARIUM_BUILD_QUEUE: "in-process"
    }
    try {
      const { key } = json<{ key: string }>(runCli(["apikey", "create", "--workspace", "team-a", "-o", "json"], env))
      const [a, b] = await Promise.all([serve(env), serve(env, ["--dev-key", "--workspace", "team-a"])])
      running.push(a!, b!)
      // The key B made at start is in the shared store: A takes it too.
      assert.match(b!.devKey ?? "", /^trm_/)
      assert.strictEqual((await request(`${a!.url}/api/v1/workspaces/team-a/environments`, b!.devKey!)).status, 200)
      assert.strictEqual((await request(`${a!.url}/api/v1/workspaces/team-b/environments`, b!.devKey!)).status, 404)
      const created = await request(`${a!.url}/api/v1/workspaces/team-a/environments/shared/versions`, key, "POST", {
        properties: { image: "python:3.12-slim", condaFile: conda("numpy==2.1.0") }
      })
      assert.strictEqual(created.status, 201)
      // B reads a version from the log at once, and the list once the read model has it.
      assert.strictEqual((await request(`${b!.url}/api/v1/workspaces/team-a/environments/shared/versions/1`, key)).status, 200)
      let names: Array<string> = []
      for (let i = 0; i < 100 && !names.includes("shared"); i++) {
        names = (await request(`${b!.url}/api/v1/workspaces/team-a/environments?environmentType=UserCreated`, key)).json.value.map((e: any) => e.name)
        if (!names.includes("shared")) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      assert.deepStrictEqual(names, ["shared"])
      const body = { properties: { image: "python:3.12-slim", condaFile: conda("pandas==2.2.3") } }
      const puts = await Promise.all([a!, b!].map((s) => request(`${s.url}/api/v1/workspaces/team-a/environments/shared/versions/2.0`, key, "PUT", body)))
      assert.deepStrictEqual(puts.map((p) => p.status).sort(), [200, 201])
      const client = new pg.Client({ connectionString: testDatabaseUrl })
      await client.connect()
      const registered = await client.query(`SELECT count(*)::int AS n FROM "${schema}".events WHERE event_type = 'Registered'`).finally(() => client.end())
      assert.strictEqual(registered.rows[0].n, 2)
      assert.deepStrictEqual(await Promise.all([a!.stop(), b!.stop()]), [130, 130])
    } finally {
      home.remove()
    }
  })
})
