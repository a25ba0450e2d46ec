/**
 * ARM templates that create an AzureML environment version
 * (`Microsoft.MachineLearningServices/workspaces/environments/versions`).
 *
 * The resource's `properties` map to the definition as the v2 YAML fields do (`image`,
 * `condaFile` — the conda file's text, inline —, `build.contextUri`/`build.dockerfilePath`,
 * `osType`, `inferenceConfig`, `tags`, `properties`, `description`). Values may be ARM
 * expressions; the small subset templates use for this resource is evaluated: `parameters('x')`
 * (from `parameters` in the options, else the parameter's `defaultValue`), `variables('x')`,
 * `concat(...)` and literals. The resource `name` (`workspace/environment/version`) gives the
 * environment's name and version. An expression that cannot be evaluated leaves its field unset
 * with a warning; an empty value means "not given", as the template's defaults intend.
 *
 * A template nested deeper than `MAX_ARM_DEPTH`, or holding an expression whose calls nest deeper
 * than that, is refused before anything is evaluated: values and expressions are walked and
 * written back recursively, and a hostile template must end in a message, not a stack overflow.
 *
 * @since 0.1.0
 */
import {
  DEFAULT_BASE_IMAGE,
  type DockerBase,
  emptyDefinition,
  type InferenceConfig,
  unstorableTextProblem,
  urlCredentialsProblem
} from "@terrarium/domain"
import { Effect, type FileSystem, type Path } from "effect"
import { type CondaEnvironment, parseCondaEnvironment } from "./CondaEnvironmentFile.ts"
import { type ImportedEnvironment, validateDefinition } from "./ImportedEnvironment.ts"
import { excerpt, importError, type ImportError, type ImportWarning, importWarning } from "./ImportError.ts"
import { type ReadOptions, readScope, type ReadScope, readSourceFile } from "./SourceFiles.ts"

/**
 * The ARM resource type of an environment version.
 *
 * @since 0.1.0
 * @category arm
 */
export const ENVIRONMENT_VERSION_RESOURCE_TYPE = "Microsoft.MachineLearningServices/workspaces/environments/versions"

/**
 * @since 0.1.0
 * @category arm
 */
export interface ArmImportOptions extends ReadOptions {
  /** Values for the template's parameters (deployment parameters), by name. */
  readonly parameters?: Readonly<Record<string, unknown>> | undefined
  /** What may be read, when the caller has settled it already (else settled from the file and these options). */
  readonly scope?: ReadScope | undefined
}

/**
 * How deep arrays and objects may nest in an ARM template, and calls in one of its expressions.
 *
 * @since 0.1.0
 * @category arm
 */
export const MAX_ARM_DEPTH = 64

/** How deep the calls of an ARM expression (`[concat(concat(…))]`) nest; quoted text is skipped. */
const expressionDepth = (text: string): number => {
  let depth = 0
  let deepest = 0
  let quoted = false
  for (const char of text) {
    if (char === "'") quoted = !quoted
    else if (!quoted && char === "(") deepest = Math.max(deepest, ++depth)
    else if (!quoted && char === ")") depth--
  }
  return deepest
}

const pathStep = (key: string | number): string => `[${typeof key === "number" ? key : JSON.stringify(key)}]`

/**
 * The 1-based line of the first escape in a JSON text that decodes to what text cannot hold: a
 * NUL (`\u0000`), or half of a surrogate pair (a high `\ud800`-`\udbff` not followed by a low
 * one, or a low one alone). In JSON such characters can only be written as escapes, and an
 * escape counts only after an even run of backslashes.
 */
const unstorableEscapeLine = (text: string): number | undefined => {
  const escape = /(?<!\\)(?:\\\\)*\\u([0-9a-fA-F]{4})/g
  let pairedUpTo = -1
  for (let match = escape.exec(text); match !== null; match = escape.exec(text)) {
    const code = Number.parseInt(match[1]!, 16)
    const end = match.index + match[0].length
    const high = code >= 0xd800 && code <= 0xdbff
    const low = code >= 0xdc00 && code <= 0xdfff
    const nextIsLow = high && /^\\u[dD][c-fC-F][0-9a-fA-F]{2}/.test(text.slice(end, end + 6))
    const bad = code === 0 || (high && !nextIsLow) || (low && match.index !== pairedUpTo)
    if (bad) return text.slice(0, match.index).split("\n").length
    if (nextIsLow) pairedUpTo = end
  }
  return undefined
}

