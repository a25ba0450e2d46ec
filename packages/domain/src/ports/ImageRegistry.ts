/**
 * The image registry port: what Terrarium asks of an OCI registry (a plain `docker-registry`,
 * Azure Container Registry, …) besides pushing: which manifest digest a reference names now,
 * which tags a repository has, whether a digest is still there, and deleting by digest.
 *
 * Credentials travel **by reference** (`SecretReference`: `env:NAME`, `file:PATH`): an adapter
 * resolves them into `Redacted` values only at the moment it talks to the registry, and no
 * value reaches an error message or a log.
 *
 * @since 0.3.0
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { SecretReference } from "../Definition.ts"

/**
 * How to authenticate to a registry. Which scheme is used is the registry's choice, read from
 * its `WWW-Authenticate` challenge: `Basic` credentials serve a Basic challenge directly and a
 * Bearer challenge through the token endpoint (an ACR admin user, a service principal, a
 * repository-scoped token); `EntraId` is Azure Container Registry's exchange of an Entra ID
 * access token (ARM audience) for a registry refresh token.
 *
 * @since 0.3.0
 * @category model
 */
export type RegistryCredentials =
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "Basic"; readonly username: SecretReference; readonly password: SecretReference }
  | { readonly _tag: "EntraId"; readonly accessToken: SecretReference; readonly tenant?: string | undefined }

/**
 * The user name under which an ACR refresh token is given to `docker login` (and to an engine's
 * push `authconfig`): the null GUID, as `az acr login --expose-token` documents.
 *
 * @since 0.3.0
 * @category model
 */
export const ACR_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000"

/**
 * One repository of one registry: `registry` is `host[:port]` (plain HTTP only on 127.0.0.0/8
 * and `localhost`, as an engine allows), `repository` the path (`team/env`).
 *
 * @since 0.3.0
 * @category model
 */
export interface RegistryRepository {
  readonly registry: string
  readonly repository: string
  readonly credentials: RegistryCredentials
}

/** The registry refused the credentials (or has none for the operation). @since 0.3.0 @category errors */
export class RegistryUnauthorized extends Schema.TaggedError<RegistryUnauthorized>()("Unauthorized", {
  registry: Schema.String,
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `registry ${this.registry} refused the credentials: ${this.detail}` }
}

/** The tag, digest or repository is not in the registry. @since 0.3.0 @category errors */
export class RegistryNotFound extends Schema.TaggedError<RegistryNotFound>()("NotFound", {
  reference: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `${this.reference} is not in its registry` }
}

/** The registry cannot be reached, timed out or answered 5xx / 429. @since 0.3.0 @category errors */
export class RegistryUnavailable extends Schema.TaggedError<RegistryUnavailable>()("Unavailable", {
  registry: Schema.String,
  detail: Schema.String
}) {
  get isRetryable() { return true }
  override get message() { return `registry ${this.registry} is unavailable: ${this.detail}` }
}

/** The registry (or its token server) answered something the protocol does not allow. @since 0.3.0 @category errors */
export class RegistryProtocolError extends Schema.TaggedError<RegistryProtocolError>()("ProtocolError", {
  registry: Schema.String,
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `registry ${this.registry} answered unexpectedly: ${this.detail}` }
}

/** A credential reference cannot be resolved (variable unset, file unreadable). @since 0.3.0 @category errors */
export class RegistryCredentialUnavailable extends Schema.TaggedError<RegistryCredentialUnavailable>()("CredentialUnavailable", {
  reference: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `the registry credential ${this.reference} cannot be resolved (env:NAME and file:PATH are supported)` }
}

/** The request itself is malformed (a bad repository name or digest). @since 0.3.0 @category errors */
export class RegistryInvalidRequest extends Schema.TaggedError<RegistryInvalidRequest>()("InvalidRequest", {
  detail: Schema.String
}) {
  get isRetryable() { return false }
  override get message() { return `invalid registry request: ${this.detail}` }
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.3.0
 * @category errors
 */
export class ImageRegistryError extends Schema.TaggedError<ImageRegistryError>()("ImageRegistryError", {
  reason: Schema.Union([
    RegistryUnauthorized,
    RegistryNotFound,
    RegistryUnavailable,
    RegistryProtocolError,
    RegistryCredentialUnavailable,
    RegistryInvalidRequest
  ])
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/**
 * @since 0.3.0
 * @category port
 */
export class ImageRegistry extends Context.Service<ImageRegistry, {
  /**
   * The manifest digest (`sha256:…`) that `reference` (a tag or a digest) names now: the digest
   * an engine records as the push digest and in `RepoDigests`, for an image index as well as a
   * single manifest.
   */
  readonly resolve: (repository: RegistryRepository, reference: string) => Effect.Effect<string, ImageRegistryError>
  /** Every tag of the repository, across all pages; `NotFound` if the repository is unknown. */
  readonly listTags: (repository: RegistryRepository) => Effect.Effect<ReadonlyArray<string>, ImageRegistryError>
  /** Whether the manifest `digest` is in the repository. */
  readonly exists: (repository: RegistryRepository, digest: string) => Effect.Effect<boolean, ImageRegistryError>
  /** Deletes the manifest `digest` (and so every tag naming it); `NotFound` if it is not there. */
  readonly delete: (repository: RegistryRepository, digest: string) => Effect.Effect<void, ImageRegistryError>
}>()("terrarium/ImageRegistry") {}
