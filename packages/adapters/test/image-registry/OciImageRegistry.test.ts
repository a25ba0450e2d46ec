/**
 * The OCI Distribution adapter against Debian's `docker-registry` in its three modes (plain,
 * htpasswd, token auth with the ACR-like token server), the token mode both with a user name and
 * password (an ACR admin user) and with the Entra ID exchange. Images are pushed by the engine
 * first, so the digests compared are the ones an engine records.
 */
import { assert, layer } from "@effect/vitest"
import { ImageRegistry, type RegistryCredentials, type RegistryRepository } from "@terrarium/domain"
import Docker from "dockerode"
import { ConfigProvider, Effect } from "effect"
import { afterAll, beforeAll, describe } from "vitest"
import { connectionOptions } from "../../src/image-builder/docker/DockerEngine.ts"
import * as OciImageRegistry from "../../src/image-registry/oci/OciImageRegistry.ts"
import { testDockerEngine } from "../../../../test/support/DockerEngine.ts"
import { startRegistryIn, type TestRegistry } from "../../../../test/support/Registry.ts"
import { pushTinyImage, removeTinyImage } from "../../../../test/support/TinyImage.ts"
import { startTokenServer, type TestTokenServer } from "../../../../test/support/TokenServer.ts"
import { failureOf, imageRegistryContract, type RegistryFixture } from "./ImageRegistryContract.ts"

const engine = testDockerEngine()
const docker = new Docker(connectionOptions(engine.dockerHost))
const username = "terrarium"
const password = `pw-${Date.now()}-secret`
const entraToken = `entra-${Date.now()}-token`
const repository = "terrarium-test/tiny"
const basic: RegistryCredentials = { _tag: "Basic", username: "env:TEST_REGISTRY_USER", password: "env:TEST_REGISTRY_PASSWORD" }
const entra: RegistryCredentials = { _tag: "EntraId", accessToken: "env:TEST_ENTRA_TOKEN", tenant: "test-tenant" }
const env = { TEST_REGISTRY_USER: username, TEST_REGISTRY_PASSWORD: password, TEST_ENTRA_TOKEN: entraToken, WRONG_PASSWORD: `wrong-${password}`, WRONG_ENTRA: `wrong-${entraToken}` }
const wrongBasic = { credentials: { ...basic, password: "env:WRONG_PASSWORD" } satisfies RegistryCredentials, secret: env.WRONG_PASSWORD }

let tokenServer: TestTokenServer
const registries: Record<"plain" | "htpasswd" | "token", TestRegistry> = {} as never
let digest = ""

beforeAll(async () => {
  tokenServer = await startTokenServer({ users: [{ username, password }], entraAccessTokens: [entraToken] })
  registries.plain = await startRegistryIn({ kind: "plain" })
  registries.htpasswd = await startRegistryIn({ kind: "htpasswd", username, password })
  registries.token = await startRegistryIn({ kind: "token", tokenServer })
  for (const registry of Object.values(registries)) {
    const authconfig = { username, password, serveraddress: registry.address }
    for (const name of [`${repository}:1`, `${repository}:2`, `${repository}:3`, "terrarium-test/doomed:1"]) {
      digest = await pushTinyImage(docker, `${registry.address}/${name}`, authconfig)
    }
  }
}, 180_000)

afterAll(async () => {
  await removeTinyImage(docker)
  for (const registry of Object.values(registries)) await registry.close()
  await tokenServer?.close()
})

const fixture = (registry: TestRegistry, credentials: RegistryCredentials, wrong: RegistryFixture["wrong"]): RegistryFixture => ({
  registry: registry.address,
  credentials,
  wrong,
  env,
  repository,
  doomed: "terrarium-test/doomed",
  digest
})

// A page size below the tag count: docker-registry 2.8 ignores it (one page), ACR pages; the
// `Link` walk itself is tested in OciImageRegistry.protocol.test.ts.
const adapter = OciImageRegistry.layerWith({ tagsPageSize: 2 })

imageRegistryContract("plain", adapter, () => fixture(registries.plain, { _tag: "Anonymous" }, undefined))
imageRegistryContract("htpasswd", adapter, () => fixture(registries.htpasswd, basic, wrongBasic))
imageRegistryContract("token, user and password (ACR admin user)", adapter, () => fixture(registries.token, basic, wrongBasic))

