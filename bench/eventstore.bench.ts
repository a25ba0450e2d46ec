/**
 * `pnpm bench:eventstore`: the Terrarium event store against a raw-SQL ceiling and the Emmett
 * PostgreSQL event store, on PostgreSQL and on PGlite. See bench/README.md for the columns.
 *
 *   node --expose-gc bench/eventstore.bench.ts [--events N] [--engine postgres|pglite|all] [--quick] [--url URL]
 *
 * It is a report, not a test: it exits 0 whether the targets pass or fail, and non-zero only
 * when something breaks (a database is unreachable, an append is refused…).
 *
 * Each row (engine × implementation × writers) is measured in a process of its own, which this
 * script forks with `--row`: in one long process the later rows ran slower for every
 * implementation, so the order of rows, not the store, decided their figures (bench/README.md,
 * "Workload").
 *
 * The rows of one engine and writer count run side by side, step by step: a tenth of the appends
 * in raw's process, then in terrarium's, then in emmett's, then the next tenth, and so on through
 * the replays and reads. When each row ran whole, one after the other, the ratios compared
 * phases minutes apart, and on a shared machine the cost of a commit drifts by more than the
 * targets' margins over minutes (bench/README.md, "Workload").
 */
import { type ChildProcess, fork } from "node:child_process"
import { on } from "node:events"
import os from "node:os"
import { fileURLToPath } from "node:url"
import {
  type Engine,
  type Impl,
  openEmmett,
  openRawPglite,
  openRawPostgres,
  openTerrariumPglite,
  openTerrariumPostgres,
  type Target
} from "./lib/targets.ts"
import { parseLogOptions, sharedUsage } from "./lib/options.ts"
import { EventIds, hasGc, percentile, prng, ReplayCheck, type ReplaySummary, RssSampler, runWriters, settle, streamCount } from "./lib/workload.ts"

/**
 * Reads timed per run, after warm-up reads that are not. A p99 over 1,000 samples is its 10
 * slowest reads, so one GC cycle or a burst of checkpoint writes decided it (bench/README.md
 * gives the spread measured). The warm-up lets the JIT compile
 * each implementation's read path (Terrarium's runs more JavaScript than a bare `pg` query, and
 * the replays before it do not exercise the same code).
 */
const READ_SAMPLES = 10_000
const READ_WARMUP = 2_000
/** Reads per step (the first step is the warm-up). */
const READ_CHUNK = 2_000
/** The append phase runs in this many steps, alternating between the implementations. */
const APPEND_SLICES = 10
/** How much more the replay of N events may grow RSS than the replay of N/10 and still be "flat". */
const MEMORY_SLACK_MB = 16
const WRITERS = [1, 4] as const
/**
 * Replays per run: one untimed warm-up (checked like the others), then timed rounds whose median
 * rate is reported. The first replay in a process runs cold for every implementation (the append
 * phase does not exercise the read path; bench/README.md, "Workload", has the measurement). With
 * 3 timed rounds and no warm-up, one of the three was that cold replay. Warm replays of one store
 * still vary from round to round on a shared machine, hence 5 timed rounds.
 */
const REPLAY_WARMUP = 1
const REPLAY_ROUNDS = 5

const usage = `usage: pnpm bench:eventstore [--events N] [--engine postgres|pglite|all] [--quick] [--url URL]
${sharedUsage("events per run (default 100000; 10 events per stream)")}`

const parseOptions = () => {
  const { engines, events, url, values } = parseLogOptions(usage, 100, {
    // Internal: set by the driver on the processes it forks (see the comment at the top).
    row: { type: "string" },
    ids: { type: "string" }
  })
  return { events, engines, url, row: values.row as string | undefined, ids: values.ids as string | undefined }
}

interface MemoryCheck {
  readonly smallEvents: number
  readonly smallGrowth: number
  readonly fullEvents: number
  readonly fullGrowth: number
}

interface Row {
  readonly engine: Engine
  readonly impl: Impl
  readonly writers: number
  readonly appendRate: number
  readonly replayRate: number
  readonly replay: ReplaySummary
  readonly peakRss: number
  readonly readP50: number
  readonly readP99: number
  readonly memory: MemoryCheck
}

