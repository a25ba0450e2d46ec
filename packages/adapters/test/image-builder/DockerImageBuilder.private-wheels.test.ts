/**
 * Private wheels on the project's Docker engine: a definition listing an uploaded wheel builds,
 * the wheel (and the public package it depends on) imports in the image, and the read URL the
 * build was given, a SAS from Azurite or the file-system store's loopback URL, is in no build log
 * line, no file of any image layer, no `docker history --no-trunc` and no `docker inspect`.
 */
import {
  BlobStore,
  type BuildProgress,
  type Definition,
  emptyDefinition,
  formatWheelReference,
  ImageBuilder,
  type PipRequirement,
  type PrivateWheelRef,
  wheelBlobName
} from "@terrarium/domain"
import { Effect, Layer, Redacted } from "effect"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AzureBlobStore } from "../../src/blob-store/azure/AzureBlobStore.ts"
import { FileSystemBlobStore } from "../../src/blob-store/file-system/FileSystemBlobStore.ts"
import * as DockerImageBuilder from "../../src/image-builder/docker/DockerImageBuilder.ts"
import { testDockerEngine } from "../../../../test/support/DockerEngine.ts"
import { buildWheelFiles, type PackageIndex, startPackageIndex } from "../../../../test/support/PackageIndex.ts"
import { searchImage, searchTexts } from "../../../../test/support/SecretSearch.ts"
import { type Azurite, startAzurite } from "../blob-store/Azurite.ts"

const engine = testDockerEngine()
const builder = DockerImageBuilder.layerWith({ host: engine.dockerHost })

let index: PackageIndex | undefined
let wheel: { readonly file: string; readonly bytes: Buffer; readonly ref: PrivateWheelRef; readonly remove: () => void } | undefined
let emulator: Azurite | undefined
let blobRoot: string | undefined

beforeAll(async () => {
  index = await startPackageIndex([{ name: "demo-public", version: "1.0" }])
  const built = await buildWheelFiles([{
    name: "secret-pkg",
    version: "1.0",
    requires: ["demo-public==1.0"],
    body: "import demo_public\nVERSION = '1.0'\n"
  }])
  const file = built.files[0]!
  const bytes = readFileSync(file)
  wheel = { file, bytes, ref: { workspace: "team", fileName: basename(file), sha256: createHash("sha256").update(bytes).digest("hex") }, remove: built.remove }
  emulator = await startAzurite()
  blobRoot = mkdtempSync(join(tmpdir(), "terrarium-wheel-blobs-"))
}, 120_000)

afterAll(async () => {
  await index?.close()
  wheel?.remove()
  await emulator?.dispose()
  if (blobRoot !== undefined) rmSync(blobRoot, { recursive: true, force: true })
})

const pip = (name: string, specifier: string, url?: string): PipRequirement => ({
  kind: "pip",
  name,
  extras: [],
  specifier,
  ...(url === undefined ? {} : { url }),
  text: url ?? `${name}${specifier}`
})

const definitionOf = (requirements: ReadonlyArray<PipRequirement>): Definition => ({
  ...emptyDefinition,
  docker: { ...emptyDefinition.docker, base: { kind: "image", image: engine.baseImage } },
  python: {
    userManagedDependencies: false,
    interpreterPath: "python",
    conda: {
      channels: [],
      conda: [],
      pip: requirements,
      pipOptions: { indexUrl: index!.url, extraIndexUrls: [], findLinks: [], constraints: [], flags: [] }
    }
  }
})

const definitionWith = (reference: string): Definition => definitionOf([pip("demo-public", "==1.0"), pip("secret-pkg", "", reference)])

/**
 * What another test file does at the same time on the shared engine: a `--no-cache` build of
 * another definition on the same base. Its `python3 -m venv` layer is the newest on the engine,
 * which the classic builder takes for the next build of any definition with pip packages.
 */
const buildNeighbourWithoutCache = () =>
  Effect.gen(function*() {
    const images = yield* ImageBuilder
    yield* images.build({
      hash: `sha256:${"ef".repeat(32)}`,
      image: "terrarium-test/private-wheel:no-cache-neighbour",
      definition: definitionOf([pip("demo-public", "==1.0")]),
      noCache: true
    }, () => Effect.void)
  }).pipe(Effect.provide(builder))

/**
 * Stores the wheel, asks the store for a read URL, builds with it, and returns the URL, the
 * build's log lines and what it built.
 */
