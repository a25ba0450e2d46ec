/**
 * The Dockerfile generated from a definition, and the build-context files it reads.
 *
 * Layered for cache reuse, from what changes least to what changes most: the base image, the
 * conda part (the solved lock and its installer), the pip part (a virtual environment, then the
 * requirements and the pip run), then the environment variables. A changed pip requirement
 * changes only the pip part's files, so every layer below it is reused.
 *
 * No value of the definition is ever written into the Dockerfile text: requirements, pip options
 * and the conda lock are JSON files of the context read by the programs of `ImageScripts.ts`,
 * which run in exec form; a variable's value is a build argument that an `ENV` line expands
 * once, and the engine never parses an expanded value again. The only definition text the
 * Dockerfile holds is what a strict grammar admits and nothing in it can mean anything to the
 * Dockerfile parser: the base image reference and the variables' names.
 *
 * @since 0.2.0
 */
import {
  type Definition,
  isWheelReference,
  MAX_WHEEL_BYTES,
  parseWheelReference,
  type PipRequirement,
  type ResolvedCondaPackage
} from "@terrarium/domain"
import { Result } from "effect"
import { condaInstaller, imageCheck, pipInstaller, wheelInstaller } from "./ImageScripts.ts"

/** Where the recipe puts its parts inside the image. */
export const IMAGE_PATHS = {
  recipe: "/opt/terrarium/recipe",
  condaPrefix: "/opt/terrarium/conda",
  venv: "/opt/terrarium/venv"
} as const

/** One file of the generated build context. */
export interface RecipeFile {
  readonly path: string
  readonly content: string
}

/** The id of the BuildKit secret that carries the private wheels' read URLs. */
export const WHEEL_SECRET_ID = "terrarium-wheels"

/**
 * The step that installs private wheels, built with BuildKit on top of the image the classic
 * builder made (the classic builder cannot mount secrets): its Dockerfile on `from`, its files.
 */
export interface PrivateWheelStage {
  readonly dockerfile: (from: string) => string
  readonly files: ReadonlyArray<RecipeFile>
  /** The wheels, in the order the secret's URLs must follow. */
  readonly wheels: ReadonlyArray<{ readonly reference: string; readonly fileName: string; readonly sha256: string }>
}

/** A generated recipe: the Dockerfile, its context, its build arguments. */
export interface Recipe {
  readonly dockerfile: string
  readonly files: ReadonlyArray<RecipeFile>
  readonly buildArgs: Readonly<Record<string, string>>
  /** True when a step downloads packages (the build then needs the host's network). */
  readonly downloads: boolean
  /** The command (exec form) that runs the image check: the environment's Python and the script. */
  readonly check: (request: { readonly distributions: ReadonlyArray<string> }) => ReadonlyArray<string>
  /** The pip distributions the definition asks for, whose modules must import. */
  readonly distributions: ReadonlyArray<string>
  /** The private wheels' step, when the definition lists any (`terrarium+wheel://…`). */
  readonly privateWheels: PrivateWheelStage | undefined
}

/**
 * A docker image reference (`[host[:port]/]path[:tag][@sha256:…]`) as the engine's reference
 * grammar allows it, or an image id: nothing else may follow `FROM`. It has no whitespace, quote,
 * `$` or `\`, so the Dockerfile parser reads it as one word and expands nothing in it.
 */
const IMAGE_REFERENCE =
  /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?|sha256:[0-9a-f]{64})$/

/** Whether `reference` is a well-formed image reference (at most 255 characters of name). */
export const isImageReference = (reference: string): boolean => reference.length <= 512 && IMAGE_REFERENCE.test(reference)

/** What `ENV` may name: a POSIX shell variable name. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** A value shown in an error: JSON-quoted (control characters visible), cut to a readable length. */
export const quoteForMessage = (value: string): string => {
  const quoted = JSON.stringify(value)
  return quoted.length > 80 ? `${quoted.slice(0, 77)}…"` : quoted
}

