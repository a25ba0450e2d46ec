/**
 * What every importer returns: a `Definition` plus the metadata the file carried beside it.
 *
 * @since 0.1.0
 */
import { CheckedDefinition, type Definition } from "@terrarium/domain"
import { Effect, Schema } from "effect"
import { importError, type ImportError, type ImportWarning } from "./ImportError.ts"

/**
 * The file formats the importers read (the names used by the corpus manifest).
 *
 * @since 0.1.0
 * @category model
 */
export type EnvironmentFileKind =
  | "azureml-v2-environment"
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
 * Checks a built definition against `CheckedDefinition` (its shape and the rules a new definition
 * must meet), so an importer can never hand out something the registry would refuse; a failure
 * here is a bug in the importer or an out-of-range value (a port number), reported against the file.
 *
 * @since 0.1.0
 * @category model
 */
export const validateDefinition = (file: string, definition: Definition): Effect.Effect<Definition, ImportError> =>
  Schema.decodeUnknownEffect(CheckedDefinition)(definition).pipe(
    Effect.mapError((error) => importError({ file }, `the imported definition is invalid: ${error.message}`))
  )