const buildWithPrivateWheel = (store: Layer.Layer<BlobStore>, tag: string, noCache = false) =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    const images = yield* ImageBuilder
    yield* blobs.put(wheelBlobName(wheel!.ref), wheel!.bytes)
    const reference = formatWheelReference(wheel!.ref)
    const url = yield* blobs.readUrl(wheelBlobName(wheel!.ref), { lifetimeSeconds: 600 })
    const lines: Array<string> = []
    const progress = (event: BuildProgress) => Effect.sync(() => void lines.push(event._tag === "Log" ? event.line : `step ${event.name}`))
    const definition = definitionWith(reference)
    const built = yield* images.build({
      hash: `sha256:${"ab".repeat(32)}`,
      image: `terrarium-test/private-wheel:${tag}`,
      definition,
      noCache,
      privateWheels: [{ reference, fileName: wheel!.ref.fileName, sha256: wheel!.ref.sha256, url }]
    }, progress)
    return { url: Redacted.value(url), lines, built }
  }).pipe(Effect.scoped, Effect.provide(Layer.merge(builder, store)))

const azureStore = () =>
  AzureBlobStore.layerWith({ connectionString: Redacted.make(emulator!.connectionString), container: "wheels", maxTries: 2 })
const fileStore = () => FileSystemBlobStore.layerWith({ root: blobRoot! }).pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)))

describe("private wheels in Docker builds", () => {
  it("Azure: the SAS reaches pip as a BuildKit secret; the wheel and its dependency import; the SAS is in no log, layer, history or inspect", async () => {
    const { url, lines, built } = await Effect.runPromise(buildWithPrivateWheel(azureStore(), "azure"))
    const signature = new URL(url).searchParams.get("sig")!
    expect(url).toContain("sig=")
    expect(signature.length).toBeGreaterThan(20)
    // The build really installed it from the store, in a BuildKit step with the secret mounted.
    expect(built.resolved.pip.map((p) => `${p.name} ${p.version}`)).toEqual(expect.arrayContaining(["secret-pkg 1.0", "demo-public 1.0"]))
    expect(lines.join("\n")).toContain("--mount=type=secret,id=terrarium-wheels")
    expect(lines.join("\n")).toContain(`terrarium-wheels: ${wheel!.ref.fileName}`)
    const needles = [url, signature, encodeURIComponent(signature), new URL(url).search]
    expect(searchTexts({ log: lines.join("\n") }, needles)).toEqual([])
    const image = searchImage(engine.dockerHost, built.image, needles, engine.baseImage)
    expect(image.layers).toBeGreaterThan(2)
    expect(image.hits).toEqual([])
  }, 600_000)

  it("file system: the loopback URL's token is the secret, and it is nowhere either; a second build reuses the cached step, whatever was built in between", { timeout: 600_000 }, async () => {
    const first = await Effect.runPromise(buildWithPrivateWheel(fileStore(), "files"))
    const token = new URL(first.url).pathname.split("/")[1]!
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    const needles = [first.url, token]
    expect(searchTexts({ log: first.lines.join("\n") }, needles)).toEqual([])
    const image = searchImage(engine.dockerHost, first.built.image, needles, engine.baseImage)
    expect(image.hits).toEqual([])
    // In between, another definition is built without cache (in a full run, another test file
    // does so at any moment): this hash's rebuild still reuses its own layers, not the newest.
    await Effect.runPromise(buildNeighbourWithoutCache())
    // Another URL (another token), same wheel: BuildKit's cache key has no secret in it.
    const second = await Effect.runPromise(buildWithPrivateWheel(fileStore(), "files-again"))
    expect(second.url).not.toBe(first.url)
    expect(second.built.imageId).toBe(first.built.imageId)
    // Every step but FROM reused, the BuildKit step among them.
    expect(second.built.cachedSteps).toBe(second.built.totalSteps - 1)
    expect(second.lines.join("\n")).toMatch(/\[3\/3\] RUN --mount=type=secret[^\n]*\n#\d+ sha256:[0-9a-f]+\n#\d+ CACHED/)
  })

  it("a URL that no longer answers fails the step, naming the wheel and the status, never the URL", async () => {
    const program = Effect.gen(function*() {
      const images = yield* ImageBuilder
      const reference = formatWheelReference(wheel!.ref)
      const dead = `http://127.0.0.1:9/${"0".repeat(64)}/${wheel!.ref.fileName}`
      const lines: Array<string> = []
      const error = yield* Effect.flip(images.build({
        hash: `sha256:${"cd".repeat(32)}`,
        image: "terrarium-test/private-wheel:dead",
        definition: definitionWith(reference),
        noCache: true,
        privateWheels: [{ reference, fileName: wheel!.ref.fileName, sha256: wheel!.ref.sha256, url: Redacted.make(dead) }]
      }, (event) => Effect.sync(() => void lines.push(event._tag === "Log" ? event.line : event.name))))
      return { error, lines, dead }
    }).pipe(Effect.provide(builder))
    const { error, lines, dead } = await Effect.runPromise(program)
    expect(error.reason._tag).toBe("StepFailed")
    expect(error.message).toContain(`${wheel!.ref.fileName}: the download failed`)
    expect(error.message).not.toContain(dead)
    expect(lines.join("\n")).not.toContain(dead)
  }, 600_000)
})
