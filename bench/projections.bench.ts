/**
 * `pnpm bench:projections`: how fast the SQL read model is built from a log of realistic shape,
 * on PostgreSQL and on PGlite, beside the raw global replay of the same log (issue 19's targets).
 * See bench/README.md, "Projections", for the figures and what the columns mean.
 *
 *   node --expose-gc bench/projections.bench.ts [--events N] [--engine postgres|pglite|all] [--quick] [--url URL]
 *
 * Per engine, in a fresh schema (PostgreSQL) or data directory (PGlite): the log is appended
 * through the Terrarium event store (domain events encoded by `EventCodec`), then timed, in this
 * order: the raw replay (`EventStore.readAll`, every event read, nothing decoded), a full
 * `rebuild` (shadow tables, swap), the raw replay again, and a `catchUp` from an empty read model
 * (tables emptied, checkpoint removed). The replay rate the ratios are against is the faster of
 * the two replays, so a replay slowed by a cold cache does not flatter the projector.
 *
 * It is a report, not a test: it exits 0 whether the targets pass or fail, and non-zero only
 * when something breaks (a database is unreachable, a rebuild fails, the audit trail does not
 * have one row per event).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Database, SqlEventStore, SqlReadModel } from "@terrarium/adapters"
import {
  Archived,
  Defined,
  type Definition,
  emptyDefinition,
  emptyPipOptions,
  type EnvironmentEvent,
  EventCodec,
  EventStore,
  ImageBuildRequested,
  ImageBuilt,
  LabelMoved,
  PackageAdded,
  PackageRemoved,
  type PipRequirement,
  Projections,
  Redefined,
  Registered,
  VariableSet
} from "@terrarium/domain"
import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { Session } from "node:inspector/promises"
import pg from "pg"
import os from "node:os"
import { join } from "node:path"
import { parseLogOptions, sharedUsage } from "./lib/options.ts"
import { adminQuery } from "./lib/targets.ts"
import { hasGc, RssSampler, settle } from "./lib/workload.ts"

/** The target: building the read model at least this fraction of the raw replay rate. */
const TARGET_RATIO = 0.2
/** The measured log: 4,000 environments in 25 workspaces over 10⁶ events. */
const EVENTS_PER_ENVIRONMENT = 250
const WORKSPACES = 25
/** Events of one stream per append, and appends in flight (streams interleave in the log). */
const EVENTS_PER_APPEND = 10
const APPENDS_IN_FLIGHT = 8

const usage = `usage: pnpm bench:projections [--events N] [--engine postgres|pglite|all] [--quick] [--url URL] [--profile DIR]
${sharedUsage("events in the log (default 100000; 1000000 is the issue's size)")}
  --profile    write a CPU profile of each timed phase to DIR (<engine>-<phase>.cpuprofile)`

const parseOptions = () => {
  const { engines, events, url, values } = parseLogOptions(usage, 1000, { profile: { type: "string" } })
  return { events, engines, url, profile: typeof values.profile === "string" ? values.profile : undefined }
}

/** Where `--profile` writes, if given: set once by `main`. */
let profileDir: string | undefined

// ---------------------------------------------------------------------------------------------
// The log: environments of EVENTS_PER_ENVIRONMENT events each, in WORKSPACES workspaces. Each
// environment is defined, then goes through versions: package and variable changes, sometimes
// a whole redefinition, a registration, the `prod` label moved to it, an image build for some,
// an older version archived for some. Hashes repeat across environments (a shared base image),
// so the cache lookup has rows with images to carry over.

const pip = (name: string, specifier: string): PipRequirement =>
  ({ kind: "pip", name, extras: [], specifier, text: `${name}${specifier}` })
const PACKAGES = ["numpy", "pandas", "torch", "transformers", "accelerate", "scikit-learn", "scipy", "polars", "pyarrow", "tqdm"]
const definitionWith = (packages: ReadonlyArray<PipRequirement>, description: string): Definition => ({
  ...emptyDefinition,
  description,
  tags: { team: "bench", framework: "torch" },
  python: {
    ...emptyDefinition.python,
    conda: { channels: ["conda-forge"], conda: [], pipOptions: emptyPipOptions, pip: [...packages] }
  }
})
const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0").repeat(8)
/** 50 distinct definitions' hashes, shared by every environment. */
const hashOf = (environment: number, version: number) => `sha256:${hex(((environment * 7 + version) % 50) + 1)}`

