/**
 * A registered definition written out in the file formats of other tools, so that it re-imports
 * to the same canonical hash; where a format cannot hold a part of the definition, the export says
 * which part, by the field's path in the definition and why.
 *
 * This module is the pure core: it turns a definition into file texts and that statement, and
 * reads and writes nothing (`ExportFolder.ts` writes the files). Each format is written the way
 * its importer reads it, so the round trip is the importer's, not a second reading of the format:
 *
 * | format | files | re-imported with |
 * |---|---|---|
 * | `azureml-v2` | `environment.yml`, `conda.yml`, the Dockerfile under its build context | `environment create --file environment.yml` |
 * | `conda` | `environment.yml` | `environment create --file environment.yml` |
 * | `requirements` | `requirements.txt` | `environment create --file requirements.txt` |
 * | `azureml-v1-dir` | `azureml_environment.json`, `conda_dependencies.yml`, `BaseDockerfile` (what `save_to_directory` writes) | `environment create --file DIR` |
 * | `dockerfile` | `Dockerfile` | `environment create --name N --dockerfile Dockerfile` |
 *
 * What no format holds yet: the files of a build context (the digest is in the definition, the
 * files are not in the registry until the content store keeps them), and the content of pip
 * constraints files (likewise only their digests).
 *
 * @since 0.1.0
 */
import { type CondaDependencies, DEFAULT_BASE_IMAGE, type Definition, Diff, type DockerBase, emptyDefinition } from "@terrarium/domain"
import { Result } from "effect"
import { stringify } from "yaml"
import {
  AZUREML_V1_CONDA_FILE,
  AZUREML_V1_DEFINITION_FILE,
  AZUREML_V1_DOCKERFILE
} from "../importers/AzureMLV1Environment.ts"

/**
 * The formats `exportDefinition` writes.
 *
 * @since 0.1.0
 * @category export
 */
export const EXPORT_FORMATS = ["azureml-v2", "conda", "requirements", "azureml-v1-dir", "dockerfile"] as const

/** @since 0.1.0 @category export */
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/**
 * A part of the definition the format cannot hold: `field` is its path in the definition
 * (`docker.gpuSupport`, `python.conda.pipOptions.constraintDigests`, `tags`), and covers every
 * field below it; `reason` says why, and what the re-import gets instead.
 *
 * @since 0.1.0
 * @category export
 */
export interface LeftOut {
  readonly field: string
  readonly reason: string
  /** False for metadata (description, tags, properties, the conda environment's name), which the hash does not cover. */
  readonly buildRelevant: boolean
}

/** @since 0.1.0 @category export */
export interface ExportedFile {
  /** Relative to the export folder, `/`-separated. */
  readonly path: string
  readonly text: string
}

/**
 * @since 0.1.0
 * @category export
 */
export interface DefinitionExport {
  readonly format: ExportFormat
  readonly files: ReadonlyArray<ExportedFile>
  /** Empty when the files re-import to the same canonical hash. */
  readonly leftOut: ReadonlyArray<LeftOut>
  /** The file to name when re-importing (`--file`, or `--dockerfile` for the dockerfile format). */
  readonly entry: string
  /** Every file name this format may write, for clearing an old export out of the folder (`--force`). */
  readonly managedFiles: ReadonlyArray<string>
}

/**
 * What is exported: a version's name, version and definition (its description and tags are in it).
 *
 * @since 0.1.0
 * @category export
 */
export interface ExportInput {
  readonly name: string
  readonly version: string
  readonly definition: Definition
}

// ---------------------------------------------------------------------------------------------
// what a format cannot hold
// ---------------------------------------------------------------------------------------------

/** Collects `LeftOut`s; each check adds one when the definition has something there. */
class Omissions {
  readonly list: Array<LeftOut> = []
  add(field: string, reason: string, buildRelevant = true): void {
    if (!this.list.some((o) => o.field === field)) this.list.push({ field, reason, buildRelevant })
  }
  when(condition: boolean, field: string, reason: string, buildRelevant = true): void {
    if (condition) this.add(field, reason, buildRelevant)
  }
}

const defaults = emptyDefinition
const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
const hasConstraintDigests = (conda: CondaDependencies | undefined) => Object.keys(conda?.pipOptions.constraintDigests ?? {}).length > 0

