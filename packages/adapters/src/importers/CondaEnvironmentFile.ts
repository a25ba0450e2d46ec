/**
 * conda environment files (`environment.yml`): `name`, `channels`, `dependencies` (conda
 * MatchSpecs and a `pip:` sub-list of pip lines) and `variables`.
 *
 * Conda itself ignores unknown sections with a warning, and so does this reader. Bad specs are
 * errors at the line of the list item, and so is a channel URL with credentials. `{{...}}`
 * placeholder versions are dropped with a warning, as in requirements files.
 *
 * @since 0.1.0
 */
import {
  type CondaDependencies,
  type CondaSpec,
  emptyDefinition,
  urlCredentialsProblem
} from "@terrarium/domain"
import { Effect, type FileSystem, type Path, Result } from "effect"
import { parseCondaSpec } from "../package-spec/CondaSpec.ts"
import { stripVersionPlaceholders } from "../package-spec/Placeholders.ts"
import { type DefinitionLocator, type ImportedEnvironment, validateDefinition } from "./ImportedEnvironment.ts"
import { didYouMean, excerpt, importError, type ImportError, type ImportWarning, importWarning } from "./ImportError.ts"
import { type PipLine, readPipLines } from "./RequirementsTxt.ts"
import { type ReadOptions, readScope, type ReadScope, readSourceFile } from "./SourceFiles.ts"
import { isMap, isScalar, isSeq, keyOf, parseYaml, rootMap, scalarText, type YamlSource } from "./YamlSource.ts"

/**
 * A conda environment file, read.
 *
 * @since 0.1.0
 * @category conda
 */
export interface CondaEnvironment {
  readonly dependencies: CondaDependencies
  /** The file's `variables:` (set when the environment is activated). */
  readonly variables: Readonly<Record<string, string>>
  /** Files read through `-r` in the `pip:` list. */
  readonly includes: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<ImportWarning>
  /** Where the definition's `variables`, channels and conda packages taken from this file were written. */
  readonly locate: DefinitionLocator
}

/**
 * @since 0.1.0
 * @category conda
 */
export interface CondaReadOptions extends ReadOptions {
  /** Reads `-r` includes of the `pip:` list (through the `FileSystem`); without it they are kept as flags. */
  readonly readReferences?: boolean | undefined
  /** What may be read, when the caller has settled it already (else settled from the file and these options). */
  readonly scope?: ReadScope | undefined
}

const SECTIONS = ["name", "channels", "dependencies", "variables", "prefix"]

/**
 * Reads a conda environment from a YAML node (the whole file, or an inline `conda_file:` mapping
 * of an AzureML YAML). `source.file` names the file in errors and anchors `-r` paths.
 *
 * @since 0.1.0
 * @category conda
 */
