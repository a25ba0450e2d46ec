/**
 * Many `terrarium` processes on one PostgreSQL building one hash: exactly one build, and every
 * process gets its image; a killed builder's lease runs out and the next process takes the build
 * over; a Ctrl-C records the build as interrupted. The builder is the in-memory one
 * (`TERRARIUM_IMAGE_BUILDER=memory`): what is under test is the lease on the build stream, which
 * the processes share through the database. They share the memory engine's images too (files
 * under the home), as processes share a Docker engine. The same on the real engine:
 * test/cli-images.e2e.test.ts.
 */
import { spawn } from "node:child_process"
import { readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { bin, cliEnv, json, repoRoot, runCli, runCliAsync, tempDir } from "./support/cli.ts"
import { testDatabaseUrl } from "./support/postgres.ts"

const home = tempDir("terrarium-build-processes-")
const schema = `build_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
const env = (extra: Record<string, string> = {}) => ({
  TERRARIUM_HOME: home.path,
  TERRARIUM_DATABASE_URL: testDatabaseUrl,
  TERRARIUM_DATABASE_SCHEMA: schema,
  TERRARIUM_IMAGE_BUILDER: "memory",
  TERRARIUM_MEMORY_BUILD_STEP_MS: "400",
  TERRARIUM_BUILD_LEASE_SECONDS: "2",
  // The lease itself is under test: each process builds, none queues for a worker
  // (the workers: test/cli-build-workers.e2e.test.ts).
  TERRARIUM_BUILD_QUEUE: "in-process",
  ...extra
})

/** Registers NAME:1 with one pip package, through a conda file in the temporary home. */
const register = async (name: string, pip: string) => {
  const { writeFileSync } = await import("node:fs")
  const file = `${home.path}/${name}.yml`
  writeFileSync(file, `name: ${name}\nimage: local/python-base:bookworm\nconda_file:\n  dependencies:\n    - pip:\n      - ${pip}\n`)
  json(runCli(["environment", "create", "--file", file, "-o", "json"], env()))
}

/** Starts a build process and resolves once its stderr says the build started, with the child. */
const startBuilding = (ref: string) =>
  new Promise<ReturnType<typeof spawn>>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "environment", "build", ref], { cwd: repoRoot, env: cliEnv(env({ TERRARIUM_MEMORY_BUILD_STEP_MS: "20000" })) })
    let stderr = ""
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString()
      // Its first step has begun: the lease is held and the log has its first lines.
      if (/\[1\/3\]/.test(stderr)) resolve(child)
    })
    child.on("error", reject)
    child.on("close", () => reject(new Error(`the build ended before it started:\n${stderr}`)))
  })

const exited = (child: ReturnType<typeof spawn>) => new Promise<void>((resolve) => child.on("close", () => resolve()))

describe("builds across processes on PostgreSQL", () => {
  beforeAll(async () => {
    await register("shared", "demo-a")
    await register("killed", "demo-b")
    await register("stopped", "demo-c")
  }, 120_000)
  afterAll(() => home.remove())

  it("6 processes building one new hash start exactly one build, and all answer with its image", { timeout: 120_000 }, async () => {
    // A lease long enough for 6 processes starting at once on a busy machine: this test is about
    // the race to start, not about takeovers. The processes share one memory engine (its images
    // are files under the home), so one that starts after the build has ended finds the image
    // and answers from the cache instead of joining: either way, never a second build.
    const results = await Promise.all(Array.from({ length: 6 }, () =>
      runCliAsync(["environment", "build", "shared:1", "-o", "json"], env({ TERRARIUM_BUILD_LEASE_SECONDS: "60", TERRARIUM_MEMORY_BUILD_STEP_MS: "1000" }))))
    const answers = results.map((r) => json<{ canonicalHash: string; outcome: string; built: { buildId: string; imageId: string } }>(r))
    const outcomes = answers.map((a) => a.outcome).sort()
    assert.deepStrictEqual(outcomes.filter((o) => o === "built"), ["built"], `exactly one process built: ${outcomes.join(", ")}`)
    for (const outcome of outcomes.filter((o) => o !== "built")) assert.oneOf(outcome, ["joined", "cached"])
    assert.strictEqual(new Set(answers.map((a) => a.built.buildId)).size, 1)
    assert.strictEqual(new Set(answers.map((a) => a.built.imageId)).size, 1)
    // One build, counted apart from what the processes answered: the hash has one build log.
    const logs = readdirSync(join(home.path, "logs", "builds", answers[0]!.canonicalHash.replace(/^sha256:/, "")))
    assert.deepStrictEqual(logs.filter((file) => file.endsWith(".log")), [`${answers[0]!.built.buildId.toLowerCase()}.log`])
    const shown = json<{ status: string; buildId: string }>(runCli(["image", "show", "shared:1", "-o", "json"], env()))
    assert.strictEqual(shown.status, "built")
    assert.strictEqual(shown.buildId, answers[0]!.built.buildId)
  })

  it("an image pruned from the shared engine is built again, as vanished; one still there is cached", { timeout: 120_000 }, async () => {
    const again = json<{ outcome: string }>(await runCliAsync(["environment", "build", "shared:1", "-o", "json"], env()))
    assert.strictEqual(again.outcome, "cached")
    const shelf = join(home.path, "memory-engine", "images")
    const images = readdirSync(shelf).filter((file) => file.endsWith(".json"))
    assert.lengthOf(images, 1)
    rmSync(join(shelf, images[0]!))
    const rebuilt = await runCliAsync(["environment", "build", "shared:1", "-o", "json"], env({ TERRARIUM_MEMORY_BUILD_STEP_MS: "10" }))
    assert.match(rebuilt.stderr, /started \(vanished\)/)
    assert.strictEqual(json<{ outcome: string }>(rebuilt).outcome, "built")
  })

  it("a killed builder leaves no result; its lease runs out and the next process takes the build over", { timeout: 120_000 }, async () => {
    const child = await startBuilding("killed:1")
    const running = json<{ status: string; leaseHolder: string }>(runCli(["image", "show", "killed:1", "-o", "json"], env()))
    assert.strictEqual(running.status, "building")
    child.kill("SIGKILL")
    await exited(child)
    const next = await runCliAsync(["environment", "build", "killed:1", "-o", "json"], env({ TERRARIUM_MEMORY_BUILD_STEP_MS: "10" }))
    // It waits for the lease to run out unless it already has (a slow start on a loaded machine).
    assert.match(next.stderr, /started \(takeover\)/)
    assert.strictEqual(json<{ outcome: string }>(next).outcome, "built")
  })

  it("a Ctrl-C records the build as interrupted, at once, and the next build retries it", { timeout: 120_000 }, async () => {
    const child = await startBuilding("stopped:1")
    child.kill("SIGINT")
    await exited(child)
    const shown = json<{ status: string; failure: { reason: string } }>(runCli(["image", "show", "stopped:1", "-o", "json"], env()))
    assert.strictEqual(shown.status, "failed")
    assert.strictEqual(shown.failure.reason, "Interrupted")
    const log = runCli(["image", "logs", "stopped:1"], env())
    assert.strictEqual(log.status, 0, log.stderr)
    assert.match(log.stdout, /^build .* \(first\)$/m)
    const next = await runCliAsync(["environment", "build", "stopped:1", "-o", "json"], env({ TERRARIUM_MEMORY_BUILD_STEP_MS: "10" }))
    assert.match(next.stderr, /started \(retry\)/)
    assert.strictEqual(json<{ outcome: string }>(next).outcome, "built")
  })
})