/** The events of environment `e` (named `env-e` in workspace `ws-(e mod WORKSPACES)`). */
const environmentHistory = (e: number, count: number): Array<EnvironmentEvent> => {
  const workspace = `ws-${e % WORKSPACES}`
  const name = `env-${e}`
  const events: Array<EnvironmentEvent> = [
    new Defined({ workspace, name, curated: e % 40 === 0, definition: definitionWith([pip("numpy", "==1.26.4")], `environment ${e}`) })
  ]
  const installed: Array<PipRequirement> = [pip("numpy", "==1.26.4")]
  let version = 0
  let step = 0
  while (events.length < count) {
    step++
    if (step % 25 === 0) {
      version++
      const v = String(version)
      const canonicalHash = hashOf(e, version)
      events.push(new Registered({ name, version: v, canonicalHash, hashAlgorithm: 1, definition: definitionWith(installed, `environment ${e}`) }))
      events.push(new LabelMoved({ label: "prod", version: v, ...(version > 1 ? { previous: String(version - 1) } : {}) }))
      if (version % 2 === 0) {
        const buildId = `b-${e}-${version}`
        events.push(new ImageBuildRequested({ version: v, canonicalHash, buildId, refreshPackages: false }))
        events.push(new ImageBuilt({
          version: v, canonicalHash, buildId, registry: "registry.local:5000", repository: `bench/${name}`, tag: v,
          digest: `sha256:${hex(e * 31 + version)}`, durationMs: 60_000
        }))
      }
      if (version % 3 === 0) events.push(new Archived({ version: String(version - 2) }))
    } else if (step % 11 === 0) {
      events.push(new Redefined({ definition: definitionWith(installed, `environment ${e}, step ${step}`) }))
    } else if (step % 5 === 0) {
      events.push(new VariableSet({ variable: `VAR_${step % 7}`, value: String(step) }))
    } else {
      const pkg = PACKAGES[step % PACKAGES.length]!
      const at = installed.findIndex((p) => p.name === pkg)
      if (at >= 0) {
        installed.splice(at, 1)
        events.push(new PackageRemoved({ manager: "pip", name: pkg }))
      } else {
        const spec = pip(pkg, `==1.${step}.0`)
        installed.push(spec)
        events.push(new PackageAdded({ spec }))
      }
    }
  }
  return events.slice(0, count)
}

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`

/** Appends `total` events, streams interleaved in the global order, APPENDS_IN_FLIGHT at a time. */
const buildLog = (total: number) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const environments = Math.max(WORKSPACES, Math.round(total / EVENTS_PER_ENVIRONMENT))
    const histories = Array.from({ length: environments }, (_, e) =>
      environmentHistory(e, Math.floor(total / environments) + (e < total % environments ? 1 : 0)))
    let id = 0
    // A round appends the next chunk of every stream: its appends touch distinct streams, so they
    // may run concurrently; rounds run in turn, so each stream's chunks stay in order.
    for (let offset = 0; ; offset += EVENTS_PER_APPEND) {
      const round: Array<Effect.Effect<unknown, unknown>> = []
      for (const [e, history] of histories.entries()) {
        const events = history.slice(offset, offset + EVENTS_PER_APPEND)
        if (events.length === 0) continue
        const rows = events.map((event) => EventCodec.encode(event, { actor: "bench", correlationId: uuid(id), causationId: null }, uuid(id++)))
        round.push(store.append({ workspace: `ws-${e % WORKSPACES}`, stream: `environment/env-${e}` }, offset, rows))
      }
      if (round.length === 0) break
      yield* Effect.all(round, { concurrency: APPENDS_IN_FLIGHT, discard: true })
    }
    return { environments, head: yield* store.head }
  })

// ---------------------------------------------------------------------------------------------
// Measuring

interface Phase {
  readonly seconds: number
  readonly rate: number
  /** Peak RSS during the phase, and how far above the RSS at its start. */
  readonly peakMb: number
  readonly growthMb: number
  /** CPU seconds of this process, and of the server processes of its PostgreSQL connections (Linux only). */
  readonly clientCpu: number
  readonly serverCpu: number | undefined
  /** Peak V8 heap in use during the phase, and what stays in use after it (after a GC). */
  readonly heapPeakMb: number
  readonly heapAfterMb: number
}

const MB = 1024 * 1024
const int = (n: number) => Math.round(n).toLocaleString("en-US")
const log = (message: string) => process.stderr.write(`${message}\n`)

/**
 * Runs `run` under the inspector's CPU profiler when `--profile` is given (only the phase, not the
 * log's appends, which would dominate a profile of the whole process).
 */
const profiled = async (name: string, run: () => Promise<unknown>) => {
  if (profileDir === undefined) return run()
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.start")
  try {
    return await run()
  } finally {
    const { profile } = await session.post("Profiler.stop")
    await writeFile(join(profileDir, `${name}.cpuprofile`), JSON.stringify(profile))
    session.disconnect()
  }
}

const withApplication = (url: string) => {
  const parsed = new URL(url)
  parsed.searchParams.set("application_name", APPLICATION)
  return parsed.toString()
}

/** The application name of the benchmark's PostgreSQL connections, to find their server processes. */
const APPLICATION = `terrarium-bench-projections-${process.pid}`

/** CPU seconds used so far by the process `pid`, from /proc (Linux); 0 once it is gone. */
const cpuOf = async (pid: number): Promise<number> => {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return fields.length > 12 ? (Number(fields[11]) + Number(fields[12])) / 100 : 0 // USER_HZ
}

/**
 * The CPU time of the server processes of the benchmark's own connections (PostgreSQL on this
 * machine) over a phase, even while other work uses the same server: sampled every 100 ms, since
 * the pool closes idle connections and opens new ones during a phase (a process first seen after
 * the start counts from 0, one that ends counts up to its last sample). Undefined where /proc is
 * missing or the server is elsewhere.
 */
class ServerCpuSampler {
  private readonly first = new Map<number, number>()
  private readonly last = new Map<number, number>()
  private timer: NodeJS.Timeout | undefined
  private started = false
  private readonly client: pg.Client
  private constructor(client: pg.Client) {
    this.client = client
  }

  static async start(url: string): Promise<ServerCpuSampler | undefined> {
    if (!existsSync("/proc/self/stat")) return undefined
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    const sampler = new ServerCpuSampler(client)
    await sampler.sample()
    if (sampler.first.size === 0 || !existsSync(`/proc/${[...sampler.first.keys()][0]}/stat`)) {
      await client.end()
      return undefined
    }
    sampler.started = true
    sampler.timer = setInterval(() => void sampler.sample().catch(() => undefined), 100)
    return sampler
  }

  private async sample(): Promise<void> {
    const { rows } = await this.client.query<{ pid: number }>(
      "select pid from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()", [APPLICATION])
    for (const { pid } of rows) {
      const cpu = await cpuOf(pid)
      if (cpu === 0) continue
      if (!this.first.has(pid)) this.first.set(pid, this.started ? 0 : cpu)
      this.last.set(pid, cpu)
    }
  }

  /** Stops sampling; the CPU seconds of the processes over the phase. */
  async stop(): Promise<number> {
    clearInterval(this.timer)
    await this.sample()
    await this.client.end()
    let total = 0
    for (const [pid, cpu] of this.last) total += cpu - (this.first.get(pid) ?? 0)
    return total
  }
}

const timed = async (events: number, name: string, url: string | undefined, run: () => Promise<unknown>): Promise<Phase> => {
  await settle()
  const start = process.memoryUsage.rss()
  const heapStart = process.memoryUsage().heapUsed
  const sampler = new RssSampler().start()
  let heapPeak = heapStart
  const heapTimer = setInterval(() => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
  }, 50)
  const server = url === undefined ? undefined : await ServerCpuSampler.start(url)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await profiled(name, run)
  const cpu = process.cpuUsage(cpu0)
  const serverSeconds = await server?.stop()
  const seconds = (performance.now() - t0) / 1000
  const peak = sampler.stop()
  clearInterval(heapTimer)
  await settle()
  return {
    seconds, rate: events / seconds, peakMb: peak / MB, growthMb: (peak - start) / MB,
    clientCpu: (cpu.user + cpu.system) / 1e6,
    serverCpu: serverSeconds,
    heapPeakMb: heapPeak / MB, heapAfterMb: process.memoryUsage().heapUsed / MB
  }
}

const PROJECTION_TABLES = [
  "quarantined_events", "audit_trail", "cache_images", "cache_entries", "environment_labels", "environment_versions", "environments"
]

const measure = async (engine: "postgres" | "pglite", total: number, url: string) => {
  const schema = `bench_projections_${process.pid}_${Date.now().toString(36)}`
  const dir = engine === "pglite" ? await mkdtemp(join(os.tmpdir(), "terrarium-bench-")) : undefined
  const database = dir !== undefined
    ? Database.layerPglite({ dataDir: dir })
    : Database.layerPostgres({ connectionString: withApplication(url), schema })
  const serverUrl = engine === "postgres" ? withApplication(url) : undefined
  const runtime = ManagedRuntime.make(
    SqlReadModel.layer.pipe(Layer.provideMerge(SqlEventStore.layer), Layer.provideMerge(database), Layer.provide(NodeServices.layer))
  )
  const run = <A>(effect: Effect.Effect<A, unknown, Database | EventStore | Projections>) => runtime.runPromise(effect)
  try {
    log(`${engine}: appending ${int(total)} events…`)
    const t0 = performance.now()
    const { environments, head } = await run(buildLog(total))
    log(`${engine}: ${int(head)} events in ${int(environments)} environments appended in ${((performance.now() - t0) / 1000).toFixed(1)}s`)
    const replay = () =>
      run(EventStore.use((store) => Stream.runCount(store.readAll({ after: 0, batchSize: 500 })))).then((n) => {
        if (n !== head) throw new Error(`the replay read ${n} events of ${head}`)
      })
    const auditRows = () =>
      run(Database.use((db) => db.use("count", (k) =>
        k.selectFrom("audit_trail").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()))
      ).then((row) => Number(row.n))
    const checked = async (what: string, reached: number) => {
      if (reached !== head) throw new Error(`${what} reached ${reached}, the head is ${head}`)
      const rows = await auditRows()
      if (rows !== head) throw new Error(`${what}: ${rows} audit rows for ${head} events`)
    }

    log(`${engine}: replay…`)
    const replay1 = await timed(head, `${engine}-replay`, serverUrl, replay)
    log(`${engine}: rebuild…`)
    const rebuild = await timed(head, `${engine}-rebuild`, serverUrl, () => run(Projections.use((p) => p.rebuild)).then((n) => checked("the rebuild", n)))
    log(`${engine}: replay…`)
    const replay2 = await timed(head, `${engine}-replay-2`, serverUrl, replay)
    await run(Database.use((db) => db.transaction("empty the read model", async (k) => {
      for (const table of PROJECTION_TABLES) await k.deleteFrom(table).execute()
      await k.deleteFrom("projection_checkpoints").execute()
    })))
    log(`${engine}: catch-up from empty…`)
    const catchUp = await timed(head, `${engine}-catch-up`, serverUrl, () => run(Projections.use((p) => p.catchUp)).then((n) => checked("the catch-up", n)))
    return { engine, events: head, environments, replay: replay1.rate >= replay2.rate ? replay1 : replay2, rebuild, catchUp }
  } finally {
    await runtime.dispose()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    else await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  }
}

const main = async () => {
  const { events, engines, url, profile } = parseOptions()
  if (profile !== undefined) await mkdir(profileDir = profile, { recursive: true })
  if (!hasGc) log("note: run with node --expose-gc for steadier memory figures (pnpm bench:projections does)")
  const results = []
  for (const engine of engines) results.push(await measure(engine, events, url))

  console.log(`\nProjections: ${int(events)} events, ${os.cpus().length} cores, node ${process.version}`)
  console.log("target: rebuild and catch-up from empty >= 0.2x the raw replay rate\n")
  const header = ["engine", "phase", "time", "events/s", "vs replay", "target", "client CPU µs/ev", "server CPU µs/ev", "peak RSS", "RSS growth", "peak heap", "heap after"]
  const rows: Array<ReadonlyArray<string>> = [header]
  for (const r of results) {
    for (const [phase, p] of [["raw replay", r.replay], ["rebuild", r.rebuild], ["catch-up from empty", r.catchUp]] as const) {
      const ratio = p.rate / r.replay.rate
      rows.push([
        r.engine, phase, `${p.seconds.toFixed(1)}s`, int(p.rate),
        phase === "raw replay" ? "1x" : `${ratio.toFixed(3)}x`,
        phase === "raw replay" ? "" : ratio >= TARGET_RATIO ? "pass" : "FAIL",
        (p.clientCpu / r.events * 1e6).toFixed(1),
        r.engine === "pglite" || p.serverCpu === undefined ? "-" : (p.serverCpu / r.events * 1e6).toFixed(1),
        `${int(p.peakMb)} MB`, `${int(p.growthMb)} MB`, `${int(p.heapPeakMb)} MB`, `${int(p.heapAfterMb)} MB`
      ])
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
  const pg = results.find((r) => r.engine === "postgres")
  const lite = results.find((r) => r.engine === "pglite")
  if (pg !== undefined && lite !== undefined) {
    console.log(`\nPGlite / PostgreSQL time: rebuild ${(lite.rebuild.seconds / pg.rebuild.seconds).toFixed(2)}x, ` +
      `catch-up ${(lite.catchUp.seconds / pg.catchUp.seconds).toFixed(2)}x (target <= 2x)`)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
