/**
 * `terrarium wheel upload` and a build that installs the uploaded wheel, on the real Docker engine,
 * with the wheels (and build logs) in the file-system store and in Azure Blob storage (Azurite):
 * refusals name the file and say why, store nothing and append nothing; an upload is idempotent;
 * a definition lists the printed reference, builds, and the wheel imports in the image. The read
 * URL the build made (the loopback URL's random path, the SAS signature) is searched for in every
 * event the CLI shows, every stored log (files under the home, blobs in the container), every file
 * of every image layer, `docker history --no-trunc` and `docker inspect`: it is in none.
 */
import { AzureBlobStore } from "@terrarium/adapters"
import { BlobStore, getBlobBytes } from "@terrarium/domain"
import { Effect, Redacted, Stream } from "effect"
import { execFileSync } from "node:child_process"
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type Azurite, startAzurite } from "../packages/adapters/test/blob-store/Azurite.ts"
import { testDockerEngine } from "./support/DockerEngine.ts"
import { buildWheelFiles, type PackageIndex, startPackageIndex } from "./support/PackageIndex.ts"
import { searchImage, searchTexts } from "./support/SecretSearch.ts"
import { json, runCli, runCliAsync, tempDir } from "./support/cli.ts"

const engine = testDockerEngine()

/** Every regular file under `dir` with its bytes as latin1 text (so a needle is found in binary files too). */
const filesOf = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.isFile()) out[path] = readFileSync(path).toString("latin1")
    }
  }
  if (existsSync(dir)) walk(dir)
  return out
}