/**
 * The path (`["parameters"]["p"]["defaultValue"]`) and the reason where the template nests too
 * deep, or holds text that cannot be stored (a NUL, a lone surrogate; in a value or a key),
 * found without recursion; `undefined` when it does neither.
 */
const templateProblem = (template: unknown): { readonly path: string; readonly detail: string; readonly unstorable?: true } | undefined => {
  const stack: Array<{ readonly value: unknown; readonly depth: number; readonly path: string }> = [{ value: template, depth: 0, path: "" }]
  while (stack.length > 0) {
    const { depth, path, value } = stack.pop()!
    if (typeof value === "string") {
      const unstorable = unstorableTextProblem(value)
      if (unstorable !== undefined) return { path, detail: `field ${path} ${unstorable}`, unstorable: true }
      if (value.startsWith("[") && !value.startsWith("[[") && value.endsWith("]") && expressionDepth(value) > MAX_ARM_DEPTH) {
        return { path, detail: `the expression at ${path} nests its calls deeper than the limit of ${MAX_ARM_DEPTH}` }
      }
    } else if (typeof value === "object" && value !== null) {
      if (depth >= MAX_ARM_DEPTH) {
        return { path, detail: `the template nests deeper than the limit of ${MAX_ARM_DEPTH} levels at ${path}` }
      }
      if (Array.isArray(value)) value.forEach((item, index) => stack.push({ value: item, depth: depth + 1, path: `${path}${pathStep(index)}` }))
      else {
        for (const [key, item] of Object.entries(value)) {
          // A bad key is reported at its object's path: the key itself is never quoted.
          const unstorable = unstorableTextProblem(key)
          if (unstorable !== undefined) return { path, detail: `a key of ${path || "the template"} ${unstorable}`, unstorable: true }
          stack.push({ value: item, depth: depth + 1, path: `${path}${pathStep(key)}` })
        }
      }
    }
  }
  return undefined
}

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
const isObject = (value: unknown): value is { readonly [key: string]: Json } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A failed evaluation: the reason, reported as a warning. */
class Unevaluated {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

/** Evaluates the ARM expression subset described in the module notes. */
const evaluate = (
  expression: string,
  lookup: { parameter: (name: string) => unknown; variable: (name: string) => unknown }
): unknown => {
  let index = 0
  const skip = () => {
    while (/\s/.test(expression[index] ?? "")) index++
  }
  const value = (): unknown => {
    skip()
    const char = expression[index]
    if (char === "'") {
      let out = ""
      index++
      while (index < expression.length) {
        if (expression[index] === "'" && expression[index + 1] === "'") {
          out += "'"
          index += 2
        } else if (expression[index] === "'") {
          index++
          return out
        } else out += expression[index++]
      }
      throw new Unevaluated("unterminated string")
    }
    const number = /^-?\d+/.exec(expression.slice(index))
    if (number !== null) {
      index += number[0].length
      return Number(number[0])
    }
    const fn = /^[A-Za-z][A-Za-z0-9]*/.exec(expression.slice(index))
    if (fn === null) throw new Unevaluated(`unexpected "${excerpt(expression.slice(index))}"`)
    index += fn[0].length
    skip()
    if (expression[index] !== "(") throw new Unevaluated(`expected "(" after ${fn[0]}`)
    index++
    const args: Array<unknown> = []
    skip()
    while (expression[index] !== ")") {
      args.push(value())
      skip()
      if (expression[index] === ",") index++
      else if (expression[index] !== ")") throw new Unevaluated(`expected "," or ")" in ${fn[0]}(...)`)
    }
    index++
    switch (fn[0].toLowerCase()) {
      case "parameters":
        return lookup.parameter(String(args[0]))
      case "variables":
        return lookup.variable(String(args[0]))
      case "concat":
        return args.map((arg) => (typeof arg === "string" || typeof arg === "number" ? String(arg) : JSON.stringify(arg))).join("")
      default:
        throw new Unevaluated(`the function ${fn[0]}() is not evaluated by the importer`)
    }
  }
  const result = value()
  skip()
  if (index !== expression.length) throw new Unevaluated(`unexpected "${excerpt(expression.slice(index))}"`)
  return result
}

/** The 1-based line and column of a `JSON.parse` error, when the engine reports a position. */
const jsonErrorPosition = (text: string, error: unknown): { line?: number; column?: number } => {
  const message = error instanceof Error ? error.message : ""
  const lineColumn = /line (\d+) column (\d+)/.exec(message)
  if (lineColumn !== null) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) }
  const position = /position (\d+)/.exec(message)
  if (position === null) return {}
  const before = text.slice(0, Number(position[1])).split("\n")
  return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 }
}

