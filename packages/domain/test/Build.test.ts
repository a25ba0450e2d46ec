import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  BuildFailed, BuildLeaseRenewed, BuildRequested, BuildStarted, decider, driftBetween, hashOfStream, ImageBuilt, ImagePushed, initialState,
  pushesOfBuilt, streamOf, summarize
} from "../src/Build.ts"
import type { FinishBuild, RecordPush, StartBuild } from "../src/Build.ts"
import { fold } from "../src/Decider.ts"
import * as EventCodec from "../src/EventCodec.ts"
import type { RecordedEvent } from "../src/ports/EventStore.ts"
import { DeciderSpecification } from "../src/testing/index.ts"

const spec = DeciderSpecification.for(decider)
const hash = `sha256:${"a".repeat(64)}`
const image = "terrarium/env:aaaaaaaaaaaa"
const requestedBy = { workspace: "team", name: "pydata", version: "2" }
const T = 1_000_000
const LEASE = 30_000

const start = (over: Partial<StartBuild> = {}): StartBuild => ({
  _tag: "StartBuild", canonicalHash: hash, image, requestedBy, buildId: "b1", holder: "host:1", now: T, leaseMs: LEASE,
  noCache: false, imageMissing: false, ...over
})
const requested = (noCache = false) => new BuildRequested({ canonicalHash: hash, image, requestedBy, noCache })
const started = (buildId = "b1", cause: BuildStarted["cause"] = "first", at = T, noCache = false) =>
  new BuildStarted({ buildId, holder: buildId === "b1" ? "host:1" : "host:2", leaseExpiresAt: at + LEASE, noCache, cause })
const lock = (pip: ReadonlyArray<readonly [string, string]>) => ({ conda: [], pip: pip.map(([name, version]) => ({ name, version })) })
const builtFields = (buildId = "b1", pip: ReadonlyArray<readonly [string, string]> = [["demo-a", "1.0"]]): FinishBuild["built"] => ({
  buildId, image, imageId: "sha256:" + "1".repeat(64), sizeBytes: 10, baseImageDigest: null, resolved: lock(pip),
  durationMs: 1200, logKey: `builds/${"a".repeat(64)}/${buildId}`, builderVersion: "memory/1", cachedSteps: 0, totalSteps: 3
})
const built = (buildId = "b1", pip: ReadonlyArray<readonly [string, string]> = [["demo-a", "1.0"]], drift: ImageBuilt["drift"] = []) =>
  new ImageBuilt({ ...builtFields(buildId, pip), drift })
const failed = (buildId = "b1") =>
  new BuildFailed({ buildId, reason: "StepFailed", message: "build step failed: RUN pip", step: "RUN pip", logKey: "builds/x/b1", logTail: ["boom"] })

