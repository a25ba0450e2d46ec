/**
 * AzureML v1 environments: the `Environment` JSON of azureml-core (`azureml_environment.json`),
 * and the folder `Environment.save_to_directory` writes and `Environment.load_from_directory`
 * reads.
 *
 * That folder holds exactly three files (azureml-core `environment.py`):
 * - `azureml_environment.json`: the environment serialised, without `python.condaDependencies`
 *   and `docker.baseDockerfile` when those were written to files of their own;
 * - `conda_dependencies.yml`: the conda environment, when there is one;
 * - `BaseDockerfile`: the Dockerfile text, when the environment has one.
 * `load_from_directory` lets the two files win over what the JSON holds inline; so does this
 * importer, with a warning. A file named `azureml_environment.json` is read with the files beside
 * it (whichever way it was named: the folder, or the file in it); a v1 JSON under another name is
 * read alone, as the inline form `Environment` serialises to.
 *
 * Fields (camelCase, as azureml-core writes them): `name`, `version`, `environmentVariables`,
 * `python` (`userManagedDependencies`, `interpreterPath`, `condaDependencies`), `docker`
 * (`baseImage`, `baseDockerfile`, `buildContext` {`locationType`, `location`, `dockerfilePath`},
 * `baseImageRegistry` {`address`, `username`, `password`}, `platform` {`os`, `architecture`},
 * `gpuSupport`, `shmSize`, `arguments`), `spark` (`repositories`, `packages`,
 * `precachePackages`), `r`, `inferencingStackVersion`. Accepted and ignored with a warning when
 * set: `docker.enabled` and `docker.sharedVolumes` (how a local run starts, not what is built),
 * `databricks` libraries (installed on a Databricks cluster, not in the image) and `assetId`.
 * Refused, each with why: `python.condaDependenciesFile` and `python.baseCondaEnvironment`
 * (deprecated ways to point at a conda environment elsewhere), `docker.baseImageRegistry.registryIdentity`,
 * a CRAN package `version` (R packages are pinned by `snapshotDate`), and any field not listed.
 *
 * Secrets: azureml-core stores the registry's `username` and `password` and a GitHub package's
 * `authToken` in the clear. Here each must be a reference (`env:NAME`, `file:PATH`,
 * `keyvault:VAULT/NAME`); a value is refused, without being echoed, with the message every
 * importer gives for a secret given by value.
 *
 * @since 0.1.0
 */
import {
  DEFAULT_BASE_IMAGE,
  type Definition,
  type DockerBase,
  emptyDefinition,
  imageCredentialsProblem,
  type RSection,
  SecretReference,
  type SparkPackage,
  urlCredentialsProblem
} from "@terrarium/domain"
import { Effect, type FileSystem, Path, Schema } from "effect"
import { type CondaEnvironment, parseCondaEnvironment, readCondaEnvironmentNode } from "./CondaEnvironmentFile.ts"
import { firstLocation, type ImportedEnvironment, type ImportSource, validateDefinition } from "./ImportedEnvironment.ts"
import { didYouMean, importError, type ImportError, type ImportWarning, importWarning } from "./ImportError.ts"
import { type ReadOptions, readReferencedFile, readScope, type ReadScope, readSourceFile } from "./SourceFiles.ts"
import { isMap, isScalar, isSeq, keyOf, type Pair, parseYaml, rootMap, scalarText, type YamlSource, type YAMLMap } from "./YamlSource.ts"

/** @since 0.1.0 @category azureml v1 */
export const AZUREML_V1_DEFINITION_FILE = "azureml_environment.json"
/** @since 0.1.0 @category azureml v1 */
export const AZUREML_V1_CONDA_FILE = "conda_dependencies.yml"
/** @since 0.1.0 @category azureml v1 */
export const AZUREML_V1_DOCKERFILE = "BaseDockerfile"

