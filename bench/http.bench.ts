/**
 * `pnpm bench:http`: requests per second and latency (p50, p99) of the HTTP API for three reads
 * (list environments, get a version, get its image) on a registry of 10,000 environments, with
 * 1 and with 4 `terrarium serve` processes on one PostgreSQL database, driven by autocannon on
 * 127.0.0.1. The peer, measured in the same run under the same load: a bare `node:http` server
 * that answers every request with a version's JSON from memory (the ceiling of Node's HTTP
 * stack on this machine). See bench/README.md ("HTTP API").
 *
 *   node bench/http.bench.ts [--environments N] [--duration S] [--connections C] [--url URL]
 *
 * Targets (issue 18): get version p99 ≤ 5 ms and ≥ 2,000 requests/s per process.
 * It is a report, not a test: it exits 0 whether the targets are met or not.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import autocannon from "autocannon"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import pg from "pg"
import * as ApiKeys from "../packages/app/src/http/ApiKeys.ts"
import * as Setup from "../packages/app/src/Setup.ts"
import { Terrarium } from "../packages/app/src/Terrarium.ts"

const { values } = parseArgs({
  options: {
    environments: { type: "string", default: "10000" },
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    url: { type: "string" }
  }
})
const ENVIRONMENTS = Number(values.environments)
const DURATION = Number(values.duration)
const CONNECTIONS = Number(values.connections)
const URL_ = values.url ?? process.env["BENCH_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const repoRoot = fileURLToPath(new URL("../", import.meta.url))
const bin = join(repoRoot, "packages/app/bin/terrarium.mjs")
const schema = `bench_http_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`
const home = mkdtempSync(join(tmpdir(), "terrarium-bench-http-"))
const env = {
  ...process.env,
  TERRARIUM_HOME: home,
  TERRARIUM_DATABASE_URL: URL_,
  TERRARIUM_DATABASE_SCHEMA: schema,
  TERRARIUM_IMAGE_BUILDER: "memory",
  TERRARIUM_BUILD_QUEUE: "in-process",
  TERRARIUM_CURATED_CATALOG: "off"
}
Object.assign(process.env, env)

const nameOf = (i: number) => `env-${String(i).padStart(5, "0")}`
const conda = (i: number) => `channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - package-${i}==1.0.${i % 7}\n`

/** 10^4 environments of one version each, registered through the library (the same use case as the API's POST). */
const seed = async () => {
  const runtime = ManagedRuntime.make(ApiKeys.layer.pipe(Layer.provideMerge(Setup.layer({ caller: { actor: "bench" } }))))
  const started = performance.now()
  const { definitionOf } = await import("../packages/app/src/http/Resources.ts")
  await runtime.runPromise(Effect.forEach(Array.from({ length: ENVIRONMENTS }, (_, i) => i), (i) =>
    Effect.gen(function*() {
      const imported = yield* definitionOf(nameOf(i), { properties: { image: "python:3.12-slim", condaFile: conda(i), tags: { team: `t${i % 10}` } } })
      const t = yield* Terrarium
      yield* t.create({ workspace: "bench", name: nameOf(i), definition: imported.definition })
    }), { concurrency: 8, discard: true }))
  const made = await runtime.runPromise(ApiKeys.ApiKeys.use((keys) => keys.create({ workspace: "bench", actor: "bench" })))
  await runtime.dispose()
  console.log(`seeded ${ENVIRONMENTS} environments in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return Redacted.value(made.key)
}

const serve = (): Promise<{ url: string; child: ChildProcess }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", "--port", "0"], { env, stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/[0-9.:]+)/.exec(out)
      if (m !== null) resolve({ url: m[1]!, child })
    })
    child.on("exit", (code) => reject(new Error(`serve exited ${code}`)))
  })

/** A bare node:http server answering every request with `body` (the peer). */
const bare = async (body: string) => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const address = server.address() as { port: number }
  return { url: `http://127.0.0.1:${address.port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

interface Figures {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly errors: number
}

/** autocannon on each URL at once (one instance per server), `CONNECTIONS` connections each. */
const load = async (urls: ReadonlyArray<string>, path: (i: number) => string, key: string): Promise<Figures> => {
  const results = await Promise.all(urls.map((url) => {
    let n = 0
    return autocannon({
      url,
      connections: CONNECTIONS,
      duration: DURATION,
      headers: { authorization: `Bearer ${key}` },
      requests: [{ setupRequest: (req: any) => ({ ...req, path: path(n++ * 7919 % ENVIRONMENTS) }) }]
    })
  }))
  return {
    rps: results.reduce((sum, r) => sum + r.requests.average, 0),
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((sum, r) => sum + r.errors + r.non2xx, 0)
  }
}

const routes: ReadonlyArray<readonly [string, (i: number) => string]> = [
  ["list environments ($top=20)", (i) => `/api/v1/workspaces/bench/environments?environmentType=UserCreated&$top=20&$orderBy=name${i % 2 === 0 ? "" : "%20desc"}`],
  ["get version", (i) => `/api/v1/workspaces/bench/environments/${nameOf(i)}/versions/1`],
  ["get image", (i) => `/api/v1/workspaces/bench/environments/${nameOf(i)}/versions/1/image`]
]

const main = async () => {
  console.log(`HTTP API benchmark: ${ENVIRONMENTS} environments, ${DURATION} s per case, ${CONNECTIONS} connections per server, schema ${schema}`)
  const key = await seed()
  const rows: Array<Array<string>> = []
  const servers: Array<{ url: string; child: ChildProcess }> = []
  try {
    servers.push(await serve())
    const sample = await fetch(`${servers[0]!.url}${routes[1]![1](42)}`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text())
    const peer = await bare(sample)
    const ceiling = await load([peer.url], () => "/", key)
    await peer.close()
    rows.push(["bare node:http (peer)", "1", ceiling.rps.toFixed(0), "", ceiling.p50.toFixed(1), ceiling.p99.toFixed(1), "1.00"])
    for (const processes of [1, 4]) {
      while (servers.length < processes) servers.push(await serve())
      for (const [label, path] of routes) {
        // A short warm-up: the first requests of a process compile its code paths.
        await load(servers.slice(0, processes).map((s) => s.url), path, key).then(() => undefined, () => undefined).then(() => undefined)
        const f = await load(servers.slice(0, processes).map((s) => s.url), path, key)
        rows.push([label, String(processes), f.rps.toFixed(0), (f.rps / processes).toFixed(0), f.p50.toFixed(1), f.p99.toFixed(1), (f.rps / ceiling.rps).toFixed(2) + (f.errors > 0 ? ` (${f.errors} errors)` : "")])
      }
    }
  } finally {
    for (const s of servers) if (s.child.exitCode === null) process.kill(s.child.pid!, "SIGTERM")
    const client = new pg.Client({ connectionString: URL_ })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_pgboss" CASCADE`).finally(() => client.end())
    rmSync(home, { recursive: true, force: true })
  }
  const header = ["route", "processes", "req/s", "req/s per process", "p50 ms", "p99 ms", "vs peer"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: ReadonlyArray<string>) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ")
  console.log([line(header), ...rows.map(line)].join("\n"))
  const get1 = rows.find((r) => r[0] === "get version" && r[1] === "1")!
  console.log(`targets: get version p99 ${get1[5]} ms (≤ 5: ${Number(get1[5]) <= 5 ? "met" : "missed"}), ${get1[3]} req/s per process (≥ 2000: ${Number(get1[3]) >= 2000 ? "met" : "missed"})`)
}

await main()
