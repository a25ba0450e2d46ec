/**
 * The contract of the read model ports, run by every adapter's test file
 * (`readModelContract(name, layer)`): a realistic history written through the event store,
 * projected incrementally, queried through the read model, rebuilt, and checked for
 * exactly-once application under concurrency. Everything is observed through the ports: what
 * the queries answer for every workspace, environment and hash of the log (`readModelView`).
 * An adapter may also pass `observe`, a look at its own storage (the SQL adapter: every table),
 * which is then compared wherever the view is.
 *
 * The layer must project in batches of `CONTRACT_BATCH_SIZE` (so that the history spans many
 * batches) and poll every `CONTRACT_POLL_INTERVAL`. Each test builds it afresh.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Archived,
  Build,
  CanonicalHash,
  Defined,
  emptyDefinition,
  Environment,
  EnvironmentArchived,
  EnvironmentRestored,
  EventStore,
  EventVoided,
  MetadataUpdated,
  Projections,
  ReadModel,
  Restored
} from "@terrarium/domain"
import { Effect, Fiber, type Layer, type Scope, Stream } from "effect"
import { EventCodec } from "@terrarium/domain"
import { envelopeOf } from "../../src/read-model/Projection.ts"
import {
  appendAll, countEnvironmentEvents, CURATED, environmentEventPositions, growTheLog, hashes, history,
  pip, registered, trainDraft, watchCheckpoint, writeAndCatchUp, withPip
} from "./History.ts"

/** @since 0.1.0 */
export const CONTRACT_BATCH_SIZE = 4

/** @since 0.1.0 */
export const CONTRACT_POLL_INTERVAL = "20 millis"

/** What the contract is run against. */
export type ReadModelServices = EventStore | Projections | ReadModel

/**
 * Everything the read model answers about the log: for each workspace of an environment stream,
 * its environments and versions (with and without the archived ones), the labels of each of its
 * environments and its audit trail; the cache entries of every registered hash; the catalog.
 */
export const readModelView = Effect.gen(function* () {
  const read = yield* ReadModel
  const events = yield* EventStore.use((store) => Stream.runCollect(store.readAll({ after: 0 })))
  const streams = new Map<string, Set<string>>()
  for (const event of events) {
    const envelope = envelopeOf(event)
    if (envelope === undefined) continue
    const names = streams.get(envelope.workspace) ?? new Set()
    streams.set(envelope.workspace, names.add(envelope.name))
  }
  const workspaces: Record<string, unknown> = {}
  const hashSet = new Set<string>()
  for (const [workspace, names] of [...streams].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const versions = yield* read.versions({ workspace, includeArchived: true })
    for (const version of versions) hashSet.add(version.canonicalHash)
    const labels: Record<string, unknown> = {}
    for (const name of [...names].sort()) labels[name] = yield* read.labels({ workspace, name })
    workspaces[workspace] = {
      environments: yield* read.environments({ workspace, includeArchived: true }),
      activeEnvironments: yield* read.environments({ workspace, includeArchived: false }),
      versions,
      activeVersions: yield* read.versions({ workspace, includeArchived: false }),
      labels,
      audit: yield* read.audit({ workspace }),
      quarantine: yield* read.quarantine({ workspace })
    }
  }
  const cache: Record<string, unknown> = {}
  for (const hash of [...hashSet].sort()) cache[hash] = yield* read.cacheLookup(hash)
  const images = yield* read.imageBuilds({})
  const builds: Record<string, unknown> = {}
  for (const image of images) builds[image.canonicalHash] = yield* read.builds({ canonicalHash: image.canonicalHash })
  return { workspaces, curatedCatalog: yield* read.curatedCatalog(), cache, quarantine: yield* read.quarantine({}), images, builds }
})

/** Every audit entry of every workspace of the log. */
const allAudit = Effect.gen(function* () {
  const read = yield* ReadModel
  const events = yield* EventStore.use((store) => Stream.runCollect(store.readAll({ after: 0 })))
  const workspaces = [...new Set(events.map((event) => event.workspace))].sort()
  const entries = []
  for (const workspace of workspaces) entries.push(...(yield* read.audit({ workspace })))
  return entries
})

