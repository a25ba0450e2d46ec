/**
 * The canonical hash of a definition: the identity of "what would be built".
 *
 * Two definitions that build the same image must hash the same, however they were written
 * (YAML or JSON, key order, package order, `numpy >= 1.2` or `numpy>=1.2`), and any change that
 * can change the image must change the hash. The hash decides whether `environment create`
 * registers a new version or reports an existing one, and keys the image cache.
 *
 * The algorithm, field by field, with test vectors, is in `docs/canonical-hash.md`; a test reads
 * the vectors from that file so the two cannot drift. Changing what is hashed means bumping
 * `ALGORITHM_VERSION`: every `Registered` event stores the version that produced its hash.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { BaseImageRegistry, Definition, DockerBase, InferenceConfig, PipOptions, RSection, SparkSection } from "./Definition.ts"
import type { CondaSpec, PackageSpec, PipRequirement } from "./PackageSpec.ts"

/**
 * The version of the algorithm below. Bump it whenever `canonicalDocument` or `canonicalJson`
 * would give a different result for some definition, and keep the earlier rules reachable through
 * `canonicalDocument(definition, version)`: a stored hash is checked under the version it names.
 *
 * - 1: the first rules.
 * - 2: `inferenceConfig` (the liveness, readiness and scoring routes) is hashed: it changes what
 *   is served, so a change to it is a new version, not a silently dropped edit.
 *
 * @since 0.1.0
 * @category algorithm
 */
export const ALGORITHM_VERSION = 2

/**
 * Every algorithm version whose hashes this module can still compute and check.
 *
 * @since 0.1.0
 * @category algorithm
 */
export const SUPPORTED_ALGORITHM_VERSIONS: ReadonlyArray<number> = [1, 2]

/**
 * The prefix of every hash string; the rest is 64 lower-case hex digits.
 *
 * @since 0.1.0
 * @category algorithm
 */
export const HASH_PREFIX = "sha256:"

const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/

/**
 * A SHA-256 digest as this module writes it: `sha256:` and 64 lower-case hex digits. Canonical
 * hashes have this form, and so do the content digests a definition carries (a build context,
 * a constraints file). Commands decode their hashes with it, so a malformed hash from a caller
 * is refused before the decider sees it. Events do too, unlike the rules of `DefinitionCheck.ts`:
 * an event log must decode all of its history, and this check can hold on it only because every
 * hash and digest ever stored was written by this module, in this form.
 *
 * @since 0.1.0
 * @category algorithm
 */
export const Sha256Digest = Schema.String.pipe(
  Schema.check(Schema.isPattern(SHA256_DIGEST, {
    message: "a hash or digest is \"sha256:\" followed by 64 lower-case hex digits"
  }))
)

/**
 * The JSON subset that `canonicalJson` accepts: no floats, no `undefined`.
 *
 * @since 0.1.0
 * @category canonical JSON
 */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<CanonicalValue>
  | { readonly [key: string]: CanonicalValue }

type CanonicalObject = { [key: string]: CanonicalValue }

/**
 * The order of strings wherever the algorithm sorts (object keys, package lists, context
 * entries): by UTF-16 code units, as RFC 8785 sorts keys. Plain `<` compares that way;
 * `localeCompare` would depend on the locale.
 *
 * @since 0.1.0
 * @category canonical JSON
 */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Sorts by a key, then by the whole canonical form so that duplicates still order deterministically. */
const sortBy = <A extends CanonicalValue>(items: ReadonlyArray<A>, key: (a: A) => string): Array<A> =>
  items
    .map((item) => ({ item, key: key(item), full: canonicalJson(item) }))
    .sort((a, b) => compareStrings(a.key, b.key) || compareStrings(a.full, b.full))
    .map(({ item }) => item)

const sortedSet = (items: ReadonlyArray<string>): Array<string> => [...new Set(items)].sort(compareStrings)

/** Adds `key: value` only when the value is present: absent optional fields are absent keys. */
const withOptional = (target: CanonicalObject, key: string, value: CanonicalValue | undefined): CanonicalObject => {
  if (value !== undefined) target[key] = value
  return target
}