/** The sections none of the plain package formats (conda, requirements) hold: docker, spark, r, inference. */
const packageFileOmissions = (o: Omissions, d: Definition, format: string) => {
  const docker = d.docker
  o.when(!sameJson(docker.base, defaults.docker.base), "docker.base", `a ${format} file names no image; the re-import starts from the default base image (${DEFAULT_BASE_IMAGE})`)
  o.when(docker.baseImageRegistry !== undefined, "docker.baseImageRegistry", `a ${format} file has no base image registry`)
  o.when(docker.gpuSupport, "docker.gpuSupport", `a ${format} file has no Docker settings`)
  o.when(docker.shmSize !== undefined, "docker.shmSize", `a ${format} file has no Docker settings`)
  o.when(docker.runArguments.length > 0, "docker.runArguments", `a ${format} file has no Docker settings`)
  o.when(!sameJson(docker.platform, defaults.docker.platform), "docker.platform", `a ${format} file has no platform; the re-import is linux/amd64`)
  o.when(d.python.userManagedDependencies, "python.userManagedDependencies", `a ${format} file is installed: the re-import is system-managed`)
  o.when(d.python.interpreterPath !== "python", "python.interpreterPath", `a ${format} file has no interpreter path; the re-import uses "python"`)
  commonOmissions(o, d, format)
}

/** Spark, R, the inferencing stack and the routes, which only the AzureML formats hold. */
const commonOmissions = (o: Omissions, d: Definition, format: string) => {
  o.when(!sameJson(d.spark, defaults.spark), "spark", `a ${format} file has no Spark section`)
  o.when(d.r !== undefined, "r", `a ${format} file has no R section`)
  o.when(d.inferencingStackVersion !== undefined, "inferencingStackVersion", `a ${format} file has no inferencing stack version`)
}

const routesOmission = (o: Omissions, d: Definition, format: string) =>
  o.when(
    Object.keys(d.inferenceConfig ?? {}).length > 0,
    "inferenceConfig",
    `a ${format} has no inference routes (liveness, readiness, scoring)`
  )

const metadataOmissions = (o: Omissions, d: Definition, format: string) => {
  o.when(d.description !== undefined, "description", `a ${format} has no description`, false)
  o.when(Object.keys(d.tags).length > 0, "tags", `a ${format} has no tags`, false)
  o.when(Object.keys(d.properties).length > 0, "properties", `a ${format} has no properties`, false)
}

const constraintsOmission = (o: Omissions, conda: CondaDependencies | undefined) =>
  o.when(
    hasConstraintDigests(conda),
    "python.conda.pipOptions.constraintDigests",
    "the constraints files are named (-c FILE) but their content is not in the registry, so it is not written: the re-import hashes them by name only"
  )

const noCondaOmission = (o: Omissions, d: Definition, format: string) =>
  o.when(
    d.python.conda === undefined,
    "python.conda",
    `a ${format} always describes packages to install; the definition has no conda section, and the re-import has an empty one`
  )

// ---------------------------------------------------------------------------------------------
// writing the formats
// ---------------------------------------------------------------------------------------------

/** An export of `files`, entered by `entry`: says when a file's name clashes with a file pip names, then lists what is left out. */
const finished = (
  format: ExportFormat,
  files: ReadonlyArray<ExportedFile>,
  o: Omissions,
  conda: CondaDependencies | undefined,
  entry: string,
  managedFiles: ReadonlyArray<string>
): DefinitionExport => {
  collisionOmission(o, conda, files)
  return { format, files, leftOut: o.list, entry, managedFiles }
}

/** pip's lines for a conda section: its options, then each requirement as it was written. */
const pipLines = (conda: CondaDependencies): Array<string> => {
  const options = conda.pipOptions
  return [
    ...(options.indexUrl === undefined ? [] : [`--index-url ${options.indexUrl}`]),
    ...options.extraIndexUrls.map((url) => `--extra-index-url ${url}`),
    ...options.findLinks.map((url) => `--find-links ${url}`),
    ...options.constraints.map((file) => `-c ${file}`),
    ...options.flags,
    // The spelling as written, unless it spans lines (only an API caller could give one): then the normal form.
    ...conda.pip.map((spec) => (/[\r\n]/.test(spec.text) ? Diff.renderSpec(spec) : spec.text))
  ]
}

