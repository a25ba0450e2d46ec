/**
 * The `ImageRegistry` port on the OCI Distribution HTTP API, with Node's `fetch`.
 *
 * Authentication follows the registry's `WWW-Authenticate` challenge: a request goes out with
 * what is cached for its scope (or nothing); on a 401 the challenge says Basic (send the user
 * name and password) or Bearer (get a token from its `realm` for its `service` and `scope`, and
 * cache it per scope until shortly before it expires; a cached token the registry refuses is
 * dropped and fetched again once). Azure Container Registry's Entra ID flow is the Bearer one
 * with a different credential: the Entra access token is exchanged at `/oauth2/exchange` for a
 * registry refresh token (cached per registry), which `/oauth2/token` turns into a scoped access
 * token.
 *
 * Hostile registries: every answer is read up to a bound; a `Link` or token `realm` elsewhere
 * than HTTPS (or loopback HTTP) is refused, so credentials never travel in the clear; a
 * `Link` to another origin is refused. A registry that does not answer within the request
 * timeout is `Unavailable` (retryable), as are 5xx and 429 answers.
 *
 * @since 0.3.0
 */
import {
  ACR_TOKEN_USERNAME,
  ImageRegistry,
  ImageRegistryError,
  type RegistryCredentials,
  RegistryCredentialUnavailable,
  RegistryInvalidRequest,
  RegistryNotFound,
  RegistryProtocolError,
  type RegistryRepository,
  RegistryUnauthorized,
  RegistryUnavailable
} from "@terrarium/domain"
import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import { createHash } from "node:crypto"
import { resolveSecretReference } from "../../secrets/SecretReferences.ts"

/**
 * @since 0.3.0
 * @category options
 */
export interface OciImageRegistryOptions {
  /** How long one HTTP exchange may take, in milliseconds (default 10 000). */
  readonly requestTimeoutMillis?: number | undefined
  /** Tags asked for per page (`n`); the registry may give fewer and a `Link` to the next page. */
  readonly tagsPageSize?: number | undefined
}

/** Every manifest type, so the registry answers with the manifest a push made (never schema1, whose digest differs). */
const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json"
].join(", ")

/** Manifests, tag pages and token answers are small; anything larger is not a registry talking. */
const MAX_RESPONSE_BYTES = 4 * 1_048_576
const MAX_TAGS = 1_000_000
const DEFAULT_TIMEOUT_MILLIS = 10_000
const DEFAULT_PAGE_SIZE = 1_000
/** What a token server means when it gives no `expires_in` (the distribution token spec). */
const DEFAULT_TOKEN_SECONDS = 60

const REGISTRY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/

const failWith = (reason: ImageRegistryError["reason"]) => Effect.fail(new ImageRegistryError({ reason }))

const isLoopback = (hostname: string) =>
  hostname === "localhost" || hostname === "[::1]" || hostname === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)

/** The registry's base URL: plain HTTP only on loopback, as an engine allows by default. */
const baseUrl = (registry: string) => {
  const hostname = registry.startsWith("[") ? registry.slice(0, registry.indexOf("]") + 1) : registry.replace(/:\d+$/, "")
  return `${isLoopback(hostname) ? "http" : "https"}://${registry}`
}

/** A URL credentials may be sent to: HTTPS, or HTTP on loopback. */
const safeForCredentials = (url: URL) => url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname))

interface Challenge {
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
}

/** `Bearer realm="…",service="…",scope="…"` → its scheme (lower case) and parameters. */
export const parseChallenge = (header: string | null): Challenge | undefined => {
  if (header === null) return undefined
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header)
  if (match === null) return undefined
  const params: Record<string, string> = {}
  for (const param of match[2]!.matchAll(/([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g)) {
    params[param[1]!.toLowerCase()] = param[2] !== undefined ? param[2].replace(/\\(.)/g, "$1") : param[3]!
  }
  return { scheme: match[1]!.toLowerCase(), params }
}

/** The `rel="next"` target of a `Link` header, if any. */
export const nextLink = (header: string | null): string | undefined => {
  if (header === null) return undefined
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/s.exec(part)
    if (match !== null && /(?:^|;)\s*rel="?next"?\s*(?:;|$)/.test(match[2]!)) return match[1]
  }
  return undefined
}

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: Uint8Array
}

