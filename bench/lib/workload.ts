/**
 * The workload every implementation receives, and the measuring tools shared by all of them.
 *
 * Events are generated on the fly from their index (never held in an array), so the process's
 * RSS reflects the store under test rather than the benchmark's own bookkeeping.
 */
import { randomBytes } from "node:crypto"

/** Events per stream; each append writes one event with expected version = previous. */
export const EVENTS_PER_STREAM = 10

/** One event to append, in the store-neutral shape every target converts from. */
export interface BenchEvent {
  readonly index: number
  readonly id: string
  readonly type: string
  readonly data: Record<string, unknown>
}

/**
 * Event ids carry their index in the last 12 hex digits and a per-run prefix in the first 8,
 * so a replay can be checked for "each event exactly once" with a byte per event rather than a
 * Set of strings (which would itself make memory grow with N). The driver picks the prefix once
 * and hands it to every measuring process, so all implementations get the same ids.
 */
export class EventIds {
  readonly prefix: string
  constructor(prefix: string = randomBytes(4).toString("hex")) {
    if (!/^[0-9a-f]{8}$/.test(prefix)) throw new Error(`event id prefix must be 8 lowercase hex digits, got ${prefix}`)
    this.prefix = prefix
  }
  id(index: number): string {
    return `${this.prefix}-0000-4000-8000-${index.toString(16).padStart(12, "0")}`
  }
  /** The index an id encodes, or -1 if it is not one of ours. */
  index(id: string): number {
    if (id.length !== 36 || id.slice(0, 8).toLowerCase() !== this.prefix) return -1
    const n = Number.parseInt(id.slice(24), 16)
    return Number.isSafeInteger(n) ? n : -1
  }
}

const PACKAGES = ["numpy==1.26.4", "pandas==2.2.2", "torch==2.3.0", "transformers==4.41.2", "accelerate==0.30.1", "scikit-learn==1.5.0"]

/** The JSON payload of event `index`: about 300 bytes once serialised. */
export const eventData = (stream: number, version: number): Record<string, unknown> => {
  const data: Record<string, unknown> = {
    environment: `env-${stream}`,
    revision: version,
    image: "registry.example/base/ubuntu22.04-py311:20240601",
    conda: { channels: ["conda-forge"], dependencies: ["python=3.11", "pip"] },
    pip: PACKAGES.slice(0, 3 + ((stream + version) % 4)),
    note: ""
  }
  const pad = 300 - JSON.stringify(data).length
  data.note = "x".repeat(Math.max(0, pad))
  return data
}

export const streamCount = (events: number) => Math.ceil(events / EVENTS_PER_STREAM)

/**
 * Run `writers` concurrent writers over `events` events. Writer w owns the streams s with
 * s % writers = w (so its expected versions are known without reading); each writer walks the
 * versions in the outer loop, so streams interleave in the global order as they would in use.
 *
 * With `slice = { index: k, of: n }` only the k-th of n equal parts of every writer's sequence
 * runs (the writers still run concurrently within it), so that the driver can alternate
 * implementations slice by slice; running every slice in order is the same workload as running
 * it whole.
 */
export const runWriters = async (
  events: number,
  writers: number,
  ids: EventIds,
  append: (writer: number, stream: number, expected: number, event: BenchEvent) => Promise<void>,
  slice: { readonly index: number; readonly of: number } = { index: 0, of: 1 }
): Promise<void> => {
  const streams = streamCount(events)
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    const owned = Math.ceil((streams - w) / writers)
    const total = EVENTS_PER_STREAM * owned
    const from = Math.floor((slice.index * total) / slice.of)
    const to = Math.floor(((slice.index + 1) * total) / slice.of)
    for (let k = from; k < to; k++) {
      const v = Math.floor(k / owned)
      const s = w + (k % owned) * writers
      const index = s * EVENTS_PER_STREAM + v
      if (index >= events) continue
      await append(w, s, v, { index, id: ids.id(index), type: v === 0 ? "EnvironmentRegistered" : "EnvironmentUpdated", data: eventData(s, v) })
    }
  }))
}

/** What a ReplayCheck found, as plain data (it crosses from the measuring process to the driver). */
export interface ReplaySummary {
  readonly count: number
  /** Every event exactly once and every position above the previous one. */
  readonly ok: boolean
  /** "ok", or counts of missing / duplicate / foreign ids. */
  readonly exactlyOnce: string
  /** "yes", or how many events came out of position order. */
  readonly inOrder: string
}

/** Checks a replay: every event exactly once, positions strictly increasing. */
export class ReplayCheck {
  private readonly seen: Uint8Array
  count = 0
  duplicates = 0
  foreign = 0
  outOfOrder = 0
  private last = Number.NEGATIVE_INFINITY
  private readonly ids: EventIds
  readonly expected: number
  constructor(ids: EventIds, expected: number) {
    this.ids = ids
    this.expected = expected
    this.seen = new Uint8Array(expected)
  }
  readonly onEvent = (id: string, position: number): void => {
    this.count++
    if (position <= this.last) this.outOfOrder++
    this.last = position
    const i = this.ids.index(id)
    if (i < 0 || i >= this.expected) { this.foreign++; return }
    if (this.seen[i]! > 0) this.duplicates++
    else this.seen[i] = 1
  }
  get missing(): number {
    let m = 0
    for (const b of this.seen) if (b === 0) m++
    return m
  }
  get exactlyOnce(): boolean {
    return this.count === this.expected && this.duplicates === 0 && this.foreign === 0 && this.missing === 0
  }
  /** "ok", or what went wrong with exactly-once delivery. */
  describe(): string {
    if (this.exactlyOnce) return "ok"
    const parts: Array<string> = []
    if (this.missing > 0) parts.push(`${this.missing} missing`)
    if (this.duplicates > 0) parts.push(`${this.duplicates} dup`)
    if (this.foreign > 0) parts.push(`${this.foreign} foreign`)
    return parts.join(", ")
  }
  /** "yes", or how many events came with a position not above the previous one. */
  describeOrder(): string {
    return this.outOfOrder === 0 ? "yes" : `${this.outOfOrder} not`
  }
  summary(): ReplaySummary {
    return { count: this.count, ok: this.exactlyOnce && this.outOfOrder === 0, exactlyOnce: this.describe(), inOrder: this.describeOrder() }
  }
}

/** Peak RSS over a phase: sampled on a timer and whenever `sample()` is called. */
export class RssSampler {
  peak = process.memoryUsage.rss()
  private timer: NodeJS.Timeout | undefined
  start(): this {
    this.timer = setInterval(() => this.sample(), 20)
    this.timer.unref()
    return this
  }
  sample(): void {
    const rss = process.memoryUsage.rss()
    if (rss > this.peak) this.peak = rss
  }
  stop(): number {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.sample()
    return this.peak
  }
}

const gc = (globalThis as { gc?: () => void }).gc

/** Collect garbage (if node runs with --expose-gc) and let the heap settle. */
export const settle = async (): Promise<void> => {
  gc?.()
  await new Promise((r) => setTimeout(r, 30))
  gc?.()
}

export const hasGc = gc !== undefined

/** Deterministic PRNG (mulberry32) for choosing streams to read. */
export const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
