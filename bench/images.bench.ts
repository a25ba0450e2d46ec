/**
 * `pnpm bench:images`: what the image cache saves, on the real Docker engine
 * (scripts/services/docker.sh, started if down) with a local package index of tiny wheels.
 * See bench/README.md, "Images", for the figures.
 *
 *   node bench/images.bench.ts [--lookups N] [--worker-builds N]
 *
 * In a fresh embedded database, with a conda package and a pip package made for this run (so
 * that nothing of an earlier run's layers is reused), it times:
 *   1. a cold build of `bench:1` (base image → conda part → pip part → variables and labels);
 *   2. `build` of `bench:1` again, N times: each must be a cache hit (nothing built), and the
 *      cache projection's lookup alone (`ReadModel.imageBuilds` of the hash), N times: p50/p99;
 *   3. `build` of another environment with the same content: a hit too;
 *   4. `build` of `bench:2`, one pip package changed: the layers below the pip part are reused;
 *      its time against the cold build's (target ≤ 0.25x);
 *   5. 8 concurrent `build` calls of a new hash: exactly 1 build;
 *   6. pushing to a local docker-registry (started by the bench, stopped by its PID): `build
 *      --push` of `bench:1` (every layer sent), then of `bench:2` (the base layers are there);
 *   7. the cache lookup with a registry digest check beside it (`ImageRegistry.exists`: a HEAD of
 *      the pushed manifest), N times: p50/p99 beside the plain lookup's.
 *   8. builds per minute on 1 and on 2 `terrarium worker` processes on PostgreSQL, N distinct
 *      environments queued at once (images-workers.ts; `--worker-builds 0` leaves it out).
 *
 * A report, not a test: it exits non-zero only when something breaks or a cache hit builds.
 */
import { ImageRegistry, ReadModel } from "@terrarium/domain"
import { Effect, ManagedRuntime } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { Setup, Terrarium } from "../packages/app/src/index.ts"
import { importEnvironmentFile, OciImageRegistry } from "../packages/adapters/src/index.ts"
import { fromImported } from "../packages/app/src/Input.ts"
import { testDockerEngine } from "../test/support/DockerEngine.ts"
import { startCondaChannel } from "../test/support/CondaChannel.ts"
import { startPackageIndex } from "../test/support/PackageIndex.ts"
import { startRegistryIn } from "../test/support/Registry.ts"
import { workerThroughput, workerThroughputRows } from "./images-workers.ts"

const { values } = parseArgs({ options: { lookups: { type: "string", default: "200" }, "worker-builds": { type: "string", default: "4" } } })
const lookups = Number(values.lookups)

const engine = testDockerEngine()
process.env["DOCKER_HOST"] = engine.dockerHost
const home = mkdtempSync(join(tmpdir(), "terrarium-bench-images-"))
process.env["TERRARIUM_HOME"] = home
const run = Math.random().toString(36).slice(2, 8)
const fresh = `bench-fresh-${run}`

const index = await startPackageIndex([
  { name: fresh, version: "1.0" }, { name: "bench-a", version: "1.0" }, { name: "bench-b", version: "1.0" },
  { name: "bench-b", version: "2.0" }, { name: `bench-new-${run}`, version: "1.0" }
])
// A conda part too, as a real environment has: a pip change must reuse it.
const channel = await startCondaChannel([{ name: `bench-conda-${run}`, version: "1.0" }])
// A plain (anonymous) registry on 127.0.0.1, stopped by its PID at the end.
const registry = await startRegistryIn({ kind: "plain" })
const runtime = ManagedRuntime.make(Setup.layer({ dataDir: join(home, "data") }))

const register = (name: string, version: string, pip: ReadonlyArray<string>) =>
  runtime.runPromise(Effect.gen(function*() {
    const file = join(home, `${name}-${version}.yml`)
    writeFileSync(file, [
      `name: ${name}`, `version: "${version}"`, `image: ${engine.baseImage}`, "conda_file:", "  channels:", `    - ${channel.url}`,
      "  dependencies:", `    - bench-conda-${run}`, "    - pip:",
      `      - --index-url ${index.url}`, ...pip.map((p) => `      - ${p}`), ""
    ].join("\n"))
    const imported = yield* importEnvironmentFile(file)
    const { definition } = yield* fromImported(imported, {})
    return yield* Terrarium.use((t) => t.create({ workspace: "default", name, definition, version }))
  }))

const build = (name: string, version: string, push?: { readonly registry: string }) =>
  runtime.runPromise(Terrarium.use((t) => t.build({ workspace: "default", ref: { name, version }, push })))

const timed = async <A>(f: () => Promise<A>): Promise<{ readonly ms: number; readonly value: A }> => {
  const start = performance.now()
  const value = await f()
  return { ms: performance.now() - start, value }
}

