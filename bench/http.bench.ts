/**
 * `pnpm bench:http`: requests per second and latency (p50, p99) of the HTTP API for three reads
 * (list environments, get a version, get its image) on a registry of 10,000 environments, with
 * 1 and with 4 `terrarium serve` processes on one PostgreSQL database, driven by autocannon on
 * 127.0.0.1. The peer, measured in the same run under the same load: a bare `node:http` server
 * that answers every request with a version's JSON from memory (the ceiling of Node's HTTP
 * stack on this machine). See bench/README.md ("HTTP API").
 *
 *   node bench/http.bench.ts [--environments N] [--duration S] [--connections C] [--rate R]
 *                            [--rate-connections C] [--url URL]
 *
 * Two measurements of each server count, in the same run. Saturated: `--connections` per server
 * driven flat out (each sends its next request when the last is answered), the most requests/s;
 * its p99 is mostly the load tool's own queue (16 connections at N requests/s wait about 16/N
 * each). At the target's rate: get version offered at `--rate` requests/s per server (2,000,
 * the target), open loop (open-loop.ts: requests due at even intervals, whatever the answers do)
 * over up to `--rate-connections` (64) keep-alive connections, so its p99 is the server's latency
 * at that load; the line also says the rate achieved (below the offer: the server did not keep
 * up) and how late the load's sends were (its timers, on a loaded machine).
 *
 * Targets (issue 18): get version p99 ≤ 5 ms and ≥ 2,000 requests/s per process. The verdicts
 * printed are computed from this run's figures: requests/s per process from the saturated run,
 * p99 from the run at the target's rate (which must also have achieved it).
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
import { openLoop } from "./open-loop.ts"
import { Terrarium } from "../packages/app/src/Terrarium.ts"

const { values } = parseArgs({
  options: {
    environments: { type: "string", default: "10000" },
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    rate: { type: "string", default: "2000" },
    "rate-connections": { type: "string", default: "64" },
    url: { type: "string" }
  }
})
const ENVIRONMENTS = Number(values.environments)
const DURATION = Number(values.duration)
const CONNECTIONS = Number(values.connections)
const RATE = Number(values.rate)
const RATE_CONNECTIONS = Number(values["rate-connections"])
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

/** autocannon on each URL at once (one instance per server), `CONNECTIONS` connections each, flat out. */
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

/** One read of each environment's version and image, 8 at a time. */
const warm = async (url: string, key: string) => {
  const paths = Array.from({ length: ENVIRONMENTS }, (_, i) => [routes[1]![1](i), routes[2]![1](i)]).flat()
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < paths.length) {
      const r = await fetch(`${url}${paths[next++]}`, { headers: { authorization: `Bearer ${key}` } })
      await r.arrayBuffer()
    }
  }))
}

