/**
 * A base image that is only in the definition's own registry: pulled with the credentials the
 * definition references (`env:`), which reach the engine as the pull's `authconfig` and appear
 * nowhere in the build's log, the image's history or its configuration.
 */
import { assert, layer } from "@effect/vitest"
import { emptyDefinition, ImageBuilder, type Definition } from "@terrarium/domain"
import Docker from "dockerode"
import { ConfigProvider, Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as DockerImageBuilder from "../../src/image-builder/docker/DockerImageBuilder.ts"
import { connectionOptions } from "../../src/image-builder/docker/DockerEngine.ts"
import { testDockerEngine } from "../../../../test/support/DockerEngine.ts"
import { startRegistry, type TestRegistry } from "../../../../test/support/Registry.ts"
import { pushTinyImage, removeTinyImage } from "../../../../test/support/TinyImage.ts"
import { buildRequest, recorder } from "./ImageBuilderContract.ts"

const engine = testDockerEngine()
const docker = new Docker(connectionOptions(engine.dockerHost))
const username = "terrarium"
const password = `pw-${Date.now()}-secret`

let registry: TestRegistry
let image: string
const built: Array<string> = []

beforeAll(async () => {
  registry = await startRegistry({ username, password })
  image = `${registry.address}/terrarium-test/busybox:1`
  // A 2 MB image pushed with the credentials, not kept locally.
  await pushTinyImage(docker, image, { username, password, serveraddress: registry.address })
}, 120_000)

afterAll(async () => {
  await removeTinyImage(docker)
  for (const name of [...built, image]) await docker.getImage(name).remove().catch(() => undefined)
  await registry?.close()
})

const onRegistry = (): Definition => ({
  ...emptyDefinition,
  python: { userManagedDependencies: true, interpreterPath: "python" },
  docker: {
    ...emptyDefinition.docker,
    base: { kind: "image", image },
    baseImageRegistry: { address: registry.address, username: "env:TEST_REGISTRY_USER", password: "env:TEST_REGISTRY_PASSWORD" }
  }
})

const withCredentials = (secret: string) =>
  Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { TEST_REGISTRY_USER: username, TEST_REGISTRY_PASSWORD: secret } })))

layer(DockerImageBuilder.layerWith({ host: engine.dockerHost }), { excludeTestServices: true, timeout: "120 seconds" })("a base image in the definition's registry", (it) => {
  it.effect("a wrong password fails as BaseImageNotFound without echoing it", () =>
    Effect.gen(function* () {
      const builder = yield* ImageBuilder
      const wrong = `wrong-${password}`
      const error = yield* builder.build(buildRequest(onRegistry()), () => Effect.void).pipe(withCredentials(wrong), Effect.flip)
      assert.strictEqual(error.reason._tag, "BaseImageNotFound")
      assert.include(error.message, image)
      assert.notInclude(error.message, wrong)
    }))

  it.effect("is pulled with the referenced credentials, which appear nowhere in the log or the image", () =>
    Effect.gen(function* () {
      const builder = yield* ImageBuilder
      const request = buildRequest(onRegistry())
      built.push(request.image)
      const { events, progress } = recorder()
      const result = yield* builder.build(request, progress).pipe(withCredentials(password))
      assert.isNotNull(result.baseImageDigest)
      assert.notInclude(JSON.stringify(events), password)
      const history = yield* Effect.promise(() => docker.getImage(request.image).history())
      assert.notInclude(JSON.stringify(history), password)
      const info = yield* Effect.promise(() => docker.getImage(request.image).inspect())
      assert.notInclude(JSON.stringify(info), password)
    }))
})