const pipDocument = (spec: PipRequirement): CanonicalObject => {
  const doc: CanonicalObject = { name: spec.name, extras: sortedSet(spec.extras), specifier: spec.specifier }
  withOptional(doc, "marker", spec.marker)
  return withOptional(doc, "url", spec.url)
}

const condaDocument = (spec: CondaSpec): CanonicalObject => {
  const doc: CanonicalObject = { name: spec.name, version: spec.version, build: spec.build }
  return withOptional(doc, "channel", spec.channel)
}

/**
 * The normalised fields of one package spec (never its `text`): what the hash sees of it. Two
 * specs with equal `canonicalJson(canonicalSpec(…))` install the same thing.
 *
 * @since 0.1.0
 * @category canonical document
 */
export const canonicalSpec = (spec: PackageSpec): { readonly [key: string]: CanonicalValue } =>
  spec.kind === "pip" ? pipDocument(spec) : condaDocument(spec)

const pipOptionsDocument = (options: PipOptions): CanonicalObject => {
  // Every index and find-links location is searched and the best candidate wins, so their order
  // does not change what pip installs; flags are verbatim option lines whose order can matter.
  const doc: CanonicalObject = {
    extraIndexUrls: sortedSet(options.extraIndexUrls),
    findLinks: sortedSet(options.findLinks),
    constraints: sortedSet(options.constraints),
    flags: [...options.flags]
  }
  withOptional(doc, "indexUrl", options.indexUrl)
  // A constraints file is named by path; its digest is what makes an edit to it a new build.
  // No digests and an empty map mean the same, so only a non-empty map is written.
  const digests = options.constraintDigests
  return withOptional(doc, "constraintDigests", digests === undefined || Object.keys(digests).length === 0 ? undefined : { ...digests })
}

const baseDocument = (base: DockerBase): CanonicalObject => {
  if (base.kind === "image") return { kind: "image", image: base.image }
  const doc: CanonicalObject = { kind: "dockerfile" }
  withOptional(doc, "dockerfile", base.dockerfile)
  withOptional(doc, "context", base.context)
  withOptional(doc, "dockerfilePath", base.dockerfilePath)
  // The context is named by reference; its digest is what changes when a file it COPYs changes.
  return withOptional(doc, "contextDigest", base.contextDigest)
}

const registryDocument = (registry: BaseImageRegistry): CanonicalObject => {
  // The references, not the secrets: a different credential can make a different image pullable.
  const doc: CanonicalObject = { address: registry.address }
  withOptional(doc, "username", registry.username)
  return withOptional(doc, "password", registry.password)
}

const sparkDocument = (spark: SparkSection): CanonicalObject => ({
  // Repository order is resolution priority; the package list is a set.
  repositories: [...spark.repositories],
  packages: sortBy(
    spark.packages.map((p) => ({ group: p.group, artifact: p.artifact, version: p.version })),
    (p) => `${p.group}:${p.artifact}`
  ),
  precachePackages: spark.precachePackages
})

const rDocument = (r: RSection): CanonicalObject => {
  const doc: CanonicalObject = {
    userManaged: r.userManaged,
    cranPackages: sortBy(
      r.cranPackages.map((p) => withOptional({ name: p.name }, "repository", p.repository)),
      (p) => String(p["name"])
    ),
    gitHubPackages: sortBy(
      r.gitHubPackages.map((p) => withOptional({ repository: p.repository }, "authToken", p.authToken)),
      (p) => String(p["repository"])
    ),
    customUrlPackages: sortedSet(r.customUrlPackages),
    bioConductorPackages: sortedSet(r.bioConductorPackages)
  }
  withOptional(doc, "rVersion", r.rVersion)
  withOptional(doc, "rscriptPath", r.rscriptPath)
  return withOptional(doc, "snapshotDate", r.snapshotDate)
}

