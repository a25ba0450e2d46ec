/**
 * Where built images are pushed, and with which credentials: the default registry
 * (`TERRARIUM_REGISTRY=HOST[:PORT]/REPOSITORY`), a `--registry` of one call, and the credentials
 * **by reference** (`TERRARIUM_REGISTRY_USERNAME` / `TERRARIUM_REGISTRY_PASSWORD` as `env:NAME` or
 * `file:PATH`, or `TERRARIUM_REGISTRY_ENTRA_TOKEN`, an Entra ID access token by reference, for
 * Azure Container Registry). The references are resolved by the adapter at the moment it talks to
 * the registry; no value is held here (docs/images.md).
 *
 * The settings are kept as text and read when a push or a pull needs them, so a mistyped
 * variable fails the call that uses it (naming the variable), not every command.
 *
 * @since 0.3.0
 */
import type { RegistryCredentials, RegistryRepository } from "@terrarium/domain"
import { Effect } from "effect"
import { InvalidInput } from "./InvalidInput.ts"

/**
 * The registry settings as given (environment variables, or a library caller's options).
 *
 * @since 0.3.0
 * @category config
 */
export interface RegistrySettings {
  /** `HOST[:PORT]/REPOSITORY`: every build pushes there (as AzureML pushes to its workspace's registry). */
  readonly registry?: string | undefined
  /** A secret reference (`env:NAME`, `file:PATH`) to the user name; with `password`. */
  readonly username?: string | undefined
  /** A secret reference to the password (or token); with `username`. */
  readonly password?: string | undefined
  /** A secret reference to an Entra ID access token (ARM audience), exchanged with ACR for a registry token. */
  readonly entraToken?: string | undefined
  /** The Entra ID tenant of `entraToken`, when the registry asks for one. */
  readonly entraTenant?: string | undefined
}

/**
 * A push destination: a registry and a repository in it.
 *
 * @since 0.3.0
 * @category model
 */
export interface PushDestination {
  readonly registry: string
  readonly repository: string
}

/** `host[:port]`, as an engine takes it: a DNS name or an IPv4 address, an optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*(?::[0-9]{1,5})?$/
/** OCI distribution's repository name: lowercase components separated by `/`. */
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/
const SECRET_REFERENCE = /^(env|file):.+$/

const DESTINATION_RULE = "a registry and a repository, HOST[:PORT]/REPOSITORY (e.g. 127.0.0.1:5000/team/envs or myacr.azurecr.io/envs)"

/**
 * Reads `HOST[:PORT]/REPOSITORY`; `field` names where it came from in the error.
 *
 * @since 0.3.0
 * @category config
 */
export const parseDestination = (text: string, field: string): Effect.Effect<PushDestination, InvalidInput> =>
  Effect.suspend(() => {
    const trimmed = text.trim()
    const slash = trimmed.indexOf("/")
    const registry = slash < 0 ? "" : trimmed.slice(0, slash)
    const repository = slash < 0 ? "" : trimmed.slice(slash + 1)
    if (trimmed.length > 512 || !HOST.test(registry) || repository.length > 255 || !REPOSITORY.test(repository)) {
      return Effect.fail(new InvalidInput({ field, input: trimmed.slice(0, 200), reason: DESTINATION_RULE }))
    }
    const port = registry.includes(":") ? Number(registry.slice(registry.indexOf(":") + 1)) : 0
    if (port > 65535) return Effect.fail(new InvalidInput({ field, input: trimmed.slice(0, 200), reason: DESTINATION_RULE }))
    return Effect.succeed({ registry, repository })
  })

const reference = (value: string | undefined, field: string) =>
  value === undefined || SECRET_REFERENCE.test(value)
    ? Effect.succeed(value)
    : Effect.fail(new InvalidInput({ field, reason: "a secret reference, env:NAME or file:PATH (never the secret itself)" }))

/**
 * The credentials the settings give: Basic (user name and password by reference), Entra ID (an
 * access token by reference) or none.
 *
 * @since 0.3.0
 * @category config
 */
export const credentialsOf = (settings: RegistrySettings): Effect.Effect<RegistryCredentials, InvalidInput> =>
  Effect.gen(function*() {
    const username = yield* reference(settings.username, "TERRARIUM_REGISTRY_USERNAME")
    const password = yield* reference(settings.password, "TERRARIUM_REGISTRY_PASSWORD")
    const entraToken = yield* reference(settings.entraToken, "TERRARIUM_REGISTRY_ENTRA_TOKEN")
    if (entraToken !== undefined) {
      if (username !== undefined || password !== undefined) {
        return yield* new InvalidInput({ field: "TERRARIUM_REGISTRY_ENTRA_TOKEN", reason: "give either an Entra ID token or a user name and password, not both" })
      }
      return { _tag: "EntraId", accessToken: entraToken, tenant: settings.entraTenant }
    }
    if ((username === undefined) !== (password === undefined)) {
      return yield* new InvalidInput({
        field: username === undefined ? "TERRARIUM_REGISTRY_USERNAME" : "TERRARIUM_REGISTRY_PASSWORD",
        reason: "the user name and the password are given together"
      })
    }
    return username !== undefined && password !== undefined ? { _tag: "Basic", username, password } : { _tag: "Anonymous" }
  })

/**
 * The registry settings read for one call: where to push (`destination`, when the call pushes)
 * and which credentials go to which registry (`repositoryOf`).
 *
 * Credentials are given to one registry host only, so that they never reach another one: the
 * default registry's host when `TERRARIUM_REGISTRY` is set, else the host of this call's
 * `--registry`. Any other registry (one a push of another machine recorded, say) is asked
 * without credentials.
 *
 * @since 0.3.0
 * @category config
 */
export interface ResolvedRegistry {
  readonly destination: PushDestination | undefined
  readonly repositoryOf: (registry: string, repository: string) => RegistryRepository
}

/**
 * Reads the settings for a call; `push` says whether it pushes and, optionally, where to.
 * A call that pushes with neither a registry of its own nor a default fails, naming both.
 *
 * @since 0.3.0
 * @category config
 */
export const resolveRegistry = (
  settings: RegistrySettings,
  push: { readonly registry?: string | undefined } | undefined
): Effect.Effect<ResolvedRegistry, InvalidInput> =>
  Effect.gen(function*() {
    const configured = settings.registry === undefined || settings.registry.trim() === ""
      ? undefined
      : yield* parseDestination(settings.registry, "TERRARIUM_REGISTRY")
    const given = push?.registry === undefined ? undefined : yield* parseDestination(push.registry, "registry")
    const credentials = yield* credentialsOf(settings)
    const credentialHost = configured?.registry ?? given?.registry
    const wanted = push !== undefined || configured !== undefined
    const destination = given ?? configured
    if (push !== undefined && destination === undefined) {
      return yield* new InvalidInput({
        field: "registry",
        reason: "no registry to push to: give --registry HOST[:PORT]/REPOSITORY or set TERRARIUM_REGISTRY"
      })
    }
    return {
      destination: wanted ? destination : undefined,
      repositoryOf: (registry, repository) => ({
        registry, repository, credentials: registry === credentialHost ? credentials : { _tag: "Anonymous" }
      })
    }
  })
