/**
 * `image refresh` on the real Docker engine (scripts/services/docker.sh) and Debian's
 * docker-registry with htpasswd auth (test/support/Registry.ts), credentials by reference: an
 * environment built FROM the registry's `team/python:1`; a changed image pushed under that tag
 * (one more installed distribution); refresh → one rebuild on the new base, a new `ImageBuilt`
 * with the new base digest and the drift, the old image kept by tag and by id; refresh again → up
 * to date, nothing appended; wrong credentials and a stopped registry → that image fails (exit 1),
 * nothing appended.
 */
import { execFileSync } from "node:child_process"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { testDockerEngine } from "./support/DockerEngine.ts"
import { startRegistry, type TestRegistry } from "./support/Registry.ts"
import { json, runCli, runCliAsync, tempDir } from "./support/cli.ts"

const engine = testDockerEngine()
const home = tempDir("terrarium-refresh-")
const dockerConfig = tempDir("terrarium-refresh-docker-")
const username = "refresher"
const password = `pw-${process.pid}-${Date.now()}`
let registry: TestRegistry
let registryStopped = false
let base: string

const env = (extra: Record<string, string> = {}) => ({
  TERRARIUM_HOME: home.path, DOCKER_HOST: engine.dockerHost, REG_USER: username, REG_PASSWORD: password, ...extra
})
/** The docker CLI on the project's engine, with a login kept in this test's own config folder. */
const docker = (args: ReadonlyArray<string>, input?: string) =>
  execFileSync("/usr/bin/docker", ["--config", dockerConfig.path, "-H", engine.dockerHost, ...args], {
    encoding: "utf8", input, env: { ...process.env, DOCKER_BUILDKIT: "0" }, stdio: ["pipe", "pipe", "pipe"]
  })
const imageId = (image: string) => docker(["image", "inspect", "--format", "{{.Id}}", image]).trim()

interface Result {
  readonly image: string
  readonly outcome: string
  readonly base: string | null
  readonly recordedDigest: string | null
  readonly currentDigest: string | null
  readonly detail: string | null
  readonly previous: { readonly buildId: string; readonly imageId: string; readonly keptAs: string | null } | null
  readonly built: {
    readonly buildId: string
    readonly imageId: string
    readonly baseImageDigest: string | null
    readonly drift: ReadonlyArray<{ readonly manager: string; readonly name: string; readonly from: string | null; readonly to: string | null }>
  } | null
}
interface Shown {
  readonly buildId: string
  readonly built: { readonly buildId: string; readonly imageId: string; readonly baseImageDigest: string }
  readonly previousBuilds: ReadonlyArray<{ readonly buildId: string; readonly imageId: string; readonly keptAs: string | null }>
}
const show = () => json<Shown>(runCli(["image", "show", "py:1", "-o", "json"], env()))
const audit = () => runCli(["audit", "py", "-o", "json"], env()).stdout