describe("Build decider", () => {
  it.effect("the first start of a hash requests the build and takes the lease", () =>
    spec.given([]).when(start()).then([requested(), started()]))

  it.effect("a start is refused while another build's lease runs", () =>
    spec.given([requested(), started()]).when(start({ buildId: "b2", holder: "host:2", now: T + LEASE - 1 })).thenFails("BuildInProgress"))

  it.effect("a renewed lease keeps refusing starts past the first expiry", () =>
    spec.given([requested(), started(), new BuildLeaseRenewed({ buildId: "b1", holder: "host:1", leaseExpiresAt: T + 2 * LEASE })])
      .when(start({ buildId: "b2", holder: "host:2", now: T + LEASE + 1 })).thenFails("BuildInProgress"))

  it.effect("an expired lease (its holder died) is taken over", () =>
    spec.given([requested(), started()]).when(start({ buildId: "b2", holder: "host:2", now: T + LEASE }))
      .then([requested(), started("b2", "takeover", T + LEASE)]))

  it.effect("a built hash is not started again", () =>
    spec.given([requested(), started(), built()]).when(start({ buildId: "b2" })).thenFails("AlreadyBuilt"))

  it.effect("--no-cache rebuilds a built hash", () =>
    spec.given([requested(), started(), built()]).when(start({ buildId: "b2", holder: "host:2", noCache: true }))
      .then([requested(true), started("b2", "no-cache", T, true)]))

  it.effect("a built hash whose image vanished from the engine is built again", () =>
    spec.given([requested(), started(), built()]).when(start({ buildId: "b2", holder: "host:2", imageMissing: true }))
      .then([requested(), started("b2", "vanished")]))

  it.effect("a failed hash can be rebuilt", () =>
    spec.given([requested(), started(), failed()]).when(start({ buildId: "b2", holder: "host:2" }))
      .then([requested(), started("b2", "retry")]))

  it.effect("the holder renews its lease; anyone else is told it lost it", () =>
    Effect.gen(function*() {
      yield* spec.given([requested(), started()]).when({ _tag: "RenewLease", buildId: "b1", holder: "host:1", now: T + 10, leaseMs: LEASE })
        .then([new BuildLeaseRenewed({ buildId: "b1", holder: "host:1", leaseExpiresAt: T + 10 + LEASE })])
      yield* spec.given([requested(), started(), requested(), started("b2", "takeover")])
        .when({ _tag: "RenewLease", buildId: "b1", holder: "host:1", now: T + 10, leaseMs: LEASE }).thenFails("LeaseLost")
    }))

  it.effect("a build that lost its lease cannot record its image or its failure", () =>
    Effect.gen(function*() {
      const takenOver = [requested(), started(), requested(), started("b2", "takeover")]
      yield* spec.given(takenOver).when({ _tag: "FinishBuild", built: builtFields("b1") }).thenFails("LeaseLost")
      yield* spec.given(takenOver).when({ _tag: "FailBuild", failed: failed("b1") }).thenFails("LeaseLost")
      yield* spec.given(takenOver).when({ _tag: "FinishBuild", built: builtFields("b2") }).then([built("b2")])
    }))

  it.effect("an expired lease not taken over still lets its holder finish", () =>
    spec.given([requested(), started()]).when({ _tag: "FinishBuild", built: builtFields("b1") }).then([built("b1")]))

  it.effect("a rebuild that resolves other packages records the drift, old → new", () =>
    spec.given([requested(), started(), built("b1", [["demo-a", "1.0"], ["gone", "2"]]), requested(true), started("b2", "no-cache", T, true)])
      .when({ _tag: "FinishBuild", built: builtFields("b2", [["demo-a", "1.1"], ["new", "0.1"]]) })
      .then([built("b2", [["demo-a", "1.1"], ["new", "0.1"]], [
        { manager: "pip", name: "demo-a", from: "1.0", to: "1.1" },
        { manager: "pip", name: "gone", from: "2", to: null },
        { manager: "pip", name: "new", from: null, to: "0.1" }
      ])]))

  const IMAGE_ID = "sha256:" + "1".repeat(64)
  const DIGEST = "sha256:" + "d".repeat(64)
  const push = (over: Partial<RecordPush> = {}): RecordPush => ({
    _tag: "RecordPush", buildId: "b1", imageId: IMAGE_ID, registry: "127.0.0.1:5000", repository: "team/envs",
    tag: "aaaaaaaaaaaaaaaa", digest: DIGEST, ...over
  })
  const pushed = (over: Partial<RecordPush> = {}) => {
    const { _tag, ...fields } = push(over)
    return new ImagePushed({ ...fields, reference: `${fields.registry}/${fields.repository}:${fields.tag}` })
  }

  it.effect("a push of the built image is recorded with its reference and digest", () =>
    spec.given([requested(), started(), built()]).when(push()).then([pushed()]))

  it.effect("a push is refused for a hash that is not built: never asked for, building, or failed", () =>
    Effect.gen(function*() {
      yield* spec.given([]).when(push()).thenFails("NotBuilt")
      yield* spec.given([requested(), started()]).when(push()).thenFails("NotBuilt")
      yield* spec.given([requested(), started(), failed()]).when(push()).thenFails("NotBuilt")
    }))

  it.effect("a push of another build's image than the one built is refused", () =>
    Effect.gen(function*() {
      yield* spec.given([requested(), started(), built()]).when(push({ buildId: "b0" })).thenFails("NotBuilt")
      yield* spec.given([requested(), started(), built()]).when(push({ imageId: "sha256:" + "2".repeat(64) })).thenFails("NotBuilt")
      // After a rebuild, the push of the earlier image is not the hash's image any more.
      yield* spec.given([requested(), started(), built(), requested(true), started("b2", "no-cache"), built("b2")]).when(push())
        .thenFails("NotBuilt")
    }))

  it.effect("the same digest pushed again to the same reference is not recorded twice; another tag or digest is", () =>
    Effect.gen(function*() {
      yield* spec.given([requested(), started(), built(), pushed()]).when(push()).thenNothingHappened()
      yield* spec.given([requested(), started(), built(), pushed()]).when(push({ tag: "pydata-2" })).then([pushed({ tag: "pydata-2" })])
      yield* spec.given([requested(), started(), built(), pushed()]).when(push({ digest: "sha256:" + "e".repeat(64) }))
        .then([pushed({ digest: "sha256:" + "e".repeat(64) })])
      yield* spec.given([requested(), started(), built(), pushed()]).when(push({ registry: "127.0.0.1:5001" }))
        .then([pushed({ registry: "127.0.0.1:5001" })])
    }))

  it("the state keeps the pushes; those of the last image built come newest first", () => {
    const state = fold(decider, [requested(), started(), built(), pushed(), pushed({ tag: "two" })])
    assert.deepStrictEqual(pushesOfBuilt(state).map((p) => p.tag), ["two", "aaaaaaaaaaaaaaaa"])
    assert.strictEqual(state.status, "built")
    const rebuilt = fold(decider, [requested(), started(), built(), pushed(), requested(true), started("b2", "no-cache"), built("b2")])
    assert.strictEqual(rebuilt.pushes.length, 1)
    assert.deepStrictEqual(pushesOfBuilt(rebuilt), [])
    assert.strictEqual(summarize(pushed()), `pushed 127.0.0.1:5000/team/envs:aaaaaaaaaaaaaaaa@${DIGEST} (build b1)`)
  })

  it("the state keeps the last image through a failed rebuild", () => {
    const state = fold(decider, [requested(), started(), built(), requested(true), started("b2", "no-cache"), failed("b2")])
    assert.strictEqual(state.status, "failed")
    assert.strictEqual(state.built?.buildId, "b1")
    assert.strictEqual(state.starts, 2)
    assert.isNull(state.running)
    assert.deepStrictEqual(initialState.status, "none")
  })

  it("drift compares conda and pip by name, case-insensitively, and is empty for equal locks", () => {
    assert.deepStrictEqual(driftBetween(lock([["A", "1"]]), lock([["a", "1"]])), [])
  })

  it("the stream of a hash is in the workspace no workspace can be named, and maps back to its hash", () => {
    const ref = streamOf(hash)
    assert.deepStrictEqual(ref, { workspace: "*", stream: `build/${hash}` })
    assert.strictEqual(hashOfStream(ref.workspace, ref.stream), hash)
    assert.isUndefined(hashOfStream("team", ref.stream))
    assert.isUndefined(hashOfStream("*", "environment/x"))
  })
})

