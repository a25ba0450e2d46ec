/**
 * `environment build --push` on the real engine and Debian's docker-registry (started by the test,
 * stopped by PID): wrong credentials fail before any layer leaves and record nothing; a push
 * records the reference and the manifest digest the registry serves, once; `image show`, `image
 * list` and `environment show` print it; a registry killed mid-push fails the call naming the
 * registry, records nothing, and after its restart a retry records one push; an engine that lost
 * the image pulls it by digest from the registry instead of building it again.
 */
import { execFileSync } from "node:child_process"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { testDockerEngine } from "./support/DockerEngine.ts"
import { type PackageIndex, startPackageIndex } from "./support/PackageIndex.ts"
import { startRegistry, startRegistryIn, type TestRegistry } from "./support/Registry.ts"
import { json, runCli, runCliAsync, tempDir } from "./support/cli.ts"

const engine = testDockerEngine()
const home = tempDir("terrarium-push-")
const username = "pusher"
const password = `pw-${process.pid}-${Date.now()}`
let index: PackageIndex
let registry: TestRegistry
let flaky: TestRegistry
const repository = "team/envs"
const env = (extra: Record<string, string> = {}) => ({
  TERRARIUM_HOME: home.path, DOCKER_HOST: engine.dockerHost, PUSH_USER: username, PUSH_PASSWORD: password,
  WRONG_PASSWORD: `wrong-${password}`, ...extra
})
/** Credentials by reference, for the htpasswd registry as the default. */
const withRegistry = (extra: Record<string, string> = {}) =>
  env({
    TERRARIUM_REGISTRY: `${registry.address}/${repository}`, TERRARIUM_REGISTRY_USERNAME: "env:PUSH_USER",
    TERRARIUM_REGISTRY_PASSWORD: "env:PUSH_PASSWORD", ...extra
  })
const docker = (...args: Array<string>) => execFileSync("/usr/bin/docker", ["-H", engine.dockerHost, ...args], { encoding: "utf8" })

interface BuildAnswer {
  readonly image: string
  readonly canonicalHash: string
  readonly outcome: "cached" | "built" | "joined" | "pulled"
  readonly built: { readonly buildId: string; readonly imageId: string }
  readonly pushed?: { readonly reference: string; readonly digest: string; readonly recorded: boolean }
}

interface ImageRow {
  readonly image: string
  readonly pushes: ReadonlyArray<{ readonly reference: string; readonly digest: string; readonly buildId: string }>
}

/** The build stream's events as the audit trail of `pydata` lists them. */
const auditTypes = (): Array<string> =>
  json<ReadonlyArray<{ eventType: string }>>(runCli(["audit", "pydata", "-o", "json"], env())).map((e) => e.eventType)

/** The manifest digest the registry serves for `repo:tag` (HEAD with the full Accept list). */
const servedDigest = async (address: string, repo: string, tag: string, auth?: string) => {
  const response = await fetch(`http://${address}/v2/${repo}/manifests/${tag}`, {
    method: "HEAD",
    headers: {
      Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
      ...(auth === undefined ? {} : { Authorization: `Basic ${Buffer.from(auth).toString("base64")}` })
    }
  })
  return response.status === 200 ? response.headers.get("docker-content-digest") : `HTTP ${response.status}`
}

const removeLocal = (image: string, ...references: Array<string>) => {
  for (const name of [image, ...references]) execFileSync("/usr/bin/docker", ["-H", engine.dockerHost, "image", "rm", "--force", name], { stdio: "ignore" })
}