/**
 * Reads an ARM template from text and imports its (first) environment-version resource.
 *
 * @since 0.1.0
 * @category arm
 */
export const parseArmEnvironmentVersion = (
  file: string,
  text: string,
  options: ArmImportOptions = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    let template: unknown
    try {
      template = JSON.parse(text)
    } catch (error) {
      return yield* importError(
        { file, ...jsonErrorPosition(text, error) },
        // The engine's message quotes a piece of the text (`"{"a": SECRET"... is not valid JSON`): left out.
        `invalid JSON: ${
          error instanceof Error
            ? error.message.replace(/\s*\(line \d+ column \d+\)$/, "").replace(/,\s*".*$/s, "")
            : String(error)
        }`
      )
    }
    if (!isObject(template)) return yield* importError({ file }, "expected an ARM template (a JSON object)")
    const problem = templateProblem(template)
    if (problem !== undefined) {
      const line = problem.unstorable ? unstorableEscapeLine(text) : undefined
      return yield* importError({ file, field: problem.path, ...(line !== undefined ? { line } : {}) }, problem.detail)
    }
    const resources = Array.isArray(template["resources"]) ? template["resources"] : []
    const resource = resources.find((r) => isObject(r) && r["type"] === ENVIRONMENT_VERSION_RESOURCE_TYPE)
    if (!isObject(resource)) {
      return yield* importError({ file, field: "resources" }, `the template has no ${ENVIRONMENT_VERSION_RESOURCE_TYPE} resource`)
    }
    const warnings: Array<ImportWarning> = []
    const parameters = isObject(template["parameters"]) ? template["parameters"] : {}
    const variables = isObject(template["variables"]) ? template["variables"] : {}
    const lookup = {
      parameter: (name: string): unknown => {
        if (options.parameters !== undefined && Object.hasOwn(options.parameters, name)) return options.parameters[name]
        const declared = parameters[name]
        if (isObject(declared) && Object.hasOwn(declared, "defaultValue")) return declared["defaultValue"]
        throw new Unevaluated(`the parameter "${name}" has no value and no default`)
      },
      variable: (name: string): unknown => {
        if (Object.hasOwn(variables, name)) return variables[name]
        throw new Unevaluated(`the variable "${name}" is not defined`)
      }
    }
    /** Evaluates a value if it is an expression; `undefined` (with a warning) when it cannot be. */
    const resolve = (field: string, raw: unknown): unknown => {
      if (typeof raw !== "string" || !raw.startsWith("[") || !raw.endsWith("]")) return raw
      if (raw.startsWith("[[")) return raw.slice(1) // escaped literal
      try {
        return evaluate(raw.slice(1, -1), lookup)
      } catch (error) {
        if (!(error instanceof Unevaluated)) throw error
        warnings.push(importWarning(file, undefined, `${field} = ${excerpt(raw)}: ${error.reason}; left unset`))
        return undefined
      }
    }
    const str = (field: string, raw: unknown): string | undefined => {
      const value = resolve(field, raw)
      if (value === undefined || value === null || value === "") return undefined
      return typeof value === "string" ? value : JSON.stringify(value)
    }
    const strMap = (field: string, raw: unknown): Record<string, string> => {
      const value = resolve(field, raw)
      const out: Record<string, string> = {}
      if (!isObject(value)) return out
      for (const [key, v] of Object.entries(value)) out[key] = str(`${field}.${key}`, v) ?? ""
      return out
    }

    const properties = isObject(resource["properties"]) ? resource["properties"] : {}
    const fullName = str("name", resource["name"])
    const nameParts = fullName?.split("/") ?? []
    const name = nameParts.length === 3 ? nameParts[1] : undefined
    const version = nameParts.length === 3 ? nameParts[2] : undefined
    const description = str("properties.description", properties["description"])
    const image = str("properties.image", properties["image"])
    const condaText = str("properties.condaFile", properties["condaFile"])
    const osType = str("properties.osType", properties["osType"])?.toLowerCase()
    if (osType !== undefined && osType !== "linux" && osType !== "windows") {
      return yield* importError({ file, field: "properties.osType" }, `osType must be Linux or Windows, not "${osType}"`)
    }

    let base: DockerBase = { kind: "image", image: image ?? DEFAULT_BASE_IMAGE }
    const build = resolve("properties.build", properties["build"])
    if (isObject(build)) {
      const context = str("properties.build.contextUri", build["contextUri"])
      if (context !== undefined) {
        if (image !== undefined) {
          return yield* importError({ file, field: "properties.build" }, `"image" and "build" cannot both be given`)
        }
        const credentials = urlCredentialsProblem("properties.build.contextUri", context)
        if (credentials !== undefined) return yield* importError({ file, field: "properties.build.contextUri" }, credentials)
        base = { kind: "dockerfile", context, dockerfilePath: str("properties.build.dockerfilePath", build["dockerfilePath"]) ?? "Dockerfile" }
      }
    }

    let conda: CondaEnvironment | undefined
    if (condaText !== undefined) {
      const scope = options.scope ?? (yield* readScope(file, options))
      conda = yield* parseCondaEnvironment(`${file} (properties.condaFile)`, condaText, { scope, readReferences: true })
    }

    let inferenceConfig: InferenceConfig | undefined
    const inference = resolve("properties.inferenceConfig", properties["inferenceConfig"])
    if (isObject(inference)) {
      const routes: { -readonly [K in keyof InferenceConfig]: InferenceConfig[K] } = {}
      for (const [key, target] of [["livenessRoute", "livenessRoute"], ["readinessRoute", "readinessRoute"], ["scoringRoute", "scoringRoute"]] as const) {
        const route = resolve(`properties.inferenceConfig.${key}`, inference[key])
        if (!isObject(route)) continue
        const path = str(`properties.inferenceConfig.${key}.path`, route["path"])
        const port = Number(resolve(`properties.inferenceConfig.${key}.port`, route["port"]))
        if (path === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
          return yield* importError({ file, field: `properties.inferenceConfig.${key}` }, `${key} needs a path and a port (1-65535)`)
        }
        routes[target] = { path, port }
      }
      inferenceConfig = routes
    }

    const tags = strMap("properties.tags", properties["tags"])
    const definition = yield* validateDefinition(file, {
      ...emptyDefinition,
      ...(description === undefined ? {} : { description }),
      tags,
      properties: strMap("properties.properties", properties["properties"]),
      python: conda === undefined
        ? { userManagedDependencies: true, interpreterPath: "python" }
        : { userManagedDependencies: false, interpreterPath: "python", conda: conda.dependencies },
      docker: { ...emptyDefinition.docker, base, platform: { os: osType === "windows" ? "windows" : "linux", arch: "amd64" } },
      variables: conda?.variables ?? {},
      ...(inferenceConfig === undefined ? {} : { inferenceConfig })
    }, conda?.locate)
    return {
      kind: "arm-template-environment-version",
      ...(name === undefined || name === "" ? {} : { name }),
      ...(version === undefined || version === "" ? {} : { version }),
      ...(description === undefined ? {} : { description }),
      tags,
      definition,
      source: { file, includes: conda?.includes ?? [] },
      warnings: [...warnings, ...(conda?.warnings ?? [])]
    } satisfies ImportedEnvironment
  })

/**
 * Imports an ARM template file holding an environment-version resource.
 *
 * @since 0.1.0
 * @category arm
 */
export const importArmEnvironmentVersion = (
  file: string,
  options: ArmImportOptions = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const scope = yield* readScope(file, options)
    const text = yield* readSourceFile(file, scope.maxFileBytes)
    if (text === undefined) return yield* importError({ file }, "no such file")
    return yield* parseArmEnvironmentVersion(file, text, { ...options, scope })
  })
