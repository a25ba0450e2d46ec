/**
 * Private wheels: a wheel uploaded once (`terrarium wheel upload`) and listed by a definition as
 * a pip dependency, as AzureML's `add_private_pip_wheel` does.
 *
 * A definition lists a wheel by its **reference**,
 * `terrarium+wheel://<workspace>/<wheel file name>#sha256=<hex>`, alone or as `name @ reference`.
 * The reference names the bytes by their SHA-256, so the canonical hash (which covers a pip
 * requirement's URL as written) changes when a different wheel is uploaded under the same file
 * name, and a build installs exactly the bytes that were uploaded. Wheels are stored by content
 * (`wheelBlobName`): uploading the same file again stores nothing new and prints the same
 * reference; a different file with the same name is kept beside the first under its own digest,
 * and definitions that name the first keep building it.
 *
 * @since 0.3.0
 */
import { Schema } from "effect"
import { type Definition, WorkspaceName } from "./Definition.ts"
import type { PipRequirement } from "./PackageSpec.ts"

/** The URL scheme of a private wheel reference. @since 0.3.0 @category references */
export const WHEEL_REFERENCE_SCHEME = "terrarium+wheel"

/**
 * The largest wheel that is taken: 256 MiB. Real ML wheels reach a few hundred MB (a CUDA build
 * of a framework); those belong on an index, not in an upload held in memory.
 *
 * @since 0.3.0
 * @category limits
 */
export const MAX_WHEEL_BYTES = 256 * 1_048_576

/** How long a build's read URL of a wheel lives (seconds): long enough for one pip run. @since 0.3.0 @category limits */
export const WHEEL_URL_LIFETIME_SECONDS = 15 * 60

/** The parts of a wheel's file name (PEP 427). @since 0.3.0 @category model */
export interface WheelFileName {
  readonly fileName: string
  /** The distribution as written in the file name (`_` for runs of other characters). */
  readonly distribution: string
  readonly version: string
  readonly build?: string | undefined
  readonly tags: string
}

/** A reference to an uploaded wheel. @since 0.3.0 @category model */
export interface PrivateWheelRef {
  readonly workspace: string
  readonly fileName: string
  /** The SHA-256 of the wheel's bytes, lower-case hex. */
  readonly sha256: string
}

