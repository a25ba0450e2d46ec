/**
 * The command line the log benchmarks share (`bench:eventstore`, `bench:projections`): how many
 * events, on which engines, and which PostgreSQL. Each benchmark adds its own options and usage.
 */
import { parseArgs, type ParseArgsConfig } from "node:util"

/** The local server the benchmarks use unless `--url` or `BENCH_PG_URL` says otherwise. */
export const DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/test"

export type Engine = "postgres" | "pglite"

/** The usage lines of the shared options, after a benchmark's own first line. */
export const sharedUsage = (eventsHelp: string) => `  --events N   ${eventsHelp}
  --quick      10000 events
  --engine     postgres, pglite or all (default all)
  --url        PostgreSQL connection string (default ${DEFAULT_URL}, or $BENCH_PG_URL)`

/**
 * Parses the shared options and `extra`; prints `usage` and exits on `--help`. `minEvents` is the
 * smallest log the benchmark can measure anything on.
 */
export const parseLogOptions = (usage: string, minEvents: number, extra: NonNullable<ParseArgsConfig["options"]>) => {
  const values: Readonly<Record<string, string | boolean | Array<string | boolean> | undefined>> = parseArgs({
    options: {
      events: { type: "string" },
      engine: { type: "string", default: "all" },
      quick: { type: "boolean", default: false },
      url: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
      ...extra
    },
    strict: true
  }).values
  if (values.help === true) {
    console.log(usage)
    process.exit(0)
  }
  const given = typeof values.events === "string" ? values.events : undefined
  const events = given !== undefined ? Number(given) : values.quick === true ? 10_000 : 100_000
  if (!Number.isSafeInteger(events) || events < minEvents) {
    throw new Error(`--events must be an integer >= ${minEvents}, got ${given}`)
  }
  const engine = values.engine
  if (engine !== "postgres" && engine !== "pglite" && engine !== "all") {
    throw new Error(`--engine must be postgres, pglite or all, got ${String(engine)}`)
  }
  const engines: ReadonlyArray<Engine> = engine === "all" ? ["postgres", "pglite"] : [engine]
  const url = (typeof values.url === "string" ? values.url : undefined) ?? process.env.BENCH_PG_URL ?? DEFAULT_URL
  return { events, engines, url, values }
}