describe("Build codec", () => {
  const recorded = (type: string, data: unknown, schemaVersion = 1): RecordedEvent => ({
    id: "00000000-0000-7000-8000-000000000000", type, schemaVersion, data,
    metadata: { actor: "a", correlationId: "c", causationId: null }, workspace: "*", stream: `build/${hash}`,
    streamVersion: 1, position: 1, occurredAt: new Date(0)
  })

  it.effect("every build event survives encode and decode", () =>
    Effect.gen(function*() {
      for (const event of [requested(), started(), new BuildLeaseRenewed({ buildId: "b1", holder: "h", leaseExpiresAt: 5 }), built("b1", [["x", "1"]], [{ manager: "pip", name: "x", from: null, to: "1" }]), failed(),
        new ImagePushed({ buildId: "b1", imageId: "sha256:1", registry: "r:1", repository: "a/b", tag: "t", reference: "r:1/a/b:t", digest: "sha256:d" })]) {
        const row = EventCodec.encodeBuild(event, { actor: "a", correlationId: "c", causationId: null }, "id")
        assert.strictEqual(row.type, event._tag)
        const back = yield* EventCodec.decodeBuild(recorded(row.type, JSON.parse(JSON.stringify(row.data))))
        assert.deepStrictEqual(back, event)
      }
    }))

  it.effect("a build row of an unknown type, a newer schema or with bad data is refused with the problem named", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* Effect.flip(EventCodec.decodeBuild(recorded("Registered", {})))).problem, "UnknownType")
      assert.strictEqual((yield* Effect.flip(EventCodec.decodeBuild(recorded("BuildFailed", {}, 2)))).problem, "NewerSchema")
      assert.strictEqual((yield* Effect.flip(EventCodec.decodeBuild(recorded("BuildStarted", { buildId: 1 })))).problem, "Malformed")
    }))
})