type Outcome = { readonly _tag: "Answer"; readonly answer: Answer } | { readonly _tag: "Failed"; readonly detail: string } | { readonly _tag: "TooLarge" }

/** One HTTP exchange, its body read up to `MAX_RESPONSE_BYTES`; never rejects. `interrupted` aborts it. */
const exchange = async (url: string, init: RequestInit, timeoutMillis: number, interrupted: AbortSignal): Promise<Outcome> => {
  const timeout = AbortSignal.timeout(timeoutMillis)
  const signal = AbortSignal.any([timeout, interrupted])
  try {
    const response = await fetch(url, { ...init, signal, redirect: "follow" })
    const chunks: Array<Uint8Array> = []
    let size = 0
    if (response.body !== null) {
      for await (const chunk of response.body) {
        size += chunk.byteLength
        if (size > MAX_RESPONSE_BYTES) {
          await response.body.cancel().catch(() => undefined)
          return { _tag: "TooLarge" }
        }
        chunks.push(chunk)
      }
    }
    return { _tag: "Answer", answer: { status: response.status, headers: response.headers, body: Buffer.concat(chunks) } }
  } catch (cause) {
    if (timeout.aborted) return { _tag: "Failed", detail: `no answer within ${timeoutMillis} ms` }
    const code = (cause as { cause?: { code?: unknown } }).cause?.code
    return { _tag: "Failed", detail: typeof code === "string" ? code : cause instanceof Error ? cause.message : "the request failed" }
  }
}

const TokenAnswer = Schema.Struct({
  token: Schema.optionalKey(Schema.String),
  access_token: Schema.optionalKey(Schema.String),
  expires_in: Schema.optionalKey(Schema.Number)
})
const RefreshAnswer = Schema.Struct({ refresh_token: Schema.String })
const TagsPage = Schema.Struct({ name: Schema.String, tags: Schema.NullOr(Schema.Array(Schema.String)) })

const decodeJson = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, body: Uint8Array) =>
  Effect.try(() => JSON.parse(new TextDecoder().decode(body)) as unknown).pipe(
    Effect.flatMap((json) => Schema.decodeUnknownEffect(schema)(json)),
    Effect.option
  )

/** A cached `Authorization` value and when it stops being good (epoch milliseconds). */
interface CachedAuthorization {
  readonly header: Redacted.Redacted<string>
  readonly expiresAt: number
}

/** Which credentials, by their references (never values): part of every cache key. */
const credentialKey = (credentials: RegistryCredentials) =>
  credentials._tag === "Basic"
    ? `basic ${credentials.username} ${credentials.password}`
    : credentials._tag === "EntraId" ? `entra ${credentials.accessToken} ${credentials.tenant ?? ""}` : "anonymous"

/**
 * The user name and password an engine logs in with (`docker login`, a push's `authconfig`), or
 * `undefined` for anonymous access: Basic credentials as they are; for an Entra ID credential,
 * ACR's refresh token under the null-GUID user name (the registry's challenge names the realm
 * whose `/oauth2/exchange` gives it).
 *
 * @since 0.3.0
 * @category engine login
 */
