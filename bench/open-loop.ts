/**
 * An open-loop load at a fixed rate, for `bench/http.bench.ts`: requests are due at even
 * intervals (1/rate apart) whatever the answers do, each sent on a free keep-alive connection
 * (up to `connections`; a request due while all are busy waits for one, and that wait counts
 * in its latency). A worker thread per server, so the load of one server does not slow the
 * sending to another.
 *
 * autocannon's own rate limit (`overallRate`) is not this: each connection sends its whole
 * budget of a second back to back at the start of the second, then pauses, so its p99 is the
 * queue of that burst, not the server's latency at the rate.
 *
 * Latency is from when the request was sent to when its answer was read; `lag` is how late
 * sends were against their schedule (the timers of a loaded machine): a run whose sends kept to
 * the schedule (lag p99 ≤ 1 ms) measured the server at the rate asked; a later one only raised
 * the p99 it measured (late sends go out together, late answers are read late).
 */
import { Worker } from "node:worker_threads"

/** @since 0.4.0 */
export interface OpenLoopFigures {
  /** Answers per second achieved (sent at the rate, answered within the run). */
  readonly rps: number
  readonly p50: number
  readonly p99: number
  /** p99 of how late a send was against its schedule, ms. */
  readonly lagP99: number
  readonly errors: number
}

const worker = `
const { parentPort, workerData } = require("node:worker_threads")
const http = require("node:http")
const { url, paths, headers, rate, duration, connections } = workerData
const { hostname, port } = new URL(url)
const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
const total = Math.max(1, Math.floor(rate * duration))
const interval = 1000 / rate
const latencies = new Float64Array(total)
const lags = new Float64Array(total)
let sent = 0
let done = 0
let errors = 0
let start = 0
let finished = false
const finish = () => {
  if (finished) return
  finished = true
  const elapsed = (performance.now() - start) / 1000
  const pick = (values, q) => {
    const sorted = Float64Array.from(values).sort()
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  }
  parentPort.postMessage({ rps: done / elapsed, p50: pick(latencies, 0.5), p99: pick(latencies, 0.99), lagP99: pick(lags, 0.99), errors })
  agent.destroy()
}
const answered = (i, sentAt, ok) => {
  latencies[i] = performance.now() - sentAt
  if (!ok) errors++
  if (++done === total) finish()
}
const send = (i, due) => {
  const sentAt = performance.now()
  lags[i] = sentAt - due
  const req = http.request({ hostname, port, path: paths[(i * 7919) % paths.length], headers, agent }, (res) => {
    res.on("data", () => {})
    res.on("end", () => answered(i, sentAt, res.statusCode === 200))
  })
  req.on("error", () => answered(i, sentAt, false))
  req.end()
}
const tick = () => {
  const now = performance.now()
  while (sent < total && start + sent * interval <= now) {
    send(sent, start + sent * interval)
    sent++
  }
  if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()))
}
start = performance.now()
tick()
// Answers that have not come 10 s after the last was due are counted as errors.
setTimeout(() => {
  if (done === total) return
  errors += total - done
  done = total
  finish()
}, (duration + 10) * 1000).unref()
`

/**
 * `rate` requests per second to `url` for `duration` seconds, the paths taken in turn (spread
 * by a stride), in a worker thread.
 *
 * @since 0.4.0
 */
export const openLoop = (options: {
  readonly url: string
  readonly paths: ReadonlyArray<string>
  readonly headers: Record<string, string>
  readonly rate: number
  readonly duration: number
  readonly connections: number
}): Promise<OpenLoopFigures> =>
  new Promise((resolve, reject) => {
    const w = new Worker(worker, { eval: true, workerData: { ...options, paths: [...options.paths] } })
    w.once("message", (figures: OpenLoopFigures) => {
      resolve(figures)
      void w.terminate()
    })
    w.once("error", reject)
  })