const TOP = ["name", "version", "environmentVariables", "python", "docker", "spark", "databricks", "r", "inferencingStackVersion", "assetId"]
const PYTHON = ["userManagedDependencies", "interpreterPath", "condaDependencies", "condaDependenciesFile", "baseCondaEnvironment"]
const DOCKER = [
  "enabled", "baseImage", "baseDockerfile", "buildContext", "sharedVolumes", "shmSize", "arguments",
  "baseImageRegistry", "platform", "gpuSupport"
]
const BUILD_CONTEXT = ["locationType", "location", "dockerfilePath"]
const REGISTRY = ["address", "username", "password", "registryIdentity"]
const PLATFORM = ["os", "architecture"]
const SPARK = ["repositories", "packages", "precachePackages"]
const SPARK_PACKAGE = ["group", "artifact", "version"]
const DATABRICKS = ["mavenLibraries", "pypiLibraries", "rcranLibraries", "jarLibraries", "eggLibraries", "cluster"]
const R = ["rVersion", "userManaged", "rscriptPath", "snapshotDate", "cranPackages", "githubPackages", "customUrlPackages", "bioconductorPackages"]
const CRAN = ["name", "version", "repository"]
const GITHUB = ["repository", "authToken"]

/**
 * The v1 JSON's top-level fields that tell it from an ARM template (which has `resources`).
 *
 * @since 0.1.0
 * @category azureml v1
 */
export const AZUREML_V1_MARKERS = ["python", "docker", "environmentVariables", "inferencingStackVersion", "spark", "databricks"] as const

/**
 * @since 0.1.0
 * @category azureml v1
 */
export interface AzureMLV1ImportOptions extends ReadOptions {
  /** What may be read, when the caller has settled it already (else settled from the file and these options). */
  readonly scope?: ReadScope | undefined
}

const isNull = (node: unknown): boolean => node === null || node === undefined || (isScalar(node) && node.value === null)
const isSecretReference = Schema.is(SecretReference)

/** The message every importer gives for a secret written by value (the domain's `SecretReference` rule). */
const secretByValue = (field: string) =>
  `field "${field}" holds a secret by value, and definitions are kept forever in the event log: ` +
  "a secret is given by reference (env:NAME, file:PATH or keyvault:VAULT/NAME), never by value"