/** The shapes a leaked read URL would have: the loopback store's random path, a SAS signature. */
const URL_SHAPES = [/127\.0\.0\.1:\d+\/[0-9a-f]{64}\//, /[?&]sig=[A-Za-z0-9%+/=]{20,}/]

let index: PackageIndex | undefined
/** One wheel per store and run, so that no build reuses the layers of another on the shared engine: each really downloads. */
const wheels: Record<string, { readonly files: ReadonlyArray<string>; readonly remove: () => void }> = {}
let changed: { readonly files: ReadonlyArray<string>; readonly remove: () => void } | undefined
let emulator: Azurite | undefined
const scratch = tempDir("terrarium-wheel-files-")

beforeAll(async () => {
  index = await startPackageIndex([{ name: "demo-public", version: "1.0" }])
  for (const store of ["files", "azure"]) {
    wheels[store] = await buildWheelFiles([{ name: "secret-pkg", version: "1.0", requires: ["demo-public==1.0"], body: `import demo_public\nSTORE = '${store}'\nRUN = '${crypto.randomUUID()}'\n` }])
  }
  // The same file name, other bytes: a different wheel.
  changed = await buildWheelFiles([{ name: "secret-pkg", version: "1.0", body: "VERSION = 'changed'\n" }])
  emulator = await startAzurite()
}, 300_000)

afterAll(async () => {
  await index?.close()
  for (const built of Object.values(wheels)) built.remove()
  changed?.remove()
  await emulator?.dispose()
  scratch.remove()
})

/** A file in the scratch folder. */
const scratchFile = (name: string, content: string | Buffer) => {
  const path = join(scratch.path, name)
  writeFileSync(path, content)
  return path
}

/** A zip made by Python's zipfile with these entries. */
const pythonZip = (name: string, entries: Record<string, string>) => {
  const path = join(scratch.path, name)
  execFileSync("/usr/bin/python3", ["-c", "import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n  [z.writestr(k, v) for k, v in json.loads(sys.argv[2]).items()]", path, JSON.stringify(entries)])
  return path
}

interface Upload {
  readonly reference: string
  readonly fileName: string
  readonly sha256: string
  readonly stored: boolean
  readonly blob: string
}

describe.each([
  { store: "file system", azure: false, key: "files" },
  { store: "Azure Blob storage (Azurite)", azure: true, key: "azure" }
])("private wheels, $store", ({ azure, key }) => {
  const home = tempDir("terrarium-private-wheels-")
  const container = "wheels-e2e"
  const env = () => ({
    TERRARIUM_HOME: home.path,
    DOCKER_HOST: engine.dockerHost,
    ...(azure ? { TERRARIUM_AZURE_BLOB_CONTAINER: container, AZURE_STORAGE_CONNECTION_STRING: emulator!.connectionString } : {})
  })
  afterAll(() => home.remove())

  /** Every blob of the store, by name, as latin1 text. */
  const storedBlobs = async (): Promise<Record<string, string>> => {
    if (!azure) return filesOf(join(home.path, "blobs"))
    return Effect.runPromise(Effect.gen(function*() {
      const blobs = yield* BlobStore
      const out: Record<string, string> = {}
      for (const info of yield* Stream.runCollect(blobs.list(""))) {
        out[`azure:${info.name}`] = Buffer.from(yield* getBlobBytes(blobs, info.name)).toString("latin1")
      }
      return out
    }).pipe(Effect.provide(AzureBlobStore.layerWith({ connectionString: Redacted.make(emulator!.connectionString), container }))))
  }

  it("refuses what is not a wheel of the name it claims, naming the file and saying why; nothing is stored", { timeout: 300_000 }, async () => {
    const good = wheels[key]!.files[0]!
    const refusals: ReadonlyArray<readonly [string, string]> = [
      [scratchFile("notzip-1.0-py3-none-any.whl", "plain text"), "not a zip archive"],
      [pythonZip("nometa-1.0-py3-none-any.whl", { "nometa-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n" }), "has no nometa-1.0.dist-info/METADATA"],
      [(() => {
        const renamed = join(scratch.path, "other_pkg-1.0-py3-none-any.whl")
        copyFileSync(good, renamed)
        return renamed
      })(), "not other_pkg-1.0.dist-info"],
      [pythonZip("liar-2.0-py3-none-any.whl", {
        "liar-2.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: liar\nVersion: 1.0\n",
        "liar-2.0.dist-info/WHEEL": "Wheel-Version: 1.0\n"
      }), `says version "1.0"`],
      [pythonZip("climb-1.0-py3-none-any.whl", {
        "../../etc/profile.d/evil.sh": "echo owned",
        "climb-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: climb\nVersion: 1.0\n",
        "climb-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n"
      }), "leaves the install folder"],
      [(() => {
        // Sparse: 300 MB that take no disk; refused by its size before it is read.
        const path = scratchFile("huge-1.0-py3-none-any.whl", "")
        execFileSync("truncate", ["-s", "300M", path])
        return path
      })(), "larger than 268435456 bytes"],
      [scratchFile("not-a-wheel.zip", "x"), "ends in .whl"]
    ]
    for (const [file, reason] of refusals) {
      const r = runCli(["wheel", "upload", file], env())
      assert.notStrictEqual(r.status, 0, `${file} was taken`)
      assert.include(r.stderr, basename(file), r.stderr)
      assert.include(r.stderr, reason, r.stderr)
      assert.include(r.stderr, "file", r.stderr)
    }
    assert.deepStrictEqual(Object.keys(await storedBlobs()).filter((n) => n.includes("wheels/")), [])
  })

  let upload: Upload

  it("stores a wheel by content digest, prints its reference, stores the same bytes once, keeps a changed wheel beside it", { timeout: 120_000 }, async () => {
    upload = json<Upload>(runCli(["wheel", "upload", wheels[key]!.files[0]!, "--workspace", "team", "-o", "json"], env()))
    assert.match(upload.reference, /^terrarium\+wheel:\/\/team\/secret_pkg-1\.0-py3-none-any\.whl#sha256=[0-9a-f]{64}$/)
    assert.isTrue(upload.stored)
    const table = runCli(["wheel", "upload", wheels[key]!.files[0]!, "--workspace", "team"], env())
    assert.strictEqual(table.status, 0, table.stderr)
    assert.include(table.stdout, "already stored")
    assert.include(table.stdout, upload.reference)
    const other = json<Upload>(runCli(["wheel", "upload", changed!.files[0]!, "--workspace", "team", "-o", "json"], env()))
    assert.strictEqual(other.fileName, upload.fileName)
    assert.notStrictEqual(other.reference, upload.reference)
    const names = Object.keys(await storedBlobs()).filter((n) => n.includes("wheels/"))
    assert.strictEqual(names.length, 2, names.join("\n"))
  })

  it("a definition listing the reference builds, the wheel imports; the read URL is in no event, stored log, layer or history", { timeout: 600_000 }, async () => {
    const file = join(home.path, "private.yml")
    writeFileSync(file, [
      "name: private", `image: ${engine.baseImage}`, "conda_file:", "  dependencies:", "    - pip:",
      `      - --index-url ${index!.url}`, `      - ${upload.reference}`, ""
    ].join("\n"))
    json(runCli(["environment", "create", "--file", file, "--workspace", "team", "-o", "json"], env()))
    const r = await runCliAsync(["environment", "build", "private:1", "--workspace", "team", "--follow", "-o", "json"], env())
    const built = json<{ image: string; canonicalHash: string; built: { resolved: { pip: ReadonlyArray<{ name: string; version: string }> } } }>(r)
    assert.deepInclude(built.built.resolved.pip, { name: "secret-pkg", version: "1.0" })
    assert.deepInclude(built.built.resolved.pip, { name: "demo-public", version: "1.0" })
    const logs = runCli(["image", "logs", "private:1", "--workspace", "team"], env())
    assert.include(logs.stdout, "--mount=type=secret,id=terrarium-wheels")
    assert.include(logs.stdout, `terrarium-wheels: ${upload.fileName}`)

    // The shapes are those of real URLs (so a search that finds nothing means something).
    assert.isTrue(URL_SHAPES[0]!.test(`http://127.0.0.1:4711/${"0f".repeat(32)}/${upload.fileName}`))
    assert.isTrue(URL_SHAPES[1]!.test(`http://127.0.0.1:10000/devstoreaccount1/c/x.whl?sv=2025&se=2026&sr=b&sp=r&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%2B%3D`))

    const events = {
      audit: runCli(["audit", "private", "--workspace", "team", "-o", "json"], env()).stdout,
      show: runCli(["environment", "show", "private:1", "--workspace", "team", "-o", "json"], env()).stdout,
      image: runCli(["image", "show", "private:1", "--workspace", "team", "-o", "json"], env()).stdout,
      build: r.stdout + r.stderr,
      logs: logs.stdout
    }
    assert.include(events.audit, upload.sha256, "the audit shows the definition's events")
    assert.deepStrictEqual(searchTexts(events, URL_SHAPES), [])
    // Files under the home: the embedded database, the logs (file-system store), the blobs.
    assert.deepStrictEqual(searchTexts(filesOf(home.path), URL_SHAPES), [])
    assert.deepStrictEqual(searchTexts(await storedBlobs(), URL_SHAPES), [])
    const image = searchImage(engine.dockerHost, built.image, URL_SHAPES, engine.baseImage)
    assert.isAbove(image.layers, 2)
    assert.deepStrictEqual(image.hits, [])
  })

  it("a reference to a wheel never uploaded fails the build clearly, naming it", { timeout: 300_000 }, () => {
    const missing = upload.reference.replace(/sha256=[0-9a-f]{64}$/, `sha256=${"0".repeat(64)}`)
    const file = join(home.path, "missing.yml")
    writeFileSync(file, [
      "name: missing", `image: ${engine.baseImage}`, "conda_file:", "  dependencies:", "    - pip:", `      - ${missing}`, ""
    ].join("\n"))
    json(runCli(["environment", "create", "--file", file, "--workspace", "team", "-o", "json"], env()))
    const r = runCli(["environment", "build", "missing:1", "--workspace", "team"], env())
    assert.notStrictEqual(r.status, 0)
    assert.include(r.stderr, `private wheel ${upload.fileName}: it was not uploaded to workspace team`)
  })
})
