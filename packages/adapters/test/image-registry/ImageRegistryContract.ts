/**
 * The image registry contract: what every `ImageRegistry` adapter must do against a registry
 * holding `repository` with the tags `1`, `2`, `3` (one image, `digest`) and `doomed` with the
 * tag `1` (the same image: the delete test's own). Run by each adapter test per registry mode
 * (`imageRegistryContract(name, layer, fixture)`); `fixture()` is read once the registry is up.
 */
import { assert, layer } from "@effect/vitest"
import { ImageRegistry, type ImageRegistryError, type RegistryCredentials, type RegistryRepository } from "@terrarium/domain"
import { ConfigProvider, Effect, type Layer } from "effect"

export interface RegistryFixture {
  readonly registry: string
  readonly credentials: RegistryCredentials
  /** Credentials the registry refuses, and the secret value in them that no message may echo. */
  readonly wrong?: { readonly credentials: RegistryCredentials; readonly secret: string } | undefined
  /** The values of the `env:` references the credentials name. */
  readonly env: Readonly<Record<string, string>>
  readonly repository: string
  readonly doomed: string
  readonly digest: string
}

/** The reason of a failure of the port, with the error for further checks. */
export const failureOf = <A>(effect: Effect.Effect<A, ImageRegistryError>) => effect.pipe(Effect.flip)

const unknownDigest = `sha256:${"0".repeat(64)}`

export const imageRegistryContract = <E>(name: string, registryLayer: Layer.Layer<ImageRegistry, E>, fixture: () => RegistryFixture) =>
  layer(registryLayer, { excludeTestServices: true, timeout: "60 seconds" })(`ImageRegistry contract: ${name}`, (it) => {
    const at = (repository: string, credentials?: RegistryCredentials): RegistryRepository => ({
      registry: fixture().registry,
      repository,
      credentials: credentials ?? fixture().credentials
    })
    const withEnv = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: fixture().env }))))

    it.effect("resolves a tag to the manifest digest the push reported, and a digest to itself", () =>
      withEnv(Effect.gen(function*() {
        const registry = yield* ImageRegistry
        const { repository, digest } = fixture()
        for (const tag of ["1", "2", "3"]) assert.strictEqual(yield* registry.resolve(at(repository), tag), digest)
        assert.strictEqual(yield* registry.resolve(at(repository), digest), digest)
      })))

    it.effect("lists every tag", () =>
      withEnv(Effect.gen(function*() {
        const registry = yield* ImageRegistry
        const tags = yield* registry.listTags(at(fixture().repository))
        assert.deepStrictEqual([...tags].sort(), ["1", "2", "3"])
      })))

    it.effect("says whether a digest is there", () =>
      withEnv(Effect.gen(function*() {
        const registry = yield* ImageRegistry
        assert.isTrue(yield* registry.exists(at(fixture().repository), fixture().digest))
        assert.isFalse(yield* registry.exists(at(fixture().repository), unknownDigest))
      })))

    it.effect("a missing tag or repository is NotFound, naming it", () =>
      withEnv(Effect.gen(function*() {
        const registry = yield* ImageRegistry
        const missingTag = yield* failureOf(registry.resolve(at(fixture().repository), "nope"))
        assert.strictEqual(missingTag.reason._tag, "NotFound")
        assert.include(missingTag.message, `${fixture().repository}:nope`)
        assert.isFalse(missingTag.isRetryable)
        const missingRepository = yield* failureOf(registry.listTags(at("terrarium-test/never-pushed")))
        assert.strictEqual(missingRepository.reason._tag, "NotFound")
      })))

    it.effect("bad names and digests are refused before any request", () =>
      withEnv(Effect.gen(function*() {
        const registry = yield* ImageRegistry
        assert.strictEqual((yield* failureOf(registry.resolve(at("../etc"), "1"))).reason._tag, "InvalidRequest")
        assert.strictEqual((yield* failureOf(registry.resolve(at(fixture().repository), "a/../b"))).reason._tag, "InvalidRequest")
        assert.strictEqual((yield* failureOf(registry.delete(at(fixture().repository), "1"))).reason._tag, "InvalidRequest")
        const badHost = { ...at(fixture().repository), registry: "evil host" }
        assert.strictEqual((yield* failureOf(registry.exists(badHost, fixture().digest))).reason._tag, "InvalidRequest")
      })))

    it.effect("deletes by digest: the tags naming it are gone, a second delete is NotFound", () =>
      withEnv(Effect.gen(function*() {
        const registry = yield* ImageRegistry
        const { doomed, digest } = fixture()
        assert.strictEqual(yield* registry.resolve(at(doomed), "1"), digest)
        yield* registry.delete(at(doomed), digest)
        assert.isFalse(yield* registry.exists(at(doomed), digest))
        assert.strictEqual((yield* failureOf(registry.resolve(at(doomed), "1"))).reason._tag, "NotFound")
        assert.strictEqual((yield* failureOf(registry.delete(at(doomed), digest))).reason._tag, "NotFound")
        // The same image under the other repository is untouched.
        assert.isTrue(yield* registry.exists(at(fixture().repository), digest))
      })))

    it.effect("refused credentials are Unauthorized and never echoed", () =>
      withEnv(Effect.gen(function*() {
        const registry = yield* ImageRegistry
        const wrong = fixture().wrong
        if (wrong === undefined) return // an anonymous registry refuses no one
        const error = yield* failureOf(registry.resolve(at(fixture().repository, wrong.credentials), "1"))
        assert.strictEqual(error.reason._tag, "Unauthorized")
        assert.isFalse(error.isRetryable)
        assert.notInclude(error.message, wrong.secret)
        assert.notInclude(JSON.stringify(error), wrong.secret)
      })))

    it.effect("an unset credential reference is CredentialUnavailable, naming the reference", () =>
      Effect.gen(function*() {
        const registry = yield* ImageRegistry
        const credentials: RegistryCredentials = { _tag: "Basic", username: "env:TERRARIUM_TEST_UNSET_USER", password: "env:TERRARIUM_TEST_UNSET_PASSWORD" }
        const result = yield* registry.resolve(at(fixture().repository, credentials), "1").pipe(
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: {} }))),
          Effect.result
        )
        // An anonymous registry asks for nothing, so nothing needs resolving.
        if (fixture().wrong === undefined) assert.strictEqual(result._tag, "Success")
        else {
          assert.strictEqual(result._tag, "Failure")
          if (result._tag === "Failure") {
            assert.strictEqual(result.failure.reason._tag, "CredentialUnavailable")
            assert.include(result.failure.message, "env:TERRARIUM_TEST_UNSET_USER")
          }
        }
      }))
  })