export interface EngineLogin {
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

/** The adapter's client: the port's operations, and the engine login that pushes need. */
const makeClient = (options: OciImageRegistryOptions) => {
  const timeoutMillis = options.requestTimeoutMillis ?? DEFAULT_TIMEOUT_MILLIS
  const pageSize = options.tagsPageSize ?? DEFAULT_PAGE_SIZE
  /** Keyed by registry, credentials and scope; `*` for a registry that takes Basic for everything. */
  const authorizations = new Map<string, CachedAuthorization>()
  /** ACR refresh tokens, keyed by registry and credentials. */
  const refreshTokens = new Map<string, Redacted.Redacted<string>>()

  const secret = (reference: string) =>
    resolveSecretReference(reference).pipe(
      Effect.flatMap(Option.match({
        onNone: () => failWith(new RegistryCredentialUnavailable({ reference })),
        onSome: Effect.succeed
      }))
    )

  const send = (registry: string, url: string, init: RequestInit) =>
    Effect.promise((interrupted) => exchange(url, init, timeoutMillis, interrupted)).pipe(
      Effect.flatMap((outcome) => {
        if (outcome._tag === "Failed") return failWith(new RegistryUnavailable({ registry, detail: outcome.detail }))
        if (outcome._tag === "TooLarge") {
          return failWith(new RegistryProtocolError({ registry, detail: `an answer larger than ${MAX_RESPONSE_BYTES} bytes` }))
        }
        const { status } = outcome.answer
        if (status >= 500 || status === 429) return failWith(new RegistryUnavailable({ registry, detail: `HTTP ${status}` }))
        return Effect.succeed(outcome.answer)
      })
    )

  const basicHeader = (credentials: Extract<RegistryCredentials, { _tag: "Basic" }>) =>
    Effect.all([secret(credentials.username), secret(credentials.password)]).pipe(
      Effect.map(([username, password]) =>
        Redacted.make(`Basic ${Buffer.from(`${Redacted.value(username)}:${Redacted.value(password)}`).toString("base64")}`)
      )
    )

  /** A token answer's `Authorization` value and lifetime; refusals keep the server's words out (they may echo input). */
  const readToken = (registry: string, answer: Answer) =>
    Effect.gen(function*() {
      if (answer.status === 401 || answer.status === 403) {
        return yield* failWith(new RegistryUnauthorized({ registry, detail: `the token server answered HTTP ${answer.status}` }))
      }
      if (answer.status !== 200) {
        return yield* failWith(new RegistryProtocolError({ registry, detail: `the token server answered HTTP ${answer.status}` }))
      }
      const decoded = yield* decodeJson(TokenAnswer, answer.body)
      const token = Option.isSome(decoded) ? decoded.value.access_token ?? decoded.value.token : undefined
      if (token === undefined || token.length === 0) {
        return yield* failWith(new RegistryProtocolError({ registry, detail: "the token server gave no token" }))
      }
      const seconds = Option.isSome(decoded) && decoded.value.expires_in !== undefined && decoded.value.expires_in > 0
        ? decoded.value.expires_in
        : DEFAULT_TOKEN_SECONDS
      const now = yield* Clock.currentTimeMillis
      // Renew a little before the server's end, so a token never expires between check and use.
      return { header: Redacted.make(`Bearer ${token}`), expiresAt: now + seconds * 900 }
    })

  const realmOf = (registry: string, challenge: Challenge) =>
    Effect.gen(function*() {
      const realm = challenge.params["realm"]
      const url = realm === undefined ? undefined : URL.parse(realm)
      if (url === undefined || url === null || !safeForCredentials(url)) {
        return yield* failWith(new RegistryProtocolError({ registry, detail: "the Bearer challenge names no HTTPS (or loopback) token realm" }))
      }
      return url
    })

  /** ACR: the Entra access token exchanged for a registry refresh token, cached per registry. */
  const refreshToken = (registry: string, realm: URL, service: string, credentials: Extract<RegistryCredentials, { _tag: "EntraId" }>) =>
    Effect.gen(function*() {
      const key = `${registry}\n${credentialKey(credentials)}`
      const cached = refreshTokens.get(key)
      if (cached !== undefined) return cached
      const accessToken = yield* secret(credentials.accessToken)
      const form = new URLSearchParams({ grant_type: "access_token", service, access_token: Redacted.value(accessToken) })
      if (credentials.tenant !== undefined) form.set("tenant", credentials.tenant)
      const answer = yield* send(registry, new URL("exchange", realm).href, { method: "POST", body: form })
      if (answer.status === 401 || answer.status === 403) {
        return yield* failWith(new RegistryUnauthorized({ registry, detail: `the Entra ID token exchange answered HTTP ${answer.status}` }))
      }
      const decoded = answer.status === 200 ? yield* decodeJson(RefreshAnswer, answer.body) : Option.none()
      if (Option.isNone(decoded)) {
        return yield* failWith(new RegistryProtocolError({ registry, detail: `the Entra ID token exchange answered HTTP ${answer.status} without a refresh token` }))
      }
      const token = Redacted.make(decoded.value.refresh_token)
      refreshTokens.set(key, token)
      return token
    })

  /** An `Authorization` value answering `challenge` for `credentials`. */
  const authorize = (
    registry: string,
    challenge: Challenge | undefined,
    fallbackScope: string,
    credentials: RegistryCredentials
  ): Effect.Effect<CachedAuthorization, ImageRegistryError> =>
    Effect.gen(function*() {
      if (challenge?.scheme === "basic") {
        if (credentials._tag !== "Basic") {
          return yield* failWith(new RegistryUnauthorized({ registry, detail: "the registry asks for a user name and password" }))
        }
        return { header: yield* basicHeader(credentials), expiresAt: Number.POSITIVE_INFINITY }
      }
      if (challenge?.scheme !== "bearer") {
        return yield* failWith(new RegistryProtocolError({ registry, detail: "a 401 answer without a Basic or Bearer challenge" }))
      }
      const realm = yield* realmOf(registry, challenge)
      const service = challenge.params["service"] ?? ""
      const scope = challenge.params["scope"] ?? fallbackScope
      if (credentials._tag === "EntraId") {
        const fromCache = refreshTokens.has(`${registry}\n${credentialKey(credentials)}`)
        const viaRefresh = Effect.gen(function*() {
          const refresh = yield* refreshToken(registry, realm, service, credentials)
          const form = new URLSearchParams({ grant_type: "refresh_token", service, scope, refresh_token: Redacted.value(refresh) })
          return yield* readToken(registry, yield* send(registry, realm.href, { method: "POST", body: form }))
        })
        // A cached refresh token that has expired is dropped and exchanged again, once.
        return yield* viaRefresh.pipe(Effect.catchIf(
          (e) => fromCache && e.reason._tag === "Unauthorized",
          () => Effect.suspend(() => {
            refreshTokens.delete(`${registry}\n${credentialKey(credentials)}`)
            return viaRefresh
          })
        ))
      }
      const url = new URL(realm)
      if (service !== "") url.searchParams.set("service", service)
      url.searchParams.set("scope", scope)
      const headers: Record<string, string> = {}
      if (credentials._tag === "Basic") headers["authorization"] = Redacted.value(yield* basicHeader(credentials))
      return yield* readToken(registry, yield* send(registry, url.href, { method: "GET", headers }))
    })

  /**
   * One request to the registry, authenticated as its challenge asks: with the cached
   * authorization first, and on a 401 once more with a fresh one.
   */
  const request = (
    target: RegistryRepository,
    method: string,
    url: string,
    action: "pull" | "delete",
    headers: Record<string, string> = {}
  ) =>
    Effect.gen(function*() {
      const scope = `repository:${target.repository}:${action}`
      const prefix = `${target.registry}\n${credentialKey(target.credentials)}\n`
      const now = yield* Clock.currentTimeMillis
      const cachedKey = [prefix + scope, `${prefix}*`].find((key) => (authorizations.get(key)?.expiresAt ?? 0) > now)
      const cached = cachedKey === undefined ? undefined : authorizations.get(cachedKey)
      const withAuth = (auth: CachedAuthorization | undefined) =>
        send(target.registry, url, {
          method,
          headers: auth === undefined ? headers : { ...headers, authorization: Redacted.value(auth.header) }
        })
      const first = yield* withAuth(cached)
      if (first.status !== 401) return first
      if (cachedKey !== undefined) authorizations.delete(cachedKey)
      const challenge = parseChallenge(first.headers.get("www-authenticate"))
      const fresh = yield* authorize(target.registry, challenge, scope, target.credentials)
      authorizations.set(challenge?.scheme === "basic" ? `${prefix}*` : prefix + scope, fresh)
      const second = yield* withAuth(fresh)
      if (second.status === 401) {
        authorizations.delete(challenge?.scheme === "basic" ? `${prefix}*` : prefix + scope)
        return yield* failWith(new RegistryUnauthorized({ registry: target.registry, detail: `${method} ${target.repository} was refused` }))
      }
      if (second.status === 403) {
        return yield* failWith(new RegistryUnauthorized({ registry: target.registry, detail: `${method} ${target.repository} is not allowed` }))
      }
      return second
    })

  const checked = (target: RegistryRepository) =>
    !REGISTRY.test(target.registry)
      ? failWith(new RegistryInvalidRequest({ detail: `"${target.registry.slice(0, 200)}" is not a registry host[:port]` }))
      : !REPOSITORY.test(target.repository) || target.repository.length > 255
      ? failWith(new RegistryInvalidRequest({ detail: `"${target.repository.slice(0, 300)}" is not a repository name` }))
      : Effect.void

  const checkedDigest = (digest: string) =>
    DIGEST.test(digest) ? Effect.void : failWith(new RegistryInvalidRequest({ detail: `"${digest.slice(0, 200)}" is not a digest` }))

  const manifestUrl = (target: RegistryRepository, reference: string) =>
    `${baseUrl(target.registry)}/v2/${target.repository}/manifests/${reference}`

  const unexpected = (target: RegistryRepository, what: string, answer: Answer) =>
    failWith(new RegistryProtocolError({ registry: target.registry, detail: `${what} answered HTTP ${answer.status}` }))

  const notFound = (target: RegistryRepository, reference?: string) =>
    failWith(new RegistryNotFound({ reference: `${target.registry}/${target.repository}${reference === undefined ? "" : reference.includes(":") ? `@${reference}` : `:${reference}`}` }))

  const resolve = (target: RegistryRepository, reference: string) =>
    Effect.gen(function*() {
      yield* checked(target)
      if (!TAG.test(reference) && !DIGEST.test(reference)) {
        return yield* failWith(new RegistryInvalidRequest({ detail: `"${reference.slice(0, 200)}" is neither a tag nor a digest` }))
      }
      const head = yield* request(target, "HEAD", manifestUrl(target, reference), "pull", { accept: MANIFEST_ACCEPT })
      if (head.status === 404) return yield* notFound(target, reference)
      if (head.status !== 200) return yield* unexpected(target, "HEAD manifest", head)
      const digest = head.headers.get("docker-content-digest")
      if (digest !== null && DIGEST.test(digest)) return digest
      // A registry that does not say: the digest is the sha256 of the manifest's bytes.
      const get = yield* request(target, "GET", manifestUrl(target, reference), "pull", { accept: MANIFEST_ACCEPT })
      if (get.status !== 200) return yield* unexpected(target, "GET manifest", get)
      return `sha256:${createHash("sha256").update(get.body).digest("hex")}`
    })

  const listTags = (target: RegistryRepository) =>
    Effect.gen(function*() {
      yield* checked(target)
      const base = baseUrl(target.registry)
      const tags: Array<string> = []
      let url: string | undefined = `${base}/v2/${target.repository}/tags/list?n=${pageSize}`
      while (url !== undefined) {
        const page = yield* request(target, "GET", url, "pull")
        if (page.status === 404) return yield* notFound(target)
        if (page.status !== 200) return yield* unexpected(target, "GET tags", page)
        const decoded = yield* decodeJson(TagsPage, page.body)
        if (Option.isNone(decoded)) {
          return yield* failWith(new RegistryProtocolError({ registry: target.registry, detail: "the tag list is not {name, tags}" }))
        }
        tags.push(...(decoded.value.tags ?? []))
        if (tags.length > MAX_TAGS) {
          return yield* failWith(new RegistryProtocolError({ registry: target.registry, detail: `more than ${MAX_TAGS} tags` }))
        }
        const next = nextLink(page.headers.get("link"))
        if (next === undefined) break
        const nextUrl = URL.parse(next, url)
        // The next page must be on the same registry: credentials go nowhere else.
        if (nextUrl === null || nextUrl.origin !== new URL(base).origin) {
          return yield* failWith(new RegistryProtocolError({ registry: target.registry, detail: "a Link to another origin" }))
        }
        url = nextUrl.href
      }
      return tags
    })

  const exists = (target: RegistryRepository, digest: string) =>
    Effect.gen(function*() {
      yield* checked(target)
      yield* checkedDigest(digest)
      const head = yield* request(target, "HEAD", manifestUrl(target, digest), "pull", { accept: MANIFEST_ACCEPT })
      if (head.status === 200) return true
      if (head.status === 404) return false
      return yield* unexpected(target, "HEAD manifest", head)
    })

  const remove = (target: RegistryRepository, digest: string) =>
    Effect.gen(function*() {
      yield* checked(target)
      yield* checkedDigest(digest)
      const answer = yield* request(target, "DELETE", manifestUrl(target, digest), "delete")
      if (answer.status === 202 || answer.status === 200) return
      if (answer.status === 404) return yield* notFound(target, digest)
      if (answer.status === 405) {
        return yield* failWith(new RegistryProtocolError({ registry: target.registry, detail: "the registry does not allow deleting (HTTP 405)" }))
      }
      return yield* unexpected(target, "DELETE manifest", answer)
    })

  const engineLogin = (registry: string, credentials: RegistryCredentials): Effect.Effect<EngineLogin | undefined, ImageRegistryError> =>
    Effect.gen(function*() {
      if (credentials._tag === "Anonymous") return undefined
      if (credentials._tag === "Basic") {
        return { username: Redacted.value(yield* secret(credentials.username)), password: yield* secret(credentials.password) }
      }
      if (!REGISTRY.test(registry)) return yield* failWith(new RegistryInvalidRequest({ detail: `"${registry.slice(0, 200)}" is not a registry host[:port]` }))
      const probe = yield* send(registry, `${baseUrl(registry)}/v2/`, { method: "GET" })
      const challenge = parseChallenge(probe.headers.get("www-authenticate"))
      if (probe.status !== 401 || challenge?.scheme !== "bearer") {
        return yield* failWith(new RegistryProtocolError({ registry, detail: "an Entra ID login needs a registry that asks for Bearer tokens (ACR)" }))
      }
      const realm = yield* realmOf(registry, challenge)
      return { username: ACR_TOKEN_USERNAME, password: yield* refreshToken(registry, realm, challenge.params["service"] ?? "", credentials) }
    })

  return { resolve, listTags, exists, remove, engineLogin }
}

/** @since 0.3.0 @category constructors */
export const make = (options: OciImageRegistryOptions = {}) =>
  Effect.sync(() => {
    const client = makeClient(options)
    return ImageRegistry.of({ resolve: client.resolve, listTags: client.listTags, exists: client.exists, delete: client.remove })
  })

/**
 * The engine login for `credentials` at `registry` (see `EngineLogin`).
 *
 * @since 0.3.0
 * @category engine login
 */
export const engineLogin = (registry: string, credentials: RegistryCredentials, options: OciImageRegistryOptions = {}) =>
  Effect.suspend(() => makeClient(options).engineLogin(registry, credentials))

/** @since 0.3.0 @category layers */
export const layerWith = (options: OciImageRegistryOptions): Layer.Layer<ImageRegistry> => Layer.effect(ImageRegistry, make(options))

/** @since 0.3.0 @category layers */
export const layer: Layer.Layer<ImageRegistry> = layerWith({})