const inferenceDocument = (config: InferenceConfig): CanonicalObject => {
  const doc: CanonicalObject = {}
  for (const route of ["livenessRoute", "readinessRoute", "scoringRoute"] as const) {
    const value = config[route]
    withOptional(doc, route, value && { path: value.path, port: value.port })
  }
  return doc
}

/**
 * The build-relevant part of a definition, normalised: the document whose canonical JSON is
 * hashed. Not included: `description`, `tags`, `properties`, the conda environment `name` and
 * every package spec's `text`. Package lists are sorted by name; channel order is kept (it is
 * priority). `algorithm` selects the rules of an earlier version (default: the current one):
 * version 1 leaves `inferenceConfig` out, version 2 hashes it, since it changes what is served.
 *
 * @since 0.1.0
 * @category canonical document
 */
export const canonicalDocument = (
  definition: Definition,
  algorithm: number = ALGORITHM_VERSION
): { readonly [key: string]: CanonicalValue } => {
  if (!SUPPORTED_ALGORITHM_VERSIONS.includes(algorithm)) {
    throw new TypeError(`canonicalDocument: unknown hash algorithm version ${algorithm}`)
  }
  const { python, docker } = definition
  const pythonDoc: CanonicalObject = {
    userManagedDependencies: python.userManagedDependencies,
    interpreterPath: python.interpreterPath
  }
  if (python.conda !== undefined) {
    pythonDoc["conda"] = {
      channels: [...python.conda.channels],
      conda: sortBy(python.conda.conda.map(condaDocument), (s) => String(s["name"])),
      pip: sortBy(python.conda.pip.map(pipDocument), (s) => String(s["name"])),
      pipOptions: pipOptionsDocument(python.conda.pipOptions)
    }
  }
  const dockerDoc: CanonicalObject = {
    base: baseDocument(docker.base),
    gpuSupport: docker.gpuSupport,
    runArguments: [...docker.runArguments],
    platform: { os: docker.platform.os, arch: docker.platform.arch }
  }
  withOptional(dockerDoc, "baseImageRegistry", docker.baseImageRegistry && registryDocument(docker.baseImageRegistry))
  withOptional(dockerDoc, "shmSize", docker.shmSize)
  const doc: CanonicalObject = {
    python: pythonDoc,
    docker: dockerDoc,
    variables: { ...definition.variables },
    spark: sparkDocument(definition.spark)
  }
  withOptional(doc, "r", definition.r && rDocument(definition.r))
  withOptional(doc, "inferencingStackVersion", definition.inferencingStackVersion)
  // An absent or empty inference config is an absent key, so every definition without routes
  // hashes under version 2 as it did under version 1.
  const inference = algorithm >= 2 && definition.inferenceConfig !== undefined ? inferenceDocument(definition.inferenceConfig) : undefined
  return withOptional(doc, "inferenceConfig", inference === undefined || Object.keys(inference).length === 0 ? undefined : inference)
}

// A lone surrogate has no UTF-8 encoding (TextEncoder would write U+FFFD), so two different
// strings could hash the same; RFC 8785 requires I-JSON input, which forbids them.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const fail = (what: string, path: string): never => {
  throw new TypeError(`canonicalJson: ${what} at ${path || "the root"}`)
}

const serialize = (value: unknown, path: string): string => {
  switch (typeof value) {
    case "string":
      if (LONE_SURROGATE.test(value)) fail("a string with a lone surrogate", path)
      // ECMAScript's JSON string serialisation is exactly the one RFC 8785 prescribes.
      return JSON.stringify(value)
    case "boolean":
      return value ? "true" : "false"
    case "number":
      if (!Number.isSafeInteger(value)) fail(`the number ${String(value)} (only safe integers are allowed)`, path)
      return String(value) // String(-0) is "0", as JCS requires
    case "object": {
      if (value === null) return "null"
      if (Array.isArray(value)) return `[${value.map((item, i) => serialize(item, `${path}[${i}]`)).join(",")}]`
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) fail(`a non-plain object (${String(proto?.constructor?.name)})`, path)
      const record = value as Record<string, unknown>
      const members = Object.keys(record)
        .sort(compareStrings)
        .map((key) => `${JSON.stringify(key)}:${serialize(record[key], `${path}.${key}`)}`)
      return `{${members.join(",")}}`
    }
    default:
      return fail(`a value of type ${typeof value}`, path)
  }
}