describe("environment build --push on the real engine and docker-registry", () => {
  beforeAll(async () => {
    index = await startPackageIndex([{ name: "demo-a", version: "1.0" }])
    registry = await startRegistry({ username, password })
    flaky = await startRegistryIn({ kind: "plain" })
    const file = `${home.path}/pydata.yml`
    writeFileSync(file, [
      "name: pydata", `image: ${engine.baseImage}`, "conda_file:", "  dependencies:", "    - pip:",
      `      - --index-url ${index.url}`, "      - demo-a", ""
    ].join("\n"))
    json(runCli(["environment", "create", "--file", file, "-o", "json"], env()))
  }, 300_000)
  afterAll(async () => {
    for (const address of [registry?.address, flaky?.address]) {
      if (address === undefined) continue
      // Tagged by the pushes, or by digest only (the pull): removed by id.
      for (const id of new Set(docker("image", "ls", "--format", "{{.ID}}", `${address}/*/*`).split("\n").filter((t) => t !== ""))) {
        try {
          execFileSync("/usr/bin/docker", ["-H", engine.dockerHost, "image", "rm", "--force", id], { stdio: "ignore" })
        } catch {
          // Gone with an earlier id's removal.
        }
      }
    }
    await registry?.close()
    await flaky?.close()
    await index?.close()
    home.remove()
  })

  let first: BuildAnswer

  it("a bad destination, --registry without --push, or a credential that is not a reference: exit 2 naming it, nothing built", { timeout: 120_000 }, () => {
    const bad = runCli(["environment", "build", "pydata:1", "--push", "--registry", "127.0.0.1:5000"], env())
    assert.strictEqual(bad.status, 2, bad.stderr)
    assert.include(bad.stderr, "HOST[:PORT]/REPOSITORY")
    const alone = runCli(["environment", "build", "pydata:1", "--registry", `${registry.address}/${repository}`], env())
    assert.strictEqual(alone.status, 2, alone.stderr)
    assert.include(alone.stderr, "--push")
    const value = runCli(["environment", "build", "pydata:1", "--push"], withRegistry({ TERRARIUM_REGISTRY_PASSWORD: password }))
    assert.strictEqual(value.status, 2, value.stderr)
    assert.include(value.stderr, "TERRARIUM_REGISTRY_PASSWORD")
    assert.notInclude(value.stdout + value.stderr, password)
    assert.deepStrictEqual(auditTypes().filter((t) => t.startsWith("Build") || t.startsWith("Image")), [])
  })

  it("wrong credentials: refused at once, before any layer is sent, naming the registry; the build is kept, no push recorded", { timeout: 300_000 }, async () => {
    const r = await runCliAsync(["environment", "build", "pydata:1", "--push"], withRegistry({ TERRARIUM_REGISTRY_PASSWORD: "env:WRONG_PASSWORD" }))
    assert.strictEqual(r.status, 1, r.stderr)
    assert.include(r.stderr, `registry ${registry.address} refused the credentials`)
    assert.notInclude(r.stdout + r.stderr, `wrong-${password}`)
    assert.notInclude(auditTypes(), "ImagePushed")
    assert.include(auditTypes(), "ImageBuilt")
    assert.isFalse(existsSync(join(registry.storage, "docker/registry/v2/repositories")), "no layer reached the registry")
  })

  it("--push with the right credentials records the reference and the digest the registry serves; again, nothing more", { timeout: 300_000 }, async () => {
    first = json<BuildAnswer>(await runCliAsync(["environment", "build", "pydata:1", "--push", "-o", "json"], withRegistry()))
    const tag = first.image.split(":")[1]!
    assert.strictEqual(first.outcome, "cached", "the image built by the refused call is pushed, not built again")
    assert.strictEqual(first.pushed?.reference, `${registry.address}/${repository}:${tag}`)
    assert.strictEqual(first.pushed?.recorded, true)
    assert.strictEqual(await servedDigest(registry.address, repository, tag, `${username}:${password}`), first.pushed?.digest)
    const again = json<BuildAnswer>(await runCliAsync(["environment", "build", "pydata:1", "--push", "-o", "json"], withRegistry()))
    assert.strictEqual(again.pushed?.digest, first.pushed?.digest)
    assert.strictEqual(again.pushed?.recorded, false)
    assert.deepStrictEqual(auditTypes().filter((t) => t === "ImagePushed"), ["ImagePushed"])
    assert.deepStrictEqual(auditTypes().filter((t) => t === "BuildStarted"), ["BuildStarted"])
  })

  it("image show, image list and environment show print the pushed reference@digest, in JSON too", { timeout: 120_000 }, () => {
    const pushed = `${first.pushed!.reference}@${first.pushed!.digest}`
    const row = json<ImageRow>(runCli(["image", "show", "pydata:1", "-o", "json"], env()))
    assert.deepStrictEqual(row.pushes.map((p) => `${p.reference}@${p.digest}`), [pushed])
    assert.strictEqual(row.pushes[0]?.buildId, first.built.buildId)
    assert.include(runCli(["image", "show", "pydata:1"], env()).stdout, pushed)
    assert.include(runCli(["image", "list"], env()).stdout, pushed)
    const list = json<ReadonlyArray<ImageRow>>(runCli(["image", "list", "-o", "json"], env()))
    assert.deepStrictEqual(list.find((i) => i.image === first.image)?.pushes.map((p) => p.digest), [first.pushed!.digest])
    const shown = json<{ image: ImageRow }>(runCli(["environment", "show", "pydata:1", "-o", "json"], env()))
    assert.deepStrictEqual(shown.image.pushes.map((p) => `${p.reference}@${p.digest}`), [pushed])
    assert.match(runCli(["environment", "show", "pydata:1"], env()).stdout, new RegExp(`^pushed: +${pushed.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`, "m"))
  })

  it("a registry killed mid-push: a clear error naming it, nothing recorded; restarted, a retry records one push", { timeout: 600_000 }, async () => {
    const target = `${flaky.address}/${repository}`
    const push = runCliAsync(["environment", "build", "pydata:1", "--push", "--registry", target, "-o", "json"], env())
    // The first layer upload has started once the registry has made the repository's folder:
    // the base image's layers (about 200 MB) then take seconds to send.
    const uploads = join(flaky.storage, "docker/registry/v2/repositories", repository, "_uploads")
    while (!existsSync(uploads)) await new Promise((resolve) => setTimeout(resolve, 20))
    await flaky.kill()
    const r = await push
    assert.strictEqual(r.status, 1, r.stdout)
    assert.include(r.stderr, `registry ${flaky.address}`)
    assert.match(r.stderr, /unavailable|went away/)
    assert.deepStrictEqual(auditTypes().filter((t) => t === "ImagePushed"), ["ImagePushed"], "only the earlier push")
    await flaky.restart()
    const retried = json<BuildAnswer>(await runCliAsync(["environment", "build", "pydata:1", "--push", "--registry", target, "-o", "json"], env()))
    assert.strictEqual(retried.pushed?.reference, `${target}:${first.image.split(":")[1]}`)
    assert.strictEqual(retried.pushed?.recorded, true)
    assert.strictEqual(await servedDigest(flaky.address, repository, first.image.split(":")[1]!), retried.pushed?.digest)
    assert.deepStrictEqual(auditTypes().filter((t) => t === "ImagePushed"), ["ImagePushed", "ImagePushed"])
  })

  it("an engine that lost the image pulls it by digest from the registry: no build, the same image id", { timeout: 300_000 }, async () => {
    const tag = first.image.split(":")[1]!
    removeLocal(first.image, `${registry.address}/${repository}:${tag}`, `${flaky.address}/${repository}:${tag}`)
    assert.throws(() => execFileSync("/usr/bin/docker", ["-H", engine.dockerHost, "image", "inspect", first.image], { stdio: "ignore" }))
    const again = json<BuildAnswer>(await runCliAsync(["environment", "build", "pydata:1", "-o", "json"], withRegistry()))
    assert.strictEqual(again.outcome, "pulled")
    assert.strictEqual(again.built.buildId, first.built.buildId)
    assert.strictEqual(docker("image", "inspect", "--format", "{{.Id}}", first.image).trim(), first.built.imageId)
    assert.deepStrictEqual(auditTypes().filter((t) => t === "BuildStarted"), ["BuildStarted"], "nothing was built")
    const digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", first.image)
    assert.match(digests, /@sha256:[0-9a-f]{64}/)
  })
})
