/**
 * An export written into a blob store (`ExportBlobs.ts`), on the file system, in memory and on
 * Azure (Azurite, started here with telemetry off and stopped by its PID): the files as blobs
 * under `exports/<ws>/<name>/<version>/<format>/`, a `.`-segment escaped, links and execute bits in
 * the index written last; names a store would refuse are refused before anything is written;
 * Azurite stopped in the middle leaves no index and a clear error, and writing again makes it whole.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { BlobStore, getBlobBytes } from "@terrarium/domain"
import { Effect, Layer, Option, Redacted, Stream } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { AzureBlobStore } from "../../src/blob-store/azure/AzureBlobStore.ts"
import { FileSystemBlobStore } from "../../src/blob-store/file-system/FileSystemBlobStore.ts"
import { MemoryBlobStore } from "../../src/blob-store/memory/MemoryBlobStore.ts"
import type { DefinitionExport } from "../../src/exporters/DefinitionExport.ts"
import { writeExportBlobs } from "../../src/exporters/ExportBlobs.ts"
import { type Azurite, startAzurite } from "../blob-store/Azurite.ts"

let emulator: Azurite | undefined
beforeAll(async () => { emulator = await startAzurite() }, 60_000)
afterAll(async () => { await emulator?.dispose() })

const subject = { workspace: "team-a", name: "pydata", version: "1", canonicalHash: "sha256:abc" }

const exported: DefinitionExport = {
  format: "azureml-v2",
  entry: "environment.yml",
  managedFiles: [],
  leftOut: [],
  files: [
    { path: "environment.yml", text: "name: pydata\n" },
    { path: "docker/Dockerfile", text: "FROM python\n" },
    { path: "docker/.dockerignore", text: "*.pyc\n" },
    { path: "docker/run.sh", content: new TextEncoder().encode("#!/bin/sh\n"), executable: true },
    { path: "docker/current", linkTarget: "run.sh" }
  ]
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const names = Effect.flatMap(BlobStore, (blobs) => Effect.map(Stream.runCollect(blobs.list("")), (all) => all.map((b) => b.name)))

const writesAndRefuses = (label: string, store: () => Layer.Layer<BlobStore>, where: (location: string) => string) =>
  describe(`an export in a blob store: ${label}`, () => {
    it.effect("its files are blobs under exports/WS/NAME/VERSION/FORMAT/, its index lists links and execute bits", () =>
      Effect.gen(function*() {
        const stored = yield* writeExportBlobs(subject, exported)
        const blobs = yield* BlobStore
        const prefix = "exports/team-a/pydata/1/azureml-v2"
        assert.strictEqual(stored.prefix, prefix)
        assert.strictEqual(stored.where, where(blobs.location))
        assert.deepStrictEqual(yield* names, [
          `${prefix}.json`,
          `${prefix}/docker/Dockerfile`,
          `${prefix}/docker/run.sh`,
          `${prefix}/docker/~.dockerignore`,
          `${prefix}/environment.yml`
        ])
        assert.strictEqual(text(yield* getBlobBytes(blobs, `${prefix}/environment.yml`)), "name: pydata\n")
        const index = JSON.parse(text(yield* getBlobBytes(blobs, `${prefix}.json`)))
        assert.strictEqual(index.canonicalHash, "sha256:abc")
        assert.strictEqual(index.entry, "environment.yml")
        assert.deepStrictEqual(index.entries.find((e: any) => e.path === "docker/current"), { path: "docker/current", linkTarget: "run.sh" })
        const script = index.entries.find((e: any) => e.path === "docker/run.sh")
        assert.strictEqual(script.executable, true)
        assert.strictEqual(script.size, 10)
        assert.match(script.sha256, /^[0-9a-f]{64}$/)
        assert.strictEqual(index.entries.find((e: any) => e.path === "docker/.dockerignore").blob, `${prefix}/docker/~.dockerignore`)
      }).pipe(Effect.provide(store())))

    it.effect("a name the store would refuse fails the export naming it, and nothing is written", () =>
      Effect.gen(function*() {
        const control = yield* Effect.flip(writeExportBlobs(subject, { ...exported, files: [...exported.files, { path: "docker/bad\u0007name", text: "x" }] }))
        assert.strictEqual(control.path, "docker/bad\u0007name")
        assert.include(control.detail, "control character")
        assert.include(control.detail, "nothing was written")
        const long = yield* Effect.flip(writeExportBlobs({ ...subject, version: "v".repeat(300) }, exported))
        assert.include(long.detail, "longer than 255 bytes")
        assert.deepStrictEqual(yield* names, [])
      }).pipe(Effect.provide(store())))
  })

writesAndRefuses("file system", () =>
  FileSystemBlobStore.layerWith({ root: join(mkdtempSync(join(tmpdir(), "terrarium-export-blobs-")), "home") }).pipe(
    Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
  ), (location) => `${location.slice("file://".length)}/exports/team-a/pydata/1/azureml-v2/`)

writesAndRefuses("memory", () => MemoryBlobStore.layer, () => "memory:exports/team-a/pydata/1/azureml-v2/")

let containers = 0
const azure = (maxTries = 2) =>
  Layer.unwrap(Effect.sync(() =>
    AzureBlobStore.layerWith({ connectionString: Redacted.make(emulator!.connectionString), container: `exports${containers++}`, maxTries })))

writesAndRefuses("Azure (Azurite)", () => azure(), (location) => `${location}/exports/team-a/pydata/1/azureml-v2/`)

it.effect("the file-system store's files are where it says", () =>
  Effect.gen(function*() {
    const stored = yield* writeExportBlobs(subject, exported)
    assert.strictEqual(readFileSync(join(stored.where, "environment.yml"), "utf8"), "name: pydata\n")
    assert.strictEqual(readFileSync(join(stored.where, "docker", "~.dockerignore"), "utf8"), "*.pyc\n")
  }).pipe(Effect.provide(FileSystemBlobStore.layerWith({ root: mkdtempSync(join(tmpdir(), "terrarium-export-blobs-")) }).pipe(
    Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
  ))))

/** Azure, with Azurite stopped (by its PID, waited for) just before the second put. */
const stoppedOnSecondPut = Layer.effect(BlobStore, Effect.gen(function*() {
  const inner = yield* BlobStore
  let puts = 0
  return BlobStore.of({
    ...inner,
    put: (name, body, options) => Effect.andThen(puts++ === 1 ? Effect.promise(() => emulator!.stop()) : Effect.void, inner.put(name, body, options))
  })
})).pipe(Layer.provide(azure(1)))

it.effect("Azurite stopped in the middle: a clear error naming the store, no index; after the restart, writing again makes it whole", () =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    const prefix = "exports/team-a/pydata/1/azureml-v2"
    const error = yield* Effect.flip(writeExportBlobs(subject, exported))
    assert.include(error.detail, `blob store ${blobs.location} is unavailable`)
    assert.include(error.detail, `put of ${prefix}/docker/Dockerfile`)
    assert.include(error.detail, "the export is not whole")
    assert.notInclude(error.detail, "AccountKey")
    yield* Effect.promise(() => emulator!.restart())
    assert.isTrue(Option.isSome(yield* blobs.head(`${prefix}/environment.yml`)))
    assert.isTrue(Option.isNone(yield* blobs.head(`${prefix}.json`)))
    yield* writeExportBlobs(subject, exported)
    assert.isTrue(Option.isSome(yield* blobs.head(`${prefix}.json`)))
    assert.strictEqual(text(yield* getBlobBytes(blobs, `${prefix}/docker/Dockerfile`)), "FROM python\n")
  }).pipe(Effect.provide(stoppedOnSecondPut)), 60_000)