/**
 * RFC 8785 (JSON Canonicalization Scheme) for the JSON subset used here: strings, booleans,
 * `null`, safe integers, arrays and plain objects. Object keys are sorted by UTF-16 code units,
 * no whitespace is written, strings are escaped as ECMAScript's `JSON.stringify` does.
 *
 * Throws a `TypeError` (a defect: the input is a programming error, not a user error) on
 * `undefined`, non-integer or unsafe numbers, lone surrogates, functions, symbols, bigints and
 * non-plain objects such as `Date`.
 *
 * @since 0.1.0
 * @category canonical JSON
 */
export const canonicalJson = (value: unknown): string => serialize(value, "")

const toHex = (buffer: ArrayBuffer): string =>
  Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("")

/**
 * `"sha256:" + hex(SHA-256(bytes))`: the digest of some content, in the form `Sha256Digest` checks.
 *
 * Uses WebCrypto (`globalThis.crypto.subtle`), present in Node and browsers, so the domain needs
 * no platform service; a missing or failing WebCrypto is a defect.
 *
 * @since 0.1.0
 * @category hashing
 */
export const sha256Digest = (bytes: Uint8Array<ArrayBuffer>): Effect.Effect<string> =>
  Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", bytes)).pipe(
    Effect.map((digest) => HASH_PREFIX + toHex(digest))
  )

/**
 * `sha256Digest` of the UTF-8 encoding of a canonical JSON value: how both the definition hash
 * and the build-context digest turn a document into a digest.
 *
 * @since 0.1.0
 * @category hashing
 */
export const digestCanonicalJson = (value: unknown): Effect.Effect<string> =>
  Effect.suspend(() => sha256Digest(new TextEncoder().encode(canonicalJson(value))))

/**
 * `"sha256:" + hex(SHA-256(UTF-8(canonicalJson(canonicalDocument(definition, algorithm)))))`,
 * under the current algorithm unless another version is asked for.
 *
 * @since 0.1.0
 * @category hashing
 */
export const hash = (definition: Definition, algorithm: number = ALGORITHM_VERSION): Effect.Effect<string> =>
  Effect.suspend(() => digestCanonicalJson(canonicalDocument(definition, algorithm)))

/**
 * True when `canonicalHash` is the hash of `definition` under the algorithm version it was
 * stored with: a `Registered` event's hash verifies against its definition whichever version
 * wrote it. An unknown version verifies nothing.
 *
 * @since 0.1.0
 * @category hashing
 */
export const verify = (definition: Definition, canonicalHash: string, algorithm: number): Effect.Effect<boolean> =>
  SUPPORTED_ALGORITHM_VERSIONS.includes(algorithm)
    ? Effect.map(hash(definition, algorithm), (computed) => computed === canonicalHash)
    : Effect.succeed(false)

/**
 * True when `value` has the shape of a hash produced by `hash`.
 *
 * @since 0.1.0
 * @category hashing
 */
export const isCanonicalHash = (value: string): boolean => SHA256_DIGEST.test(value)

/**
 * A digest (a canonical hash, an image digest) shortened for people: its first 12 hex digits.
 * `"labelled"` keeps the algorithm prefix and marks the cut (`sha256:ab12cd34ef56…`), for text
 * that is stored and read out of context (audit summaries); `"digits"` is for tables and status
 * lines, where the column or the sentence says what the value is.
 *
 * @since 0.1.0
 * @category display
 */
export const shortHash = (hash: string, form: "digits" | "labelled" = "digits"): string => {
  const colon = hash.indexOf(":")
  const [prefix, digits] = colon >= 0 ? [hash.slice(0, colon + 1), hash.slice(colon + 1)] : ["", hash]
  if (form === "digits") return digits.slice(0, 12)
  return digits.length > 12 ? `${prefix}${digits.slice(0, 12)}…` : hash
}