describe("image refresh on a real engine and registry", () => {
  let oldBaseId: string
  let firstBuild: { buildId: string; imageId: string; image: string }

  beforeAll(async () => {
    registry = await startRegistry({ username, password })
    base = `${registry.address}/team/python:1`
    docker(["login", "--username", username, "--password-stdin", registry.address], password)
    // The test base image, pushed as the registry's team/python:1, then untagged: the build pulls it.
    docker(["tag", engine.baseImage, base])
    docker(["push", base])
    docker(["rmi", base])
    json(runCli([
      "environment", "create", "--name", "py", "--image", base, "--user-managed", "--interpreter-path", "/usr/bin/python3",
      "--base-image-registry", registry.address, "--registry-username-ref", "env:REG_USER", "--registry-password-ref", "env:REG_PASSWORD",
      "-o", "json"
    ], env()))
  }, 300_000)

  afterAll(async () => {
    // Stopped once only: the last test stops it on purpose.
    if (!registryStopped) await registry?.close()
    for (const name of [base, "terrarium-refresh-test/changed:1"]) {
      try {
        docker(["rmi", name])
      } catch {
        // already gone
      }
    }
    home.remove()
    dockerConfig.remove()
  })

  it("builds FROM the registry reference, pulling it with the referenced credentials, and records its registry digest", { timeout: 300_000 }, async () => {
    const built = json<{ image: string; built: { buildId: string; imageId: string; baseImageDigest: string } }>(
      await runCliAsync(["environment", "build", "py:1", "-o", "json"], env())
    )
    firstBuild = { buildId: built.built.buildId, imageId: built.built.imageId, image: built.image }
    oldBaseId = imageId(base)
    assert.match(built.built.baseImageDigest, new RegExp(`^${registry.address}/team/python@sha256:[0-9a-f]{64}$`))
    const up = await runCliAsync(["image", "refresh", "-o", "json"], env())
    const [result] = json<ReadonlyArray<Result>>(up)
    assert.strictEqual(result?.outcome, "up-to-date")
    assert.strictEqual(`${registry.address}/team/python@${result?.currentDigest}`, built.built.baseImageDigest)
  })

  it("a changed image pushed under the base's tag: one rebuild on it, the new digest and the drift recorded, the old image kept", { timeout: 300_000 }, async () => {
    // Another machine pushes a patched base (one more distribution) under the same tag; this
    // engine still has the old one under that name.
    docker(["build", "--network", "none", "-t", "terrarium-refresh-test/changed:1", "-"], [
      `FROM ${engine.baseImage}`,
      "RUN mkdir -p /usr/lib/python3/dist-packages/refresh_marker-2.0.dist-info && " +
      "printf 'Metadata-Version: 2.1\\nName: refresh-marker\\nVersion: 2.0\\n' > /usr/lib/python3/dist-packages/refresh_marker-2.0.dist-info/METADATA",
      ""
    ].join("\n"))
    docker(["tag", "terrarium-refresh-test/changed:1", base])
    docker(["push", base])
    docker(["tag", oldBaseId, base])
    docker(["rmi", "terrarium-refresh-test/changed:1"])
    const auditBefore = audit()

    const r = await runCliAsync(["image", "refresh", "-o", "json"], env())
    const results = json<ReadonlyArray<Result>>(r)
    assert.strictEqual(results.length, 1)
    const result = results[0]!
    assert.strictEqual(result.outcome, "rebuilt", result.detail ?? "")
    assert.notStrictEqual(result.currentDigest, result.recordedDigest)
    assert.strictEqual(result.built?.baseImageDigest, `${registry.address}/team/python@${result.currentDigest}`)
    assert.deepStrictEqual(result.built?.drift, [{ manager: "pip", name: "refresh-marker", from: null, to: "2.0" }])
    assert.match(r.stderr, /^checking terrarium\/env:[0-9a-f]{16} \(base .*team\/python:1\)$/m)
    assert.match(r.stderr, /^build \S+ started \(base-moved\)$/m)

    // One more build in the audit trail, caused by the moved base.
    const newEntries = JSON.parse(audit()).length - JSON.parse(auditBefore).length
    assert.isAtLeast(newEntries, 3)
    assert.include(audit(), "started (base-moved)")

    // The hash's name is the new image; the old one answers to its id and to the tag that keeps it.
    const keptAs = `${firstBuild.image}-${firstBuild.buildId.toLowerCase()}`
    assert.deepStrictEqual(result.previous, { buildId: firstBuild.buildId, imageId: firstBuild.imageId, keptAs })
    assert.strictEqual(imageId(firstBuild.image), result.built?.imageId)
    assert.strictEqual(imageId(keptAs), firstBuild.imageId)
    assert.strictEqual(imageId(firstBuild.imageId), firstBuild.imageId)
    const shown = show()
    assert.strictEqual(shown.built.imageId, result.built?.imageId)
    assert.deepStrictEqual(shown.previousBuilds.map((p) => [p.buildId, p.imageId, p.keptAs]), [[firstBuild.buildId, firstBuild.imageId, keptAs]])
    assert.include(runCli(["image", "show", "py:1"], env()).stdout, `kept as ${keptAs}`)
  })

  it("refreshed again: up to date, nothing appended, nothing built", { timeout: 120_000 }, () => {
    const before = audit()
    const r = runCli(["image", "refresh", "py:1"], env())
    assert.strictEqual(r.status, 0, r.stderr)
    assert.match(r.stdout, /^terrarium\/env:[0-9a-f]{16} {2}up to date {2}\(base .*team\/python:1 @ [0-9a-f]{12}\)$/m)
    assert.strictEqual(audit(), before)
  })

  it("wrong credentials, then a stopped registry: that image fails with exit code 1, and nothing is appended", { timeout: 120_000 }, async () => {
    const before = audit()
    const wrong = `wrong-${password}`
    const refused = runCli(["image", "refresh"], env({ REG_PASSWORD: wrong }))
    assert.strictEqual(refused.status, 1)
    assert.match(refused.stdout, /FAILED: base image .*team\/python:1: registry 127\.0\.0\.1:\d+ refused the credentials/)
    assert.match(refused.stderr, /1 of 1 image could not be refreshed/)
    assert.notInclude(refused.stdout + refused.stderr, wrong)
    assert.strictEqual(audit(), before)

    registryStopped = true
    await registry.close()
    const down = runCli(["image", "refresh", "-o", "json"], env())
    assert.strictEqual(down.status, 1)
    const [result] = JSON.parse(down.stdout) as ReadonlyArray<Result>
    assert.strictEqual(result?.outcome, "failed")
    assert.match(result?.detail ?? "", /is unavailable/)
    assert.strictEqual(audit(), before)
  })
})