/** A conda environment file (`name`, `channels`, `dependencies` with a `pip:` list, `variables`). */
const condaFileText = (conda: CondaDependencies | undefined, variables: Readonly<Record<string, string>>): string => {
  const lines = conda === undefined ? [] : pipLines(conda)
  const doc: Record<string, unknown> = {}
  if (conda?.name !== undefined) doc["name"] = conda.name
  doc["channels"] = [...(conda?.channels ?? [])]
  doc["dependencies"] = [...(conda?.conda ?? []).map((spec) => spec.text), ...(lines.length === 0 ? [] : [{ pip: lines }])]
  if (Object.keys(variables).length > 0) doc["variables"] = { ...variables }
  return yaml(doc)
}

/**
 * The files pip lines name that were not read at import (an `-r` include kept as a flag, a
 * constraints file without a digest): written into the export folder under such a name, a file of
 * the export would be read in their place.
 */
const namedByPip = (conda: CondaDependencies | undefined): Set<string> => {
  const options = conda?.pipOptions
  const unread = (options?.constraints ?? []).filter((file) => options?.constraintDigests?.[file] === undefined)
  const includes = (options?.flags ?? []).flatMap((flag) => (flag.startsWith("--requirement ") ? [flag.slice("--requirement ".length)] : []))
  return new Set([...unread, ...includes].map((file) => joinRelative(file)))
}

/** Says so when a file of the export has a name the pip lines use for a file that was not read. */
const collisionOmission = (o: Omissions, conda: CondaDependencies | undefined, files: ReadonlyArray<ExportedFile>) => {
  const named = namedByPip(conda)
  const clash = files.find((file) => named.has(file.path))
  o.when(
    clash !== undefined,
    "python.conda.pipOptions",
    `the pip lines name ${clash?.path ?? ""} (a file not read at import), which is also a file of the export: the re-import reads the export's file in its place`
  )
}

const yaml = (doc: unknown): string => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })

/** True for a build context path that can be written inside the export folder as it is. */
const isLocalRelative = (context: string): boolean =>
  !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(context) && !context.startsWith("/") && !context.startsWith("\\") &&
  !context.split(/[\\/]/).includes("..") && !/\{\{/.test(context) && context.trim() !== ""

const isUri = (context: string): boolean => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(context) && !/^[A-Za-z]:[\\/]/.test(context)

/** `a/./b/` → `a/b`: where a relative context's files go inside the export folder. */
const joinRelative = (...parts: ReadonlyArray<string>): string =>
  parts.join("/").split(/[\\/]+/).filter((segment) => segment !== "" && segment !== ".").join("/")

const CONTEXT_NOT_STORED =
  "the files of the build context are not in the registry yet, so they are not written: the re-import digests only what the export wrote"

const azuremlV2 = (input: ExportInput): DefinitionExport => {
  const d = input.definition
  const o = new Omissions()
  const files: Array<ExportedFile> = []
  const doc: Record<string, unknown> = {
    $schema: "https://azuremlschemas.azureedge.net/latest/environment.schema.json",
    name: input.name,
    version: input.version
  }
  if (d.description !== undefined) doc["description"] = d.description
  if (Object.keys(d.tags).length > 0) doc["tags"] = { ...d.tags }
  if (Object.keys(d.properties).length > 0) doc["properties"] = { ...d.properties }
  const base: DockerBase = d.docker.base
  if (base.kind === "image") {
    doc["image"] = base.image
  } else {
    const dockerfilePath = base.dockerfilePath ?? "Dockerfile"
    if (base.context !== undefined && isUri(base.context)) {
      doc["build"] = { path: base.context, dockerfile_path: dockerfilePath }
      o.when(base.dockerfile !== undefined, "docker.base.dockerfile", "the Dockerfile of a build context given as a URI is not written: the context holds it")
    } else {
      const local = base.context !== undefined && isLocalRelative(base.context)
      const context = local ? base.context! : "context"
      doc["build"] = { path: context, dockerfile_path: dockerfilePath }
      if (base.dockerfile !== undefined) files.push({ path: joinRelative(context, dockerfilePath), text: base.dockerfile })
      if (base.context === undefined) {
        o.add("docker.base", "AzureML v2 builds a Dockerfile only from a build context: it is written as ./context/Dockerfile, which the re-import digests as a context the definition did not have")
      } else if (!local) {
        o.add("docker.base.context", `the build context ${base.context} is outside the export folder; it is written as ./context, with only the Dockerfile in it`)
      }
      o.when(base.contextDigest !== undefined, "docker.base.contextDigest", CONTEXT_NOT_STORED)
      o.when(base.contextDigest === undefined && base.dockerfile !== undefined && base.context !== undefined, "docker.base.contextDigest", "the build context was not read when the definition was imported; the re-import digests the folder the export wrote")
      o.when(base.dockerfilePath === undefined && base.context !== undefined, "docker.base.dockerfilePath", "AzureML v2 names the Dockerfile; it is written as the default, Dockerfile")
    }
  }
  if (d.python.conda !== undefined) {
    doc["conda_file"] = "conda.yml"
    files.push({ path: "conda.yml", text: condaFileText(d.python.conda, d.variables) })
    o.when(d.python.userManagedDependencies, "python.userManagedDependencies", "in AzureML v2 a conda_file is installed: the re-import is system-managed")
    constraintsOmission(o, d.python.conda)
  } else {
    o.when(!d.python.userManagedDependencies, "python.userManagedDependencies", "AzureML v2 installs packages only from a conda_file; without one the re-import uses the image's Python as is (user-managed)")
    o.when(Object.keys(d.variables).length > 0, "variables", "AzureML v2 keeps environment variables in the conda_file, and the definition has no conda section")
  }
  o.when(d.python.interpreterPath !== "python", "python.interpreterPath", "AzureML v2 has no interpreter path; the re-import uses \"python\"")
  doc["os_type"] = d.docker.platform.os
  o.when(d.docker.platform.arch !== "amd64", "docker.platform", "AzureML v2 has os_type only; the re-import is amd64")
  o.when(d.docker.baseImageRegistry !== undefined, "docker.baseImageRegistry", "AzureML v2 has no base image registry (the workspace's registry credentials are used)")
  o.when(d.docker.gpuSupport, "docker.gpuSupport", "AzureML v2 has no GPU setting (the deployment or job asks for GPUs)")
  o.when(d.docker.shmSize !== undefined, "docker.shmSize", "AzureML v2 has no shared memory size (the job sets it)")
  o.when(d.docker.runArguments.length > 0, "docker.runArguments", "AzureML v2 has no docker run arguments")
  commonOmissions(o, d, "AzureML v2 environment")
  const routes = d.inferenceConfig ?? {}
  if (Object.keys(routes).length > 0) {
    const route = (r: { readonly path: string; readonly port: number } | undefined) => r && { path: r.path, port: r.port }
    doc["inference_config"] = Object.fromEntries(
      ([["liveness_route", routes.livenessRoute], ["readiness_route", routes.readinessRoute], ["scoring_route", routes.scoringRoute]] as const)
        .filter(([, r]) => r !== undefined)
        .map(([key, r]) => [key, route(r)])
    )
  }
  return finished("azureml-v2", [{ path: "environment.yml", text: yaml(doc) }, ...files], o, d.python.conda, "environment.yml", [
    "environment.yml",
    "conda.yml"
  ])
}

const conda = (input: ExportInput): DefinitionExport => {
  const d = input.definition
  const o = new Omissions()
  noCondaOmission(o, d, "conda environment file")
  constraintsOmission(o, d.python.conda)
  packageFileOmissions(o, d, "conda environment")
  routesOmission(o, d, "conda environment file")
  metadataOmissions(o, d, "conda environment file")
  const files = [{ path: "environment.yml", text: condaFileText(d.python.conda, d.variables) }]
  return finished("conda", files, o, d.python.conda, "environment.yml", ["environment.yml"])
}

const requirements = (input: ExportInput): DefinitionExport => {
  const d = input.definition
  const o = new Omissions()
  noCondaOmission(o, d, "requirements file")
  const c = d.python.conda
  o.when((c?.channels.length ?? 0) > 0, "python.conda.channels", "a requirements file holds pip packages only: the conda channels are left out")
  o.when((c?.conda.length ?? 0) > 0, "python.conda.conda", `a requirements file holds pip packages only: the conda packages (${(c?.conda ?? []).map((s) => s.name).join(", ")}) are left out`)
  o.when(c?.name !== undefined, "python.conda.name", "a requirements file has no environment name", false)
  o.when(Object.keys(d.variables).length > 0, "variables", "a requirements file has no environment variables")
  constraintsOmission(o, c)
  packageFileOmissions(o, d, "requirements")
  routesOmission(o, d, "requirements file")
  metadataOmissions(o, d, "requirements file")
  const lines = c === undefined ? [] : pipLines(c)
  // The pip lines may name a requirements.txt that was not read at import: the export takes another name.
  const named = namedByPip(c)
  const entry = ["requirements.txt", "requirements-export.txt", "requirements-terrarium.txt"].find((name) => !named.has(name)) ?? "requirements.txt"
  return finished("requirements", [{ path: entry, text: lines.map((line) => `${line}\n`).join("") }], o, c, entry, [entry])
}

const azuremlV1Directory = (input: ExportInput): DefinitionExport => {
  const d = input.definition
  const o = new Omissions()
  const files: Array<ExportedFile> = []
  const base = d.docker.base
  let baseImage: string | null = null
  let buildContext: Record<string, unknown> | null = null
  if (base.kind === "image") baseImage = base.image
  else if (base.dockerfile !== undefined) {
    files.push({ path: AZUREML_V1_DOCKERFILE, text: base.dockerfile })
    o.when(base.context !== undefined, "docker.base.context", "an AzureML v1 environment has a Dockerfile or a build context, not both: the Dockerfile is written, the context is left out")
    o.when(base.dockerfilePath !== undefined, "docker.base.dockerfilePath", "an AzureML v1 Dockerfile has no path (it is BaseDockerfile)")
    o.when(base.contextDigest !== undefined, "docker.base.contextDigest", CONTEXT_NOT_STORED)
  } else if (base.context !== undefined) {
    buildContext = { locationType: null, location: base.context, dockerfilePath: base.dockerfilePath ?? "Dockerfile" }
    o.when(base.dockerfilePath === undefined, "docker.base.dockerfilePath", "AzureML v1 names the Dockerfile; it is written as the default, Dockerfile")
    o.when(base.contextDigest !== undefined, "docker.base.contextDigest", CONTEXT_NOT_STORED)
  }
  if (d.python.conda !== undefined) {
    files.push({ path: AZUREML_V1_CONDA_FILE, text: condaFileText(d.python.conda, {}) })
    constraintsOmission(o, d.python.conda)
  }
  const registry = d.docker.baseImageRegistry
  const r = d.r
  const json = {
    name: input.name,
    version: input.version,
    environmentVariables: { ...d.variables },
    python: {
      userManagedDependencies: d.python.userManagedDependencies,
      interpreterPath: d.python.interpreterPath,
      condaDependenciesFile: null,
      baseCondaEnvironment: null
    },
    docker: {
      enabled: false,
      baseImage,
      baseDockerfile: null,
      buildContext,
      platform: { os: d.docker.platform.os === "windows" ? "Windows" : "Linux", architecture: d.docker.platform.arch },
      sharedVolumes: true,
      shmSize: d.docker.shmSize ?? null,
      arguments: [...d.docker.runArguments],
      baseImageRegistry: {
        address: registry?.address ?? null,
        username: registry?.username ?? null,
        password: registry?.password ?? null,
        registryIdentity: null
      },
      gpuSupport: d.docker.gpuSupport
    },
    spark: { repositories: [...d.spark.repositories], packages: d.spark.packages.map((p) => ({ ...p })), precachePackages: d.spark.precachePackages },
    databricks: { mavenLibraries: [], pypiLibraries: [], rcranLibraries: [], jarLibraries: [], eggLibraries: [] },
    r: r === undefined ? null : {
      rVersion: r.rVersion ?? null,
      userManaged: r.userManaged,
      rscriptPath: r.rscriptPath ?? null,
      snapshotDate: r.snapshotDate ?? null,
      cranPackages: r.cranPackages.map((p) => ({ name: p.name, version: null, repository: p.repository ?? null })),
      githubPackages: r.gitHubPackages.map((p) => ({ repository: p.repository, authToken: p.authToken ?? null })),
      customUrlPackages: [...r.customUrlPackages],
      bioconductorPackages: [...r.bioConductorPackages]
    },
    inferencingStackVersion: d.inferencingStackVersion ?? null
  }
  routesOmission(o, d, "AzureML v1 environment")
  metadataOmissions(o, d, "AzureML v1 environment")
  const definitionFile = { path: AZUREML_V1_DEFINITION_FILE, text: `${JSON.stringify(json, null, 4)}\n` }
  return finished("azureml-v1-dir", [definitionFile, ...files], o, d.python.conda, ".", [
    AZUREML_V1_DEFINITION_FILE,
    AZUREML_V1_CONDA_FILE,
    AZUREML_V1_DOCKERFILE
  ])
}

const dockerfile = (input: ExportInput): Result.Result<DefinitionExport, string> => {
  const d = input.definition
  const base = d.docker.base
  const text = base.kind === "image" ? `FROM ${base.image}\n` : base.dockerfile
  if (text === undefined) {
    return Result.fail(
      `${input.name}:${input.version} has no Dockerfile text to export: its Dockerfile is in the build context ${base.kind === "dockerfile" ? base.context ?? "" : ""}, which is not stored in the registry`
    )
  }
  const o = new Omissions()
  o.add(
    "docker.base",
    base.kind === "image"
      ? `the base image is written as "FROM ${base.image}": re-imported with --dockerfile, it is a Dockerfile build whose context is the export folder`
      : "re-imported with --dockerfile, the export folder is the build context: another context path and digest"
  )
  const userManagedPython = d.python.userManagedDependencies && d.python.interpreterPath === "python" && d.python.conda === undefined
  o.when(!userManagedPython, "python", "a Dockerfile installs what its own lines say: the python section (packages, interpreter) is not written, and the re-import is user-managed")
  o.when(Object.keys(d.variables).length > 0, "variables", "the environment variables are not written into the Dockerfile")
  o.when(d.docker.baseImageRegistry !== undefined, "docker.baseImageRegistry", "a Dockerfile has no registry credentials")
  o.when(d.docker.gpuSupport, "docker.gpuSupport", "a Dockerfile has no run settings")
  o.when(d.docker.shmSize !== undefined, "docker.shmSize", "a Dockerfile has no run settings")
  o.when(d.docker.runArguments.length > 0, "docker.runArguments", "a Dockerfile has no run settings")
  o.when(!sameJson(d.docker.platform, defaults.docker.platform), "docker.platform", "a Dockerfile has no platform; the re-import is linux/amd64")
  commonOmissions(o, d, "Dockerfile")
  routesOmission(o, d, "Dockerfile")
  metadataOmissions(o, d, "Dockerfile")
  return Result.succeed(finished("dockerfile", [{ path: "Dockerfile", text }], o, undefined, "Dockerfile", ["Dockerfile"]))
}

/**
 * Writes `input` in `format`: the files, and what they leave out. Fails with the reason when the
 * format cannot hold the definition at all (a Dockerfile export of a version whose Dockerfile is
 * only in a remote build context), so that nothing is written.
 *
 * @since 0.1.0
 * @category export
 */
export const exportDefinition = (input: ExportInput, format: ExportFormat): Result.Result<DefinitionExport, string> => {
  switch (format) {
    case "azureml-v2":
      return Result.succeed(azuremlV2(input))
    case "conda":
      return Result.succeed(conda(input))
    case "requirements":
      return Result.succeed(requirements(input))
    case "azureml-v1-dir":
      return Result.succeed(azuremlV1Directory(input))
    case "dockerfile":
      return dockerfile(input)
  }
}

/**
 * The fields where `reimported` differs from `original` that `leftOut` does not name: empty when
 * an export's statement of what it left out is true of its re-import. Fields are paths of the
 * definition as `Diff` names them; packages, channels and variables by their section.
 *
 * @since 0.1.0
 * @category export
 */
export const unstatedDifferences = (original: Definition, reimported: Definition, leftOut: ReadonlyArray<LeftOut>): Array<string> => {
  const d = Diff.diff(original, reimported)
  const fields = [
    ...d.fields.map((f) => f.field),
    ...d.packages.map((p) => `python.conda.${p.manager}`),
    ...(d.channels === undefined ? [] : ["python.conda.channels"]),
    ...(d.variables.length === 0 ? [] : ["variables"])
  ]
  return [...new Set(fields)].filter((field) => !leftOut.some((o) => field === o.field || field.startsWith(`${o.field}.`)))
}

/**
 * The statement of what an export left out, one line a field: `field: reason`.
 *
 * @since 0.1.0
 * @category export
 */
export const describeLeftOut = (leftOut: ReadonlyArray<LeftOut>): Array<string> =>
  leftOut.map((o) => `${o.field}: ${o.reason}${o.buildRelevant ? "" : " (metadata, not part of the hash)"}`)
