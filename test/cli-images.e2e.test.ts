/**
 * `environment build` and the `image` commands on the real Docker engine (scripts/services/docker.sh,
 * started if down) with a local package index of tiny wheels: a build with progress, the cache
 * (again, and for another environment with the same hash), the image commands, drift on a
 * `--no-cache` rebuild, an image pruned by hand, a pip requirement that does not resolve, and an
 * engine that does not answer.
 */
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { testDockerEngine } from "./support/DockerEngine.ts"
import { type PackageIndex, startPackageIndex } from "./support/PackageIndex.ts"
import { json, runCli, runCliAsync, tempDir } from "./support/cli.ts"

const engine = testDockerEngine()
const home = tempDir("terrarium-images-")
let index: PackageIndex
const env = (extra: Record<string, string> = {}) => ({ TERRARIUM_HOME: home.path, DOCKER_HOST: engine.dockerHost, ...extra })
const docker = (...args: Array<string>) => execFileSync("/usr/bin/docker", ["-H", engine.dockerHost, ...args], { encoding: "utf8" })

interface BuildAnswer {
  readonly image: string
  readonly canonicalHash: string
  readonly outcome: "cached" | "built" | "joined"
  readonly built: {
    readonly buildId: string
    readonly imageId: string
    readonly resolved: { readonly pip: ReadonlyArray<{ readonly name: string; readonly version: string }> }
    readonly drift: ReadonlyArray<{ readonly manager: string; readonly name: string; readonly from: string | null; readonly to: string | null }>
  }
}

/** Registers NAME:1 on the test base image with pip packages from the local index. */
const register = (name: string, ...pip: Array<string>) => {
  const file = `${home.path}/${name}.yml`
  writeFileSync(file, [
    `name: ${name}`, `image: ${engine.baseImage}`, "conda_file:", "  dependencies:", "    - pip:",
    `      - --index-url ${index.url}`, ...pip.map((p) => `      - ${p}`), ""
  ].join("\n"))
  json(runCli(["environment", "create", "--file", file, "-o", "json"], env()))
}

