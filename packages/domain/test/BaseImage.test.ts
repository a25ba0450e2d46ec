/**
 * Base image refresh in the domain: the build decider's `base-moved` start (given/when/then), and
 * the rules that say whether a built image's base can be checked in its registry.
 */
import { assert, describe, it } from "@effect/vitest"
import { baseCheckOf, parseImageReference } from "../src/BaseImage.ts"
import { BuildRequested, BuildStarted, decider, ImageBuilt, keptImageNameOf, registryDigestOf } from "../src/Build.ts"
import type { FinishBuild, StartBuild } from "../src/Build.ts"
import { type Definition, emptyDefinition } from "../src/Definition.ts"
import { DeciderSpecification } from "../src/testing/index.ts"

const spec = DeciderSpecification.for(decider)
const hash = `sha256:${"a".repeat(64)}`
const image = "terrarium/env:aaaaaaaaaaaaaaaa"
const requestedBy = { workspace: "team", name: "pydata", version: "2" }
const T = 1_000_000
const LEASE = 30_000
const OLD = `sha256:${"0".repeat(64)}`
const NEW = `sha256:${"1".repeat(64)}`
const BASE = "127.0.0.1:5000/team/python"

const start = (over: Partial<StartBuild> = {}): StartBuild => ({
  _tag: "StartBuild", canonicalHash: hash, image, requestedBy, buildId: "b2", holder: "host:2", now: T, leaseMs: LEASE,
  noCache: false, imageMissing: false, ...over
})
const requested = () => new BuildRequested({ canonicalHash: hash, image, requestedBy, noCache: false })
const started = (buildId: string, cause: BuildStarted["cause"]) =>
  new BuildStarted({ buildId, holder: buildId === "b1" ? "host:1" : "host:2", leaseExpiresAt: T + LEASE, noCache: false, cause })
const builtFields = (buildId: string, base: string, numpy: string): FinishBuild["built"] => ({
  buildId, image, imageId: `sha256:${buildId.repeat(32)}`, sizeBytes: 10, baseImageDigest: `${BASE}@${base}`,
  resolved: { conda: [], pip: [{ name: "numpy", version: numpy }] }, durationMs: 1, logKey: `builds/x/${buildId}`,
  builderVersion: "memory/1", cachedSteps: 0, totalSteps: 3
})
const builtOn = (base: string) => [requested(), started("b1", "first"), new ImageBuilt({ ...builtFields("b1", base, "1.0"), drift: [] })]

describe("Build decider: a base image that moved", () => {
  it.effect("given an image built on the old base, a refresh with the new digest starts a build caused by base-moved", () =>
    spec.given(builtOn(OLD)).when(start({ baseMovedTo: NEW })).then([requested(), started("b2", "base-moved")]))

  it.effect("given an image already built on that digest (another refresh was first), nothing starts", () =>
    spec.given(builtOn(NEW)).when(start({ baseMovedTo: NEW })).thenFails("AlreadyBuilt"))

  it.effect("given a refresh's build running, a second refresh waits for it", () =>
    spec.given([...builtOn(OLD), requested(), started("b2", "base-moved")])
      .when(start({ buildId: "b3", holder: "host:3", baseMovedTo: NEW })).thenFails("BuildInProgress"))

  it.effect("the rebuild on the new base records the new digest and the packages that moved", () =>
    spec.given([...builtOn(OLD), requested(), started("b2", "base-moved")])
      .when({ _tag: "FinishBuild", built: builtFields("b2", NEW, "1.1") })
      .then([new ImageBuilt({ ...builtFields("b2", NEW, "1.1"), drift: [{ manager: "pip", name: "numpy", from: "1.0", to: "1.1" }] })]))

  it("the registry digest of a recorded base, and the tag that keeps an old image", () => {
    assert.strictEqual(registryDigestOf(`${BASE}@${NEW}`), NEW)
    assert.isUndefined(registryDigestOf(NEW), "an engine's image id is no registry digest")
    assert.isUndefined(registryDigestOf(null))
    assert.strictEqual(keptImageNameOf(hash, "0192F0E2-AAAA"), "terrarium/env:aaaaaaaaaaaaaaaa-0192f0e2-aaaa")
  })
})

const onRegistry = (over: Partial<Definition["docker"]> = {}): Definition => ({
  ...emptyDefinition,
  docker: {
    ...emptyDefinition.docker,
    base: { kind: "image", image: `${BASE}:3.11` },
    baseImageRegistry: { address: "http://127.0.0.1:5000", username: "env:USER", password: "env:PASSWORD" },
    ...over
  }
})

describe("whether a base can be checked", () => {
  it("a tag in the definition's own registry, with a recorded registry digest: checkable, with its credentials by reference", () => {
    assert.deepStrictEqual(baseCheckOf(onRegistry(), `${BASE}@${OLD}`), {
      _tag: "Checkable", base: `${BASE}:3.11`, registry: "127.0.0.1:5000", repository: "team/python", tag: "3.11", recordedDigest: OLD,
      credentials: { _tag: "Basic", username: "env:USER", password: "env:PASSWORD" }
    })
    const anonymous = baseCheckOf(onRegistry({ baseImageRegistry: { address: "127.0.0.1:5000" }, base: { kind: "image", image: BASE } }), `${BASE}@${OLD}`)
    assert.deepInclude(anonymous, { _tag: "Checkable", tag: "latest", credentials: { _tag: "Anonymous" } })
  })

  it("anything else is not checkable, and says why", () => {
    const why = (definition: Definition, recorded: string | null) => {
      const check = baseCheckOf(definition, recorded)
      return check._tag === "NotCheckable" ? check.why : "checkable"
    }
    assert.include(why(onRegistry(), OLD), "no registry digest")
    assert.include(why(onRegistry(), null), "recorded no base image digest")
    assert.include(why(onRegistry({ base: { kind: "image", image: `${BASE}@${NEW}` } }), `${BASE}@${OLD}`), "pinned to a digest")
    assert.include(why(onRegistry({ base: { kind: "image", image: "python:3.11" } }), `python@${OLD}`), "names no registry")
    assert.include(why(onRegistry({ baseImageRegistry: { address: "127.0.0.1:6000" } }), `${BASE}@${OLD}`), "is not the definition's docker.baseImageRegistry")
    assert.include(why(onRegistry({ base: { kind: "dockerfile", dockerfile: "FROM x\n" } }), `${BASE}@${OLD}`), "Dockerfile")
  })

  it("image references are taken apart as an engine reads them", () => {
    assert.deepStrictEqual(parseImageReference("127.0.0.1:5000/a/b:1"), { registry: "127.0.0.1:5000", repository: "a/b", tag: "1", digest: undefined })
    assert.deepStrictEqual(parseImageReference("localhost/b"), { registry: "localhost", repository: "b", tag: undefined, digest: undefined })
    assert.deepStrictEqual(parseImageReference("library/python:3"), { registry: undefined, repository: "library/python", tag: "3", digest: undefined })
    assert.strictEqual(parseImageReference(`x.io/y@${NEW}`)?.digest, NEW)
    for (const bad of ["", "UPPER/case", "a b", "x.io/y@sha256:zz", "x.io/y:bad tag", `x.io/${"y".repeat(600)}`]) {
      assert.isUndefined(parseImageReference(bad), bad)
    }
  })
})
