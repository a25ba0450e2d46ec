/**
 * What one HTTP read costs in CPU, in one process (the server and a sequential client
 * together): `node bench/http-cpu.ts [--requests N] [--url URL]`. A server over a fresh
 * PostgreSQL schema (or PGlite in memory with `--url memory`), one environment of one version,
 * then N sequential requests of each route. The CPU time (user + system) per request is the
 * figure that holds up on a loaded machine; run with `node --cpu-prof` to see where it goes.
 * See bench/README.md ("HTTP API").
 */
import { parseArgs } from "node:util"
import { startApiServer } from "../packages/app/test/http/ApiServer.ts"

const { values } = parseArgs({
  options: { requests: { type: "string", default: "1000" }, url: { type: "string" } }
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
try {
  for (const [route, path] of Object.entries(routes)) {
    for (let i = 0; i < 50; i++) await (await fetch(api(path), { headers })).text()
    const cpu = process.cpuUsage()
    const start = performance.now()
    for (let i = 0; i < REQUESTS; i++) {
      const r = await fetch(api(path), { headers })
      await r.text()
      if (r.status !== 200) throw new Error(`${route}: ${r.status}`)
    }
    const wall = performance.now() - start
    const used = process.cpuUsage(cpu)
    const ms = (used.user + used.system) / 1000 / REQUESTS
    console.log(`${route.padEnd(20)} ${ms.toFixed(2)} ms CPU/request  ${(wall / REQUESTS).toFixed(2)} ms wall/request  (${REQUESTS} requests)`)
  }
} finally {
  await s.close()
  if (URL_ !== "memory") {
    const pg = (await import("pg")).default
    const client = new pg.Client({ connectionString: URL_ })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  }
}
