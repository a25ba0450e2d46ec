/**
 * Build logs on Azure Blob storage (Azurite, started by the test with telemetry off, stopped by
 * its PID) when the store goes away in the middle of a build: a build does not fail for its log,
 * but the requester is told once, in a warning naming the store, that the log misses lines;
 * `image logs` while the store is down fails naming it; after the restart the log reads with the
 * lines written before (and `--follow` ends, though the log was never sealed), and the retry,
 * a `--no-cache` build, writes the whole log. The builder is the in-memory one, the database the
 * embedded default: what is under test is the log store.
 */
import { AzureBlobStore } from "@terrarium/adapters"
import { BlobStore, getBlobBytes } from "@terrarium/domain"
import { Effect, Redacted, Stream } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type Azurite, startAzurite } from "../packages/adapters/test/blob-store/Azurite.ts"
import { json, runCli, runCliAsync, tempDir } from "./support/cli.ts"

let emulator: Azurite
const home = tempDir("terrarium-azure-logs-")
const env = (extra: Record<string, string> = {}) => ({
  TERRARIUM_HOME: home.path,
  TERRARIUM_IMAGE_BUILDER: "memory",
  TERRARIUM_MEMORY_BUILD_STEP_MS: "100",
  TERRARIUM_AZURE_BLOB_CONTAINER: "faults",
  TEST_AZURE_CONNECTION: emulator.connectionString,
  TERRARIUM_AZURE_STORAGE_CONNECTION_STRING_VARIABLE: "TEST_AZURE_CONNECTION",
  ...extra
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The text of the one build log in the container, read from the store itself (a CLI run takes seconds on a loaded machine). */
const logInStore = () =>
  Effect.runPromise(Effect.gen(function*() {
    const blobs = yield* BlobStore
    const names = (yield* Stream.runCollect(blobs.list("logs/builds/"))).map((b) => b.name).filter((n) => n.endsWith(".log"))
    return names.length === 1 ? new TextDecoder().decode(yield* getBlobBytes(blobs, names[0]!)) : ""
  }).pipe(Effect.provide(AzureBlobStore.layerWith({ connectionString: Redacted.make(emulator.connectionString), container: "faults", maxTries: 1 }))))

describe("Azurite stopped while a build writes its log", () => {
  beforeAll(async () => {
    emulator = await startAzurite()
  }, 60_000)
  afterAll(async () => {
    await emulator?.dispose()
    home.remove()
  })

  it("the build is told its log misses lines, image logs names the store while it is down, and after the restart a retry logs it whole", { timeout: 180_000 }, async () => {
    const file = join(home.path, "logged.yml")
    writeFileSync(file, "name: logged\nimage: local/python-base:bookworm\nconda_file:\n  dependencies:\n    - pip:\n      - demo-a\n")
    json(runCli(["environment", "create", "--file", file, "-o", "json"], env()))
    const build = runCliAsync(["environment", "build", "logged:1", "-o", "json"], env({ TERRARIUM_MEMORY_BUILD_STEP_MS: "5000" }))
    // Stopped once the log has its first step in the store (the next comes 5 s later).
    for (let i = 0; !/#1\/3 /.test(await logInStore()); i++) {
      if (i > 600) throw new Error(`the log never showed its first step`)
      await sleep(100)
    }
    await emulator.stop()
    const built = await build
    assert.strictEqual(built.status, 0, built.stderr)
    assert.strictEqual(JSON.parse(built.stdout).outcome, "built")
    const location = `http://127.0.0.1:${emulator.port}/devstoreaccount1/faults`
    const warnings = built.stderr.split("\n").filter((line) => line.startsWith("warning: "))
    assert.lengthOf(warnings, 1, built.stderr)
    assert.include(warnings[0], "could not be written")
    assert.include(warnings[0], `blob store ${location} is unavailable`)
    assert.notInclude(built.stderr, "AccountKey")

    const down = runCli(["image", "logs", "logged:1"], env())
    assert.notStrictEqual(down.status, 0)
    assert.include(down.stderr, `blob store ${location} is unavailable`)
    assert.notMatch(down.stderr, /\n\s+at /)

    await emulator.restart()
    // The lines written before the store went away, and the end of the build is the end of the
    // log: following it ends, though the build could not seal it.
    const partial = runCli(["image", "logs", "logged:1", "--follow"], env())
    assert.strictEqual(partial.status, 0, partial.stderr)
    assert.match(partial.stdout, /^build .* \(first\)\n#1\/3 /)
    assert.notMatch(partial.stdout, /#3\/3 /)

    const retried = runCli(["environment", "build", "logged:1", "--no-cache", "-o", "json"], env())
    assert.strictEqual(JSON.parse(retried.stdout).outcome, "built", retried.stderr)
    assert.notInclude(retried.stderr, "warning: ")
    const whole = runCli(["image", "logs", "logged:1", "--follow"], env())
    assert.strictEqual(whole.status, 0, whole.stderr)
    assert.match(whole.stdout, /no cache\)\n#1\/3 [\s\S]*\n#2\/3 [\s\S]*\n#3\/3 /, whole.stdout)
  })
})