export const readModelContract = <R = never, E = never, E2 = never>(
  name: string,
  layer: Layer.Layer<ReadModelServices | R, E>,
  observe?: Effect.Effect<unknown, E2, R>
) => {
  const run = <A, E3>(effect: Effect.Effect<A, E3, ReadModelServices | R | Scope.Scope>) =>
    effect.pipe(Effect.scoped, Effect.provide(layer))

  /** The view, and what `observe` sees. */
  const state = Effect.all({ view: readModelView, observed: observe ?? Effect.void })

  describe(`read model contract: ${name}`, () => {
    it.effect("a rebuild replays the log into the read model the catch-ups built", () =>
      run(Effect.gen(function* () {
        const h = yield* writeAndCatchUp
        const projections = yield* Projections
        const head = yield* EventStore.use((s) => s.head)
        const incremental = yield* state
        const audit = yield* allAudit
        assert.strictEqual(audit.length, countEnvironmentEvents(h, 3))
        const view = incremental.view
        const sizes = (part: "versions" | "environments") =>
          Object.values(view.workspaces).reduce((n: number, w) => n + (w as Record<string, ReadonlyArray<unknown>>)[part]!.length, 0)
        assert.strictEqual(sizes("versions"), 7)
        assert.strictEqual(sizes("environments"), 5)
        assert.strictEqual(Object.values(view.cache).flat().length, 7)
        assert.strictEqual(view.curatedCatalog.length, 1)
        for (const round of [1, 2]) {
          assert.strictEqual(yield* projections.rebuild, head, `rebuild ${round}`)
          assert.deepStrictEqual(yield* state, incremental, `rebuild ${round}`)
          assert.strictEqual(yield* projections.checkpoint, head)
          assert.strictEqual(yield* projections.catchUp, head, "nothing left to catch up")
        }
      })))

    it.effect("the image cache follows each hash's build stream, within a batch and across batches, and a rebuild agrees", () =>
      run(Effect.gen(function* () {
        const store = yield* EventStore
        const projections = yield* Projections
        const read = yield* ReadModel
        const hashA = `sha256:${"a".repeat(64)}`
        const hashB = `sha256:${"b".repeat(64)}`
        const requestedBy = { workspace: "team-a", name: "train", version: "1" }
        const lock = (version: string) => ({ conda: [], pip: [{ name: "demo-a", version }] })
        const built = (hash: string, buildId: string, version: string, drift: Build.ImageBuilt["drift"] = []) =>
          new Build.ImageBuilt({
            buildId, image: Build.imageNameOf(hash), imageId: `sha256:${"1".repeat(64)}`, sizeBytes: 2048,
            baseImageDigest: null, resolved: lock(version), durationMs: 1500, logKey: Build.logKeyOf(hash, buildId),
            builderVersion: "memory/1", cachedSteps: 1, totalSteps: 3, drift
          })
        const start = (hash: string, buildId: string, at: number, noCache = false) => [
          new Build.BuildRequested({ canonicalHash: hash, image: Build.imageNameOf(hash), requestedBy, noCache }),
          new Build.BuildStarted({ buildId, holder: "host:1", leaseExpiresAt: at, noCache, cause: "first" })
        ]
        const append = (hash: string, events: ReadonlyArray<Build.BuildEvent>) =>
          store.append(Build.streamOf(hash), "any", events.map((event) =>
            EventCodec.encodeBuild(event, { actor: "builder", correlationId: crypto.randomUUID(), causationId: null }, crypto.randomUUID())))
        // A: started, renewed, built, in one append (one batch of four); B: started only.
        yield* append(hashA, [...start(hashA, "b1", 1_000), new Build.BuildLeaseRenewed({ buildId: "b1", holder: "host:1", leaseExpiresAt: 2_000 }), built(hashA, "b1", "1.0")])
        yield* append(hashB, start(hashB, "b2", 5_000))
        yield* projections.catchUp
        const [a, b] = yield* read.imageBuilds({})
        assert.strictEqual(a?.canonicalHash, hashA)
        assert.strictEqual(a?.status, "built")
        assert.isNull(a?.leaseHolder)
        assert.strictEqual(a?.built?.resolved.pip[0]?.version, "1.0")
        assert.instanceOf(a?.built?.builtAt, Date)
        assert.strictEqual(b?.status, "building")
        assert.strictEqual(b?.leaseHolder, "host:1")
        assert.deepStrictEqual(b?.leaseExpiresAt, new Date(5_000))
        assert.isNull(b?.built)
        // A rebuilt with --no-cache that drifts, in a later batch; B fails.
        yield* append(hashA, start(hashA, "b3", 9_000, true))
        yield* projections.catchUp
        const rebuilding = (yield* read.imageBuilds({ canonicalHash: hashA }))[0]
        assert.strictEqual(rebuilding?.status, "building")
        assert.strictEqual(rebuilding?.built?.buildId, "b1", "the last image built stays while a rebuild runs")
        yield* append(hashA, [built(hashA, "b3", "1.1", [{ manager: "pip", name: "demo-a", from: "1.0", to: "1.1" }])])
        yield* append(hashB, [new Build.BuildFailed({ buildId: "b2", reason: "StepFailed", message: "step failed", step: "RUN pip", logKey: Build.logKeyOf(hashB, "b2"), logTail: ["no such package"] })])
        yield* projections.catchUp
        const [a2, b2] = yield* read.imageBuilds({})
        assert.strictEqual(a2?.built?.buildId, "b3")
        assert.deepStrictEqual(a2?.built?.drift, [{ manager: "pip", name: "demo-a", from: "1.0", to: "1.1" }])
        assert.strictEqual(b2?.status, "failed")
        assert.strictEqual(b2?.failure?.step, "RUN pip")
        assert.deepStrictEqual(b2?.failure?.logTail, ["no such package"])
        assert.instanceOf(b2?.failure?.failedAt, Date)
        assert.deepStrictEqual(yield* read.imageBuilds({ canonicalHash: `sha256:${"c".repeat(64)}` }), [])
        const incremental = yield* state
        yield* projections.rebuild
        assert.deepStrictEqual(yield* state, incremental)
        // The rebuilt rows take the next event (B retried after its failure), and a second
        // rebuild, which swaps the tables back, agrees again.
        yield* append(hashB, [new Build.BuildStarted({ buildId: "b4", holder: "host:2", leaseExpiresAt: 12_000, noCache: false, cause: "retry" })])
        yield* projections.catchUp
        const retried = (yield* read.imageBuilds({ canonicalHash: hashB }))[0]
        assert.strictEqual(retried?.status, "building")
        assert.strictEqual(retried?.buildId, "b4")
        assert.isNull(retried?.failure)
        const afterRetry = yield* state
        yield* projections.rebuild
        assert.deepStrictEqual(yield* state, afterRetry)
      })))

    it.effect("the pushes of a hash's images are kept by position, within a batch and across batches, and a rebuild agrees", () =>
      run(Effect.gen(function* () {
        const store = yield* EventStore
        const projections = yield* Projections
        const read = yield* ReadModel
        const hash = `sha256:${"e".repeat(64)}`
        const image = Build.imageNameOf(hash)
        const append = (events: ReadonlyArray<Build.BuildEvent>) =>
          store.append(Build.streamOf(hash), "any", events.map((event) =>
            EventCodec.encodeBuild(event, { actor: "builder", correlationId: crypto.randomUUID(), causationId: null }, crypto.randomUUID())))
        const pushed = (tag: string, digest: string) =>
          new Build.ImagePushed({
            buildId: "p1", imageId: `sha256:${"1".repeat(64)}`, registry: "127.0.0.1:5000", repository: "team/envs", tag,
            reference: `127.0.0.1:5000/team/envs:${tag}`, digest: `sha256:${digest.repeat(64)}`
          })
        yield* append([
          new Build.BuildRequested({ canonicalHash: hash, image, requestedBy: { workspace: "w", name: "n", version: "1" }, noCache: false }),
          new Build.BuildStarted({ buildId: "p1", holder: "host:1", leaseExpiresAt: 1_000, noCache: false, cause: "first" }),
          new Build.ImageBuilt({
            buildId: "p1", image, imageId: `sha256:${"1".repeat(64)}`, sizeBytes: 1, baseImageDigest: null, resolved: { conda: [], pip: [] },
            durationMs: 1, logKey: Build.logKeyOf(hash, "p1"), builderVersion: "memory/1", cachedSteps: 0, totalSteps: 1, drift: []
          }),
          pushed("eeeeeeeeeeeeeeee", "d")
        ])
        yield* projections.catchUp
        const [first] = yield* read.imageBuilds({ canonicalHash: hash })
        assert.deepStrictEqual(first?.pushes.map((p) => [p.reference, p.digest, p.buildId]), [
          ["127.0.0.1:5000/team/envs:eeeeeeeeeeeeeeee", `sha256:${"d".repeat(64)}`, "p1"]
        ])
        assert.instanceOf(first?.pushes[0]?.pushedAt, Date)
        assert.strictEqual(first?.status, "built")
        // A later batch: a renewal-free status change keeps the pushes, and a second push is added after the first.
        yield* append([pushed("n-1", "f")])
        yield* projections.catchUp
        const [second] = yield* read.imageBuilds({ canonicalHash: hash })
        assert.deepStrictEqual(second?.pushes.map((p) => p.tag), ["eeeeeeeeeeeeeeee", "n-1"])
        assert.isTrue(second!.pushes[0]!.position < second!.pushes[1]!.position)
        yield* append([new Build.BuildStarted({ buildId: "p2", holder: "host:1", leaseExpiresAt: 2_000, noCache: true, cause: "no-cache" })])
        yield* projections.catchUp
        const [rebuilding] = yield* read.imageBuilds({ canonicalHash: hash })
        assert.strictEqual(rebuilding?.status, "building")
        assert.strictEqual(rebuilding?.pushes.length, 2, "the pushes stay while a rebuild runs")
        const incremental = yield* state
        yield* projections.rebuild
        assert.deepStrictEqual(yield* state, incremental)
      })))

    it.effect("every build keeps its own row by id (failed, rebuilt, taken over), within a batch and across batches, and a rebuild agrees", () =>
      run(Effect.gen(function* () {
        const store = yield* EventStore
        const projections = yield* Projections
        const read = yield* ReadModel
        const hash = `sha256:${"f".repeat(64)}`
        const image = Build.imageNameOf(hash)
        const append = (events: ReadonlyArray<Build.BuildEvent>) =>
          store.append(Build.streamOf(hash), "any", events.map((event) =>
            EventCodec.encodeBuild(event, { actor: "builder", correlationId: crypto.randomUUID(), causationId: null }, crypto.randomUUID())))
        const requested = (noCache: boolean) =>
          new Build.BuildRequested({ canonicalHash: hash, image, requestedBy: { workspace: "w", name: "n", version: "1" }, noCache })
        const started = (buildId: string, cause: Build.StartCause, lease: number, noCache = false) =>
          new Build.BuildStarted({ buildId, holder: `host:${buildId}`, leaseExpiresAt: lease, noCache, cause })
        const built = (buildId: string, imageId: string) =>
          new Build.ImageBuilt({
            buildId, image, imageId, sizeBytes: 1, baseImageDigest: null, resolved: { conda: [], pip: [{ name: "demo-a", version: buildId }] },
            durationMs: 1, logKey: Build.logKeyOf(hash, buildId), builderVersion: "memory/1", cachedSteps: 0, totalSteps: 1, drift: []
          })
        const imageOf = (c: string) => `sha256:${c.repeat(64)}`
        // x1 fails, x2 (retry) is started and renewed in one batch, and dies; x3 takes over and builds
        // in a later batch, with a push; x4 (base moved) rebuilds it: each build keeps its own row.
        yield* append([requested(false), started("x1", "first", 1_000),
          new Build.BuildFailed({ buildId: "x1", reason: "StepFailed", message: "step failed", step: "RUN pip", logKey: Build.logKeyOf(hash, "x1"), logTail: ["boom"] }),
          requested(false), started("x2", "retry", 2_000), new Build.BuildLeaseRenewed({ buildId: "x2", holder: "host:x2", leaseExpiresAt: 3_000 })])
        yield* projections.catchUp
        yield* append([new Build.BuildLeaseRenewed({ buildId: "x2", holder: "host:x2", leaseExpiresAt: 4_000 })])
        yield* projections.catchUp
        yield* append([requested(false), started("x3", "takeover", 9_000)])
        yield* projections.catchUp
        yield* append([built("x3", imageOf("3")), new Build.ImagePushed({
          buildId: "x3", imageId: imageOf("3"), registry: "127.0.0.1:5000", repository: "team/envs", tag: "t",
          reference: "127.0.0.1:5000/team/envs:t", digest: imageOf("d")
        })])
        yield* projections.catchUp
        yield* append([requested(false), started("x4", "base-moved", 20_000), built("x4", imageOf("4"))])
        yield* projections.catchUp
        const all = yield* read.builds({ canonicalHash: hash })
        assert.deepStrictEqual(all.map((b) => [b.buildId, b.status, b.cause]), [
          ["x4", "built", "base-moved"], ["x3", "built", "takeover"], ["x2", "building", "retry"], ["x1", "failed", "first"]
        ])
        const [x4, x3, x2, x1] = all
        assert.strictEqual(x1?.failure?.step, "RUN pip")
        assert.deepStrictEqual(x1?.failure?.logTail, ["boom"])
        assert.instanceOf(x1?.endedAt, Date)
        assert.isNull(x1?.built)
        assert.deepStrictEqual(x2?.leaseExpiresAt, new Date(4_000), "the last renewal, from a later batch")
        assert.isNull(x2?.endedAt)
        assert.strictEqual(x3?.built?.imageId, imageOf("3"))
        assert.instanceOf(x3?.built?.builtAt, Date)
        assert.deepStrictEqual(x3?.pushes.map((p) => [p.reference, p.digest]), [["127.0.0.1:5000/team/envs:t", imageOf("d")]])
        assert.deepStrictEqual(x4?.pushes, [], "a push is its build's only")
        assert.strictEqual(x4?.built?.imageId, imageOf("4"))
        assert.strictEqual(x4?.leaseHolder, "host:x4")
        assert.isTrue(x4!.startedPosition > x3!.startedPosition)
        assert.deepStrictEqual(yield* read.builds({ buildId: "x3" }), [x3])
        assert.deepStrictEqual(yield* read.builds({ buildId: "nope" }), [])
        assert.strictEqual((yield* read.imageBuilds({ canonicalHash: hash }))[0]?.buildId, "x4", "the image cache keeps the last build only")
        const incremental = yield* state
        yield* projections.rebuild
        assert.deepStrictEqual(yield* state, incremental)
      })))

    it.effect("catching up twice applies nothing twice", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const projections = yield* Projections
        const before = yield* state
        const checkpoint = yield* projections.checkpoint
        assert.strictEqual(yield* projections.catchUp, checkpoint)
        assert.strictEqual(yield* projections.catchUp, checkpoint)
        assert.deepStrictEqual(yield* state, before)
      })))

    it.live("catch-ups, a follower and rebuilds racing while the log grows apply every event once", () =>
      run(Effect.gen(function* () {
        const h = yield* hashes
        const steps = history(h)
        const projections = yield* Projections
        yield* appendAll(steps[0]!)
        yield* projections.catchUp
        const follower = yield* Effect.forkChild(projections.run)
        // The checkpoint only ever moves forward, rebuilds included.
        const stopWatching = yield* watchCheckpoint(projections, "the checkpoint")
        yield* Effect.all([
          growTheLog(steps), projections.rebuild, projections.catchUp, projections.rebuild, projections.catchUp, projections.catchUp
        ], { concurrency: "unbounded" })
        const head = yield* EventStore.use((s) => s.head)
        assert.strictEqual(yield* projections.catchUp, head)
        yield* Fiber.interrupt(follower)
        yield* stopWatching

        const raced = yield* state
        const positions = yield* environmentEventPositions
        assert.deepStrictEqual((yield* allAudit).map((a) => a.position).sort((a, b) => a - b), positions,
          "one audit entry per environment event")
        assert.strictEqual(yield* projections.rebuild, head)
        assert.deepStrictEqual(yield* state, raced, "the same log rebuilt")
      })))

    it.live("run follows the log as it grows", () =>
      run(Effect.gen(function* () {
        const h = yield* hashes
        const projections = yield* Projections
        const store = yield* EventStore
        const steps = history(h)
        yield* appendAll(steps[0]!)
        const follower = yield* Effect.forkChild(projections.run)
        for (const step of steps.slice(1)) yield* appendAll(step)
        const head = yield* store.head
        const reached = yield* projections.checkpoint.pipe(
          Effect.repeat({ until: (p) => p >= head }),
          Effect.timeout("20 seconds")
        )
        assert.strictEqual(reached, head)
        yield* Fiber.interrupt(follower)
        const followed = yield* state
        assert.strictEqual(yield* projections.rebuild, head)
        assert.deepStrictEqual(yield* state, followed, "what the follower built is what a rebuild builds")
      })))

    it.effect("a damaged row is quarantined: the projector moves past it, other streams go on, a void resolves it", () =>
      run(Effect.gen(function* () {
        const projections = yield* Projections
        const store = yield* EventStore
        const read = yield* ReadModel
        yield* appendAll(history(yield* hashes)[0]!)
        const good = yield* store.head
        // A Registered row of a known type and version whose data is wrong, written behind the
        // application's back by a role that may insert into the log.
        yield* store.append(Environment.environmentStream("team-a", "train"), "any", [{
          id: crypto.randomUUID(), type: "Registered", schemaVersion: 1, data: { version: 4 },
          metadata: { actor: "x", correlationId: crypto.randomUUID(), causationId: null }
        }])
        const bad = good + 1
        yield* appendAll([["team-c", "after-bad", [new Defined({ workspace: "team-c", name: "after-bad", curated: false, definition: trainDraft })]]])
        assert.strictEqual(yield* projections.catchUp, yield* store.head, "the projector moved past the damaged row")

        const [entry, ...more] = yield* read.quarantine({})
        assert.deepStrictEqual(more, [])
        assert.deepStrictEqual({ ...entry!, error: typeof entry!.error, occurredAt: entry!.occurredAt instanceof Date }, {
          position: bad, workspace: "team-a", name: "train", stream: "environment/train", eventType: "Registered",
          schemaVersion: 1, error: "string", occurredAt: true, actor: "x", resolution: null
        })
        assert.include(entry!.error, "Missing key")
        assert.deepStrictEqual(yield* read.quarantine({ workspace: "team-a" }), [entry!])
        assert.deepStrictEqual(yield* read.quarantine({ workspace: "team-c" }), [])
        assert.deepStrictEqual((yield* read.environments({ workspace: "team-c", includeArchived: true })).map((e) => e.name), ["after-bad"])
        const trail = yield* read.audit({ workspace: "team-a", name: "train" })
        assert.deepStrictEqual([trail.at(-1)!.position, trail.at(-1)!.eventType, trail.at(-1)!.version], [bad, "Registered", null])
        assert.match(trail.at(-1)!.summary, /^quarantined: this Registered event cannot be read/)
        // The damaged row changed nothing else of its stream.
        assert.deepStrictEqual((yield* read.versions({ workspace: "team-a", name: "train", includeArchived: true })).map((v) => v.version), ["1"])

        yield* store.append(Environment.environmentStream("team-a", "train"), "any", [
          EventCodec.encode(new EventVoided({ position: bad, reason: "written by hand" }), {
            actor: "repairer", correlationId: crypto.randomUUID(), causationId: null
          }, crypto.randomUUID())
        ])
        const voided = yield* store.head
        assert.strictEqual(yield* projections.catchUp, voided)
        const [resolved] = yield* read.quarantine({ workspace: "team-a" })
        assert.deepStrictEqual({ ...resolved!.resolution!, voidedAt: resolved!.resolution!.voidedAt instanceof Date }, {
          position: voided, voidedAt: true, voidedBy: "repairer", reason: "written by hand"
        })
        const repaired = (yield* read.audit({ workspace: "team-a", name: "train" })).at(-1)!
        assert.deepStrictEqual([repaired.eventType, repaired.actor, repaired.summary],
          ["EventVoided", "repairer", `voided the unreadable event at position ${bad}: written by hand`])

        const incremental = yield* state
        assert.strictEqual(yield* projections.rebuild, voided)
        assert.deepStrictEqual(yield* state, incremental, "a rebuild quarantines and resolves the same")
      })))

    it.effect("a void in one stream never resolves a quarantined event of another", () =>
      run(Effect.gen(function* () {
        const projections = yield* Projections
        const store = yield* EventStore
        const metadata = { actor: "x", correlationId: crypto.randomUUID(), causationId: null }
        yield* store.append(Environment.environmentStream("team-a", "train"), "any", [{
          id: crypto.randomUUID(), type: "Defined", schemaVersion: 1, data: { workspace: "team-a" }, metadata
        }])
        const bad = yield* store.head
        yield* store.append(Environment.environmentStream("team-b", "other"), "any", [
          EventCodec.encode(new EventVoided({ position: bad, reason: "not mine" }), metadata, crypto.randomUUID())
        ])
        yield* projections.catchUp
        assert.deepStrictEqual((yield* (yield* ReadModel).quarantine({})).map((q) => [q.position, q.resolution]), [[bad, null]])
      })))

    it.effect("a definition stored before today's rules projects, incrementally and in a rebuild", () =>
      run(Effect.gen(function* () {
        const projections = yield* Projections
        const store = yield* EventStore
        // Rows as an older Terrarium wrote them, which today's commands would refuse: a spec name
        // not in normal form, a URL with credentials. The log must still read them.
        const legacy = withPip(
          { ...emptyDefinition, spark: { ...emptyDefinition.spark, repositories: ["https://u:tok@maven.example.org/"] } },
          pip("NumPy", ">= 1.2")
        )
        const canonicalHash = yield* CanonicalHash.hash(legacy)
        const metadata = { actor: "legacy", correlationId: crypto.randomUUID(), causationId: null }
        yield* store.append(Environment.environmentStream("team-a", "legacy"), "any", [
          {
            id: crypto.randomUUID(), type: "Defined", schemaVersion: 1, metadata,
            data: { workspace: "team-a", name: "legacy", curated: false, definition: legacy }
          },
          {
            id: crypto.randomUUID(), type: "Registered", schemaVersion: 1, metadata,
            data: { name: "legacy", version: "1", canonicalHash, hashAlgorithm: 1, definition: legacy }
          }
        ])
        const head = yield* store.head
        assert.strictEqual(yield* projections.catchUp, head)
        const versions = yield* (yield* ReadModel).versions({ workspace: "team-a", name: "legacy", includeArchived: true })
        assert.deepStrictEqual(versions.map((v) => [v.version, v.canonicalHash]), [["1", canonicalHash]])
        const incremental = yield* state
        assert.strictEqual(yield* projections.rebuild, head)
        assert.deepStrictEqual(yield* state, incremental)
      })))

    it.effect("an event type this version does not know stops catch-ups and rebuilds before it, changing nothing", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const projections = yield* Projections
        const store = yield* EventStore
        const before = yield* state
        const known = yield* store.head
        // Say, written by a newer Terrarium sharing the log.
        yield* store.append(Environment.environmentStream("team-a", "train"), "any", [{
          id: crypto.randomUUID(), type: "EnvironmentRenamed", schemaVersion: 1, data: { to: "training" },
          metadata: { actor: "x", correlationId: crypto.randomUUID(), causationId: null }
        }])
        for (const attempt of [projections.catchUp, projections.rebuild]) {
          const error = yield* attempt.pipe(Effect.flip)
          assert.strictEqual(error.reason._tag, "UndecodableEvent")
          assert.strictEqual(error.reason._tag === "UndecodableEvent" ? error.reason.position : undefined, known + 1)
          assert.match(error.message, /^projection decode at position \d+ failed: /)
          assert.match(error.message, /type EnvironmentRenamed v1\): unknown event type/)
          assert.strictEqual(yield* projections.checkpoint, known)
          assert.deepStrictEqual(yield* state, before)
        }
      })))

    it.effect("an archived environment is hidden from the list, its versions still read, and its restore brings it back", () =>
      run(Effect.gen(function* () {
        const projections = yield* Projections
        const read = yield* ReadModel
        const hash = yield* CanonicalHash.hash(trainDraft)
        const listed = (includeArchived: boolean) =>
          read.environments({ workspace: "team-z", includeArchived }).pipe(
            Effect.map((rows) => rows.map((r) => [r.name, r.archived, r.latestVersion, r.versionCount, r.archivedVersionCount]))
          )
        // As the decider writes it: the environment's archive, then each version it archives.
        yield* appendAll([["team-z", "old", [
          new Defined({ workspace: "team-z", name: "old", curated: false, definition: trainDraft }),
          registered("old", "1", hash, trainDraft),
          new EnvironmentArchived(),
          new Archived({ version: "1" })
        ]]])
        yield* projections.catchUp
        assert.deepStrictEqual(yield* listed(false), [])
        assert.deepStrictEqual(yield* listed(true), [["old", true, null, 0, 1]])
        assert.deepStrictEqual(
          (yield* read.versions({ workspace: "team-z", name: "old", includeArchived: true })).map((v) => [v.version, v.archived]),
          [["1", true]]
        )
        yield* appendAll([["team-z", "old", [new EnvironmentRestored(), new Restored({ version: "1" })]]])
        yield* projections.catchUp
        assert.deepStrictEqual(yield* listed(false), [["old", false, "1", 1, 0]])
        const trail = yield* read.audit({ workspace: "team-z", name: "old" })
        assert.deepStrictEqual(trail.slice(2).map((a) => [a.eventType, a.version, a.summary]), [
          ["EnvironmentArchived", null, "archived the environment (its versions follow, and new versions start archived)"],
          ["Archived", "1", "archived version 1"],
          ["EnvironmentRestored", null, "restored the environment (the versions its archive covered follow)"],
          ["Restored", "1", "restored version 1"]
        ])
        const incremental = yield* state
        yield* projections.rebuild
        assert.deepStrictEqual(yield* state, incremental, "a rebuild projects the archive as the catch-ups did")
      })))

    it.effect("a metadata update changes a version's description and tags, whether its version is in the same batch or an earlier one", () =>
      run(Effect.gen(function* () {
        const projections = yield* Projections
        const read = yield* ReadModel
        const definition = { ...trainDraft, description: "first", tags: { team: "vision", stage: "dev" } }
        const hash = yield* CanonicalHash.hash(definition)
        const described = (version: string) =>
          read.versions({ workspace: "team-m", name: "meta", includeArchived: true }).pipe(
            Effect.map((rows) => rows.filter((r) => r.version === version).map((r) => ({ description: r.description, tags: r.tags, hash: r.canonicalHash })))
          )
        // One append, one batch: the version row is inserted and updated by the same batch.
        yield* appendAll([["team-m", "meta", [
          new Defined({ workspace: "team-m", name: "meta", curated: false, definition }),
          registered("meta", "1", hash, definition),
          new MetadataUpdated({ version: "1", description: "second", tags: { team: "vision", stage: "prod" } })
        ]]])
        yield* projections.catchUp
        assert.deepStrictEqual(yield* described("1"), [{ description: "second", tags: { stage: "prod", team: "vision" }, hash }])
        // A later batch updates the row an earlier one wrote; no description is none.
        yield* appendAll([["team-m", "meta", [new MetadataUpdated({ version: "1", tags: { owner: "ml" } })]]])
        yield* projections.catchUp
        assert.deepStrictEqual(yield* described("1"), [{ description: null, tags: { owner: "ml" }, hash }])
        const trail = yield* read.audit({ workspace: "team-m", name: "meta" })
        assert.deepStrictEqual(trail.slice(-2).map((a) => [a.eventType, a.version, a.actor, a.summary]), [
          ["MetadataUpdated", "1", "team-m-admin", "updated the description and tags of version 1"],
          ["MetadataUpdated", "1", "team-m-admin", "updated the description and tags of version 1"]
        ])
        const incremental = yield* state
        yield* projections.rebuild
        assert.deepStrictEqual(yield* state, incremental, "a rebuild projects the updates as the catch-ups did")
      })))

    it.effect("read model queries", () =>
      run(Effect.gen(function* () {
        const h = yield* writeAndCatchUp
        const read = yield* ReadModel

        // versions: history in registration order, archived only when asked
        const active = yield* read.versions({ workspace: "team-a", includeArchived: false })
        assert.deepStrictEqual(active.map((v) => `${v.name}/${v.version}`), ["train/2", "train/3"])
        const all = yield* read.versions({ workspace: "team-a", includeArchived: true })
        assert.deepStrictEqual(all.map((v) => `${v.name}/${v.version}:${v.archived}`),
          ["train/1:true", "base-cpu/1:true", "train/2:false", "train/3:false"])
        const train = yield* read.versions({ workspace: "team-a", name: "train", includeArchived: true })
        assert.deepStrictEqual(train.map((v) => v.canonicalHash), [h.train1, h.train2, h.train3])
        const [v1, v2, v3] = train
        assert.instanceOf(v1!.archivedAt, Date)
        assert.strictEqual(v3!.archivedAt, null)
        assert.strictEqual(v2!.environmentType, "system-managed")
        assert.strictEqual(v2!.description, "training")
        assert.deepStrictEqual(v2!.tags, { team: "vision" })
        assert.strictEqual(v2!.createdBy, "team-a-admin")
        assert.strictEqual(v2!.hashAlgorithm, CanonicalHash.ALGORITHM_VERSION)
        assert.instanceOf(v2!.createdAt, Date)
        assert.isBelow(v1!.registeredPosition, v2!.registeredPosition)
        const baseCpuVersions = yield* read.versions({ workspace: "team-a", name: "base-cpu", includeArchived: true })
        assert.strictEqual(baseCpuVersions[0]!.environmentType, "user-managed")

        // environments: one row per name; a fully archived one only when asked
        const envs = yield* read.environments({ workspace: "team-a", includeArchived: false })
        assert.deepStrictEqual(envs.map((e) => [e.name, e.latestVersion, e.versionCount, e.archivedVersionCount, e.environmentType]), [
          ["draft-only", null, 0, 0, "system-managed"],
          ["train", "3", 2, 1, "system-managed"]
        ])
        const withArchived = yield* read.environments({ workspace: "team-a", includeArchived: true })
        assert.deepStrictEqual(withArchived.map((e) => [e.name, e.archived, e.environmentType]), [
          ["base-cpu", true, "user-managed"], ["draft-only", false, "system-managed"], ["train", false, "system-managed"]
        ])
        const trainSummary = withArchived.find((e) => e.name === "train")!
        const trainAudit = yield* read.audit({ workspace: "team-a", name: "train" })
        assert.strictEqual(trainSummary.updatedPosition, trainAudit.at(-1)!.position)
        assert.deepStrictEqual(trainSummary.updatedAt, trainAudit.at(-1)!.occurredAt)
        assert.isFalse(trainSummary.curated)
        const curatedEnvs = yield* read.environments({ workspace: "azureml", includeArchived: false })
        assert.deepStrictEqual(curatedEnvs.map((e) => [e.name, e.curated, e.environmentType, e.latestVersion]), [[CURATED, true, "curated", "2"]])

        // labels: latest follows archive/restore; removed labels are gone
        const labels = yield* read.labels({ workspace: "team-a", name: "train" })
        assert.deepStrictEqual(labels.map((l) => [l.label, l.version]), [["latest", "3"], ["prod", "2"]])
        const latest = labels[0]!
        const restoredAt = trainAudit.find((a) => a.eventType === "Restored")!
        assert.strictEqual(latest.position, restoredAt.position, "latest last moved when version 3 was restored")
        assert.deepStrictEqual(latest.movedAt, restoredAt.occurredAt)
        assert.deepStrictEqual(yield* read.labels({ workspace: "team-a", name: "base-cpu" }), [])
        assert.deepStrictEqual((yield* read.labels({ workspace: "team-b", name: "train" })).map((l) => [l.label, l.version]), [["latest", "1"]])

        // curated catalog: latest version of each curated environment
        const catalog = yield* read.curatedCatalog()
        assert.deepStrictEqual(catalog.map((c) => ({ ...c, latestCreatedAt: c.latestCreatedAt instanceof Date })), [{
          workspace: "azureml", name: CURATED, latestVersion: "2", description: "Scikit-learn 1.5.2",
          tags: { framework: "sklearn", os: "ubuntu22.04" }, canonicalHash: h.sklearn2,
          hashAlgorithm: CanonicalHash.ALGORITHM_VERSION, latestCreatedAt: true
        }])

        // cache lookup: every registration of a hash, sharing its image
        const shared = yield* read.cacheLookup(h.train2)
        assert.deepStrictEqual(shared.map((c) => `${c.workspace}/${c.name}/${c.version}`), ["team-a/train/2", "team-b/train/1"])
        for (const entry of shared) {
          assert.deepStrictEqual({ ...entry.image!, builtAt: entry.image!.builtAt instanceof Date }, {
            registry: "registry.local:5000", repository: "terrarium/train", tag: "2",
            digest: `sha256:${"d1".repeat(32)}`, buildId: "b-1", builtAt: true
          })
        }
        assert.deepStrictEqual((yield* read.cacheLookup(h.train1)).map((c) => c.image), [null])
        assert.deepStrictEqual((yield* read.cacheLookup(h.sklearn2)).map((c) => c.image), [null], "a failed build leaves no image")
        assert.deepStrictEqual(yield* read.cacheLookup("sha256:unknown"), [])

        // audit: by position, human lines, up to a position
        assert.deepStrictEqual(trainAudit.map((a) => a.summary), [
          "defined system-managed environment train",
          "added pip package numpy>=1.2",
          "set variable OMP_NUM_THREADS",
          `registered version 1 (${h.train1.slice(0, 19)}…)`,
          "set label prod → 1",
          "added pip package torch==2.3.0",
          `registered version 2 (${h.train2.slice(0, 19)}…)`,
          "moved label prod 1 → 2",
          "set label staging → 2",
          "requested image build b-1 for version 2",
          `built image registry.local:5000/terrarium/train:2 (sha256:d1d1d1d1d1d1…) for version 2 in 61.5 s`,
          "set variable CUDA",
          `registered version 3 (${h.train3.slice(0, 19)}…)`,
          "archived version 3",
          "archived version 1",
          "restored version 3",
          "removed label staging (was 2)"
        ])
        const positions = trainAudit.map((a) => a.position)
        assert.deepStrictEqual(positions, [...positions].sort((a, b) => a - b))
        const firstStepEnd = trainAudit[4]!.position
        const asOf = yield* read.audit({ workspace: "team-a", name: "train", untilPosition: firstStepEnd })
        assert.strictEqual(asOf.length, 5)
        assert.deepStrictEqual(asOf, trainAudit.slice(0, 5))
        const registeredEntry = trainAudit[3]!
        assert.strictEqual(registeredEntry.version, "1")
        assert.strictEqual(registeredEntry.actor, "team-a-admin")
        assert.strictEqual(registeredEntry.causationId, null)
        assert.strictEqual(registeredEntry.correlationId, trainAudit[0]!.correlationId, "one append, one correlation id")
        assert.strictEqual((registeredEntry.details as { canonicalHash: string }).canonicalHash, h.train1)
        // Every event is at today's schema version, so its details are what was stored.
        const logged = yield* EventStore.use((s) => Stream.runCollect(s.readAll({ after: 0 })))
        const audited = yield* allAudit
        assert.strictEqual(audited.length, logged.filter((e) => envelopeOf(e) !== undefined).length)
        for (const entry of audited) {
          assert.deepStrictEqual(entry.details, logged.find((e) => e.position === entry.position)!.data, `details at ${entry.position}`)
        }
        const workspaceAudit = yield* read.audit({ workspace: "team-a" })
        assert.deepStrictEqual([...new Set(workspaceAudit.map((a) => a.name))].sort(), ["base-cpu", "draft-only", "train"])
      })))
  })
}
