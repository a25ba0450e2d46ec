/**
 * What one HTTP read costs in CPU, in one process (the server and a sequential client
 * together, the client in a worker thread): `node bench/http-cpu.ts [--requests N] [--url URL]
 * [--route "get version"]`, beside a bare `node:http` server answering the same JSON (Node's
 * floor). A server over a fresh
 * PostgreSQL schema (or PGlite in memory with `--url memory`), one environment of one version,
 * then N sequential requests of each route. The CPU time (user + system) per request of the
 * server's thread (the main one; the client runs in a worker) is the figure that holds up on a
 * loaded machine; run with `node --cpu-prof` to see where it goes (the main thread's profile).
 * See bench/README.md ("HTTP API").
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { parseArgs } from "node:util"
import { Worker } from "node:worker_threads"
import { startApiServer } from "../packages/app/test/http/ApiServer.ts"
import { adminQuery } from "./lib/targets.ts"

const { values } = parseArgs({
  options: { requests: { type: "string", default: "1000" }, url: { type: "string" }, route: { type: "string" } }
})
const REQUESTS = Number(values.requests)
const URL_ = values.url ?? process.env["BENCH_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `bench_cpu_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`
const s = await startApiServer(URL_ === "memory" ? {} : { databaseUrl: URL_, databaseSchema: schema })
const conda = "channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - requests==2.32.3\n"
const headers = { authorization: `Bearer ${s.keyA}` }
const api = (path: string) => `${s.baseUrl}/api/v1/workspaces/team-a${path}`
const created = await fetch(api("/environments/alpha/versions"), {
  method: "POST",
  headers: { ...headers, "content-type": "application/json" },
  body: JSON.stringify({ properties: { image: "python:3.12-slim", condaFile: conda, tags: { team: "ml" } } })
})
if (created.status >= 300) throw new Error(`seed: ${created.status} ${await created.text()}`)

const routes = {
  "get version": "/environments/alpha/versions/1",
  "get image": "/environments/alpha/versions/1/image",
  "list environments": "/environments?$top=20"
}
/**
 * The client: N sequential requests of a URL, in a worker thread, so that the main thread's CPU
 * time is the server's alone (`process.threadCpuUsage`); the process's CPU time is both.
 */
const client = `
const { parentPort, workerData } = require("node:worker_threads")
const { url, headers, requests } = workerData
;(async () => {
  for (let i = 0; i < 50; i++) await (await fetch(url, { headers })).text()
  parentPort.postMessage("warm")
  await new Promise((resolve) => parentPort.once("message", resolve))
  for (let i = 0; i < requests; i++) {
    const r = await fetch(url, { headers })
    await r.text()
    if (r.status !== 200) throw new Error(url + ": " + r.status)
  }
  parentPort.postMessage("done")
})()
`

/** N sequential requests of `url`: CPU (user + system) of the server's thread and of the process, and wall time, per request. */
const measure = async (label: string, url: string) => {
  const worker = new Worker(client, { eval: true, workerData: { url, headers, requests: REQUESTS } })
  const next = () => new Promise<void>((resolve, reject) => { worker.once("message", () => resolve()); worker.once("error", reject) })
  await next()
  const thread = process.threadCpuUsage()
  const cpu = process.cpuUsage()
  const start = performance.now()
  worker.postMessage("go")
  await next()
  const wall = performance.now() - start
  const server = process.threadCpuUsage(thread)
  const both = process.cpuUsage(cpu)
  await worker.terminate()
  const ms = (u: { user: number; system: number }) => ((u.user + u.system) / 1000 / REQUESTS).toFixed(3)
  console.log(`${label.padEnd(24)} server ${ms(server)} ms CPU/request  process ${ms(both)} ms  wall ${(wall / REQUESTS).toFixed(2)} ms/request  (${REQUESTS} requests)`)
}

// The peer: a bare node:http server answering the version's JSON from memory, read by the same
// client. Its CPU per request is the client's and Node's HTTP floor; a route's figure minus it is
// about what the server adds.
const versionJson = await (await fetch(api(routes["get version"]), { headers })).text()
const bare = createServer((_, res) => {
  res.writeHead(200, { "content-type": "application/json" })
  res.end(versionJson)
})
await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve))
try {
  if (values.route === undefined) await measure("bare node:http (peer)", `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`)
  for (const [route, path] of Object.entries(routes)) {
    if (values.route === undefined || values.route === route) await measure(route, api(path))
  }
} finally {
  bare.close()
  await s.close()
  if (URL_ !== "memory") await adminQuery(URL_, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)
}