const percentile = (samples: ReadonlyArray<number>, p: number) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(0)} µs`)
const rows: Array<readonly [string, string, string]> = []
let broken = false
const expect = (ok: boolean, what: string) => {
  if (!ok) {
    broken = true
    console.error(`images.bench: ${what}`)
  }
}

try {
  await register("bench", "1", [fresh, "bench-a", "bench-b==1.0"])
  await register("bench", "2", [fresh, "bench-a", "bench-b==2.0"])
  await register("twin", "1", [fresh, "bench-a", "bench-b==1.0"])
  await register("race", "1", [`bench-new-${run}`])

  const cold = await timed(() => build("bench", "1"))
  expect(cold.value.outcome === "built", "the cold build did not build")
  rows.push(["cold build (bench:1)", fmt(cold.ms), `${cold.value.built.cachedSteps}/${cold.value.built.totalSteps} steps cached`])

  const hits: Array<number> = []
  for (let i = 0; i < Math.min(lookups, 50); i++) {
    const hit = await timed(() => build("bench", "1"))
    expect(hit.value.outcome === "cached", `identical rebuild ${i} was not a cache hit`)
    hits.push(hit.ms)
  }
  rows.push(["identical rebuild: build call", `p50 ${fmt(percentile(hits, 50))}, p99 ${fmt(percentile(hits, 99))}`, `${hits.length} calls, 0 builds`])

  const lookup: Array<number> = []
  await runtime.runPromise(Effect.gen(function*() {
    const read = yield* ReadModel
    for (let i = 0; i < lookups; i++) {
      const start = performance.now()
      const [row] = yield* read.imageBuilds({ canonicalHash: cold.value.canonicalHash })
      lookup.push(performance.now() - start)
      if (row?.status !== "built") return yield* Effect.die(new Error("the cache does not hold the built image"))
    }
  }))
  rows.push(["identical rebuild: cache lookup", `p50 ${fmt(percentile(lookup, 50))}, p99 ${fmt(percentile(lookup, 99))}`, `${lookup.length} lookups`])

  const twin = await timed(() => build("twin", "1"))
  expect(twin.value.outcome === "cached" && twin.value.canonicalHash === cold.value.canonicalHash, "another environment with the same hash built")
  rows.push(["another environment, same hash", fmt(twin.ms), `${twin.value.outcome}, 0 builds`])

  const changed = await timed(() => build("bench", "2"))
  expect(changed.value.outcome === "built", "the changed version did not build")
  rows.push([
    "one pip package changed (bench:2)", fmt(changed.ms),
    `${(changed.ms / cold.ms).toFixed(2)}x the cold build (target ≤ 0.25x); ${changed.value.built.cachedSteps}/${changed.value.built.totalSteps} steps cached`
  ])

  const race = await timed(() => Promise.all(Array.from({ length: 8 }, () => build("race", "1"))))
  const builds = race.value.filter((r) => r.outcome === "built").length
  expect(builds === 1 && new Set(race.value.map((r) => r.built.imageId)).size === 1, `8 concurrent calls made ${builds} builds`)
  rows.push(["8 concurrent calls, new hash", fmt(race.ms), `${builds} build, ${race.value.length - builds} joined`])

  const destination = { registry: `${registry.address}/bench` }
  const pushed = await timed(() => build("bench", "1", destination))
  expect(pushed.value.outcome === "cached" && pushed.value.pushed?.recorded === true, "the push of bench:1 was not recorded")
  rows.push(["push bench:1 to a local registry", fmt(pushed.ms), "cached build + every layer sent, digest recorded"])
  const pushedNext = await timed(() => build("bench", "2", destination))
  expect(pushedNext.value.pushed?.recorded === true, "the push of bench:2 was not recorded")
  rows.push(["push bench:2 (base layers there)", fmt(pushedNext.ms), `${(pushedNext.ms / pushed.ms).toFixed(2)}x the first push`])

  // The lookup as above, and a HEAD of the pushed manifest beside it (a registry digest check).
  const repository = { registry: registry.address, repository: "bench", credentials: { _tag: "Anonymous" } as const }
  const checked: Array<number> = []
  await runtime.runPromise(Effect.gen(function*() {
    const read = yield* ReadModel
    const oci = yield* ImageRegistry
    for (let i = 0; i < lookups; i++) {
      const start = performance.now()
      const [row] = yield* read.imageBuilds({ canonicalHash: cold.value.canonicalHash })
      const push = row?.pushes.find((p) => p.buildId === row.built?.buildId)
      if (push === undefined || !(yield* oci.exists(repository, push.digest))) {
        return yield* Effect.die(new Error("the registry does not hold the pushed image"))
      }
      checked.push(performance.now() - start)
    }
  }).pipe(Effect.provide(OciImageRegistry.layer)))
  rows.push([
    "cache lookup + registry digest check", `p50 ${fmt(percentile(checked, 50))}, p99 ${fmt(percentile(checked, 99))}`,
    `${checked.length} lookups with a HEAD each; ${(percentile(checked, 50) / percentile(lookup, 50)).toFixed(1)}x the plain lookup's p50`
  ])

  const workerBuilds = Number(values["worker-builds"])
  if (workerBuilds > 0) {
    rows.push(...workerThroughputRows(await workerThroughput({
      dockerHost: engine.dockerHost, baseImage: engine.baseImage, index, home: join(home, "workers"), builds: workerBuilds
    })))
  }

  const width = Math.max(...rows.map(([what]) => what.length))
  console.log(`images.bench: engine ${engine.dockerHost}, base image ${engine.baseImage}`)
  for (const [what, time, note] of rows) console.log(`${what.padEnd(width)}  ${time.padEnd(24)}  ${note}`)
} finally {
  await runtime.dispose()
  await index.close()
  await channel.close()
  await registry.close()
  rmSync(home, { recursive: true, force: true })
}
if (broken) process.exitCode = 1