describe("environment build on the real engine", () => {
  beforeAll(async () => {
    index = await startPackageIndex([{ name: "demo-a", version: "1.0" }])
    register("pydata", "demo-a")
    register("twin", "demo-a")
    register("broken", "demo-missing")
    register("offline", "demo-a", "demo-offline")
  }, 300_000)
  afterAll(async () => {
    await index?.close()
    home.remove()
  })

  let first: BuildAnswer

  it("builds a version, with a plain progress line per step off a terminal, and records what pip really installed", { timeout: 300_000 }, async () => {
    const r = await runCliAsync(["environment", "build", "pydata:1", "--follow", "-o", "json"], env())
    first = json<BuildAnswer>(r)
    assert.strictEqual(first.outcome, "built")
    assert.match(first.image, /^terrarium\/env:[0-9a-f]{16}$/)
    assert.strictEqual(first.image, `terrarium/env:${first.canonicalHash.slice(7, 23)}`)
    assert.deepInclude(first.built.resolved.pip, { name: "demo-a", version: "1.0" })
    assert.match(r.stderr, /^build \S+ started \(first\)$/m)
    assert.match(r.stderr, /^\[1\/\d+\]/m)
    assert.notInclude(r.stderr, "\r", "no terminal, no rewritten lines")
    assert.strictEqual(docker("image", "inspect", "--format", "{{.Id}}", first.image).trim(), first.built.imageId)
  })

  it("answers again from the cache, for this version and for another environment with the same hash", { timeout: 120_000 }, () => {
    const again = json<BuildAnswer>(runCli(["environment", "build", "pydata:1", "-o", "json"], env()))
    assert.strictEqual(again.outcome, "cached")
    assert.strictEqual(again.built.buildId, first.built.buildId)
    const twin = json<BuildAnswer>(runCli(["environment", "build", "twin:1", "-o", "json"], env()))
    assert.strictEqual(twin.canonicalHash, first.canonicalHash)
    assert.strictEqual(twin.outcome, "cached")
  })

  it("image list, image show by reference and by hash, image logs, and environment show say it is built", { timeout: 120_000 }, () => {
    const list = json<ReadonlyArray<{ image: string; status: string }>>(runCli(["image", "list", "-o", "json"], env()))
    assert.deepInclude(list.map((i) => ({ image: i.image, status: i.status })), { image: first.image, status: "built" })
    const byRef = json<{ canonicalHash: string; built: { imageId: string } }>(runCli(["image", "show", "pydata:1", "-o", "json"], env()))
    const byHash = json(runCli(["image", "show", first.canonicalHash, "-o", "json"], env()))
    assert.deepStrictEqual(byHash, byRef)
    assert.strictEqual(byRef.built.imageId, first.built.imageId)
    const logs = runCli(["image", "logs", "pydata:1"], env())
    assert.strictEqual(logs.status, 0, logs.stderr)
    assert.match(logs.stdout, /^build .* \(first\)$/m)
    assert.match(logs.stdout, /demo-a/)
    const shown = runCli(["environment", "show", "pydata:1"], env())
    assert.match(shown.stdout, new RegExp(`^image: +built: ${first.image.replace("/", "\\/")}$`, "m"))
  })

  it("a --no-cache rebuild that resolves a newer package records the drift; show says old → new", { timeout: 300_000 }, async () => {
    await index.add([{ name: "demo-a", version: "1.1" }])
    const rebuilt = json<BuildAnswer>(await runCliAsync(["environment", "build", "pydata:1", "--no-cache", "-o", "json"], env()))
    assert.strictEqual(rebuilt.outcome, "built")
    assert.deepStrictEqual(rebuilt.built.drift, [{ manager: "pip", name: "demo-a", from: "1.0", to: "1.1" }])
    const shown = runCli(["environment", "show", "pydata:1"], env())
    assert.match(shown.stdout, /^drift: +pip demo-a 1\.0 → 1\.1$/m)
    const audit = runCli(["audit", "pydata"], env())
    assert.strictEqual(audit.status, 0, audit.stderr)
    assert.include(audit.stdout, "drift: pip demo-a 1.0 → 1.1")
    first = rebuilt
  })

  it("an image pruned from the engine by hand is built again, not reported as cached", { timeout: 300_000 }, async () => {
    docker("image", "rm", "--force", first.image)
    const again = json<BuildAnswer>(await runCliAsync(["environment", "build", "pydata:1", "-o", "json"], env()))
    assert.strictEqual(again.outcome, "built")
    assert.strictEqual(docker("image", "inspect", "--format", "{{.Id}}", again.image).trim(), again.built.imageId)
  })

  it("a definition with its own Dockerfile builds from the context stored at registration", { timeout: 300_000 }, async () => {
    const { mkdirSync } = await import("node:fs")
    const dir = `${home.path}/dockerfile-context`
    mkdirSync(dir, { recursive: true })
    writeFileSync(`${dir}/greeting.txt`, "hello from the stored context\n")
    writeFileSync(`${dir}/Dockerfile`, `FROM ${engine.baseImage}\nCOPY greeting.txt /greeting.txt\n`)
    json(runCli(["environment", "create", "--name", "dock", "--dockerfile", `${dir}/Dockerfile`, "-o", "json"], env()))
    // What is built is what was stored: a change to the folder after registration is not sent.
    writeFileSync(`${dir}/greeting.txt`, "changed after registration\n")
    const built = json<BuildAnswer>(await runCliAsync(["environment", "build", "dock:1", "-o", "json"], env()))
    assert.strictEqual(built.outcome, "built")
    const greeting = docker("run", "--rm", "--network", "none", built.image, "cat", "/greeting.txt")
    assert.strictEqual(greeting, "hello from the stored context\n")
  })

  it("a pip requirement that does not resolve fails the build naming it; image show and image logs show the failure", { timeout: 300_000 }, async () => {
    const r = await runCliAsync(["environment", "build", "broken:1"], env())
    assert.strictEqual(r.status, 1)
    assert.include(r.stderr, "demo-missing")
    const shown = json<{ status: string; failure: { reason: string } }>(runCli(["image", "show", "broken:1", "-o", "json"], env()))
    assert.strictEqual(shown.status, "failed")
    const logs = runCli(["image", "logs", "broken:1"], env())
    assert.strictEqual(logs.status, 0, logs.stderr)
    assert.match(logs.stdout, /^failed: /m)
  })

  it("an engine that does not answer: one line naming DOCKER_HOST, exit 1, nothing recorded; it builds once the engine is back", { timeout: 300_000 }, async () => {
    const down = runCli(["environment", "build", "offline:1"], env({ DOCKER_HOST: "unix:///nonexistent/terrarium-docker.sock" }))
    assert.strictEqual(down.status, 1)
    const lines = down.stderr.trim().split("\n")
    assert.strictEqual(lines.length, 1, down.stderr)
    assert.include(lines[0], "DOCKER_HOST")
    assert.include(lines[0], "unix:///nonexistent/terrarium-docker.sock")
    const none = runCli(["image", "show", "offline:1", "-o", "json"], env())
    assert.strictEqual(none.status, 1)
    assert.include(none.stdout + none.stderr, "ImageNotFound")
    await index.add([{ name: "demo-offline", version: "1.0" }])
    assert.strictEqual(json<BuildAnswer>(await runCliAsync(["environment", "build", "offline:1", "-o", "json"], env())).outcome, "built")
  })
})
