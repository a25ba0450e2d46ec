/**
 * What every importer returns: a `Definition` plus the metadata the file carried beside it.
 *
 * @since 0.1.0
 */
import { CheckedDefinition, type Definition, definitionProblems } from "@terrarium/domain"
import { Effect, Schema } from "effect"
import { importError, type ImportError, type ImportLocation, type ImportWarning } from "./ImportError.ts"

/**
 * The file formats the importers read (the names used by the corpus manifest).
 *
 * @since 0.1.0
 * @category model
 */
export type EnvironmentFileKind =
  | "azureml-v2-environment"
  | "azureml-v1-environment"
  | "conda-environment"
  | "pip-requirements"
  | "mlflow-python-env"
  | "arm-template-environment-version"

/**
 * The files an import read or refers to. Paths are as the importer resolved them (relative to
 * the working directory when the given path was relative).
 *
 * @since 0.1.0
 * @category model
 */
export interface ImportSource {
  readonly file: string
  /** The conda file a v2 environment's `conda_file` names. */
  readonly condaFile?: string
  /** The local build context directory of `build.path` (absent for URIs). */
  readonly buildContext?: string
  /** The Dockerfile inside the build context. */
  readonly dockerfilePath?: string
  /** Files pulled in by `-r` includes, in the order they were read. */
  readonly includes: ReadonlyArray<string>
}

/**
 * An imported environment. `name`/`version` are present only when the format has them (AzureML v2
 * YAML, ARM template); they are not validated as registry names here — the registry does that.
 *
 * @since 0.1.0
 * @category model
 */
export interface ImportedEnvironment {
  readonly kind: EnvironmentFileKind
  readonly name?: string
  readonly version?: string
  readonly description?: string
  readonly tags: Readonly<Record<string, string>>
  readonly definition: Definition
  readonly source: ImportSource
  readonly warnings: ReadonlyArray<ImportWarning>
}

/**
 * Where the field at a path of the definition (`["tags", "team"]`) was written, when the importer
 * knows: the file (an importer may build a definition from more than one) and line.
 *
 * @since 0.1.0
 * @category model
 */
export type DefinitionLocator = (path: ReadonlyArray<PropertyKey>) => ImportLocation | undefined

/**
 * Checks a built definition against `CheckedDefinition` (its shape and the rules a new definition
 * must meet), so an importer can never hand out something the registry would refuse: an
 * out-of-range value, credentials or text that cannot be stored in a field the importer does not
 * check itself. The refusal is reported at the file and line `locate` gives for the path of the
 * first problem, else against the file alone.
 *
 * @since 0.1.0
 * @category model
 */
export const validateDefinition = (
  file: string,
  definition: Definition,
  locate?: DefinitionLocator | undefined
): Effect.Effect<Definition, ImportError> =>
  Schema.decodeUnknownEffect(CheckedDefinition)(definition).pipe(
    Effect.mapError((error) => {
      const first = locate === undefined ? undefined : definitionProblems(definition)[0]
      const at = first === undefined ? undefined : locate?.(first.path)
      return importError(at ?? { file }, `the imported definition is invalid: ${error.message}`)
    })
  )

/**
 * A locator that asks each of `locators` in turn.
 *
 * @since 0.1.0
 * @category model
 */
export const firstLocation = (...locators: ReadonlyArray<DefinitionLocator | undefined>): DefinitionLocator => (path) => {
  for (const locate of locators) {
    const at = locate?.(path)
    if (at !== undefined) return at
  }
  return undefined
}
