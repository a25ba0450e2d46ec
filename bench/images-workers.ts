/**
 * Builds per minute on `terrarium worker` processes (pg-boss on PostgreSQL), for
 * `pnpm bench:images`: N distinct small environments (one tiny wheel each, so every build is a
 * real build on the engine and none reuses another's pip layer) are queued at once, and the time
 * runs from the first enqueue until every request has its `ImageBuilt`; once with 1 worker, once
 * with 2 (each `--concurrency 1`), on new hashes each time, and printed side by side with their
 * ratio. The workers are the built CLI (`node scripts/build-cli.ts` is run first), started before
 * the clock and stopped by their PID; the requests are the library's `build`, which queues and
 * follows. The database is the test PostgreSQL (scripts/services/postgres.sh), in a schema of
 * this run that is dropped at the end.
 *
 * Kept apart from images.bench.ts, which calls it, so that the other image figures stay as they are.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, ManagedRuntime } from "effect"
import pg from "pg"
import { importEnvironmentFile } from "../packages/adapters/src/index.ts"
import { Setup, Terrarium } from "../packages/app/src/index.ts"
import { fromImported } from "../packages/app/src/Input.ts"
import type { PackageIndex } from "../test/support/PackageIndex.ts"

const repoRoot = fileURLToPath(new URL("../", import.meta.url))
const bin = join(repoRoot, "packages/app/bin/terrarium.mjs")

export interface WorkerThroughputOptions {
  /** The engine's address and base image. */
  readonly dockerHost: string
  readonly baseImage: string
  /** The package index the environments install from; a wheel per environment is added to it. */
  readonly index: PackageIndex
  /** A home of this run (its build contexts and logs). */
  readonly home: string
  /** How many environments each round queues (default 4). */
  readonly builds: number
}

export interface WorkerRound {
  readonly workers: number
  readonly builds: number
  readonly ms: number
  readonly perMinute: number
}

const databaseUrl = process.env["TERRARIUM_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

/** Starts a worker and resolves once it takes builds. */
const startWorker = (env: NodeJS.ProcessEnv) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "worker", "--concurrency", "1"], { cwd: repoRoot, env, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString()
      if (/takes builds/.test(stderr)) resolve(child)
    })
    child.on("error", reject)
    child.on("close", (code) => reject(new Error(`a worker ended (${code}):\n${stderr}`)))
  })

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("close", () => resolve())
    process.kill(child.pid!, "SIGTERM")
  })

/**
 * Runs the two rounds (1 worker, then 2) and returns them; fails if a request does not end with
 * a build of its own.
 */
export const workerThroughput = async (options: WorkerThroughputOptions): Promise<ReadonlyArray<WorkerRound>> => {
  execFileSync(process.execPath, [join(repoRoot, "scripts/build-cli.ts")], { cwd: repoRoot, stdio: "ignore" })
  execFileSync("bash", [join(repoRoot, "scripts/services/postgres.sh"), "ensure"], { stdio: "inherit" })
  const run = Math.random().toString(36).slice(2, 8)
  const schema = `bench_workers_${run}`
  mkdirSync(options.home, { recursive: true })
  const rounds = [1, 2]
  const wheel = (round: number, i: number) => `bench-w${round}-${i}-${run}`
  await options.index.add(rounds.flatMap((round) => Array.from({ length: options.builds }, (_, i) => ({ name: wheel(round, i), version: "1.0" }))))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TERRARIUM_HOME: options.home,
    TERRARIUM_DATABASE_URL: databaseUrl,
    TERRARIUM_DATABASE_SCHEMA: schema,
    DOCKER_HOST: options.dockerHost
  }
  const runtime = ManagedRuntime.make(Setup.layer({ databaseUrl, databaseSchema: schema }))
  const workers: Array<ChildProcess> = []
  try {
    const register = (name: string, pip: string) =>
      runtime.runPromise(Effect.gen(function*() {
        const file = join(options.home, `${name}.yml`)
        writeFileSync(file, [
          `name: ${name}`, `image: ${options.baseImage}`, "conda_file:", "  dependencies:", "    - pip:",
          `      - --index-url ${options.index.url}`, `      - ${pip}`, ""
        ].join("\n"))
        const { definition } = yield* fromImported(yield* importEnvironmentFile(file), {})
        return yield* Terrarium.use((t) => t.create({ workspace: "default", name, definition }))
      }))
    for (const round of rounds) {
      for (let i = 0; i < options.builds; i++) await register(`workers${round}-${i}`, wheel(round, i))
    }
    const results: Array<WorkerRound> = []
    for (const round of rounds) {
      while (workers.length < round) workers.push(await startWorker(env))
      const start = performance.now()
      const built = await Promise.all(Array.from({ length: options.builds }, (_, i) =>
        runtime.runPromise(Terrarium.use((t) => t.build({ workspace: "default", ref: { name: `workers${round}-${i}`, version: "1" } })))))
      const ms = performance.now() - start
      if (built.some((b) => b.outcome !== "joined") || new Set(built.map((b) => b.built.buildId)).size !== options.builds) {
        throw new Error(`round of ${round} worker(s): not one worker build per request: ${built.map((b) => b.outcome).join(", ")}`)
      }
      results.push({ workers: round, builds: options.builds, ms, perMinute: (options.builds * 60_000) / ms })
    }
    return results
  } finally {
    for (const worker of workers) await stop(worker)
    await runtime.dispose()
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_pgboss" CASCADE`).finally(() => client.end())
  }
}

/** The rows images.bench.ts prints: each round, and the second against the first. */
export const workerThroughputRows = (rounds: ReadonlyArray<WorkerRound>): Array<readonly [string, string, string]> => {
  const [one, two] = rounds
  return rounds.map((r) => [
    `builds per minute, ${r.workers} worker${r.workers === 1 ? "" : "s"}`,
    r.perMinute.toFixed(1),
    `${r.builds} distinct environments queued at once, all built in ${(r.ms / 1000).toFixed(1)} s` +
      (r === two && one !== undefined ? `; ${(two.perMinute / one.perMinute).toFixed(2)}x 1 worker` : "")
  ] as const)
}
