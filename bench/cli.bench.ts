/**
 * `pnpm bench:cli`: how long the `terrarium` executable takes to start and answer, and how much
 * memory it holds at its peak, beside the targets. See bench/README.md ("CLI start-up").
 *
 *   node bench/cli.bench.ts [--runs N] [--url URL]
 *
 * CPU time (user + system, median; from the same source as the peak RSS) is printed beside the
 * wall time: on a machine shared with other work the wall time grows with the load, and
 * comparing two runs is easier on CPU time.
 *
 * Every case runs N times (default 7) after one untimed warm-up run (which fills Node's compile
 * cache, as any first command after an install does); the median wall time and the highest peak
 * RSS are reported. All cases are measured in the same run, interleaved (run k of every case,
 * then run k+1), so a slower phase of a shared machine weighs on all of them alike.
 *
 * Peak RSS is the kernel's `ru_maxrss` of the child, as the parent's `wait4` receives it, read
 * through `/usr/bin/time -f %M` when that is installed: it costs the child nothing and needs no
 * cooperation from it. Node offers no way to read a child's rusage (`process.resourceUsage` is the
 * calling process's own), and sampling /proc/PID/status from the parent misses short peaks and
 * races the child's exit. Where `/usr/bin/time` is missing, the child is started with
 * `--import` of a small module that writes `process.resourceUsage().maxRSS` (the same kernel
 * figure, for itself) to a file on exit; it adds one tiny module to every case, the baseline too.
 *
 * It is a report, not a test: it exits 0 whether the targets are met or not, and non-zero only
 * when a command fails.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import { parseArgs } from "node:util"
import pg from "pg"

const DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/test"
const ENVIRONMENTS = 5

const { values } = parseArgs({
  options: { runs: { type: "string", default: "7" }, url: { type: "string" } }
})
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: a positive whole number, not ${values.runs}`)
const url = values.url ?? process.env["BENCH_PG_URL"] ?? DEFAULT_URL

const repoRoot = fileURLToPath(new URL("../", import.meta.url))
const bin = join(repoRoot, "packages/app/bin/terrarium.mjs")
const work = mkdtempSync(join(tmpdir(), "terrarium-cli-bench-"))
const timeBinary = "/usr/bin/time"
const useTime = existsSync(timeBinary)
const rssFile = join(work, "maxrss")
const rssProbe = join(work, "maxrss.mjs")
writeFileSync(
  rssProbe,
  `import { writeFileSync } from "node:fs"\n` +
    `process.on("exit", () => {\n` +
    `  const { maxRSS, userCPUTime, systemCPUTime } = process.resourceUsage()\n` +
    `  writeFileSync(${JSON.stringify(rssFile)}, \`\${maxRSS} \${userCPUTime / 1e6} \${systemCPUTime / 1e6}\`)\n` +
    `})\n`
)

interface Case {
  readonly name: string
  readonly args: ReadonlyArray<string>
  /** A function: a new environment for every run (a fresh TERRARIUM_HOME: a first start). */
  readonly env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv)
  readonly targetSeconds?: number
  readonly targetMiB?: number
}

interface Sample {
  readonly seconds: number
  readonly cpuSeconds: number
  readonly rssKiB: number
}

/** The caller's environment without a database of its own: each case names the one it uses. */
const baseEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  for (const name of ["TERRARIUM_DATABASE_URL", "TERRARIUM_DATABASE_SCHEMA", "TERRARIUM_HOME"]) {
    if (extra[name] === undefined) delete env[name]
  }
  return env
}

