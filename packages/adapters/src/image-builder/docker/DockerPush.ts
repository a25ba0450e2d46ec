/**
 * Pushing an image the engine holds to a registry, returning the manifest digest the registry
 * stored (the digest `ImageRegistry.resolve` gives for the pushed tag).
 *
 * Credentials are checked with the engine's `checkAuth` first: a push with wrong credentials
 * otherwise retries every layer for about a minute before it fails, while `checkAuth` answers in
 * milliseconds, before any layer leaves. A push reports its failures as messages in its progress
 * stream (`{error}`), not as a rejection, so every message is looked at.
 *
 * The engine logs in as the OCI adapter says (`engineLogin`): Basic credentials as they are, an
 * Entra ID credential as ACR's refresh token under the null-GUID user name.
 *
 * @since 0.3.0
 */
import {
  type ImageBuilderError,
  type ImageInfo,
  ImageRegistryError,
  type PushTarget,
  type RegistryRepository,
  RegistryInvalidRequest,
  RegistryNotFound,
  RegistryProtocolError,
  RegistryUnauthorized,
  RegistryUnavailable
} from "@terrarium/domain"
import { Effect, Redacted } from "effect"
import { engineLogin } from "../../image-registry/oci/OciImageRegistry.ts"
import { makeEngine } from "./DockerEngine.ts"

export type { PushTarget } from "@terrarium/domain"

const failWith = (reason: ImageRegistryError["reason"]) => Effect.fail(new ImageRegistryError({ reason }))

/** Words of the engine's push messages that mean the registry was not reached (retryable). */
const UNREACHABLE = /connection refused|no such host|i\/o timeout|connection reset|EOF|503|502|504|TLS handshake timeout/i
const REFUSED = /unauthorized|denied|authentication required|no basic auth credentials|forbidden/i

interface PushMessage {
  readonly error?: string
  readonly aux?: { readonly Digest?: string }
}

/**
 * Pushes `image` (a local name or id) as `registry/repository:tag` and returns the manifest
 * digest. The local image keeps the new tag, as after `docker push`.
 *
 * @since 0.3.0
 * @category push
 */
export const pushImage = (host: string, image: string, target: PushTarget): Effect.Effect<string, ImageBuilderError | ImageRegistryError> =>
  Effect.gen(function*() {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(target.tag)) {
      return yield* failWith(new RegistryInvalidRequest({ detail: `"${target.tag.slice(0, 200)}" is not a tag` }))
    }
    const auth = yield* engineLogin(target.registry, target.credentials)
    const engine = yield* makeEngine(host)
    const authconfig = auth === undefined ? {} : { username: auth.username, password: Redacted.value(auth.password), serveraddress: target.registry }
    if (auth !== undefined) {
      // Fails in milliseconds where the push would retry for a minute; the engine's answer may
      // quote the request, so only its kind is kept.
      yield* Effect.tryPromise({
        try: () => engine.docker.checkAuth(authconfig),
        catch: (cause) => String((cause as { json?: { message?: unknown } }).json?.message ?? cause)
      }).pipe(Effect.catch((message) =>
        UNREACHABLE.test(message)
          ? failWith(new RegistryUnavailable({ registry: target.registry, detail: "the engine could not reach the registry to log in" }))
          : failWith(new RegistryUnauthorized({ registry: target.registry, detail: "the engine's login was refused" }))
      ))
    }
    const repo = `${target.registry}/${target.repository}`
    yield* engine.call("tag", () => engine.docker.getImage(image).tag({ repo, tag: target.tag }))
    const messages = yield* engine.call("push", async () => {
      const stream = await engine.docker.getImage(`${repo}:${target.tag}`).push({ authconfig })
      return await new Promise<Array<PushMessage>>((resolve, reject) =>
        engine.docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out as Array<PushMessage>)))
      )
    })
    const failed = messages.find((m) => typeof m.error === "string")
    if (failed !== undefined) {
      const message = failed.error!
      if (REFUSED.test(message)) return yield* failWith(new RegistryUnauthorized({ registry: target.registry, detail: "the push was refused" }))
      if (UNREACHABLE.test(message)) {
        return yield* failWith(new RegistryUnavailable({ registry: target.registry, detail: "the registry went away during the push" }))
      }
      return yield* failWith(new RegistryProtocolError({ registry: target.registry, detail: `the push failed: ${message.slice(0, 500)}` }))
    }
    const digest = messages.map((m) => m.aux?.Digest).find((d) => d !== undefined)
    if (digest === undefined) return yield* failWith(new RegistryProtocolError({ registry: target.registry, detail: "the push reported no digest" }))
    return digest
  })

/** What the engine says of a pull that found nothing under the reference. */
const MISSING = /manifest unknown|not found|does not exist|404/i

/**
 * Pulls the manifest `digest` of `source` (`registry/repository@digest`: exactly that image,
 * whatever its tags say now) and tags it `image` on the engine. A failure of the registry is an
 * `ImageRegistryError` naming it: `NotFound` when it has not got the digest.
 *
 * @since 0.3.0
 * @category pull
 */
export const pullImage = (
  host: string,
  source: RegistryRepository,
  digest: string,
  image: string
): Effect.Effect<ImageInfo, ImageBuilderError | ImageRegistryError> =>
  Effect.gen(function*() {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) {
      return yield* failWith(new RegistryInvalidRequest({ detail: `"${digest.slice(0, 200)}" is not a sha256 digest` }))
    }
    const auth = yield* engineLogin(source.registry, source.credentials)
    const engine = yield* makeEngine(host)
    const authconfig = auth === undefined ? {} : { username: auth.username, password: Redacted.value(auth.password), serveraddress: source.registry }
    const reference = `${source.registry}/${source.repository}@${digest}`
    const classify = (message: string) =>
      REFUSED.test(message)
        ? new RegistryUnauthorized({ registry: source.registry, detail: "the pull was refused" })
        : UNREACHABLE.test(message) || /connect|timeout/i.test(message)
        ? new RegistryUnavailable({ registry: source.registry, detail: "the engine could not reach the registry to pull" })
        : MISSING.test(message)
        ? new RegistryNotFound({ reference })
        : new RegistryProtocolError({ registry: source.registry, detail: `the pull failed: ${message.slice(0, 500)}` })
    const messages = yield* Effect.tryPromise({
      try: async () => {
        const stream = await engine.docker.pull(reference, { authconfig })
        return await new Promise<Array<PushMessage>>((resolve, reject) =>
          engine.docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out as Array<PushMessage>)))
        )
      },
      // The engine's answer may quote the request, but never the credentials (they travel in a header).
      catch: (cause) => String((cause as { json?: { message?: unknown } }).json?.message ?? (cause as Error).message ?? cause)
    }).pipe(Effect.catch((message) => failWith(classify(message))))
    const failed = messages.find((m) => typeof m.error === "string")
    if (failed !== undefined) return yield* failWith(classify(failed.error!))
    const colon = image.lastIndexOf(":")
    const repo = colon > image.lastIndexOf("/") ? image.slice(0, colon) : image
    const tag = colon > image.lastIndexOf("/") ? image.slice(colon + 1) : "latest"
    yield* engine.call(`tag ${image}`, () => engine.docker.getImage(reference).tag({ repo, tag }))
    const info = yield* engine.call(`inspect ${image}`, () => engine.docker.getImage(image).inspect())
    return { image, imageId: info.Id, sizeBytes: info.Size }
  })
