/**
 * The curated catalog: the committed data is what the generator makes from the corpus (so it
 * cannot drift silently), a new release adds versions and never rewrites one, and the use cases
 * (publish, list, clone, the read-only rules) over the in-memory ports.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { CanonicalHash, CuratedCatalog, type Definition, Environment, EventCodec, EventStore } from "@terrarium/domain"
import { Effect, Layer, Result } from "effect"
import { existsSync, readFileSync } from "node:fs"
import {
  catalogFile,
  catalogText,
  committedCatalog,
  defaultCorpus,
  generateCatalog,
  releaseFile,
  releaseText
} from "../catalog/CatalogGenerator.ts"
import { CURATED_DIGEST, CURATED_RELEASE, CURATED_VERSIONS } from "../src/catalog/CuratedRelease.ts"
import { make } from "../src/Terrarium.ts"
import { layerPortsMemory } from "./support/MemoryPorts.ts"

const committed = committedCatalog()

describe("the committed curated catalog", () => {
  it("is what scripts/curated-catalog.ts makes from the corpus (run it after the corpus changes)", async () => {
    assert.isTrue(existsSync(defaultCorpus), `no corpus at ${defaultCorpus}`)
    assert.isDefined(committed, `no catalog at ${catalogFile}`)
    const generated = await generateCatalog(defaultCorpus, committed)
    assert.strictEqual(catalogText(generated), readFileSync(catalogFile, "utf8"), "the catalog data")
    assert.strictEqual(releaseText(generated), readFileSync(releaseFile, "utf8"), "the release marker")
  })

  it("holds the 62 curated environments of the corpus, each at version 1, with the hash of its definition", async () => {
    const catalog = committed!
    assert.strictEqual(catalog.environments.length, 62)
    assert.strictEqual(catalog.release, CURATED_RELEASE)
    assert.strictEqual(CURATED_VERSIONS, 62)
    for (const entry of catalog.environments) {
      assert.match(entry.name, /^AzureML-/)
      assert.strictEqual(entry.version, "1")
      assert.strictEqual(await Effect.runPromise(CanonicalHash.hash(entry.definition)), entry.canonicalHash, entry.name)
      // A base image the registry can pull: the pipeline's `{{latest-image-tag}}` is resolved.
      assert.strictEqual(entry.definition.docker.base.kind, "image")
      assert.notInclude(JSON.stringify(entry.definition.docker), "{{", entry.name)
    }
  })

  it("adds a version for a changed definition and keeps the one shipped before (never rewrites it)", async () => {
    const catalog = committed!
    const [first, ...rest] = catalog.environments
    // As if the release before had shipped other content under version 1 of the first environment.
    const shippedBefore = { ...first!, canonicalHash: `sha256:${"0".repeat(64)}`, definition: { ...first!.definition, variables: { OLD: "1" } } }
    const next = await generateCatalog(defaultCorpus, { ...catalog, environments: [shippedBefore, ...rest] })
    const versions = next.environments.filter((e) => e.name === first!.name)
    assert.deepStrictEqual(versions.map((v) => v.version), ["1", "2"])
    // Kept as it was shipped; only its hash is computed again, under the current hash algorithm.
    assert.deepStrictEqual(versions[0], { ...shippedBefore, canonicalHash: await Effect.runPromise(CanonicalHash.hash(shippedBefore.definition)) })
    assert.strictEqual(versions[1]!.canonicalHash, first!.canonicalHash, "the corpus's content is version 2")
    assert.strictEqual(next.environments.length, catalog.environments.length + 1)
  })
})

const sklearn = "AzureML-sklearn-1.5"

/** Appends events past the service, as another writer would (here: a catalog of another build). */
const appendCurated = (name: string, version: string, definition: Definition) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const canonicalHash = yield* CanonicalHash.hash(definition)
    const command = new Environment.Create({ workspace: CuratedCatalog.CURATED_WORKSPACE, name, curated: true, definition, canonicalHash, version })
    const events = Result.getOrThrow(Environment.decide(command, Environment.initialState))
    const meta = { actor: "another-build", correlationId: crypto.randomUUID(), causationId: null }
    yield* store.append(Environment.environmentStream(CuratedCatalog.CURATED_WORKSPACE, name), 0, events.map((e) => EventCodec.encode(e, meta, crypto.randomUUID())))
    return canonicalHash
  })

