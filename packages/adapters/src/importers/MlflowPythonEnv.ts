/**
 * MLflow `python_env.yaml`: `python` (a version), `build_dependencies` and `dependencies` (pip
 * lines, typically `- -r requirements.txt`), which AzureML reads when it deploys an MLflow model
 * without an environment.
 *
 * The format has no channels and no base image, so the definition mirrors MLflow's own conda
 * translation of it: channel `conda-forge`, conda `python=<version>`, then the build dependencies
 * and the dependencies as pip requirements, on the default base image.
 *
 * @since 0.1.0
 */
import { type CondaSpec, emptyDefinition } from "@terrarium/domain"
import { Effect, type FileSystem, type Path, Result } from "effect"
import { parseCondaSpec } from "../package-spec/CondaSpec.ts"
import { type ImportedEnvironment, validateDefinition } from "./ImportedEnvironment.ts"
import { didYouMean, excerpt, importError, type ImportError, type ImportWarning, importWarning } from "./ImportError.ts"
import { type PipLine, readPipLines } from "./RequirementsTxt.ts"
import { type ReadOptions, readScope, type ReadScope, readSourceFile } from "./SourceFiles.ts"
import { isScalar, isSeq, keyOf, parseYaml, rootMap, scalarText } from "./YamlSource.ts"

const FIELDS = ["python", "build_dependencies", "dependencies"]

/**
 * Reads an MLflow `python_env.yaml` from text (`file` names it and anchors `-r` paths, which are
 * read through the `FileSystem`).
 *
 * @since 0.1.0
 * @category mlflow
 */
export const parseMlflowPythonEnv = (
  file: string,
  text: string,
  options: ReadOptions & { readonly scope?: ReadScope | undefined } = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const source = yield* Effect.fromResult(parseYaml(file, text))
    const root = yield* Effect.fromResult(rootMap(source, "an MLflow python_env.yaml"))
    const warnings: Array<ImportWarning> = []
    const conda: Array<CondaSpec> = []
    const pipLines: Array<PipLine> = []
    const lists: Record<string, Array<PipLine>> = { build_dependencies: [], dependencies: [] }
    for (const pair of root?.items ?? []) {
      const key = keyOf(pair)
      const line = source.lineOf(pair.key)
      if (key === "python") {
        const version = scalarText(pair.value)
        if (version === undefined || version.trim() === "") {
          return yield* importError({ file, line, field: "python" }, `field "python" must be a version such as 3.10.4`)
        }
        const spec = parseCondaSpec(`python=${version.trim()}`)
        if (Result.isFailure(spec)) return yield* importError({ file, line, field: "python" }, spec.failure.message)
        conda.push(spec.success)
      } else if (key === "build_dependencies" || key === "dependencies") {
        if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) continue
        if (!isSeq(pair.value)) return yield* importError({ file, line, field: key }, `field "${key}" must be a list`)
        for (const item of pair.value.items) {
          const itemText = scalarText(item)
          const itemLine = source.lineOf(item) ?? line
          if (itemText === undefined || itemText.trim() === "") {
            return yield* importError({ file, line: itemLine, field: key }, `each entry of "${key}" must be a pip requirement`)
          }
          lists[key]?.push({ text: itemText, line: itemLine })
        }
      } else {
        const suggestion = key === undefined ? undefined : didYouMean(key, FIELDS)
        warnings.push(
          importWarning(file, line, `field "${excerpt(key ?? "?")}" is not part of python_env.yaml and is ignored${
            suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`
          }`)
        )
      }
    }
    pipLines.push(...(lists["build_dependencies"] ?? []), ...(lists["dependencies"] ?? []))
    const pip = yield* readPipLines(file, pipLines, { ...options, readReferences: true })
    const definition = yield* validateDefinition(file, {
      ...emptyDefinition,
      python: {
        userManagedDependencies: false,
        interpreterPath: "python",
        conda: { channels: ["conda-forge"], conda, pip: pip.requirements, pipOptions: pip.options }
      }
    })
    return {
      kind: "mlflow-python-env",
      tags: {},
      definition,
      source: { file, includes: pip.includes },
      warnings: [...warnings, ...pip.warnings]
    } satisfies ImportedEnvironment
  })

/**
 * Imports an MLflow `python_env.yaml` file.
 *
 * @since 0.1.0
 * @category mlflow
 */
export const importMlflowPythonEnv = (
  file: string,
  options: ReadOptions = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const scope = yield* readScope(file, options)
    const text = yield* readSourceFile(file, scope.maxFileBytes)
    if (text === undefined) return yield* importError({ file }, "no such file")
    return yield* parseMlflowPythonEnv(file, text, { scope })
  })
