/**
 * `registryAsOf` (and `environments`/`versions` with `asOf`) over the in-memory ports: the log
 * replayed up to a point gives exactly the rows the read model gave at that point. After every
 * step of a history (drafts, versions, metadata, builds, archives, labels, another workspace) the
 * read model's answers are recorded; then, at the end, each point is asked again as of then, by
 * each way a past list is made (forward from the start of the log, backward from today's rows).
 */
import { MemoryEngine } from "@terrarium/adapters"
import { assert, describe, it } from "@effect/vitest"
import { EventStore, ReadModel } from "@terrarium/domain"
import { Effect } from "effect"
import { make } from "../src/Terrarium.ts"
import { registryOf, replayWorkspaces, rewindWorkspaces } from "../src/RegistryAsOf.ts"
import { runWith, withPip } from "./support/MemoryPorts.ts"

const WS = "default"

describe("registryAsOf", () => {
  it.live("at every point of a history, the replayed rows are the read model's rows of then", () =>
    runWith(new MemoryEngine(), Effect.gen(function*() {
      const t = yield* make({ actor: "tester" }, { holder: "test-holder", lease: "2 seconds", pollEvery: "10 millis" })
      const store = yield* EventStore
      const readModel = yield* ReadModel
      const snapshots: Array<{ position: number; environments: unknown; versions: unknown; images: unknown }> = []
      const snapshot = Effect.gen(function*() {
        yield* t.catchUp
        const position = yield* store.head
        const environments = yield* readModel.environments({ workspace: WS, includeArchived: true })
        const versions = yield* readModel.versions({ workspace: WS, includeArchived: true })
        const hashes = new Set(versions.map((v) => v.canonicalHash))
        const images = (yield* readModel.imageBuilds({})).filter((i) => hashes.has(i.canonicalHash))
        snapshots.push({ position, environments, versions, images })
      })
      const demo = (version: string) => ({ name: "demo", version })

      yield* t.create({ workspace: WS, name: "demo", definition: { ...(yield* withPip("a==1")), description: "first", tags: { team: "ml" } } })
      yield* snapshot
      yield* t.setVariable({ workspace: WS, name: "draft-only", variable: "X", value: "1" }).pipe(Effect.ignore)
      yield* t.create({ workspace: WS, name: "other", definition: yield* withPip("b==1") })
      yield* snapshot
      yield* t.update({ workspace: WS, ref: demo("1"), description: "described", tags: { stage: "dev" } })
      yield* snapshot
      yield* t.build({ workspace: WS, ref: demo("1") })
      yield* snapshot
      yield* t.create({ workspace: WS, name: "demo", definition: yield* withPip("a==2") })
      yield* t.label({ workspace: WS, ref: demo("1"), label: "prod" })
      yield* snapshot
      yield* t.archive({ workspace: WS, ref: demo("2") })
      yield* snapshot
      yield* t.archiveEnvironment({ workspace: WS, name: "demo" })
      yield* t.create({ workspace: "elsewhere", name: "demo", definition: yield* withPip("c==1") })
      yield* snapshot
      yield* t.restoreEnvironment({ workspace: WS, name: "demo" })
      yield* t.build({ workspace: WS, ref: { name: "other", version: "1" } })
      yield* snapshot

      for (const s of snapshots) {
        const past = yield* t.registryAsOf({ workspace: WS, asOf: { position: s.position } })
        assert.deepStrictEqual(
          { environments: past.environments, versions: past.versions, images: past.images },
          { environments: s.environments, versions: s.versions, images: s.images },
          `as of ${s.position}`
        )
        // Both ways the list takes, whichever point: forward from the start of the log, and
        // backward from today's rows (the streams changed since read one by one, or in one pass).
        const expected = { workspace: WS, asOfPosition: s.position, environments: s.environments, versions: s.versions, images: s.images }
        const forward = yield* replayWorkspaces([WS, "elsewhere"], s.position)
        assert.deepStrictEqual(registryOf(forward, WS, s.position), expected, `forward to ${s.position}`)
        for (const maxStreamReads of [1_000, 0]) {
          const [backward] = yield* rewindWorkspaces([WS, "elsewhere"], s.position, { maxStreamReads })
          assert.deepStrictEqual(backward, expected, `backward to ${s.position} (${maxStreamReads} stream reads at most)`)
        }
        // One environment: the same rows, read from its streams only.
        const one = yield* t.registryAsOf({ workspace: WS, name: "demo", asOf: { position: s.position } })
        assert.deepStrictEqual(one.versions, (s.versions as typeof one.versions).filter((v) => v.name === "demo"), `demo as of ${s.position}`)
        const listed = yield* t.environments({ workspace: WS, asOf: { position: s.position } })
        assert.deepStrictEqual(listed, (s.environments as typeof listed).filter((e) => !e.archived), `environments as of ${s.position}`)
      }
      // Before it was defined, an environment was not there.
      const missing = yield* Effect.flip(t.registryAsOf({ workspace: WS, name: "other", asOf: { position: 1 } }))
      assert.strictEqual(missing._tag, "EnvironmentError")
      assert.deepStrictEqual(yield* t.versions({ workspace: WS, name: "demo", asOf: { position: snapshots[0]!.position } }).pipe(
        Effect.map((rows) => rows.map((r) => [r.version, r.description, r.tags]))
      ), [["1", "first", { team: "ml" }]])
    })))
})