// The Entra ID run gets repositories of its own on the token registry (the admin-user run deleted
// its `doomed`), pushed through the engine with the null-GUID login.
describe("token, Entra ID", () => {
  beforeAll(async () => {
    // An engine logs in to ACR with the null-GUID user name and a refresh token as password.
    const refresh = await fetch(new URL("exchange", tokenServer.realm), {
      method: "POST",
      body: new URLSearchParams({ grant_type: "access_token", service: tokenServer.service, access_token: entraToken })
    }).then((r) => r.json() as Promise<{ refresh_token: string }>)
    const authconfig = { username: "00000000-0000-0000-0000-000000000000", password: refresh.refresh_token, serveraddress: registries.token.address }
    await pushTinyImage(docker, `${registries.token.address}/terrarium-test/entra:1`, authconfig)
    for (const tag of ["1", "2", "3"]) await pushTinyImage(docker, `${registries.token.address}/terrarium-test/entra-tags:${tag}`, authconfig)
  }, 120_000)
  imageRegistryContract("token, Entra ID exchange", adapter, () => ({
    ...fixture(registries.token, entra, { credentials: { ...entra, accessToken: "env:WRONG_ENTRA" }, secret: env.WRONG_ENTRA }),
    repository: "terrarium-test/entra-tags",
    doomed: "terrarium-test/entra"
  }))
})

const withEnv = Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
const on = (credentials: RegistryCredentials, repo = repository): RegistryRepository => ({ registry: registries.token.address, repository: repo, credentials })

layer(OciImageRegistry.layer, { excludeTestServices: true, timeout: "60 seconds" })("OciImageRegistry tokens", (it) => {
  it.effect("caches a token per scope, and exchanges the Entra token once per registry", () =>
    Effect.gen(function*() {
      const registry = yield* ImageRegistry
      const before = { ...tokenServer.counts }
      yield* registry.resolve(on(entra), "1")
      yield* registry.resolve(on(entra), "2")
      yield* registry.exists(on(entra), digest)
      assert.strictEqual(tokenServer.counts.tokens - before.tokens, 1)
      assert.strictEqual(tokenServer.counts.exchanges - before.exchanges, 1)
      // Another repository is another scope: one more token, no more exchange.
      yield* registry.listTags(on(entra, "terrarium-test/entra-tags"))
      assert.strictEqual(tokenServer.counts.tokens - before.tokens, 2)
      assert.strictEqual(tokenServer.counts.exchanges - before.exchanges, 1)
    }).pipe(withEnv))

  it.effect("a refresh token the server no longer knows is exchanged again, once", () =>
    Effect.gen(function*() {
      const registry = yield* ImageRegistry
      yield* registry.resolve(on(entra), "1")
      yield* registry.resolve(on(entra, "terrarium-test/entra-tags"), "1")
      tokenServer.revokeRefreshTokens()
      const before = tokenServer.counts.exchanges
      // Cached access tokens still serve their scopes; a new scope needs a new access token,
      // which the revoked refresh token cannot get.
      assert.strictEqual(yield* registry.resolve(on(entra, "terrarium-test/entra-tags"), "2"), digest)
      assert.strictEqual(tokenServer.counts.exchanges - before, 0)
      assert.isFalse(yield* registry.exists(on(entra, "terrarium-test/doomed"), digest))
      assert.strictEqual(tokenServer.counts.exchanges - before, 1)
    }).pipe(withEnv))
})

layer(OciImageRegistry.layerWith({ requestTimeoutMillis: 300 }), { excludeTestServices: true })("OciImageRegistry faults", (it) => {
  it.effect("a registry that is down is Unavailable and retryable", () =>
    Effect.gen(function*() {
      const registry = yield* ImageRegistry
      const closed = yield* Effect.promise(async () => {
        const down = await startRegistryIn({ kind: "plain" })
        await down.close()
        return down.address
      })
      const error = yield* failureOf(registry.resolve({ registry: closed, repository, credentials: { _tag: "Anonymous" } }, "1"))
      assert.strictEqual(error.reason._tag, "Unavailable")
      assert.isTrue(error.isRetryable)
      assert.include(error.message, closed)
    }))
})

describe("token expiry", () => {
  let shortLived: TestTokenServer
  let shortRegistry: TestRegistry
  beforeAll(async () => {
    shortLived = await startTokenServer({ users: [{ username, password }], entraAccessTokens: [], expiresInSeconds: 1 })
    shortRegistry = await startRegistryIn({ kind: "token", tokenServer: shortLived })
    await pushTinyImage(docker, `${shortRegistry.address}/${repository}:1`, { username, password, serveraddress: shortRegistry.address })
  }, 60_000)
  afterAll(async () => {
    await shortRegistry?.close()
    await shortLived?.close()
  })

  layer(OciImageRegistry.layer, { excludeTestServices: true, timeout: "30 seconds" })("OciImageRegistry token expiry", (it) => {
    it.effect("a token is fetched again once its expires_in has passed, not before", () =>
      Effect.gen(function*() {
        const registry = yield* ImageRegistry
        const target = { registry: shortRegistry.address, repository, credentials: basic }
        const before = shortLived.counts.tokens
        yield* registry.resolve(target, "1")
        yield* registry.resolve(target, "1")
        assert.strictEqual(shortLived.counts.tokens - before, 1)
        yield* Effect.sleep("1100 millis")
        assert.strictEqual(yield* registry.resolve(target, "1"), digest)
        assert.strictEqual(shortLived.counts.tokens - before, 2)
      }).pipe(withEnv))
  })
})