/** `RATE` requests/s offered to each URL at once, open loop (open-loop.ts), over `RATE_CONNECTIONS` each. */
const loadAtRate = async (urls: ReadonlyArray<string>, path: (i: number) => string, key: string): Promise<Figures & { readonly lagP99: number }> => {
  const paths = Array.from({ length: ENVIRONMENTS }, (_, i) => path(i))
  const results = await Promise.all(urls.map((url) =>
    openLoop({ url, paths, headers: { authorization: `Bearer ${key}` }, rate: RATE, duration: DURATION, connections: RATE_CONNECTIONS })
  ))
  return {
    rps: results.reduce((sum, r) => sum + r.rps, 0),
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    lagP99: Math.max(...results.map((r) => r.lagP99)),
    errors: results.reduce((sum, r) => sum + r.errors, 0)
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
  const verdicts: Array<{ readonly processes: number; readonly saturated: Figures; readonly atRate: Figures & { readonly lagP99: number } }> = []
  const servers: Array<{ url: string; child: ChildProcess }> = []
  try {
    servers.push(await serve())
    const sample = await fetch(`${servers[0]!.url}${routes[1]![1](42)}`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text())
    const peer = await bare(sample)
    const ceiling = await load([peer.url], () => "/", key)
    const peerAtRate = await loadAtRate([peer.url], () => "/", key)
    await peer.close()
    rows.push(["bare node:http (peer)", "1", ceiling.rps.toFixed(0), "", ceiling.p50.toFixed(1), ceiling.p99.toFixed(1), "1.00"])
    rows.push([`bare node:http (peer) at ${RATE}/s offered`, "1", peerAtRate.rps.toFixed(0), "", peerAtRate.p50.toFixed(1), peerAtRate.p99.toFixed(1), ""])
    for (const processes of [1, 4]) {
      while (servers.length < processes) {
        const server = await serve()
        servers.push(server)
        // A server remembers version and image reads per process: read every one once, as a
        // server running for a while would have, so the timed runs measure it warm (the time
        // this takes is printed: a fresh process pays it in its first minutes).
        const warmStarted = performance.now()
        await warm(server.url, key)
        console.log(`process ${servers.length}: read every version and image once in ${((performance.now() - warmStarted) / 1000).toFixed(1)} s`)
      }
      for (const [label, path] of routes) {
        // A short warm-up: the first requests of a process compile its code paths.
        await load(servers.slice(0, processes).map((s) => s.url), path, key).then(() => undefined, () => undefined).then(() => undefined)
        const f = await load(servers.slice(0, processes).map((s) => s.url), path, key)
        rows.push([label, String(processes), f.rps.toFixed(0), (f.rps / processes).toFixed(0), f.p50.toFixed(1), f.p99.toFixed(1), (f.rps / ceiling.rps).toFixed(2) + (f.errors > 0 ? ` (${f.errors} errors)` : "")])
        if (label === "get version") {
          const at = await loadAtRate(servers.slice(0, processes).map((s) => s.url), path, key)
          rows.push([`get version at ${RATE}/s offered`, String(processes), at.rps.toFixed(0), (at.rps / processes).toFixed(0), at.p50.toFixed(1), at.p99.toFixed(1), (at.rps / ceiling.rps).toFixed(2) + (at.errors > 0 ? ` (${at.errors} errors)` : "")])
          verdicts.push({ processes, saturated: f, atRate: at })
        }
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
  for (const { processes, saturated, atRate } of verdicts) {
    const perProcess = saturated.rps / processes
    // Kept up: at least 98% of the offered rate was achieved, without errors. A load that fell
    // behind its schedule (sends more than 1 ms late at p99) sent late requests together: bursts
    // only lengthen the server's queue, and late reading of answers only lengthens the measured
    // latency, so a p99 within the target under such a load is within it at the even rate too;
    // a p99 over it may be the load's own doing, and is then not counted as a miss.
    const keptUp = atRate.rps >= 0.98 * RATE * processes && atRate.errors === 0
    const scheduleKept = atRate.lagP99 <= 1
    const rateMet = perProcess >= 2000
    const p99Met = keptUp && atRate.p99 <= 5
    console.log(
      `targets, ${processes} process${processes === 1 ? "" : "es"}: get version ${perProcess.toFixed(0)} req/s per process saturated (≥ 2000: ${rateMet ? "met" : "missed"}); ` +
        `p99 ${atRate.p99.toFixed(1)} ms at ${RATE}/s per process offered, ${(atRate.rps / processes).toFixed(0)} achieved (≤ 5 ms${RATE === 2000 ? "" : " at 2000/s: not measured"}: ${
          RATE !== 2000 ? "n/a" : !keptUp ? "missed (did not keep up)" : p99Met ? "met" : !scheduleKept ? "not shown (over it, with the load itself behind its schedule)" : "missed"
        }); load's send lag p99 ${atRate.lagP99.toFixed(1)} ms; p99 saturated ${saturated.p99.toFixed(1)} ms`
    )
  }
}

await main()