layer(Layer.mergeAll(layerPortsMemory, NodeFileSystem.layer))("publishing the curated catalog", (it) => {
  it.effect("publishes every version once, records the release, and refuses (never rewrites) a version registered with other content", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const entry = committed!.environments.find((e) => e.name === sklearn)!
      const other = { ...entry.definition, variables: { PATCHED: "by someone else" } }
      const otherHash = yield* appendCurated(sklearn, "1", other)
      const t = yield* make({ actor: "tester" })

      const first = yield* t.syncCurated({})
      assert.isTrue(first.published)
      assert.strictEqual(first.added.length, 61)
      assert.deepStrictEqual(first.refused.map((r) => `${r.name}:${r.version}`), [`${sklearn}:1`])
      assert.include(first.refused[0]!.reason, "immutable")
      const catalog = yield* t.curatedCatalog
      assert.strictEqual(catalog.length, 62)
      assert.strictEqual(catalog.find((r) => r.name === sklearn)?.canonicalHash, otherHash, "the version there was not rewritten")
      const marker = yield* store.readStream(CuratedCatalog.catalogStream)
      assert.strictEqual(marker.length, 1)
      assert.strictEqual((marker[0]!.data as { digest: string }).digest, CURATED_DIGEST)

      const head = yield* store.head
      const again = yield* t.syncCurated({})
      assert.isFalse(again.published, "the release is recorded: the catalog is not read again")
      assert.strictEqual(yield* store.head, head, "nothing appended")
      const forced = yield* t.syncCurated({ force: true })
      assert.isTrue(forced.published)
      assert.deepStrictEqual(forced.added, [])
      assert.strictEqual(forced.unchanged, 61)
      assert.strictEqual(forced.refused.length, 1)
      assert.strictEqual(yield* store.head, head + 1, "only the record of the release")
    }))

  it.effect("clone: a curated environment into a draft with provenance, customised and registered; the curated one unchanged", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const t = yield* make({ actor: "tester" })
      yield* t.syncCurated({})
      const workspace = "team-clone"
      const source = yield* t.show({ workspace, ref: { name: "AzureML-lightgbm-3.3", label: "latest" } })
      assert.strictEqual(source.workspace, CuratedCatalog.CURATED_WORKSPACE, "a curated name is read from the catalog")
      const clone = yield* t.clone({ workspace, source: { name: "AzureML-lightgbm-3.3", label: "latest" }, name: "my-lightgbm" })
      assert.deepStrictEqual(clone.clonedFrom, {
        workspace: CuratedCatalog.CURATED_WORKSPACE,
        name: "AzureML-lightgbm-3.3",
        version: source.version,
        canonicalHash: source.canonicalHash,
        hashAlgorithm: source.hashAlgorithm
      })
      assert.deepStrictEqual(clone.definition, source.definition)
      assert.strictEqual(clone.canonicalHash, source.canonicalHash)
      yield* t.addPackage({ workspace, name: "my-lightgbm", spec: { kind: "pip", name: "rich", extras: [], specifier: "==13.7.1", text: "rich==13.7.1" } })
      const registered = yield* t.register({ workspace, name: "my-lightgbm" })
      assert.strictEqual(registered.version, "1")
      assert.notStrictEqual(registered.canonicalHash, source.canonicalHash)
      assert.strictEqual(registered.environmentType, "system-managed")
      const after = yield* t.show({ workspace, ref: { name: "AzureML-lightgbm-3.3", label: "latest" } })
      assert.deepStrictEqual(after, { ...source, asOfPosition: after.asOfPosition }, "the curated environment is unchanged")
      const audit = yield* t.audit({ workspace, name: "my-lightgbm" })
      assert.include(audit[0]!.summary, `as a clone of azureml/AzureML-lightgbm-3.3:${source.version}`)

      // A user environment can be cloned too, from another workspace.
      const again = yield* t.clone({ workspace: "team-two", source: { name: "my-lightgbm", version: "1" }, name: "lightgbm-b", sourceWorkspace: workspace })
      assert.strictEqual(again.clonedFrom.canonicalHash, registered.canonicalHash)

      // Bad input: a clear error, nothing appended.
      const head = yield* store.head
      const refusals: ReadonlyArray<readonly [string, Effect.Effect<unknown, { readonly _tag: string; readonly message: string }>]> = [
        ["CuratedReadOnly", t.addPackage({ workspace, name: "AzureML-lightgbm-3.3", spec: { kind: "pip", name: "rich", extras: [], specifier: "", text: "rich" } })],
        ["CuratedReadOnly", t.register({ workspace, name: "AzureML-lightgbm-3.3" })],
        ["CuratedReadOnly", t.archive({ workspace, ref: { name: "AzureML-lightgbm-3.3", version: "1" } })],
        ["CuratedReadOnly", t.update({ workspace, ref: { name: "AzureML-lightgbm-3.3", version: "1" }, description: "mine" })],
        ["CuratedReadOnly", t.label({ workspace, ref: { name: "AzureML-lightgbm-3.3", version: "1" }, label: "prod" })],
        ["InvalidInput", t.addPackage({ workspace: CuratedCatalog.CURATED_WORKSPACE, name: "AzureML-lightgbm-3.3", spec: { kind: "pip", name: "rich", extras: [], specifier: "", text: "rich" } })],
        ["InvalidInput", t.clone({ workspace: CuratedCatalog.CURATED_WORKSPACE, source: { name: "my-lightgbm", version: "1" }, name: "AzureML-mine", sourceWorkspace: workspace })],
        ["ReservedPrefix", t.clone({ workspace, source: { name: "AzureML-lightgbm-3.3", label: "latest" }, name: "azureml-lightgbm" })],
        ["ReservedPrefix", t.clone({ workspace, source: { name: "AzureML-lightgbm-3.3", label: "latest" }, name: "\u041Cicrosoft-lightgbm" })],
        ["ReservedPrefix", t.create({ workspace, name: "Micro\u200Bsoft-x", definition: source.definition })],
        ["AlreadyDefined", t.clone({ workspace, source: { name: "AzureML-lightgbm-3.3", label: "latest" }, name: "my-lightgbm" })],
        ["EnvironmentNotFound", t.clone({ workspace, source: { name: "AzureML-no-such", label: "latest" }, name: "x" })],
        ["VersionNotFound", t.clone({ workspace, source: { name: "AzureML-lightgbm-3.3", version: "99" }, name: "x" })],
        ["InvalidInput", t.clone({ workspace, source: { name: "AzureML-lightgbm-3.3", label: "latest" }, name: "bad name" })]
      ]
      for (const [expected, attempt] of refusals) {
        const error = yield* Effect.flip(attempt)
        const tag = error._tag === "EnvironmentError" ? (error as unknown as Environment.EnvironmentError).reason._tag : error._tag
        assert.strictEqual(tag, expected, error.message)
      }
      assert.strictEqual(yield* store.head, head, "nothing appended")
    }))
})