const runOnce = (c: Case): Sample => {
  const nodeArgs = useTime ? [...c.args] : ["--import", pathToFileURL(rssProbe).href, ...c.args]
  const [command, args] = useTime
    ? [timeBinary, ["-f", "%M %U %S", "-o", rssFile, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs]
  rmSync(rssFile, { force: true })
  const started = performance.now()
  const env = typeof c.env === "function" ? c.env() : c.env
  const r = spawnSync(command, args, { cwd: repoRoot, env, encoding: "utf8", timeout: 120_000 })
  const seconds = (performance.now() - started) / 1000
  if (r.status !== 0) {
    throw new Error(`${c.name}: exit ${r.status ?? r.signal}\n${r.stderr}\n${r.stdout}`)
  }
  // GNU time writes "Command exited with non-zero status" lines before the figures on failure;
  // they are always the last line.
  const [rssKiB, user, system] = readFileSync(rssFile, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number)
  return { seconds, cpuSeconds: user! + system!, rssKiB: rssKiB! }
}

const cli = (...args: Array<string>): Array<string> => [bin, ...args]

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const schema = `cli_bench_${process.pid}`
const home = join(work, "home")
const pgEnv = baseEnv({ TERRARIUM_DATABASE_URL: url, TERRARIUM_DATABASE_SCHEMA: schema })
const embeddedEnv = baseEnv({ TERRARIUM_HOME: home })
// The same database without the start-up check of the curated catalog (docs/curated-catalog.md):
// what the check costs a command once the catalog's release is published.
const embeddedNoCatalogEnv = baseEnv({ TERRARIUM_HOME: home, TERRARIUM_CURATED_CATALOG: "off" })
let fresh = 0
/** A new, empty TERRARIUM_HOME: the first start of an installation, which publishes the catalog. */
const firstStartEnv = (extra: Record<string, string> = {}) => () => baseEnv({ TERRARIUM_HOME: join(work, `fresh-${fresh++}`), ...extra })

const cases: ReadonlyArray<Case> = [
  { name: "node -e 0", args: ["-e", "0"], env: baseEnv({}) },
  { name: "terrarium --help", args: cli("--help"), env: baseEnv({ TERRARIUM_HOME: home }), targetSeconds: 0.15 },
  { name: "environment list (PostgreSQL)", args: cli("environment", "list"), env: pgEnv, targetSeconds: 0.3 },
  { name: "environment list (embedded)", args: cli("environment", "list"), env: embeddedEnv, targetSeconds: 0.7, targetMiB: 200 },
  { name: "environment list (embedded, no catalog check)", args: cli("environment", "list"), env: embeddedNoCatalogEnv },
  { name: "first start (embedded, publishes the catalog)", args: cli("environment", "list"), env: firstStartEnv() },
  { name: "first start (embedded, catalog off)", args: cli("environment", "list"), env: firstStartEnv({ TERRARIUM_CURATED_CATALOG: "off" }) }
]

const setUp = (env: NodeJS.ProcessEnv) => {
  for (let i = 1; i <= ENVIRONMENTS; i++) {
    runOnce({ name: `set-up: environment create bench-${i}`, args: cli("environment", "create", "--name", `bench-${i}`, "--image", `python:3.1${i}`), env })
  }
}

const admin = new pg.Client({ connectionString: url })
try {
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  console.log(`node ${process.version}; ${runs} runs per case after a warm-up; peak RSS via ${useTime ? "/usr/bin/time -f %M" : "--import probe (no /usr/bin/time)"}`)
  console.log(`PostgreSQL: ${new URL(url).host}${new URL(url).pathname} schema ${schema}; embedded: a temporary TERRARIUM_HOME; ${ENVIRONMENTS} environments in each`)
  setUp(pgEnv)
  setUp(embeddedEnv)
  for (const c of cases) runOnce(c)
  const samples = new Map<string, Array<Sample>>(cases.map((c) => [c.name, []]))
  for (let k = 0; k < runs; k++) {
    for (const c of cases) samples.get(c.name)!.push(runOnce(c))
  }

  const rows = cases.map((c) => {
    const s = samples.get(c.name)!
    const seconds = median(s.map((x) => x.seconds))
    const mib = Math.max(...s.map((x) => x.rssKiB)) / 1024
    const ratio = (value: number, target: number | undefined) => (target === undefined ? "" : `${(value / target).toFixed(2)}x`)
    const verdict = (value: number, target: number | undefined) => (target === undefined ? "" : value <= target ? "PASS" : "FAIL")
    return [
      c.name,
      seconds.toFixed(3),
      median(s.map((x) => x.cpuSeconds)).toFixed(2),
      c.targetSeconds?.toFixed(2) ?? "",
      ratio(seconds, c.targetSeconds),
      verdict(seconds, c.targetSeconds),
      mib.toFixed(0),
      c.targetMiB?.toFixed(0) ?? "",
      ratio(mib, c.targetMiB),
      verdict(mib, c.targetMiB)
    ]
  })
  const header = ["case", "median s", "cpu s", "target s", "x target", "time", "peak RSS MiB", "target MiB", "x target", "memory"]
  const table = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  console.log()
  for (const row of table) {
    console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ").trimEnd())
  }
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined)
  await admin.end().catch(() => undefined)
  rmSync(work, { recursive: true, force: true })
}
