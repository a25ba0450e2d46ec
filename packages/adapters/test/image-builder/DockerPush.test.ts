/**
 * Pushing a local image to docker-registry (htpasswd mode) through the engine: the digest it
 * returns is the one the registry resolves the tag to; wrong credentials are refused by the
 * engine's login check before any layer is sent (a push alone would retry for about a minute,
 * past this test's timeout); a registry that is down is Unavailable. `pullImage` takes a pushed
 * image back by digest under a local name (the same image id), and says NotFound for a digest the
 * registry lacks and Unavailable for a registry that is down.
 */
import { assert, layer } from "@effect/vitest"
import { ImageRegistry, type RegistryCredentials } from "@terrarium/domain"
import Docker from "dockerode"
import { ConfigProvider, Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { connectionOptions } from "../../src/image-builder/docker/DockerEngine.ts"
import { pullImage, pushImage, type PushTarget } from "../../src/image-builder/docker/DockerPush.ts"
import * as OciImageRegistry from "../../src/image-registry/oci/OciImageRegistry.ts"
import { testDockerEngine } from "../../../../test/support/DockerEngine.ts"
import { startRegistry, startRegistryIn, type TestRegistry } from "../../../../test/support/Registry.ts"
import { startTokenServer, type TestTokenServer } from "../../../../test/support/TokenServer.ts"
import { localTinyImage, removeTinyImage } from "../../../../test/support/TinyImage.ts"

const engine = testDockerEngine()
const docker = new Docker(connectionOptions(engine.dockerHost))
const username = "pusher"
const password = `pw-${Date.now()}-push`
const entraToken = `entra-${Date.now()}-push`
const env = { PUSH_USER: username, PUSH_PASSWORD: password, WRONG_PASSWORD: `wrong-${password}`, ENTRA_TOKEN: entraToken }
const credentials: RegistryCredentials = { _tag: "Basic", username: "env:PUSH_USER", password: "env:PUSH_PASSWORD" }
const withEnv = Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))

let registry: TestRegistry
let tokenServer: TestTokenServer
let acr: TestRegistry
let image = ""
const target = (overrides: Partial<PushTarget> = {}): PushTarget => ({
  registry: registry.address,
  repository: "terrarium-test/pushed",
  tag: "1",
  credentials,
  ...overrides
})

beforeAll(async () => {
  registry = await startRegistry({ username, password })
  tokenServer = await startTokenServer({ users: [], entraAccessTokens: [entraToken] })
  acr = await startRegistryIn({ kind: "token", tokenServer })
  image = await localTinyImage(docker)
}, 120_000)

afterAll(async () => {
  for (const address of [registry.address, acr.address]) {
    for (const info of await docker.listImages({ filters: { reference: [`${address}/*`, `${address}/*/*`] } })) {
      for (const tag of info.RepoTags ?? []) await docker.getImage(tag).remove().catch(() => undefined)
    }
  }
  await removeTinyImage(docker)
  await registry?.close()
  await acr?.close()
  await tokenServer?.close()
})