const log = (message: string) => process.stderr.write(`${message}\n`)
const MB = 1024 * 1024
const int = (n: number) => Math.round(n).toLocaleString("en-US")
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`

/**
 * Replays per size in the memory check; the smallest growth counts. A replay that holds what it
 * has read grows with N in every repetition; a peak that depends on when the collector ran does
 * not. With one replay per size the same store, at the same commit, passed the check in some
 * runs and failed it in others (bench/README.md, "Columns").
 */
const MEMORY_REPEATS = 3

/** Replay up to `until` and report how much RSS grew above the settled starting point. */
const replayGrowthOnce = async (target: Target, until: number | undefined) => {
  await settle()
  const base = process.memoryUsage.rss()
  let peak = base
  let count = 0
  await target.replay(() => {
    if (++count % 250 === 0) peak = Math.max(peak, process.memoryUsage.rss())
  }, until)
  peak = Math.max(peak, process.memoryUsage.rss())
  return { count, growth: peak - base }
}

/** `replayGrowthOnce`, `MEMORY_REPEATS` times: the smallest growth, and every one for the log. */
const replayGrowth = async (target: Target, until: number | undefined) => {
  const runs: Array<{ count: number; growth: number }> = []
  for (let i = 0; i < MEMORY_REPEATS; i++) runs.push(await replayGrowthOnce(target, until))
  const least = runs.reduce((a, b) => (b.growth < a.growth ? b : a))
  return { count: Math.min(...runs.map((r) => r.count)), growth: least.growth, all: runs.map((r) => r.growth) }
}

/**
 * The steps of one row, in the order the driver runs them. The driver runs every step of a row
 * group (one engine and writer count: raw, terrarium, emmett) in turn in each implementation's
 * process before the next step, so phases of different implementations are never minutes apart.
 */
type Step =
  | { readonly kind: "append"; readonly slice: number }
  | { readonly kind: "replay"; readonly round: number }
  | { readonly kind: "reads"; readonly chunk: number }
  | { readonly kind: "memory" }

const steps = (): ReadonlyArray<Step> => [
  ...Array.from({ length: APPEND_SLICES }, (_, slice) => ({ kind: "append", slice }) as const),
  ...Array.from({ length: REPLAY_WARMUP + REPLAY_ROUNDS }, (_, round) => ({ kind: "replay", round }) as const),
  ...Array.from({ length: (READ_WARMUP + READ_SAMPLES) / READ_CHUNK }, (_, chunk) => ({ kind: "reads", chunk }) as const),
  { kind: "memory" }
]

/** One row, measured step by step in its own process. */
class RowMeasurement {
  private readonly sampler: RssSampler
  private appendMs = 0
  private replay: ReplayCheck | undefined
  private readonly replayRates: Array<number> = []
  private readonly latencies: Array<number> = []
  private readonly random = prng(42)
  private memory: MemoryCheck | undefined
  private readonly target: Target
  private readonly writers: number
  private readonly events: number
  private readonly ids: EventIds
  private constructor(target: Target, writers: number, events: number, ids: EventIds, sampler: RssSampler) {
    this.target = target
    this.writers = writers
    this.events = events
    this.ids = ids
    this.sampler = sampler
  }

  /** Open the store; peak RSS counts from before it opens. */
  static async open(open: () => Promise<Target>, writers: number, events: number, ids: EventIds) {
    await settle()
    const sampler = new RssSampler().start()
    try {
      return new RowMeasurement(await open(), writers, events, ids, sampler)
    } catch (e) {
      sampler.stop()
      throw e
    }
  }

  get label() {
    return `${this.target.engine}/${this.target.impl}/${this.writers}w`
  }

  async run(step: Step): Promise<void> {
    switch (step.kind) {
      case "append": {
        const t0 = performance.now()
        await runWriters(this.events, this.writers, this.ids, (w, s, v, e) => this.target.append(w, s, v, e), { index: step.slice, of: APPEND_SLICES })
        this.appendMs += performance.now() - t0
        if (step.slice === APPEND_SLICES - 1) log(`  ${this.label}: appended ${this.events} in ${seconds(this.appendMs)}`)
        return
      }
      case "replay": {
        // Every round is checked, the warm-up too; the worst check is reported.
        await settle()
        const check = new ReplayCheck(this.ids, this.events)
        const t0 = performance.now()
        await this.target.replay((id, position) => {
          check.onEvent(id, position)
          if (check.count % 1000 === 0) this.sampler.sample()
        })
        if (step.round >= REPLAY_WARMUP) this.replayRates.push(check.count / ((performance.now() - t0) / 1000))
        if (this.replay === undefined || (this.replay.exactlyOnce && this.replay.outOfOrder === 0)) this.replay = check
        if (step.round === REPLAY_WARMUP + REPLAY_ROUNDS - 1) {
          // In round order: round i of every implementation ran within seconds of the others'.
          log(`  ${this.label}: replayed ${this.replay.count} at ${this.replayRates.map(int).join(", ")} ev/s, round by round (exactly once: ${this.replay.describe()}, in position order: ${this.replay.describeOrder()})`)
        }
        return
      }
      case "reads": {
        const streams = streamCount(this.events)
        for (let i = 0; i < READ_CHUNK; i++) {
          const stream = Math.floor(this.random() * streams)
          const start = performance.now()
          const n = await this.target.readStream(stream)
          const ms = performance.now() - start
          if (n === 0) throw new Error(`${this.label}: readStream(${stream}) returned no events`)
          if (step.chunk * READ_CHUNK + i >= READ_WARMUP) this.latencies.push(ms)
        }
        return
      }
      case "memory": {
        const small = await replayGrowth(this.target, Math.floor(this.events / 10))
        const full = await replayGrowth(this.target, undefined)
        this.memory = { smallEvents: small.count, smallGrowth: small.growth, fullEvents: full.count, fullGrowth: full.growth }
        const each = (g: ReadonlyArray<number>) => g.map((b) => (b / MB).toFixed(1)).join(" / ")
        log(`  ${this.label}: replay RSS growth ${each(small.all)} MB for ${small.count} events, ${each(full.all)} MB for ${full.count} (the least of each counts)`)
        return
      }
    }
  }

  async finish(): Promise<Row> {
    const peakRss = this.sampler.stop()
    await this.target.close()
    if (this.replay === undefined || this.memory === undefined) throw new Error(`${this.label}: finished before every step ran`)
    const latencies = [...this.latencies].sort((a, b) => a - b)
    const rates = [...this.replayRates].sort((a, b) => a - b)
    return {
      engine: this.target.engine,
      impl: this.target.impl,
      writers: this.writers,
      appendRate: this.events / (this.appendMs / 1000),
      replayRate: rates[Math.floor(rates.length / 2)]!,
      replay: this.replay.summary(),
      peakRss,
      readP50: percentile(latencies, 50),
      readP99: percentile(latencies, 99),
      memory: this.memory
    }
  }

  async close(): Promise<void> {
    this.sampler.stop()
    await this.target.close()
  }
}

const implementations = (engine: Engine): ReadonlyArray<Impl> =>
  engine === "postgres" ? ["raw", "terrarium", "emmett"] : ["raw", "terrarium"]

const opener = (engine: Engine, impl: Impl, writers: number, url: string): () => Promise<Target> => {
  if (engine === "postgres") {
    if (impl === "raw") return () => openRawPostgres(url, writers)
    if (impl === "terrarium") return () => openTerrariumPostgres(url)
    return () => openEmmett(url)
  }
  if (impl === "raw") return () => openRawPglite()
  if (impl === "terrarium") return () => openTerrariumPglite()
  throw new Error(`no ${impl} implementation on ${engine}`)
}

/** `--row engine/impl/writers`, as the driver passes it to a measuring process. */
const parseRow = (row: string) => {
  const [engine, impl, writers] = row.split("/")
  if ((engine !== "postgres" && engine !== "pglite") || (impl !== "raw" && impl !== "terrarium" && impl !== "emmett") || !WRITERS.some((w) => String(w) === writers)) {
    throw new Error(`--row must be engine/impl/writers, got ${row}`)
  }
  return { engine, impl, writers: Number(writers) } as { engine: Engine; impl: Impl; writers: number }
}

/** What the driver and a measuring process say to each other. */
type ToRow = { readonly run: Step } | { readonly finish: true }
type FromRow = { readonly ready: true } | { readonly done: true } | { readonly row: Row }

/** A measuring process (`--row`): open the store, then run the steps the driver sends. */
const serveRow = async (row: string, events: number, url: string, ids: EventIds) => {
  const { engine, impl, writers } = parseRow(row)
  const send = (message: FromRow) =>
    new Promise<void>((resolve, reject) => process.send!(message, (e: Error | null) => (e ? reject(e) : resolve())))
  // Listening before saying ready, so that no step the driver sends can arrive unheard.
  const messages = on(process, "message") as AsyncIterableIterator<[ToRow]>
  const measurement = await RowMeasurement.open(opener(engine, impl, writers, url), writers, events, ids)
  try {
    await send({ ready: true })
    for await (const [message] of messages) {
      if ("run" in message) {
        await measurement.run(message.run)
        await send({ done: true })
      } else {
        await send({ row: await measurement.finish() })
        return
      }
    }
  } catch (e) {
    await measurement.close().catch(() => {})
    throw e
  }
}

/** The driver's handle on one measuring process. */
class RowProcess {
  private readonly child: ChildProcess
  private readonly inbox: Array<FromRow> = []
  private waiting: { resolve: (m: FromRow) => void; reject: (e: Error) => void } | undefined
  private exited: Error | undefined
  readonly label: string

  constructor(label: string, args: ReadonlyArray<string>) {
    this.label = label
    this.child = fork(fileURLToPath(import.meta.url), args, { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] })
    this.child.on("message", (m) => {
      const w = this.waiting
      this.waiting = undefined
      if (w !== undefined) w.resolve(m as FromRow)
      else this.inbox.push(m as FromRow)
    })
    const fail = (e: Error) => {
      this.exited ??= e
      const w = this.waiting
      this.waiting = undefined
      w?.reject(e)
    }
    this.child.on("error", fail)
    this.child.on("exit", (code, signal) => fail(new Error(`measuring ${label} ended (${signal ?? `exit ${code}`})`)))
  }

  /** The next message from the process. */
  receive(): Promise<FromRow> {
    const queued = this.inbox.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.exited !== undefined) return Promise.reject(this.exited)
    return new Promise((resolve, reject) => { this.waiting = { resolve, reject } })
  }

  async ask(message: ToRow): Promise<FromRow> {
    const reply = this.receive()
    this.child.send(message)
    return reply
  }

  kill() {
    if (this.exited === undefined) this.child.kill()
  }
}

/**
 * Measure one engine and writer count: every implementation in a process of its own, opened one
 * after another, then each step in every process in turn. The order rotates from step to step,
 * so that no implementation always runs right after the same other one.
 */
const measureGroup = async (engine: Engine, writers: number, events: number, url: string, ids: EventIds): Promise<Array<Row>> => {
  const impls = implementations(engine)
  const processes: Array<RowProcess> = []
  try {
    for (const impl of impls) {
      const p = new RowProcess(`${engine}/${impl}/${writers}w`, ["--row", `${engine}/${impl}/${writers}`, "--events", String(events), "--url", url, "--ids", ids.prefix])
      processes.push(p)
      await p.receive() // ready: opened (one at a time, so that no open overlaps another's work)
    }
    for (const [i, step] of steps().entries()) {
      for (let k = 0; k < processes.length; k++) await processes[(i + k) % processes.length]!.ask({ run: step })
    }
    const rows: Array<Row> = []
    for (const p of processes) {
      const reply = await p.ask({ finish: true })
      if (!("row" in reply)) throw new Error(`measuring ${p.label}: no figures`)
      rows.push(reply.row)
    }
    return rows
  } finally {
    for (const p of processes) p.kill()
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : "-")
const ms = (n: number) => n.toFixed(3)

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, rightAlign: ReadonlySet<number>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (rightAlign.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ")
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

const ceilingOf = (rows: ReadonlyArray<Row>, row: Row) =>
  rows.find((r) => r.engine === row.engine && r.writers === row.writers && r.impl === "raw")

const report = (rows: ReadonlyArray<Row>, events: number) => {
  const main = table(
    ["engine", "impl", "writers", "append ev/s", "x ceiling", "replay ev/s", "x raw", "replayed", "exactly once", "in order", "peak RSS MB", "read p50 ms", "read p99 ms"],
    rows.map((r) => {
      const ceiling = ceilingOf(rows, r)
      return [
        r.engine, r.impl, String(r.writers),
        int(r.appendRate), ratio(ceiling ? r.appendRate / ceiling.appendRate : Number.NaN),
        int(r.replayRate), ratio(ceiling ? r.replayRate / ceiling.replayRate : Number.NaN),
        int(r.replay.count), r.replay.exactlyOnce, r.replay.inOrder,
        (r.peakRss / MB).toFixed(0), ms(r.readP50), ms(r.readP99)
      ]
    }),
    new Set([2, 3, 4, 5, 6, 7, 10, 11, 12])
  )
  const memory = table(
    ["engine", "impl", "writers", "replay N/10", "RSS growth MB", "replay N", "RSS growth MB", "difference MB"],
    rows.map((r) => [
      r.engine, r.impl, String(r.writers),
      int(r.memory.smallEvents), (r.memory.smallGrowth / MB).toFixed(1),
      int(r.memory.fullEvents), (r.memory.fullGrowth / MB).toFixed(1),
      ((r.memory.fullGrowth - r.memory.smallGrowth) / MB).toFixed(1)
    ]),
    new Set([2, 3, 4, 5, 6, 7])
  )

  const verdicts: Array<[string, boolean, string]> = []
  for (const r of rows.filter((x) => x.impl === "terrarium")) {
    const ceiling = ceilingOf(rows, r)
    const where = `${r.engine}, ${r.writers} writer${r.writers === 1 ? "" : "s"}`
    if (ceiling) {
      const need = r.writers === 1 ? 0.9 : 1.0
      const a = r.appendRate / ceiling.appendRate
      verdicts.push([`append >= ${need.toFixed(1)}x ceiling (${where})`, a >= need, ratio(a)])
      const p = r.replayRate / ceiling.replayRate
      verdicts.push([`replay >= 0.9x raw read (${where})`, p >= 0.9, ratio(p)])
    }
    verdicts.push([`every event exactly once, in order (${where})`, r.replay.ok, `${r.replay.exactlyOnce}, in order: ${r.replay.inOrder}`])
    const diff = (r.memory.fullGrowth - r.memory.smallGrowth) / MB
    verdicts.push([`replay memory flat as N grows 10x (${where})`, r.memory.fullEvents === events && diff <= MEMORY_SLACK_MB,
      `${diff.toFixed(1)} MB more for 10x events (limit ${MEMORY_SLACK_MB})`])
    verdicts.push([`one-stream read p99 <= 1 ms (${where})`, r.readP99 <= 1, `${ms(r.readP99)} ms`])
  }
  const others = rows.filter((r) => r.impl !== "terrarium" && !r.replay.ok)

  const out = [
    "",
    `Event store benchmark: ${int(events)} events, ${int(streamCount(events))} streams, 1 event per append`,
    `node ${process.version}, ${os.cpus().length} cores, ${os.platform()} ${os.release()}${hasGc ? "" : " (no --expose-gc: RSS figures are noisier)"}`,
    "",
    main,
    "",
    "Replay memory (RSS growth above the settled start of each replay):",
    memory,
    "",
    "Targets (Terrarium SqlEventStore):",
    ...verdicts.map(([name, ok, detail]) => `  ${ok ? "PASS" : "FAIL"}  ${name}: ${detail}`),
    ...others.map((r) => `  note  ${r.engine}/${r.impl}/${r.writers}w replay: exactly once ${r.replay.exactlyOnce}, in position order ${r.replay.inOrder}`),
    ""
  ]
  console.log(out.join("\n"))
}

// ---------------------------------------------------------------------------------------------

const main = async () => {
  const options = parseOptions()
  if (options.row !== undefined) {
    await serveRow(options.row, options.events, options.url, new EventIds(options.ids))
    return
  }
  log(`benchmark: ${int(options.events)} events, engines ${options.engines.join(", ")}, each row in its own process, the rows of an engine and writer count step by step side by side`)
  const ids = new EventIds()
  const rows: Array<Row> = []
  const started = performance.now()
  for (const engine of options.engines) {
    for (const writers of WRITERS) rows.push(...(await measureGroup(engine, writers, options.events, options.url, ids)))
  }
  log(`done in ${seconds(performance.now() - started)}`)
  report(rows, options.events)
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e)
    process.exit(1)
  }
)
