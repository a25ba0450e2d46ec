/**
 * What a read `asOf` a point costs in CPU, in one process (the server and a sequential client
 * together): `node bench/http-asof.ts [--environments N] [--url URL]`. A server over a fresh
 * PostgreSQL schema (or PGlite in memory with `--url memory`) and N environments of one version
 * each, then: the environment list as of a point (the first request replays the log up to it, the
 * next ones are answered from what that replay left), the same at another point, one environment
 * as of a point (its stream and its hashes' build streams), and, as the peer in the same run, the
 * list without `asOf`. `--schema S --keep` keeps the seeded schema and measures it again later
 * (another commit's code on the same log). See bench/README.md ("HTTP API").
 */
import { Effect } from "effect"
import { parseArgs } from "node:util"
import { decodeDefinitionInput } from "../packages/app/src/Input.ts"
import { Terrarium } from "../packages/app/src/Terrarium.ts"
import { startApiServer } from "../packages/app/test/http/ApiServer.ts"
import { adminQuery } from "./lib/targets.ts"

const { values } = parseArgs({
  options: {
    environments: { type: "string", default: "10000" },
    url: { type: "string" },
    // Seeding 10⁵ environments takes a while: a schema seeded by an earlier run (with --keep) is
    // measured again as it is, e.g. by two commits.
    schema: { type: "string" },
    keep: { type: "boolean", default: false }
  }
})
const ENVIRONMENTS = Number(values.environments)
/** Environments described again after the seeding: the changes a past point near the head misses. */
const CHANGED = Math.min(100, ENVIRONMENTS)
const URL_ = values.url ?? process.env["BENCH_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = values.schema ?? `bench_asof_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`
const s = await startApiServer(URL_ === "memory" ? {} : { databaseUrl: URL_, databaseSchema: schema })
const headers = { authorization: `Bearer ${s.keyA}` }
const api = (path: string) => `${s.baseUrl}/api/v1/workspaces/team-a${path}`
const nameOf = (i: number) => `env-${String(i).padStart(5, "0")}`

const seeded = performance.now()
if (await s.head() === 0) {
  await s.run(Effect.forEach(Array.from({ length: ENVIRONMENTS }, (_, i) => i), (i) =>
    Effect.gen(function*() {
      const definition = yield* decodeDefinitionInput({
        python: { userManagedDependencies: false, interpreterPath: "python", conda: { channels: [], conda: [], pip: [`package-${i}==1.0`] } },
        tags: { team: `t${i % 10}` }
      })
      yield* Terrarium.use((t) => t.create({ workspace: "team-a", name: nameOf(i), definition }))
    }), { concurrency: 8, discard: true }))
}
// Every run describes CHANGED environments again: the list as of the head before that has
// CHANGED streams to replay backward.
const seededHead = await s.head()
await s.run(Effect.forEach(Array.from({ length: CHANGED }, (_, i) => i), (i) =>
  Terrarium.use((t) => t.update({ workspace: "team-a", ref: { name: nameOf(i), version: "1" }, description: `described at ${seededHead}` })),
  { discard: true }))
const head = await s.head()
console.log(`seeded ${ENVIRONMENTS} environments, then ${CHANGED} described again (log head ${seededHead}, then ${head}) in ${((performance.now() - seeded) / 1000).toFixed(1)} s`)

/** CPU (user + system) and wall time per request of `n` sequential requests of `path`. */
const measure = async (label: string, path: string, n: number) => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  for (let i = 0; i < n; i++) {
    const r = await fetch(api(path), { headers })
    await r.text()
    if (r.status !== 200) throw new Error(`${label}: ${r.status}`)
  }
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  const ms = (used.user + used.system) / 1000 / n
  console.log(`${label.padEnd(44)} ${ms.toFixed(2).padStart(9)} ms CPU/request ${(wall / n).toFixed(2).padStart(9)} ms wall/request  (${n})`)
}

try {
  await measure("list, no asOf (peer; warm-up)", "/environments?$top=20", 20)
  await measure("list, no asOf (peer)", "/environments?$top=20", 100)
  await measure(`list asOf ${head} (first: replays the log)`, `/environments?$top=20&asOf=${head}`, 1)
  await measure(`list asOf ${head} (again: remembered)`, `/environments?$top=20&asOf=${head}`, 100)
  await measure(`list asOf ${seededHead} (first: ${CHANGED} changed since)`, `/environments?$top=20&asOf=${seededHead}`, 1)
  const half = Math.floor(head / 2)
  await measure(`list asOf ${half} (first: replays the log)`, `/environments?$top=20&asOf=${half}`, 1)
  await measure(`get environment asOf ${head}`, `/environments/${nameOf(ENVIRONMENTS - 1)}?asOf=${head}`, 100)
  await measure(`get environment, no asOf (peer)`, `/environments/${nameOf(ENVIRONMENTS - 1)}`, 100)
} finally {
  await s.close()
  if (URL_ !== "memory" && !values.keep) await adminQuery(URL_, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)
}