const WHEEL_FILE =
  /^([A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?)-([A-Za-z0-9_.+!]+)(?:-([0-9][A-Za-z0-9_.]*))?-([A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+)\.whl$/

/** The longest wheel file name taken (a blob name segment is at most 255 bytes). */
const MAX_WHEEL_FILE_NAME = 200

/**
 * The parts of a wheel file name, or what is wrong with it: `{distribution}-{version}(-{build})?-
 * {python}-{abi}-{platform}.whl`, at most 200 characters of letters, digits and `._+!-`.
 *
 * @since 0.3.0
 * @category wheels
 */
export const parseWheelFileName = (fileName: string): WheelFileName | string => {
  if (fileName.length > MAX_WHEEL_FILE_NAME) return `a wheel file name is at most ${MAX_WHEEL_FILE_NAME} characters`
  if (!fileName.endsWith(".whl")) return "a wheel file name ends in .whl"
  const m = WHEEL_FILE.exec(fileName)
  if (m === null) {
    return "a wheel file name is {distribution}-{version}(-{build})?-{python tag}-{abi tag}-{platform tag}.whl (PEP 427)"
  }
  return { fileName, distribution: m[1]!, version: m[2]!, build: m[3], tags: m[4]! }
}

/** A project name in PEP 503 normal form. @since 0.3.0 @category wheels */
export const normalizeProjectName = (name: string): string => name.trim().toLowerCase().replace(/[-_.]+/g, "-")

/**
 * A version as a wheel file name writes it (PEP 427 escapes `-` as `_`), lower case, so that a
 * file name's version and the METADATA's compare equal when they are the same version.
 *
 * @since 0.3.0
 * @category wheels
 */
export const wheelVersionKey = (version: string): string => version.trim().toLowerCase().replace(/[^a-z0-9.+!]+/g, "_")

const REFERENCE = /^terrarium\+wheel:\/\/([^/#?]+)\/([^/#?]+)#sha256=([0-9a-f]{64})$/

/**
 * The reference a definition lists: `terrarium+wheel://<workspace>/<file name>#sha256=<hex>`.
 *
 * @since 0.3.0
 * @category references
 */
export const formatWheelReference = (ref: PrivateWheelRef): string =>
  `${WHEEL_REFERENCE_SCHEME}://${ref.workspace}/${ref.fileName}#sha256=${ref.sha256}`

/** Whether a pip requirement URL is meant as a private wheel reference (its scheme). @since 0.3.0 @category references */
export const isWheelReference = (url: string): boolean => url.toLowerCase().startsWith(`${WHEEL_REFERENCE_SCHEME}:`)

/**
 * The reference a URL holds, or what is wrong with it.
 *
 * @since 0.3.0
 * @category references
 */
export const parseWheelReference = (url: string): PrivateWheelRef | string => {
  const m = REFERENCE.exec(url)
  if (m === null) {
    return `a private wheel reference is ${WHEEL_REFERENCE_SCHEME}://<workspace>/<wheel file name>#sha256=<64 lower-case hex digits>, as \`terrarium wheel upload\` prints it`
  }
  const [, workspace, fileName, sha256] = m
  if (!Schema.is(WorkspaceName)(workspace)) return `${JSON.stringify(workspace)} is not a workspace name`
  const parsed = parseWheelFileName(fileName!)
  if (typeof parsed === "string") return parsed
  return { workspace: workspace!, fileName: fileName!, sha256: sha256! }
}

/**
 * Where the wheel's bytes are kept in the blob store: by workspace, project and content digest.
 *
 * @since 0.3.0
 * @category references
 */
export const wheelBlobName = (ref: PrivateWheelRef): string => {
  const parsed = parseWheelFileName(ref.fileName)
  const project = typeof parsed === "string" ? "unknown" : normalizeProjectName(parsed.distribution)
  return `wheels/${ref.workspace}/${project}/${ref.sha256}/${ref.fileName}`
}

/**
 * The private wheels a definition's pip list names, in its order (none for a user-managed one,
 * whose packages the builder does not install).
 *
 * @since 0.3.0
 * @category references
 */
export const privateWheelsOf = (
  definition: Definition
): ReadonlyArray<{ readonly requirement: PipRequirement; readonly ref: PrivateWheelRef }> => {
  if (definition.python.userManagedDependencies) return []
  const found: Array<{ readonly requirement: PipRequirement; readonly ref: PrivateWheelRef }> = []
  for (const requirement of definition.python.conda?.pip ?? []) {
    if (requirement.url === undefined || !isWheelReference(requirement.url)) continue
    const ref = parseWheelReference(requirement.url)
    if (typeof ref !== "string") found.push({ requirement, ref })
  }
  return found
}

/**
 * What is wrong with a pip requirement that names a private wheel, or `undefined` (also for a
 * requirement that names none): a malformed reference, or a name that is not the wheel's.
 *
 * @since 0.3.0
 * @category references
 */
export const privateWheelRequirementProblem = (requirement: PipRequirement): string | undefined => {
  if (requirement.url === undefined || !isWheelReference(requirement.url)) return undefined
  const ref = parseWheelReference(requirement.url)
  if (typeof ref === "string") return ref
  const parsed = parseWheelFileName(ref.fileName) as WheelFileName
  const project = normalizeProjectName(parsed.distribution)
  if (requirement.name !== project) {
    return `the requirement is named ${JSON.stringify(requirement.name)}, but the wheel ${ref.fileName} is ${JSON.stringify(project)}`
  }
  if (requirement.extras.length > 0) return "a private wheel reference takes no extras"
  return undefined
}
