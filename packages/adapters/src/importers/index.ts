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
import { Effect, type FileSystem, Path, Result } from "effect"
import { parseArmEnvironmentVersion } from "./ArmEnvironmentVersion.ts"
import { parseAzureMLEnvironment } from "./AzureMLEnvironmentYaml.ts"
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
 * - `.json` → ARM template;
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

const detectKind = (path: Path.Path, file: string, text: string): Result.Result<EnvironmentFileKind, ImportError> => {
  const extension = path.extname(file).toLowerCase()
  if (extension === ".json") return Result.succeed("arm-template-environment-version")
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
        "cannot tell what kind of environment file this is (expected an AzureML v2 environment YAML, a conda environment file, a requirements.txt, an MLflow python_env.yaml or an ARM template)"
      )
    )
  })
}

/**
 * Imports any supported environment file (see `detectEnvironmentFileKind`).
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
    const scope = yield* readScope(file, options)
    const text = yield* readSourceFile(file, scope.maxFileBytes)
    if (text === undefined) return yield* importError({ file }, "no such file")
    const kind = options.kind ?? (yield* detectEnvironmentFileKind(file, text))
    switch (kind) {
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