export const readCondaEnvironmentNode = (
  source: YamlSource,
  node: unknown,
  options: CondaReadOptions = {}
): Effect.Effect<CondaEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const file = source.file
    const warnings: Array<ImportWarning> = []
    const channels: Array<string> = []
    const conda: Array<CondaSpec> = []
    const pipLines: Array<PipLine> = []
    const variables: Record<string, string> = {}
    let name: string | undefined
    if (node !== undefined && node !== null && !isMap(node)) {
      return yield* importError({ file, line: source.lineOf(node) }, "expected a conda environment (a YAML mapping)")
    }
    let sawPipList = false
    // The lines the definition's fields came from, for the domain's refusals (see `locate`).
    const lines = {
      variables: undefined as number | undefined,
      variable: new Map<string, number | undefined>(),
      channels: undefined as number | undefined,
      channel: new Map<string, number | undefined>(),
      dependencies: undefined as number | undefined,
      conda: [] as Array<number | undefined>
    }
    for (const pair of isMap(node) ? node.items : []) {
      const key = keyOf(pair)
      const line = source.lineOf(pair.key)
      const at = { file, line, field: key }
      switch (key) {
        case "name": {
          const value = scalarText(pair.value)
          if (value === undefined) return yield* importError(at, `field "name" must be a string`)
          if (value !== "") name = value
          break
        }
        case "prefix":
          warnings.push(importWarning(file, line, `field "prefix" names a local path and is ignored`))
          break
        case "channels": {
          if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) break
          if (!isSeq(pair.value)) return yield* importError(at, `field "channels" must be a list`)
          lines.channels = line
          for (const item of pair.value.items) {
            const channel = scalarText(item)
            if (channel === undefined || channel.trim() === "") {
              return yield* importError({ ...at, line: source.lineOf(item) ?? line }, "a channel must be a non-empty string")
            }
            const credentials = urlCredentialsProblem("channel", channel.trim())
            if (credentials !== undefined) return yield* importError({ ...at, line: source.lineOf(item) ?? line }, credentials)
            if (!channels.includes(channel.trim())) {
              channels.push(channel.trim())
              lines.channel.set(channel.trim(), source.lineOf(item) ?? line)
            }
          }
          break
        }
        case "variables": {
          if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) break
          if (!isMap(pair.value)) return yield* importError(at, `field "variables" must be a mapping`)
          lines.variables = line
          for (const variable of pair.value.items) {
            const variableName = keyOf(variable)
            const value = scalarText(variable.value)
            if (variableName === undefined || value === undefined) {
              return yield* importError(
                { ...at, line: source.lineOf(variable.key) ?? line },
                "each variable must be NAME: value"
              )
            }
            variables[variableName] = value
            lines.variable.set(variableName, source.lineOf(variable.key) ?? line)
          }
          break
        }
        case "dependencies": {
          if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) break
          if (!isSeq(pair.value)) return yield* importError(at, `field "dependencies" must be a list`)
          lines.dependencies = line
          for (const item of pair.value.items) {
            const itemLine = source.lineOf(item) ?? line
            const itemAt = { file, line: itemLine, field: "dependencies" }
            if (isMap(item)) {
              for (const sub of item.items) {
                const subKey = keyOf(sub)
                if (subKey !== "pip") {
                  return yield* importError(
                    { ...itemAt, line: source.lineOf(sub.key) ?? itemLine },
                    `unsupported dependency section "${excerpt(subKey ?? "?")}" (only "pip:" may hold a list)`
                  )
                }
                sawPipList = true
                if (sub.value === null || (isScalar(sub.value) && sub.value.value === null)) continue
                if (!isSeq(sub.value)) {
                  return yield* importError({ ...itemAt, line: source.lineOf(sub.key) ?? itemLine }, `"pip:" must be a list`)
                }
                for (const pipItem of sub.value.items) {
                  const text = scalarText(pipItem)
                  const pipLine = source.lineOf(pipItem) ?? itemLine
                  if (text === undefined || text.trim() === "") {
                    return yield* importError({ file, line: pipLine, field: "pip" }, "a pip entry must be a non-empty string")
                  }
                  pipLines.push({ text, line: pipLine })
                }
              }
              continue
            }
            const raw = scalarText(item)
            if (raw === undefined || raw.trim() === "") {
              return yield* importError(itemAt, "a dependency must be a conda spec string or a pip: list")
            }
            const { placeholders, text: stripped } = stripVersionPlaceholders(raw.trim())
            for (const placeholder of placeholders) {
              warnings.push(importWarning(file, itemLine, `version placeholder ${placeholder} dropped; "${stripped}" is left unpinned`))
            }
            const parsed = parseCondaSpec(stripped)
            if (Result.isFailure(parsed)) return yield* importError(itemAt, parsed.failure.message)
            conda.push(placeholders.length > 0 ? { ...parsed.success, text: raw.trim() } : parsed.success)
            lines.conda.push(itemLine)
          }
          break
        }
        default: {
          const suggestion = key === undefined ? undefined : didYouMean(key, SECTIONS)
          warnings.push(
            importWarning(
              file,
              line,
              `section "${excerpt(key ?? "?")}" is not part of a conda environment file and is ignored${
                suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`
              }`
            )
          )
        }
      }
    }
    const pip = yield* readPipLines(file, pipLines, options)
    if (sawPipList && pip.requirements.length > 0 && !conda.some((spec) => spec.name === "pip")) {
      warnings.push(
        importWarning(file, pipLines[0]?.line, `a "pip:" list without "pip" among the conda dependencies; conda will use whatever pip it finds`)
      )
    }
    return {
      dependencies: {
        ...(name === undefined ? {} : { name }),
        channels,
        conda,
        pip: pip.requirements,
        pipOptions: pip.options
      },
      variables,
      includes: pip.includes,
      warnings: [...warnings, ...pip.warnings],
      locate: (path) => {
        const [first, second, third, fourth] = path
        const inConda = first === "python" && second === "conda"
        const line = first === "variables"
          ? (second === undefined ? lines.variables : lines.variable.get(String(second)) ?? lines.variables)
          : inConda && third === "channels"
          ? (typeof fourth === "number" ? lines.channel.get(channels[fourth] ?? "") : undefined) ?? lines.channels
          : inConda && third === "conda"
          ? (typeof fourth === "number" ? lines.conda[fourth] : undefined) ?? lines.dependencies
          : undefined
        return line === undefined ? undefined : { file, line }
      }
    }
  })

/**
 * Parses the text of a conda environment file.
 *
 * @since 0.1.0
 * @category conda
 */
export const parseCondaEnvironment = (
  file: string,
  text: string,
  options: CondaReadOptions = {}
): Effect.Effect<CondaEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const source = yield* Effect.fromResult(parseYaml(file, text))
    const root = yield* Effect.fromResult(rootMap(source, "a conda environment file"))
    return yield* readCondaEnvironmentNode(source, root, options)
  })

/**
 * Imports a conda environment file as a system-managed definition on the default base image.
 *
 * @since 0.1.0
 * @category conda
 */
export const importCondaEnvironmentFile = (
  file: string,
  options: ReadOptions = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const scope = yield* readScope(file, options)
    const text = yield* readSourceFile(file, scope.maxFileBytes)
    if (text === undefined) return yield* importError({ file }, "no such file")
    return yield* importCondaEnvironmentText(file, text, { scope })
  })

/**
 * `importCondaEnvironmentFile` over text already read (`file` names it and anchors `-r` paths).
 *
 * @since 0.1.0
 * @category conda
 */
export const importCondaEnvironmentText = (
  file: string,
  text: string,
  options: ReadOptions & { readonly scope?: ReadScope | undefined } = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const env = yield* parseCondaEnvironment(file, text, { ...options, readReferences: true })
    const definition = yield* validateDefinition(file, {
      ...emptyDefinition,
      python: { userManagedDependencies: false, interpreterPath: "python", conda: env.dependencies },
      variables: env.variables
    }, env.locate)
    return {
      kind: "conda-environment",
      tags: {},
      definition,
      source: { file, includes: env.includes },
      warnings: env.warnings
    } satisfies ImportedEnvironment
  })