/** The PEP 508 text of a parsed requirement, from its fields (the ones the hash covers). */
export const requirementText = (requirement: PipRequirement): string => {
  const extras = requirement.extras.length > 0 ? `[${requirement.extras.join(",")}]` : ""
  const version = requirement.url !== undefined ? ` @ ${requirement.url}` : requirement.specifier
  const marker = requirement.marker !== undefined ? ` ; ${requirement.marker}` : ""
  return `${requirement.name}${extras}${version}${marker}`
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 1)}\n`
const exec = (argv: ReadonlyArray<string>): string => JSON.stringify(argv)

/** Variables whose names the Dockerfile can carry, or the first one it cannot. */
const checkVariables = (variables: Readonly<Record<string, string>>): Result.Result<ReadonlyArray<readonly [string, string]>, string> => {
  const entries = Object.entries(variables).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  for (const [name, value] of entries) {
    if (!VARIABLE_NAME.test(name)) {
      return Result.fail(`environment variable name ${quoteForMessage(name)} is not a letter or "_" followed by letters, digits or "_"`)
    }
    if (value.includes("\0")) return Result.fail(`environment variable ${name} holds a NUL character, which no process environment can carry`)
  }
  return Result.succeed(entries)
}

/**
 * The recipe of a system-managed or user-managed definition on `base` (a checked reference or
 * an image id), with the conda part installing `condaLock`. Fails with a sentence saying what in
 * the definition cannot be built.
 */
export const makeRecipe = (
  definition: Definition,
  base: string,
  condaLock: ReadonlyArray<ResolvedCondaPackage>
): Result.Result<Recipe, string> => {
  if (!isImageReference(base)) return Result.fail(`base image ${quoteForMessage(base)} is not a valid image reference`)
  const variables = checkVariables(definition.variables)
  if (Result.isFailure(variables)) return Result.fail(variables.failure)

  const userManaged = definition.python.userManagedDependencies
  const conda = userManaged ? undefined : definition.python.conda
  const allRequirements = conda?.pip ?? []
  // Private wheels are installed by their own BuildKit step (their read URLs are secrets).
  const isPrivate = (r: PipRequirement) => r.url !== undefined && isWheelReference(r.url)
  const requirements = allRequirements.filter((r) => !isPrivate(r))
  const wheels: Array<{ readonly reference: string; readonly fileName: string; readonly sha256: string }> = []
  for (const r of allRequirements.filter(isPrivate)) {
    const ref = parseWheelReference(r.url!)
    if (typeof ref === "string") return Result.fail(`pip requirement ${quoteForMessage(r.text)}: ${ref}`)
    wheels.push({ reference: r.url!, fileName: ref.fileName, sha256: ref.sha256 })
  }
  if (conda !== undefined && conda.pipOptions.constraints.length > 0) {
    return Result.fail("pip constraints files (-c) are not carried into image builds yet; pin the packages instead")
  }

  const lines = [`FROM ${base}`]
  const files: Array<RecipeFile> = []
  const paths: Array<string> = []
  const recipe = IMAGE_PATHS.recipe

  if (condaLock.length > 0) {
    files.push({ path: "conda/install.py", content: condaInstaller })
    files.push({ path: "conda/lock.json", content: json({ packages: condaLock }) })
    lines.push(`COPY ${exec(["conda/", `${recipe}/conda/`])}`)
    lines.push(`RUN ${exec(["python3", `${recipe}/conda/install.py`, `${recipe}/conda/lock.json`, IMAGE_PATHS.condaPrefix])}`)
    paths.push(`${IMAGE_PATHS.condaPrefix}/bin`)
  }

  // pip installs into the conda environment's Python when the lock has one, else into a
  // virtual environment of the base image's Python, made in its own layer before the pip files
  // are copied so that a changed requirement reuses it.
  const condaPython = condaLock.some((p) => p.name === "python")
  let python = "python3"
  const pipOptions = conda === undefined ? undefined : {
    indexUrl: conda.pipOptions.indexUrl ?? null,
    extraIndexUrls: conda.pipOptions.extraIndexUrls,
    findLinks: conda.pipOptions.findLinks,
    flags: conda.pipOptions.flags
  }
  if (allRequirements.length > 0) {
    if (condaPython) {
      python = `${IMAGE_PATHS.condaPrefix}/bin/python`
    } else {
      lines.push(`RUN ${exec(["python3", "-m", "venv", IMAGE_PATHS.venv])}`)
      python = `${IMAGE_PATHS.venv}/bin/python`
      paths.unshift(`${IMAGE_PATHS.venv}/bin`)
    }
  }
  if (requirements.length > 0) {
    files.push({ path: "pip/install.py", content: pipInstaller })
    files.push({ path: "pip/requirements.json", content: json({ ...pipOptions, requirements: requirements.map(requirementText) }) })
    lines.push(`COPY ${exec(["pip/", `${recipe}/pip/`])}`)
    lines.push(`RUN ${exec([python, `${recipe}/pip/install.py`, `${recipe}/pip/requirements.json`])}`)
  } else if (allRequirements.length === 0 && condaPython) {
    python = `${IMAGE_PATHS.condaPrefix}/bin/python`
  }

  if (paths.length > 0) lines.push(`ENV PATH=${paths.join(":")}:$PATH`)
  const buildArgs: Record<string, string> = {}
  variables.success.forEach(([name, value], i) => {
    const arg = `TERRARIUM_VARIABLE_${i}`
    buildArgs[arg] = value
    lines.push(`ARG ${arg}`, `ENV ${name}=\${${arg}}`)
  })

  const distributions = allRequirements.map((r) => r.name)
  const wheelPython = python
  const privateWheels: PrivateWheelStage | undefined = wheels.length === 0 ? undefined : {
    wheels,
    files: [
      { path: "wheels/install.py", content: wheelInstaller },
      {
        path: "wheels/wheels.json",
        // Names and digests only: the URLs come as the secret, at build time.
        content: json({ pip: pipOptions, maxBytes: MAX_WHEEL_BYTES, wheels: wheels.map(({ fileName, sha256 }) => ({ fileName, sha256 })) })
      }
    ],
    dockerfile: (from) =>
      [
        `FROM ${from}`,
        `COPY ${exec(["wheels/", `${recipe}/wheels/`])}`,
        `RUN --mount=type=secret,id=${WHEEL_SECRET_ID},required=true ${
          exec([wheelPython, `${recipe}/wheels/install.py`, `${recipe}/wheels/wheels.json`, `/run/secrets/${WHEEL_SECRET_ID}`])
        }`,
        ""
      ].join("\n")
  }
  return Result.succeed({
    dockerfile: `${lines.join("\n")}\n`,
    files,
    buildArgs,
    downloads: condaLock.length > 0 || requirements.length > 0,
    distributions,
    privateWheels,
    check: (request) => [
      python,
      "-c",
      imageCheck,
      JSON.stringify({ distributions: request.distributions, condaPrefix: IMAGE_PATHS.condaPrefix })
    ]
  })
}

/**
 * The images a user's Dockerfile starts from that can be checked before building: every `FROM`
 * that is not `scratch`, not an earlier stage and holds no build argument (`$`), which the engine
 * alone can expand.
 */
export const dockerfileBaseImages = (dockerfile: string): ReadonlyArray<string> => {
  const stages = new Set<string>()
  const bases: Array<string> = []
  for (const raw of dockerfile.split(/\r?\n/)) {
    const words = raw.trim().split(/\s+/)
    if (words[0]?.toUpperCase() !== "FROM") continue
    const args = words.slice(1).filter((w) => !w.startsWith("--"))
    const [image, as, stage] = args
    if (image === undefined) continue
    if (image.toLowerCase() !== "scratch" && !image.includes("$") && !stages.has(image.toLowerCase())) bases.push(image)
    if (as?.toUpperCase() === "AS" && stage !== undefined) stages.add(stage.toLowerCase())
  }
  return bases
}
