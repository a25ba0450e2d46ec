/**
 * Progress of long catch-ups: when it is reported (by the gap in events, never by timing), what
 * the CLI writes for it on a terminal and elsewhere, and the decorator over the in-memory ports.
 */
import { assert, describe, it } from "@effect/vitest"
import { Defined, emptyDefinition, Environment, EventCodec, EventStore, Projections, VariableSet } from "@terrarium/domain"
import { Effect, Layer } from "effect"
import * as CatchUpProgress from "../src/CatchUpProgress.ts"
import { progressText } from "../src/cli/Progress.ts"
import { layerPortsMemory } from "./support/MemoryPorts.ts"

describe("when a catch-up is reported", () => {
  it("from a gap of the threshold on, or whenever the read model is rebuilt", () => {
    const threshold = CatchUpProgress.DEFAULT_THRESHOLD
    assert.isFalse(CatchUpProgress.isReported(0, threshold - 1, false))
    assert.isTrue(CatchUpProgress.isReported(0, threshold, false))
    assert.isFalse(CatchUpProgress.isReported(1_000_000, 1_000_000 + threshold - 1, false))
    assert.isTrue(CatchUpProgress.isReported(10, 10 + threshold, false))
    assert.isTrue(CatchUpProgress.isReported(10, 11, true))
    assert.isFalse(CatchUpProgress.isReported(0, 99, false, 100))
    assert.isTrue(CatchUpProgress.isReported(0, 100, false, 100))
  })
})

describe("what the CLI writes", () => {
  const at = (phase: CatchUpProgress.CatchUpProgress["phase"], position: number, rebuilding = false) =>
    ({ phase, rebuilding, from: 1000, at: position, head: 201_000 })

  it("on a terminal: one line rewritten in place, cleared at the end", () => {
    assert.strictEqual(progressText(at("started", 1000), true),
      "\r\x1b[2Kterrarium: catching up the read model with 200,000 new events: 0 done (0%)")
    assert.strictEqual(progressText(at("progress", 51_000), true),
      "\r\x1b[2Kterrarium: catching up the read model with 200,000 new events: 50,000 done (25%)")
    assert.strictEqual(progressText(at("progress", 1000, true), true),
      "\r\x1b[2Kterrarium: rebuilding the read model from 201,000 events (it was built by another version of Terrarium)…")
    assert.strictEqual(progressText(at("done", 201_000), true), "\r\x1b[2K")
  })

  it("elsewhere: one plain line when it starts, nothing more (a rebuild has the projector's warning)", () => {
    assert.strictEqual(progressText(at("started", 1000), false), "terrarium: catching up the read model with 200,000 new events…\n")
    assert.isUndefined(progressText(at("started", 1000, true), false))
    assert.isUndefined(progressText(at("progress", 51_000), false))
    assert.isUndefined(progressText(at("done", 201_000), false))
  })
})

/** `count` events of one stream, as another process would append them. */
const appendElsewhere = (count: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const meta = { actor: "someone-else", correlationId: crypto.randomUUID(), causationId: null }
    const events = [
      new Defined({ workspace: "default", name: "train", curated: false, definition: emptyDefinition }),
      ...Array.from({ length: count - 1 }, (_, i) => new VariableSet({ variable: "N", value: String(i) }))
    ]
    yield* store.append(Environment.environmentStream("default", "train"), 0,
      events.map((e) => EventCodec.encode(e, meta, crypto.randomUUID())))
  })

describe("the decorated catch-up", () => {
  const withProgress = (threshold: number, heard: Array<CatchUpProgress.CatchUpProgress>) =>
    CatchUpProgress.layer({ threshold, report: (p) => heard.push(p), every: "1 millis" }).pipe(Layer.provideMerge(layerPortsMemory))

  it.effect("reports a gap of the threshold, from its start to its end", () => {
    const heard: Array<CatchUpProgress.CatchUpProgress> = []
    return Effect.gen(function*() {
      yield* appendElsewhere(30)
      assert.strictEqual(yield* Projections.use((p) => p.catchUp), 30)
      assert.deepStrictEqual(heard.at(0), { phase: "started", rebuilding: false, from: 0, at: 0, head: 30 })
      assert.deepStrictEqual(heard.at(-1), { phase: "done", rebuilding: false, from: 0, at: 30, head: 30 })
    }).pipe(Effect.provide(withProgress(30, heard)))
  })

  it.effect("is silent below it", () => {
    const heard: Array<CatchUpProgress.CatchUpProgress> = []
    return Effect.gen(function*() {
      yield* appendElsewhere(29)
      assert.strictEqual(yield* Projections.use((p) => p.catchUp), 29)
      assert.deepStrictEqual(heard, [])
    }).pipe(Effect.provide(withProgress(30, heard)))
  })
})
