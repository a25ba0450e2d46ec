/**
 * Importers: environment files of other tools into Terrarium `Definition`s.
 *
 * `importEnvironmentFile` tells the format from the file and dispatches; each format also has
 * its own `import…`/`parse…` functions. All of them fail with one `ImportError` that names the
 * file, line and field, and read files through Effect's `FileSystem` and `Path` services, which
 * the caller provides (the Node ones in the CLI and the library, an in-memory one in tests).
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Path, Result } from "effect"
import { parseArmEnvironmentVersion } from "./ArmEnvironmentVersion.ts"
import { parseAzureMLEnvironment } from "./AzureMLEnvironmentYaml.ts"
import { AZUREML_V1_DEFINITION_FILE, AZUREML_V1_MARKERS, parseAzureMLV1Environment } from "./AzureMLV1Environment.ts"
import { importCondaEnvironmentText } from "./CondaEnvironmentFile.ts"
import type { EnvironmentFileKind, ImportedEnvironment } from "./ImportedEnvironment.ts"
import { importError, type ImportError } from "./ImportError.ts"
import { parseMlflowPythonEnv } from "./MlflowPythonEnv.ts"
import { importRequirementsText } from "./RequirementsTxt.ts"
import { type ReadOptions, readScope, readSourceFile } from "./SourceFiles.ts"
import type { BuildContextLimits, BuildContextProgressReporter } from "../build-context/BuildContext.ts"
import type { TemplateValues } from "./Templates.ts"
import { isMap, keyOf, parseYaml, scalarText } from "./YamlSource.ts"

export * from "./ArmEnvironmentVersion.ts"
export * from "./AzureMLEnvironmentYaml.ts"
export * from "./AzureMLV1Environment.ts"
export * from "./CondaEnvironmentFile.ts"
export * from "./ImportedEnvironment.ts"
export * from "./ImportError.ts"
export * from "./MlflowPythonEnv.ts"
export * from "./RequirementsTxt.ts"
export {
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_INCLUDE_DEPTH,
  type FileReference,
  type ReadOptions,
  readScope,
  type ReadScope
} from "./SourceFiles.ts"
export * from "./Templates.ts"
export { MAX_YAML_ALIAS_NODES, MAX_YAML_DEPTH } from "./YamlSource.ts"

/**
 * @since 0.1.0
 * @category import
 */
export interface ImportOptions extends ReadOptions {
  /** Skip detection and read the file as this kind. */
  readonly kind?: EnvironmentFileKind | undefined
  /** `{{key}}` values for AzureML YAML (see `curatedTemplateValues`). */
  readonly templateValues?: TemplateValues | undefined
  /** Parameter values for ARM templates. */
  readonly armParameters?: Readonly<Record<string, unknown>> | undefined
  /** Limits of a build context walk (number of files, bytes, time). */
  readonly contextLimits?: Partial<BuildContextLimits> | undefined
  /** Told how far a build context walk has got (a terminal shows it). */
  readonly onContextProgress?: BuildContextProgressReporter | undefined
}

const AZUREML_MARKERS = ["image", "conda_file", "build", "inference_config", "os_type"]

/**
 * Tells the kind of an environment file from its name and content:
 * - `azureml_environment.json`, or a JSON object with a v1 section (`python`, `docker`,
 *   `environmentVariables`, …) and no ARM `resources` → AzureML v1 environment;
 * - any other `.json` → ARM template;
 * - `.txt` / `.in` or a name starting with `requirements` → pip requirements;
 * - YAML whose `$schema` ends in `environment.schema.json`, or with `image`, `conda_file`,
 *   `build`, `inference_config` or `os_type` → AzureML v2;
 * - YAML with a scalar `python` and `build_dependencies`/`dependencies` → MLflow python_env;
 * - YAML with `dependencies` (or `channels`) → conda environment.
 *
 * @since 0.1.0
 * @category import
 */
export const detectEnvironmentFileKind = (
  file: string,
  text: string
): Effect.Effect<EnvironmentFileKind, ImportError, Path.Path> =>
  Path.Path.use((path) => Effect.fromResult(detectKind(path, file, text)))

/** A JSON object with a v1 section and no ARM `resources`; anything unreadable is left to the ARM importer's errors. */
const isV1Json = (text: string): boolean => {
  const parsed = Result.try(() => JSON.parse(text) as unknown)
  if (Result.isFailure(parsed)) return false
  const value = parsed.success
  if (typeof value !== "object" || value === null || Array.isArray(value) || "resources" in value) return false
  return AZUREML_V1_MARKERS.some((key) => key in value)
}

