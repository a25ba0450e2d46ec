/**
 * The background follower of a long-running process: the read model follows the log without a
 * catch-up by the reader, and keeps following while the layer lives. (One follower at a time
 * across processes is the adapters' `run`, tested there on PGlite and PostgreSQL.)
 */
import { assert, it } from "@effect/vitest"
import { Defined, emptyDefinition, Environment, EventCodec, EventStore, Projections } from "@terrarium/domain"
import { Effect, Layer, Schedule } from "effect"
import * as BackgroundProjection from "../src/BackgroundProjection.ts"
import { layerPortsMemory } from "./support/MemoryPorts.ts"

const define = (name: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const meta = { actor: "someone-else", correlationId: crypto.randomUUID(), causationId: null }
    yield* store.append(Environment.environmentStream("default", name), 0, [
      EventCodec.encode(new Defined({ workspace: "default", name, curated: false, definition: emptyDefinition }), meta, crypto.randomUUID())
    ])
    return yield* store.head
  })

const reaches = (position: number) =>
  Projections.use((p) => p.checkpoint).pipe(
    Effect.repeat({ until: (at) => at >= position, schedule: Schedule.spaced("10 millis") }),
    Effect.timeout("10 seconds")
  )

it.live("the read model follows the log in the background, with no catch-up by its readers", () =>
  Effect.gen(function*() {
    assert.strictEqual(yield* reaches(yield* define("first")), 1)
    assert.strictEqual(yield* reaches(yield* define("second")), 2)
  }).pipe(Effect.provide(BackgroundProjection.layer.pipe(Layer.provideMerge(layerPortsMemory)))))