/** Reads typed values out of the parsed JSON, every error naming the file, line and field. */
const reader = (source: YamlSource) => {
  const file = source.file
  const at = (field: string, node: unknown) => ({ file, line: source.lineOf(node), field })
  const fields = (field: string, node: unknown, allowed: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const out = new Map<string, Pair>()
      if (isNull(node)) return out
      if (!isMap(node)) return yield* importError(at(field, node), `field "${field}" must be an object`)
      for (const pair of (node as YAMLMap).items) {
        const key = keyOf(pair)
        const name = field === "" ? key ?? "?" : `${field}.${key ?? "?"}`
        if (key === undefined || !allowed.includes(key)) {
          const suggestion = key === undefined ? undefined : didYouMean(key, allowed)
          return yield* importError(
            at(name, pair.key),
            `field "${name}" is not part of the AzureML v1 environment JSON${suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`}`
          )
        }
        out.set(key, pair)
      }
      return out
    })
  const text = (field: string, pair: Pair | undefined) =>
    Effect.gen(function*() {
      if (pair === undefined || isNull(pair.value)) return undefined
      const value = isScalar(pair.value) && typeof pair.value.value !== "boolean" ? scalarText(pair.value) : undefined
      if (value === undefined) return yield* importError(at(field, pair.key), `field "${field}" must be a string`)
      return value
    })
  const bool = (field: string, pair: Pair | undefined) =>
    Effect.gen(function*() {
      if (pair === undefined || isNull(pair.value)) return undefined
      if (!isScalar(pair.value) || typeof pair.value.value !== "boolean") {
        return yield* importError(at(field, pair.key), `field "${field}" must be true or false`)
      }
      return pair.value.value
    })
  const list = (field: string, pair: Pair | undefined) =>
    Effect.gen(function*() {
      if (pair === undefined || isNull(pair.value)) return [] as ReadonlyArray<unknown>
      if (!isSeq(pair.value)) return yield* importError(at(field, pair.key), `field "${field}" must be a list`)
      return pair.value.items as ReadonlyArray<unknown>
    })
  const strings = (field: string, pair: Pair | undefined) =>
    Effect.gen(function*() {
      const out: Array<string> = []
      for (const item of yield* list(field, pair)) {
        const value = isScalar(item) && item.value !== null && typeof item.value !== "boolean" ? scalarText(item) : undefined
        if (value === undefined) return yield* importError(at(field, item), `each item of "${field}" must be a string`)
        out.push(value)
      }
      return out
    })
  const stringMap = (field: string, pair: Pair | undefined) =>
    Effect.gen(function*() {
      const out: Record<string, string> = {}
      if (pair === undefined || isNull(pair.value)) return out
      if (!isMap(pair.value)) return yield* importError(at(field, pair.key), `field "${field}" must be an object`)
      for (const item of pair.value.items) {
        const key = keyOf(item)
        const value = isScalar(item.value) ? scalarText(item.value) : undefined
        if (key === undefined || value === undefined) {
          return yield* importError(at(field, item.key), `each entry of "${field}" must be "NAME": "value"`)
        }
        // Defined, not assigned: a variable named `__proto__` is a variable, not the object's prototype.
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
      }
      return out
    })
  /** A secret field: absent, or a reference; a value is refused and never echoed. */
  const secret = (field: string, pair: Pair | undefined) =>
    Effect.gen(function*() {
      if (pair === undefined || isNull(pair.value)) return undefined
      const value = isScalar(pair.value) ? scalarText(pair.value) : undefined
      if (value === "") return undefined
      if (value === undefined || !isSecretReference(value)) return yield* importError(at(field, pair.key), secretByValue(field))
      return value
    })
  return { at, fields, text, bool, list, strings, stringMap, secret }
}

type Reader = ReturnType<typeof reader>

const readSpark = (r: Reader, pair: Pair | undefined) =>
  Effect.gen(function*() {
    const spark = yield* r.fields("spark", pair?.value, SPARK)
    const packages: Array<SparkPackage> = []
    for (const item of yield* r.list("spark.packages", spark.get("packages"))) {
      const p = yield* r.fields("spark.packages[]", item, SPARK_PACKAGE)
      const group = yield* r.text("spark.packages[].group", p.get("group"))
      const artifact = yield* r.text("spark.packages[].artifact", p.get("artifact"))
      const version = yield* r.text("spark.packages[].version", p.get("version"))
      if (group === undefined || artifact === undefined || version === undefined) {
        return yield* importError(r.at("spark.packages", item), `each Spark package needs "group", "artifact" and "version"`)
      }
      packages.push({ group, artifact, version })
    }
    return {
      repositories: yield* r.strings("spark.repositories", spark.get("repositories")),
      packages,
      // azureml-core writes the flag always; a file without it gets Terrarium's default.
      precachePackages: (yield* r.bool("spark.precachePackages", spark.get("precachePackages"))) ?? false
    }
  })

const readR = (r: Reader, pair: Pair | undefined) =>
  Effect.gen(function*() {
    if (pair === undefined || isNull(pair.value)) return undefined
    const section = yield* r.fields("r", pair.value, R)
    const cranPackages: Array<RSection["cranPackages"][number]> = []
    for (const item of yield* r.list("r.cranPackages", section.get("cranPackages"))) {
      const p = yield* r.fields("r.cranPackages[]", item, CRAN)
      const name = yield* r.text("r.cranPackages[].name", p.get("name"))
      if (name === undefined || name === "") return yield* importError(r.at("r.cranPackages", item), `each CRAN package needs a "name"`)
      const version = yield* r.text("r.cranPackages[].version", p.get("version"))
      if (version !== undefined && version !== "") {
        return yield* importError(
          r.at("r.cranPackages[].version", p.get("version")?.key),
          `field "r.cranPackages[].version" cannot be kept: R packages are pinned by "r.snapshotDate" (the CRAN snapshot), not one by one`
        )
      }
      const repository = yield* r.text("r.cranPackages[].repository", p.get("repository"))
      cranPackages.push(repository === undefined || repository === "" ? { name } : { name, repository })
    }
    const gitHubPackages: Array<RSection["gitHubPackages"][number]> = []
    for (const item of yield* r.list("r.githubPackages", section.get("githubPackages"))) {
      const p = yield* r.fields("r.githubPackages[]", item, GITHUB)
      const repository = yield* r.text("r.githubPackages[].repository", p.get("repository"))
      if (repository === undefined || repository === "") {
        return yield* importError(r.at("r.githubPackages", item), `each GitHub package needs a "repository"`)
      }
      const authToken = yield* r.secret("r.githubPackages[].authToken", p.get("authToken"))
      gitHubPackages.push(authToken === undefined ? { repository } : { repository, authToken })
    }
    const rVersion = yield* r.text("r.rVersion", section.get("rVersion"))
    const rscriptPath = yield* r.text("r.rscriptPath", section.get("rscriptPath"))
    const snapshotDate = yield* r.text("r.snapshotDate", section.get("snapshotDate"))
    return {
      ...(rVersion === undefined ? {} : { rVersion }),
      userManaged: (yield* r.bool("r.userManaged", section.get("userManaged"))) ?? false,
      ...(rscriptPath === undefined ? {} : { rscriptPath }),
      ...(snapshotDate === undefined ? {} : { snapshotDate }),
      cranPackages,
      gitHubPackages,
      customUrlPackages: yield* r.strings("r.customUrlPackages", section.get("customUrlPackages")),
      bioConductorPackages: yield* r.strings("r.bioconductorPackages", section.get("bioconductorPackages"))
    } satisfies RSection
  })

/**
 * Reads a v1 environment from the JSON text of `file`. With `siblings`, the `conda_dependencies.yml`
 * and `BaseDockerfile` beside it are read too (the `save_to_directory` folder).
 *
 * @since 0.1.0
 * @category azureml v1
 */
export const parseAzureMLV1Environment = (
  file: string,
  text: string,
  options: AzureMLV1ImportOptions & { readonly siblings?: boolean | undefined } = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const paths = yield* Path.Path
    const source = yield* Effect.fromResult(parseYaml(file, text))
    const root = yield* Effect.fromResult(rootMap(source, "an AzureML v1 environment (a JSON object)"))
    const scope = options.scope ?? (yield* readScope(file, options))
    const r = reader(source)
    const warnings: Array<ImportWarning> = []
    const warn = (node: unknown, message: string) => warnings.push(importWarning(file, source.lineOf(node), message))
    const top = yield* r.fields("", root, TOP)
    const lineOf = (field: string) => source.lineOf(top.get(field)?.key)

    const name = yield* r.text("name", top.get("name"))
    const version = yield* r.text("version", top.get("version"))
    const variables = yield* r.stringMap("environmentVariables", top.get("environmentVariables"))
    const assetId = yield* r.text("assetId", top.get("assetId"))
    if (assetId !== undefined && assetId !== "") {
      warn(top.get("assetId")?.key, `field "assetId" is ignored: it says where AzureML keeps the environment, not what is built`)
    }

    // python
    const python = yield* r.fields("python", top.get("python")?.value, PYTHON)
    for (const field of ["condaDependenciesFile", "baseCondaEnvironment"]) {
      const value = yield* r.text(`python.${field}`, python.get(field))
      if (value !== undefined && value !== "") {
        return yield* importError(
          r.at(`python.${field}`, python.get(field)?.key),
          `field "python.${field}" points at a conda environment elsewhere and cannot be imported: ` +
            `put the conda environment in "python.condaDependencies" (or ${AZUREML_V1_CONDA_FILE} beside the JSON)`
        )
      }
    }
    const userManaged = (yield* r.bool("python.userManagedDependencies", python.get("userManagedDependencies"))) ?? false
    const interpreterPath = (yield* r.text("python.interpreterPath", python.get("interpreterPath"))) || "python"
    let conda: CondaEnvironment | undefined
    const inlineConda = python.get("condaDependencies")
    if (inlineConda !== undefined && !isNull(inlineConda.value)) {
      conda = yield* readCondaEnvironmentNode(source, inlineConda.value, { scope, readReferences: true })
    }

    // docker
    const docker = yield* r.fields("docker", top.get("docker")?.value, DOCKER)
    for (const [field, normal] of [["enabled", false], ["sharedVolumes", true]] as const) {
      const value = yield* r.bool(`docker.${field}`, docker.get(field))
      if (value !== undefined && value !== normal) {
        warn(docker.get(field)?.key, `field "docker.${field}" is ignored: it says how a local run starts, not what is built`)
      }
    }
    const baseImage = yield* r.text("docker.baseImage", docker.get("baseImage"))
    let dockerfile = yield* r.text("docker.baseDockerfile", docker.get("baseDockerfile"))
    const contextFields = yield* r.fields("docker.buildContext", docker.get("buildContext")?.value, BUILD_CONTEXT)
    const location = yield* r.text("docker.buildContext.location", contextFields.get("location"))
    const dockerfilePath = yield* r.text("docker.buildContext.dockerfilePath", contextFields.get("dockerfilePath"))
    yield* r.text("docker.buildContext.locationType", contextFields.get("locationType"))

    const sourceInfo: { -readonly [K in keyof ImportSource]: ImportSource[K] } = { file, includes: [] }
    if (options.siblings === true) {
      const dir = paths.dirname(file)
      const condaFile = paths.join(dir, AZUREML_V1_CONDA_FILE)
      const condaText = yield* readReferencedFile(scope, condaFile, { file, field: "python.condaDependencies", name: AZUREML_V1_CONDA_FILE })
      if (condaText !== undefined) {
        if (conda !== undefined) {
          warn(inlineConda?.key, `"python.condaDependencies" is replaced by ${AZUREML_V1_CONDA_FILE} beside it, as load_from_directory does`)
        }
        conda = yield* parseCondaEnvironment(condaFile, condaText, { scope, readReferences: true })
        sourceInfo.condaFile = condaFile
      }
      const dockerfileFile = paths.join(dir, AZUREML_V1_DOCKERFILE)
      const dockerfileText = yield* readReferencedFile(scope, dockerfileFile, { file, field: "docker.baseDockerfile", name: AZUREML_V1_DOCKERFILE })
      if (dockerfileText !== undefined) {
        if (dockerfile !== undefined) {
          warn(docker.get("baseDockerfile")?.key, `"docker.baseDockerfile" is replaced by ${AZUREML_V1_DOCKERFILE} beside it, as load_from_directory does`)
        }
        dockerfile = dockerfileText
        sourceInfo.dockerfilePath = dockerfileFile
      }
    }

    const given = [
      ...(baseImage === undefined || baseImage === "" ? [] : ["docker.baseImage"]),
      ...(dockerfile === undefined || dockerfile === "" ? [] : ["docker.baseDockerfile"]),
      ...(location === undefined || location === "" ? [] : ["docker.buildContext"])
    ]
    if (given.length > 1) {
      return yield* importError(
        { file, line: source.lineOf(top.get("docker")?.key), field: given[1] },
        `fields ${given.map((f) => `"${f}"`).join(" and ")} cannot both be given: an environment starts from one of them (azureml-core keeps only the last one set)`
      )
    }
    let base: DockerBase = { kind: "image", image: DEFAULT_BASE_IMAGE }
    if (baseImage !== undefined && baseImage !== "") {
      const credentials = imageCredentialsProblem("docker.baseImage", baseImage)
      if (credentials !== undefined) return yield* importError(r.at("docker.baseImage", docker.get("baseImage")?.key), credentials)
      base = { kind: "image", image: baseImage }
    } else if (dockerfile !== undefined && dockerfile !== "") {
      base = { kind: "dockerfile", dockerfile }
    } else if (location !== undefined && location !== "") {
      // A storage account or Git location: named, never read (AzureML uploads local folders first).
      const credentials = urlCredentialsProblem("docker.buildContext.location", location)
      if (credentials !== undefined) {
        return yield* importError(r.at("docker.buildContext.location", contextFields.get("location")?.key), credentials)
      }
      base = { kind: "dockerfile", context: location, dockerfilePath: dockerfilePath || "Dockerfile" }
    }

    const registryFields = yield* r.fields("docker.baseImageRegistry", docker.get("baseImageRegistry")?.value, REGISTRY)
    const identity = registryFields.get("registryIdentity")
    if (identity !== undefined && !isNull(identity.value)) {
      return yield* importError(
        r.at("docker.baseImageRegistry.registryIdentity", identity.key),
        `field "docker.baseImageRegistry.registryIdentity" (a managed identity) cannot be imported: give the registry's username and password by reference (env:NAME, file:PATH or keyvault:VAULT/NAME)`
      )
    }
    const address = yield* r.text("docker.baseImageRegistry.address", registryFields.get("address"))
    const username = yield* r.secret("docker.baseImageRegistry.username", registryFields.get("username"))
    const password = yield* r.secret("docker.baseImageRegistry.password", registryFields.get("password"))
    if ((address === undefined || address === "") && (username !== undefined || password !== undefined)) {
      return yield* importError(
        r.at("docker.baseImageRegistry", docker.get("baseImageRegistry")?.key),
        `field "docker.baseImageRegistry" has credentials but no "address"`
      )
    }
    const platformFields = yield* r.fields("docker.platform", docker.get("platform")?.value, PLATFORM)
    const osText = (yield* r.text("docker.platform.os", platformFields.get("os"))) ?? "Linux"
    const os = osText.toLowerCase()
    if (os !== "linux" && os !== "windows") {
      return yield* importError(r.at("docker.platform.os", platformFields.get("os")?.key), `field "docker.platform.os" must be "Linux" or "Windows", not "${osText}"`)
    }
    const arch = (yield* r.text("docker.platform.architecture", platformFields.get("architecture"))) || "amd64"
    const shmSize = yield* r.text("docker.shmSize", docker.get("shmSize"))

    // spark, databricks, r, inferencing
    const spark = yield* readSpark(r, top.get("spark"))
    const databricks = yield* r.fields("databricks", top.get("databricks")?.value, DATABRICKS)
    for (const [field, pair] of databricks) {
      if (!isNull(pair.value) && !(isSeq(pair.value) && pair.value.items.length === 0)) {
        warn(pair.key, `field "databricks.${field}" is ignored: Databricks libraries are installed on a Databricks cluster, not in the image`)
      }
    }
    const rSection = yield* readR(r, top.get("r"))
    const inferencingStackVersion = yield* r.text("inferencingStackVersion", top.get("inferencingStackVersion"))

    const locateHere = (path: ReadonlyArray<PropertyKey>) => {
      const [first] = path
      const line = typeof first === "string" ? lineOf(first === "variables" ? "environmentVariables" : first) : undefined
      return line === undefined ? undefined : { file, line }
    }
    const definition: Definition = yield* validateDefinition(file, {
      ...emptyDefinition,
      python: {
        userManagedDependencies: userManaged,
        interpreterPath,
        ...(conda === undefined ? {} : { conda: conda.dependencies })
      },
      docker: {
        base,
        ...(address === undefined || address === ""
          ? {}
          : {
            baseImageRegistry: {
              address,
              ...(username === undefined ? {} : { username }),
              ...(password === undefined ? {} : { password })
            }
          }),
        gpuSupport: (yield* r.bool("docker.gpuSupport", docker.get("gpuSupport"))) ?? false,
        ...(shmSize === undefined || shmSize === "" ? {} : { shmSize }),
        runArguments: yield* r.strings("docker.arguments", docker.get("arguments")),
        platform: { os, arch }
      },
      // The conda file's `variables:` are set when it is activated; the JSON's apply to the run.
      variables: { ...conda?.variables, ...variables },
      spark,
      ...(rSection === undefined ? {} : { r: rSection }),
      ...(inferencingStackVersion === undefined || inferencingStackVersion === "" ? {} : { inferencingStackVersion })
    }, firstLocation(conda?.locate, locateHere))
    return {
      kind: "azureml-v1-environment",
      ...(name === undefined || name === "" ? {} : { name }),
      ...(version === undefined || version === "" ? {} : { version }),
      tags: {},
      definition,
      source: { ...sourceInfo, includes: conda?.includes ?? [] },
      warnings: [...warnings, ...(conda?.warnings ?? [])]
    } satisfies ImportedEnvironment
  })

/**
 * Imports a v1 environment: a `save_to_directory` folder (given as the folder or as its
 * `azureml_environment.json`), or a v1 JSON file of another name (read alone).
 *
 * @since 0.1.0
 * @category azureml v1
 */
export const importAzureMLV1Environment = (
  path: string,
  options: AzureMLV1ImportOptions = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const paths = yield* Path.Path
    const file = paths.basename(path) === AZUREML_V1_DEFINITION_FILE || paths.extname(path) === ".json"
      ? path
      : paths.join(path, AZUREML_V1_DEFINITION_FILE)
    const scope = options.scope ?? (yield* readScope(file, options))
    const text = yield* readSourceFile(file, scope.maxFileBytes)
    if (text === undefined) return yield* importError({ file }, "no such file")
    return yield* parseAzureMLV1Environment(file, text, { scope, siblings: paths.basename(file) === AZUREML_V1_DEFINITION_FILE })
  })