const detectKind = (path: Path.Path, file: string, text: string): Result.Result<EnvironmentFileKind, ImportError> => {
  const extension = path.extname(file).toLowerCase()
  if (path.basename(file) === AZUREML_V1_DEFINITION_FILE) return Result.succeed("azureml-v1-environment")
  if (extension === ".json") return Result.succeed(isV1Json(text) ? "azureml-v1-environment" : "arm-template-environment-version")
  if (extension === ".txt" || extension === ".in" || path.basename(file).toLowerCase().startsWith("requirements")) {
    return Result.succeed("pip-requirements")
  }
  return Result.flatMap(parseYaml(file, text), (source) => {
    const root = source.doc.contents
    const keys = new Map<string, unknown>()
    if (isMap(root)) for (const pair of root.items) keys.set(keyOf(pair) ?? "", pair.value)
    const schema = scalarText(keys.get("$schema"))
    if (schema !== undefined && /environment\.schema\.json$/i.test(schema.trim())) return Result.succeed("azureml-v2-environment")
    if (AZUREML_MARKERS.some((key) => keys.has(key))) return Result.succeed("azureml-v2-environment")
    const python = keys.get("python")
    if (python !== undefined && scalarText(python) !== undefined && (keys.has("build_dependencies") || keys.has("dependencies"))) {
      return Result.succeed("mlflow-python-env")
    }
    if (keys.has("dependencies") || keys.has("channels")) return Result.succeed("conda-environment")
    return Result.fail(
      importError(
        { file },
        "cannot tell what kind of environment file this is (expected an AzureML v2 environment YAML, an AzureML v1 azureml_environment.json, a conda environment file, a requirements.txt, an MLflow python_env.yaml or an ARM template)"
      )
    )
  })
}

/**
 * Imports any supported environment file (see `detectEnvironmentFileKind`). A folder is read as
 * what AzureML v1's `Environment.save_to_directory` writes: its `azureml_environment.json` with the
 * conda file and Dockerfile beside it.
 *
 * @example
 * ```ts
 * const env = yield* importEnvironmentFile("cli/assets/environment/docker-image-plus-conda.yaml")
 * env.definition.docker.base // { kind: "image", image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04" }
 * ```
 *
 * @since 0.1.0
 * @category import
 */
export const importEnvironmentFile = (
  file: string,
  options: ImportOptions = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const paths = yield* Path.Path
    const fs = yield* FileSystem.FileSystem
    const isFolder = yield* fs.stat(file).pipe(Effect.map((info) => info.type === "Directory"), Effect.orElseSucceed(() => false))
    if (isFolder) {
      const definitionFile = paths.join(file, AZUREML_V1_DEFINITION_FILE)
      const exists = yield* fs.exists(definitionFile).pipe(Effect.orElseSucceed(() => false))
      if (!exists) {
        return yield* importError(
          { file },
          `a folder is read as AzureML v1's save_to_directory folder, and it has no ${AZUREML_V1_DEFINITION_FILE}; name the environment file instead`
        )
      }
      return yield* importEnvironmentFile(definitionFile, { ...options, kind: "azureml-v1-environment" })
    }
    const scope = yield* readScope(file, options)
    const text = yield* readSourceFile(file, scope.maxFileBytes)
    if (text === undefined) return yield* importError({ file }, "no such file")
    const kind = options.kind ?? (yield* detectEnvironmentFileKind(file, text))
    switch (kind) {
      case "azureml-v1-environment":
        return yield* parseAzureMLV1Environment(file, text, {
          scope,
          siblings: paths.basename(file) === AZUREML_V1_DEFINITION_FILE
        })
      case "azureml-v2-environment":
        return yield* parseAzureMLEnvironment(file, text, {
          templateValues: options.templateValues,
          contextLimits: options.contextLimits,
          onContextProgress: options.onContextProgress,
          scope
        })
      case "conda-environment":
        return yield* importCondaEnvironmentText(file, text, { scope })
      case "pip-requirements":
        return yield* importRequirementsText(file, text, { scope })
      case "mlflow-python-env":
        return yield* parseMlflowPythonEnv(file, text, { scope })
      case "arm-template-environment-version":
        return yield* parseArmEnvironmentVersion(file, text, { parameters: options.armParameters, scope })
    }
  })
