/**
 * `environment export REF --format F --to-store`, through the `terrarium` executable: the export
 * goes into the blob store (files under the home by default, the Azure container when one is
 * configured: here Azurite, started with telemetry off and stopped by its PID), the command says
 * where (a path, or the container's URL), and what it wrote re-imports to the same hash. Asking
 * for both a folder and the store, or neither, is a usage error with nothing written.
 */
import { AzureBlobStore } from "@terrarium/adapters"
import { BlobStore, getBlobBytes } from "@terrarium/domain"
import { Effect, Redacted, Stream } from "effect"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type Azurite, startAzurite } from "../packages/adapters/test/blob-store/Azurite.ts"
import { json, runCli, tempDir } from "./support/cli.ts"

let emulator: Azurite
const home = tempDir("terrarium-export-store-")
const env = { TERRARIUM_HOME: home.path }
const azureEnv = () => ({
  ...env,
  TERRARIUM_AZURE_BLOB_CONTAINER: "exported",
  TERRARIUM_AZURE_STORAGE_CONNECTION_STRING_VARIABLE: "TEST_AZURE_CONNECTION",
  TEST_AZURE_CONNECTION: emulator.connectionString
})

const azure = <A, E>(effect: Effect.Effect<A, E, BlobStore>) =>
  Effect.runPromise(effect.pipe(Effect.provide(AzureBlobStore.layerWith({ connectionString: Redacted.make(emulator.connectionString), container: "exported" }))))

describe("environment export --to-store", () => {
  beforeAll(async () => {
    emulator = await startAzurite()
    const file = join(home.path, "stored.yml")
    writeFileSync(file, "name: stored\nimage: python:3.11-slim\nconda_file:\n  dependencies:\n    - python=3.11\n    - pip:\n      - requests==2.32.3\n")
    json(runCli(["environment", "create", "--file", file, "-o", "json"], env))
  }, 120_000)
  afterAll(async () => {
    await emulator?.dispose()
    home.remove()
  })

  it("on the file system: the files under the home's exports/ folder, where the command says; they re-import to the same hash", { timeout: 120_000 }, () => {
    const r = json(runCli(["environment", "export", "stored:1", "--format", "azureml-v2", "--to-store", "-o", "json"], env))
    const folder = join(home.path, "exports", "default", "stored", "1", "azureml-v2")
    assert.strictEqual(r.out, `${folder}/`)
    assert.deepStrictEqual([...r.files].sort(), ["conda.yml", "environment.yml"])
    assert.deepStrictEqual(readdirSync(folder).sort(), ["conda.yml", "environment.yml"])
    const index = JSON.parse(readFileSync(`${folder}.json`, "utf8"))
    assert.strictEqual(index.canonicalHash, r.canonicalHash)
    assert.isTrue(r.sameHash)
    const again = json(runCli(["environment", "create", "--name", "restored", "--file", join(folder, "environment.yml"), "-o", "json"], env))
    assert.strictEqual(again.canonicalHash, r.canonicalHash)
    const table = runCli(["environment", "export", "stored:1", "--format", "conda", "--to-store"], env)
    assert.strictEqual(table.status, 0, table.stderr)
    assert.include(table.stdout, `to ${join(home.path, "exports", "default", "stored", "1", "conda")}/: environment.yml`)
  })

  it("on Azure (Azurite): blobs in the container, and the command prints their URL", { timeout: 120_000 }, async () => {
    const r = json(runCli(["environment", "export", "stored:1", "--format", "azureml-v2", "--to-store", "-o", "json"], azureEnv()))
    assert.strictEqual(r.out, `http://127.0.0.1:${emulator.port}/devstoreaccount1/exported/exports/default/stored/1/azureml-v2/`)
    const names = await azure(Effect.flatMap(BlobStore, (blobs) => Stream.runCollect(blobs.list("exports/"))))
    assert.deepStrictEqual(names.map((b) => b.name), [
      "exports/default/stored/1/azureml-v2.json",
      "exports/default/stored/1/azureml-v2/conda.yml",
      "exports/default/stored/1/azureml-v2/environment.yml"
    ])
    const yml = await azure(Effect.flatMap(BlobStore, (blobs) => getBlobBytes(blobs, "exports/default/stored/1/azureml-v2/conda.yml")))
    assert.include(new TextDecoder().decode(yml), "requests==2.32.3")
  })

  it("--out and --to-store together, or neither, or --force with --to-store: a usage error, nothing written", { timeout: 120_000 }, () => {
    const out = join(home.path, "both")
    for (const args of [["--out", out, "--to-store"], [], ["--to-store", "--force"]]) {
      const r = runCli(["environment", "export", "stored:1", "--format", "requirements", ...args], env)
      assert.strictEqual(r.status, 2, r.stderr)
      assert.match(r.stderr, /--out FOLDER or --to-store|--force is for --out/)
    }
    assert.isFalse(existsSync(out))
    assert.isFalse(existsSync(join(home.path, "exports", "default", "stored", "1", "requirements")))
  })
})