layer(OciImageRegistry.layer, { excludeTestServices: true, timeout: "20 seconds" })("pushImage", (it) => {
  it.effect("returns the manifest digest the registry then resolves the tag to", () =>
    Effect.gen(function*() {
      const digest = yield* pushImage(engine.dockerHost, image, target())
      assert.match(digest, /^sha256:[a-f0-9]{64}$/)
      const registryPort = yield* ImageRegistry
      assert.strictEqual(yield* registryPort.resolve(target(), "1"), digest)
    }).pipe(withEnv))

  it.effect("with an Entra ID credential, the engine logs in with ACR's refresh token under the null GUID", () =>
    Effect.gen(function*() {
      const entra = target({ registry: acr.address, credentials: { _tag: "EntraId", accessToken: "env:ENTRA_TOKEN" } })
      const exchanges = tokenServer.counts.exchanges
      const digest = yield* pushImage(engine.dockerHost, image, entra)
      assert.strictEqual(tokenServer.counts.exchanges - exchanges, 1)
      assert.strictEqual(yield* (yield* ImageRegistry).resolve(entra, "1"), digest)
    }).pipe(withEnv))

  it.effect("wrong credentials are Unauthorized at once, never echoed, nothing pushed", () =>
    Effect.gen(function*() {
      const wrong = target({ repository: "terrarium-test/refused", credentials: { ...credentials, password: "env:WRONG_PASSWORD" } })
      const error = yield* pushImage(engine.dockerHost, image, wrong).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ImageRegistryError")
      assert.strictEqual(error.reason._tag, "Unauthorized")
      assert.notInclude(JSON.stringify(error) + error.message, env.WRONG_PASSWORD)
      const missing = yield* (yield* ImageRegistry).listTags(target({ repository: "terrarium-test/refused" })).pipe(Effect.flip)
      assert.strictEqual(missing.reason._tag, "NotFound")
    }).pipe(withEnv))

  it.effect("an unset credential reference fails before the engine is asked", () =>
    Effect.gen(function*() {
      const error = yield* pushImage(engine.dockerHost, image, target({ credentials: { ...credentials, password: "env:TERRARIUM_TEST_UNSET" } })).pipe(Effect.flip)
      assert.strictEqual(error.reason._tag, "CredentialUnavailable")
    }).pipe(withEnv))

  it.effect("a registry that is down is Unavailable and retryable", () =>
    Effect.gen(function*() {
      const down = yield* Effect.promise(async () => {
        const stopped = await startRegistry({ username, password })
        await stopped.close()
        return stopped.address
      })
      const error = yield* pushImage(engine.dockerHost, image, target({ registry: down })).pipe(Effect.flip)
      assert.strictEqual(error.reason._tag, "Unavailable")
      assert.isTrue(error.isRetryable)
    }).pipe(withEnv))
})

layer(OciImageRegistry.layer, { excludeTestServices: true, timeout: "30 seconds" })("pullImage", (it) => {
  const local = `terrarium-test/pulled:${process.pid}`
  it.effect("pulls a pushed image by digest and tags it locally: the same image id", () =>
    Effect.gen(function*() {
      const pushTarget = target({ repository: "terrarium-test/pulled", tag: "p" })
      const digest = yield* pushImage(engine.dockerHost, image, pushTarget)
      const imageId = (yield* Effect.promise(() => docker.getImage(image).inspect())).Id
      yield* Effect.promise(() => docker.getImage(`${registry.address}/terrarium-test/pulled:p`).remove().catch(() => undefined))
      const pulled = yield* pullImage(engine.dockerHost, pushTarget, digest, local)
      assert.strictEqual(pulled.image, local)
      assert.strictEqual(pulled.imageId, imageId)
      assert.strictEqual((yield* Effect.promise(() => docker.getImage(local).inspect())).Id, imageId)
      yield* Effect.promise(() => docker.getImage(local).remove().catch(() => undefined))
    }).pipe(withEnv))

  it.effect("a digest the registry lacks is NotFound; a registry that is down is Unavailable; a bad digest is refused", () =>
    Effect.gen(function*() {
      const missing = yield* pullImage(engine.dockerHost, target(), `sha256:${"0".repeat(64)}`, local).pipe(Effect.flip)
      assert.strictEqual(missing._tag === "ImageRegistryError" ? missing.reason._tag : missing._tag, "NotFound")
      const down = yield* Effect.promise(async () => {
        const stopped = await startRegistry({ username, password })
        await stopped.close()
        return stopped.address
      })
      const unavailable = yield* pullImage(engine.dockerHost, target({ registry: down }), `sha256:${"0".repeat(64)}`, local).pipe(Effect.flip)
      assert.strictEqual(unavailable._tag === "ImageRegistryError" ? unavailable.reason._tag : unavailable._tag, "Unavailable")
      const bad = yield* pullImage(engine.dockerHost, target(), "latest", local).pipe(Effect.flip)
      assert.strictEqual(bad._tag === "ImageRegistryError" ? bad.reason._tag : bad._tag, "InvalidRequest")
    }).pipe(withEnv))
})
