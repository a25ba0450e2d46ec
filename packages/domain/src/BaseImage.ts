/**
 * Whether a built image's base can be checked in its registry (`image refresh`), and where:
 * the rules that decide it, apart from the asking (the `ImageRegistry` port) and the rebuilding
 * (the build stream, `Build.ts`, cause `base-moved`).
 *
 * A base is checkable when the definition names it by a tag in a registry the builder pulls
 * from — its own `docker.baseImageRegistry` — and the build recorded the registry's manifest
 * digest for it. Anything else cannot move under the build's feet, or cannot be followed when
 * it does: a Dockerfile's `FROM` lines, a reference pinned to a digest, a Docker Hub or other
 * unconfigured registry (the builder never pulls from one), a base built or loaded locally (no
 * registry digest recorded). docs/images.md.
 *
 * @since 0.3.0
 */
import { registryDigestOf } from "./Build.ts"
import type { Definition } from "./Definition.ts"
import type { RegistryCredentials } from "./ports/ImageRegistry.ts"

/**
 * An image reference taken apart: `registry` (`host[:port]`, undefined for the default
 * registry), the repository path, and the tag or digest it names.
 *
 * @since 0.3.0
 * @category model
 */
export interface ImageReference {
  readonly registry: string | undefined
  readonly repository: string
  readonly tag: string | undefined
  readonly digest: string | undefined
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const DIGEST = /^sha256:[0-9a-f]{64}$/

/**
 * `[host[:port]/]path[:tag][@sha256:…]` taken apart (the first component is a registry when it
 * has a `.` or a `:` or is `localhost`, as an engine reads it); `undefined` if it is not one.
 *
 * @since 0.3.0
 * @category parsing
 */
export const parseImageReference = (reference: string): ImageReference | undefined => {
  if (reference.length === 0 || reference.length > 512) return undefined
  let rest = reference
  let digest: string | undefined
  const at = rest.indexOf("@")
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) return undefined
  }
  let registry: string | undefined
  const slash = rest.indexOf("/")
  if (slash > 0) {
    const first = rest.slice(0, slash)
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      if (!/^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$/.test(first)) return undefined
      registry = first
      rest = rest.slice(slash + 1)
    }
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(":")
  if (colon >= 0) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) return undefined
  }
  if (!REPOSITORY.test(rest)) return undefined
  return { registry, repository: rest, tag, digest }
}

/**
 * Where to check a built image's base, or why it cannot be checked.
 *
 * @since 0.3.0
 * @category model
 */
export type BaseCheck =
  | {
    readonly _tag: "Checkable"
    /** The base image reference as the definition names it. */
    readonly base: string
    readonly registry: string
    readonly repository: string
    readonly tag: string
    /** The manifest digest the build recorded. */
    readonly recordedDigest: string
    /** The definition's registry credentials, by reference. */
    readonly credentials: RegistryCredentials
  }
  | { readonly _tag: "NotCheckable"; readonly base: string | null; readonly why: string }

const stripScheme = (address: string): string => address.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "")

/**
 * Whether the base of an image built from `definition`, which recorded `baseImageDigest`, can
 * be checked in its registry, and with what.
 *
 * @since 0.3.0
 * @category rules
 */
export const baseCheckOf = (definition: Definition, baseImageDigest: string | null): BaseCheck => {
  const base = definition.docker.base
  if (base.kind !== "image") {
    return {
      _tag: "NotCheckable", base: null,
      why: "it is built from a Dockerfile; refresh checks a definition's base image (docker.base image), not a Dockerfile's FROM lines"
    }
  }
  const notCheckable = (why: string): BaseCheck => ({ _tag: "NotCheckable", base: base.image, why })
  const reference = parseImageReference(base.image)
  if (reference === undefined) return notCheckable("its base image is not a valid image reference")
  if (reference.digest !== undefined) return notCheckable("its base image is pinned to a digest, which cannot move")
  if (reference.registry === undefined) {
    return notCheckable("its base image names no registry (Docker Hub); the builder pulls only from the definition's docker.baseImageRegistry")
  }
  const named = definition.docker.baseImageRegistry
  if (named === undefined || stripScheme(named.address) !== reference.registry) {
    return notCheckable(`its registry ${reference.registry} is not the definition's docker.baseImageRegistry, from which alone the builder pulls`)
  }
  const recordedDigest = registryDigestOf(baseImageDigest)
  if (recordedDigest === undefined) {
    return notCheckable(
      baseImageDigest === null
        ? "its build recorded no base image digest"
        : `its build recorded no registry digest for the base, only the engine's image id ${baseImageDigest.slice(0, 19)}… (a base built or loaded locally)`
    )
  }
  const credentials: RegistryCredentials = named.username !== undefined && named.password !== undefined
    ? { _tag: "Basic", username: named.username, password: named.password }
    : { _tag: "Anonymous" }
  return {
    _tag: "Checkable", base: base.image, registry: reference.registry, repository: reference.repository,
    tag: reference.tag ?? "latest", recordedDigest, credentials
  }
}
