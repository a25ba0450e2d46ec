/**
 * AzureML v2 environment YAML (`az ml environment create --file env.yml`).
 *
 * Fields: `$schema`, `name`, `version`, `description`, `tags`, `properties`, `image`,
 * `conda_file` (a path relative to the YAML file, or an inline mapping), `build` (`path`,
 * `dockerfile_path`), `os_type`, `inference_config` (`liveness_route`, `readiness_route`,
 * `scoring_route`, each `{path, port}`), and the fields that only say where or how AzureML keeps
 * the asset (`datastore`, `stage`, `intellectual_property`, and what `az ml environment show`
 * writes back: `id`, `creation_context`, `latest_version`, `auto_delete_setting`): those are
 * accepted with a warning that
 * they are ignored, since they change nothing that is built. Any other top-level field is an
 * error naming the field and its line, with a suggestion when it looks like a typo — the AzureML
 * CLI rejects them too.
 *
 * Mapping to the definition:
 * - `image` → base image; `build` → Dockerfile base with `context` = `build.path` as written and
 *   `dockerfilePath` = `build.dockerfile_path` (default `Dockerfile`); when the context is a
 *   local directory, the Dockerfile's text is read into `dockerfile` and the digest of the
 *   context's files (honouring `.dockerignore`) into `contextDigest`, since both decide what gets
 *   built; neither → `DEFAULT_BASE_IMAGE`. A context URI with credentials is refused.
 * - `conda_file` → a system-managed Python section; without it the image is used as it is
 *   (user-managed), which is what AzureML v2 does.
 * - numbers in `version` and `tags` keep the text as written (`version: 1` → "1", `2.10` → "2.10").
 * - `{{key}}` templates (curated spec.yaml) are filled from `templateValues`; those left over
 *   are kept verbatim with a warning, so every curated file imports.
 *
 * What may be read (see `SourceFiles.ts`): the conda file and the build context inside the YAML
 * file's folder tree, the Dockerfile inside the build context, each judged on its real path, or
 * inside a folder of `allowOutside`. The build context walk has its own limits (`contextLimits`).
 *
 * @since 0.1.0
 */
import {
  DEFAULT_BASE_IMAGE,
  type Definition,
  describeCause,
  type DockerBase,
  emptyDefinition,
  type InferenceConfig,
  type PythonSection,
  urlCredentialsProblem
} from "@terrarium/domain"
import { Effect, type FileSystem, Path } from "effect"
import { type BuildContextLimits, type BuildContextProgressReporter, digestBuildContext } from "../build-context/BuildContext.ts"
import { type CondaEnvironment, parseCondaEnvironment, readCondaEnvironmentNode } from "./CondaEnvironmentFile.ts"
import { firstLocation, type ImportedEnvironment, type ImportSource, validateDefinition } from "./ImportedEnvironment.ts"
import { didYouMean, excerpt, importError, type ImportError, type ImportWarning, importWarning } from "./ImportError.ts"
import {
  checkInside,
  readReferencedFile,
  type ReadOptions,
  readScope,
  type ReadScope,
  readSourceFile,
  realPathOrMissing
} from "./SourceFiles.ts"
import { applyTemplate, type TemplateValues } from "./Templates.ts"
import {
  isMap,
  isScalar,
  keyOf,
  MAX_YAML_ALIAS_NODES,
  type Pair,
  parseYaml,
  rootMap,
  scalarText,
  type YamlSource
} from "./YamlSource.ts"

/**
 * The fields of the AzureML v2 environment schema that say where or how AzureML stores the asset,
 * not what it builds: accepted, warned about and ignored (a definition has no place for them).
 * The list follows azure-ai-ml's `EnvironmentSchema` and the schemas it extends (`AssetSchema`,
 * `ResourceSchema`): `datastore`, `stage` and `intellectual_property` are read by it, `id`,
 * `creation_context`, `latest_version` and `auto_delete_setting` only written back (dump-only).
 *
 * @since 0.1.0
 * @category azureml
 */
export const AZUREML_IGNORED_FIELDS = [
  "datastore",
  "stage",
  "intellectual_property",
  "id",
  "creation_context",
  "latest_version",
  "auto_delete_setting"
] as const

/**
 * The top-level fields of the AzureML v2 environment schema.
 *
 * @since 0.1.0
 * @category azureml
 */
export const AZUREML_ENVIRONMENT_FIELDS = [
  "$schema",
  "name",
  "version",
  "description",
  "tags",
  "properties",
  "image",
  "conda_file",
  "build",
  "os_type",
  "inference_config",
  ...AZUREML_IGNORED_FIELDS
] as const

const BUILD_FIELDS = ["path", "dockerfile_path"]
const INFERENCE_FIELDS = ["liveness_route", "readiness_route", "scoring_route"]
const ROUTE_FIELDS = ["path", "port"]

/**
 * @since 0.1.0
 * @category azureml
 */
export interface AzureMLImportOptions extends ReadOptions {
  /** Values for `{{key}}` placeholders (`{ "asset.name": "sklearn-1.5" }`). */
  readonly templateValues?: TemplateValues | undefined
  /** Limits of the build context walk (number of files, bytes, time). */
  readonly contextLimits?: Partial<BuildContextLimits> | undefined
  /** Told how far a build context walk has got (a terminal shows it). */
  readonly onContextProgress?: BuildContextProgressReporter | undefined
  /** What may be read, when the caller has settled it already (else settled from the file and these options). */
  readonly scope?: ReadScope | undefined
}

const isNull = (node: unknown): boolean => node === null || node === undefined || (isScalar(node) && node.value === null)
const isUri = (path: string): boolean => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(path) && !/^[A-Za-z]:[\\/]/.test(path)

/**
 * Reads an AzureML v2 environment from YAML text. `file` names the YAML in errors and anchors
 * the relative `conda_file` and `build.path`; the conda file, its `-r` includes, the Dockerfile
 * and the build context are read through the `FileSystem`.
 *
 * @since 0.1.0
 * @category azureml
 */
export const parseAzureMLEnvironment = (
  file: string,
  text: string,
  options: AzureMLImportOptions = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const paths = yield* Path.Path
    const source = yield* Effect.fromResult(parseYaml(file, text))
    const root = yield* Effect.fromResult(rootMap(source, "an AzureML environment"))
    const scope = options.scope ?? (yield* readScope(file, options))
    const warnings: Array<ImportWarning> = []
    const fields = new Map<string, Pair>()

    for (const pair of root?.items ?? []) {
      const key = keyOf(pair)
      const line = source.lineOf(pair.key)
      if (key === undefined || !(AZUREML_ENVIRONMENT_FIELDS as ReadonlyArray<string>).includes(key)) {
        const suggestion = key === undefined ? undefined : didYouMean(key, AZUREML_ENVIRONMENT_FIELDS)
        return yield* importError(
          { file, line, field: key },
          `field "${excerpt(key ?? String(pair.key))}" is not part of the AzureML v2 environment schema${
            suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`
          }`
        )
      }
      if ((AZUREML_IGNORED_FIELDS as ReadonlyArray<string>).includes(key)) {
        warnings.push(importWarning(
          file,
          line,
          `field "${key}" is ignored: it says where or how AzureML keeps the environment, not what is built`
        ))
        continue
      }
      fields.set(key, pair)
    }

    const lineOfField = (field: string) => source.lineOf(fields.get(field)?.key)
    /** A scalar field as text, templates applied; `undefined` when absent or null. */
    const text_ = (field: string, node: unknown, line: number | undefined) =>
      Effect.gen(function*() {
        if (isNull(node)) return undefined
        const value = scalarText(node)
        if (value === undefined) return yield* importError({ file, line, field }, `field "${field}" must be a single value`)
        const { text: filled, unresolved } = applyTemplate(value, options.templateValues)
        if (unresolved.length > 0) {
          warnings.push(importWarning(file, line, `field "${field}" keeps the unresolved template ${unresolved.join(", ")}`))
        }
        return filled
      })
    const field = (name: string) => text_(name, fields.get(name)?.value, lineOfField(name))
    /** The line of each key of `tags` and `properties`, for the domain's refusals. */
    const keyLines = new Map<string, Map<string, number | undefined>>()
    const stringMap = (name: string) =>
      Effect.gen(function*() {
        const node = fields.get(name)?.value
        const out: Record<string, string> = {}
        if (isNull(node)) return out
        if (!isMap(node)) return yield* importError({ file, line: lineOfField(name), field: name }, `field "${name}" must be a mapping`)
        const lines = new Map<string, number | undefined>()
        keyLines.set(name, lines)
        for (const pair of node.items) {
          const key = keyOf(pair)
          const line = source.lineOf(pair.key)
          if (key === undefined) return yield* importError({ file, line, field: name }, `a key of "${name}" is empty`)
          out[key] = (yield* text_(`${name}.${key}`, pair.value, line)) ?? ""
          lines.set(key, line)
        }
        return out
      })

    const name = yield* field("name")
    const version = yield* field("version")
    const description = yield* field("description")
    const image = yield* field("image")
    const tags = yield* stringMap("tags")
    const properties = yield* stringMap("properties")

    // os_type
    let os: "linux" | "windows" = "linux"
    const osType = yield* field("os_type")
    if (osType !== undefined) {
      const lower = osType.toLowerCase()
      if (lower !== "linux" && lower !== "windows") {
        return yield* importError(
          { file, line: lineOfField("os_type"), field: "os_type" },
          `field "os_type" must be "linux" or "windows", not "${osType}"`
        )
      }
      os = lower
    }

    // build
    const sourceInfo: { -readonly [K in keyof ImportSource]: ImportSource[K] } = { file, includes: [] }
    let base: DockerBase = { kind: "image", image: DEFAULT_BASE_IMAGE }
    const buildPair = fields.get("build")
    // The lines of `build`'s keys, for the errors about the files they name (else the `build:` line).
    let pathLine: number | undefined
    let dockerfileLine: number | undefined
    if (buildPair !== undefined && !isNull(buildPair.value)) {
      const buildLine = source.lineOf(buildPair.key)
      if (image !== undefined) {
        return yield* importError(
          { file, line: buildLine, field: "build" },
          `fields "image" and "build" cannot both be given (an environment starts from an image or from a Dockerfile)`
        )
      }
      const buildNode = buildPair.value
      if (!isMap(buildNode)) return yield* importError({ file, line: buildLine, field: "build" }, `field "build" must be a mapping`)
      let path: string | undefined
      let dockerfilePath = "Dockerfile"
      pathLine = buildLine
      dockerfileLine = buildLine
      for (const pair of buildNode.items) {
        const key = keyOf(pair)
        const line = source.lineOf(pair.key)
        if (key === "path") {
          path = yield* text_("build.path", pair.value, line)
          pathLine = line
        } else if (key === "dockerfile_path") {
          dockerfilePath = (yield* text_("build.dockerfile_path", pair.value, line)) ?? dockerfilePath
          dockerfileLine = line
        } else {
          const suggestion = key === undefined ? undefined : didYouMean(key, BUILD_FIELDS)
          return yield* importError(
            { file, line, field: `build.${key ?? "?"}` },
            `field "build.${key ?? "?"}" is not part of the AzureML v2 environment schema${
              suggestion === undefined ? "" : ` (did you mean "build.${suggestion}"?)`
            }`
          )
        }
      }
      if (path === undefined || path === "") {
        return yield* importError({ file, line: buildLine, field: "build.path" }, `field "build" needs a "path" (the build context)`)
      }
      const credentials = urlCredentialsProblem("build.path", path)
      if (credentials !== undefined) return yield* importError({ file, line: buildLine, field: "build.path" }, credentials)
      let dockerfile: string | undefined
      let contextDigest: string | undefined
      if (!isUri(path) && !/\{\{/.test(path)) {
        const contextDir = paths.isAbsolute(path) ? path : paths.join(paths.dirname(file), path)
        sourceInfo.buildContext = contextDir
        const realContext = yield* realPathOrMissing(contextDir)
        if (realContext !== undefined) {
          yield* checkInside(scope, realContext, { file, line: pathLine, field: "build.path", name: path })
        }
        if (!/\{\{/.test(dockerfilePath)) {
          const dockerfileFile = paths.join(contextDir, dockerfilePath)
          sourceInfo.dockerfilePath = dockerfileFile
          dockerfile = yield* readReferencedFile(
            scope,
            dockerfileFile,
            { file, line: dockerfileLine, field: "build.dockerfile_path", name: dockerfilePath },
            { real: realContext ?? paths.resolve(contextDir), what: `the build context (${realContext ?? paths.resolve(contextDir)})` }
          )
          if (dockerfile === undefined) {
            warnings.push(importWarning(file, buildLine, `the Dockerfile ${dockerfileFile} was not found; only its path is kept`))
          }
        }
        contextDigest = yield* digestBuildContext(
          contextDir,
          dockerfilePath,
          { ...options.contextLimits, maxFileBytes: scope.maxFileBytes },
          options.onContextProgress
        )
        if (contextDigest === undefined) {
          warnings.push(importWarning(
            file,
            buildLine,
            `the build context ${contextDir} was not found; the hash covers only its path, not the files in it`
          ))
        }
      }
      base = {
        kind: "dockerfile",
        ...(dockerfile === undefined ? {} : { dockerfile }),
        context: path,
        dockerfilePath,
        ...(contextDigest === undefined ? {} : { contextDigest })
      }
    } else if (image !== undefined) {
      base = { kind: "image", image }
    }

    // conda_file
    let conda: CondaEnvironment | undefined
    const condaPair = fields.get("conda_file")
    if (condaPair !== undefined && !isNull(condaPair.value)) {
      const condaLine = source.lineOf(condaPair.key)
      if (isMap(condaPair.value)) {
        conda = yield* readCondaEnvironmentNode(source, condaPair.value, { scope, readReferences: true })
      } else {
        const reference = yield* text_("conda_file", condaPair.value, condaLine)
        if (reference !== undefined && reference !== "") {
          if (isUri(reference) || /\{\{/.test(reference)) {
            return yield* importError(
              { file, line: condaLine, field: "conda_file" },
              `field "conda_file" must be a local file (got "${reference}")`
            )
          }
          const condaFile = paths.isAbsolute(reference) ? reference : paths.join(paths.dirname(file), reference)
          const condaText = yield* readReferencedFile(scope, condaFile, { file, line: condaLine, field: "conda_file", name: reference })
          if (condaText === undefined) {
            return yield* importError(
              { file, line: condaLine, field: "conda_file" },
              `field "conda_file" refers to "${reference}", which does not exist (looked for ${condaFile})`
            )
          }
          sourceInfo.condaFile = condaFile
          conda = yield* parseCondaEnvironment(condaFile, condaText, { scope, readReferences: true })
        }
      }
    }

    // inference_config
    let inferenceConfig: InferenceConfig | undefined
    const inferencePair = fields.get("inference_config")
    if (inferencePair !== undefined && !isNull(inferencePair.value)) {
      inferenceConfig = yield* readInferenceConfig(source, inferencePair)
    }

    const python: PythonSection = conda === undefined
      ? { userManagedDependencies: true, interpreterPath: "python" }
      : { userManagedDependencies: false, interpreterPath: "python", conda: conda.dependencies }
    const tagsOrProperties = (name: string, key: PropertyKey | undefined) =>
      (key === undefined ? undefined : keyLines.get(name)?.get(String(key))) ?? lineOfField(name)
    const locateHere = (path: ReadonlyArray<PropertyKey>) => {
      const [first, second, third] = path
      const line = first === "description"
        ? lineOfField("description")
        : first === "tags" || first === "properties"
        ? tagsOrProperties(first, second)
        : first === "docker" && second === "base" && third === "image"
        ? lineOfField("image")
        : first === "docker" && second === "base" && third === "context"
        ? pathLine
        : first === "docker" && second === "base" && (third === "dockerfile" || third === "dockerfilePath")
        ? dockerfileLine
        : first === "docker"
        ? lineOfField("build") ?? lineOfField("image") ?? lineOfField("os_type")
        : first === "inferenceConfig"
        ? lineOfField("inference_config")
        : first === "variables" || first === "python"
        ? lineOfField("conda_file")
        : undefined
      return line === undefined ? undefined : { file, line }
    }
    const definition: Definition = yield* validateDefinition(file, {
      ...emptyDefinition,
      ...(description === undefined ? {} : { description }),
      tags,
      properties,
      python,
      docker: { ...emptyDefinition.docker, base, platform: { os, arch: "amd64" } },
      variables: conda?.variables ?? {},
      ...(inferenceConfig === undefined ? {} : { inferenceConfig })
    }, firstLocation(conda?.locate, locateHere))
    return {
      kind: "azureml-v2-environment",
      ...(name === undefined ? {} : { name }),
      ...(version === undefined ? {} : { version }),
      ...(description === undefined ? {} : { description }),
      tags,
      definition,
      source: { ...sourceInfo, includes: conda?.includes ?? [] },
      warnings: [...warnings, ...(conda?.warnings ?? [])]
    } satisfies ImportedEnvironment
  })

const readInferenceConfig = (source: YamlSource, pair: Pair): Effect.Effect<InferenceConfig, ImportError> =>
  Effect.gen(function*() {
    const file = source.file
    const node = pair.value
    if (!isMap(node)) {
      return yield* importError({ file, line: source.lineOf(pair.key), field: "inference_config" }, `field "inference_config" must be a mapping`)
    }
    const out: { -readonly [K in keyof InferenceConfig]: InferenceConfig[K] } = {}
    for (const routePair of node.items) {
      const key = keyOf(routePair)
      const line = source.lineOf(routePair.key)
      const fieldName = `inference_config.${key ?? "?"}`
      if (key === undefined || !INFERENCE_FIELDS.includes(key)) {
        const suggestion = key === undefined ? undefined : didYouMean(key, INFERENCE_FIELDS)
        return yield* importError(
          { file, line, field: fieldName },
          `field "${fieldName}" is not part of the AzureML v2 environment schema${
            suggestion === undefined ? "" : ` (did you mean "inference_config.${suggestion}"?)`
          }`
        )
      }
      if (!isMap(routePair.value)) return yield* importError({ file, line, field: fieldName }, `field "${fieldName}" must be {path, port}`)
      let path: string | undefined
      let port: number | undefined
      for (const item of routePair.value.items) {
        const itemKey = keyOf(item)
        const itemLine = source.lineOf(item.key)
        if (itemKey === "path") path = scalarText(item.value)
        else if (itemKey === "port") {
          const raw = scalarText(item.value)
          port = raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN
          if (!Number.isInteger(port) || port < 1 || port > 65535) {
            return yield* importError(
              { file, line: itemLine, field: `${fieldName}.port` },
              `field "${fieldName}.port" must be a port number (1-65535), not "${excerpt(raw ?? "a structure")}"`
            )
          }
        } else {
          const suggestion = itemKey === undefined ? undefined : didYouMean(itemKey, ROUTE_FIELDS)
          return yield* importError(
            { file, line: itemLine, field: `${fieldName}.${itemKey ?? "?"}` },
            `field "${fieldName}.${itemKey ?? "?"}" is not part of a route (path, port)${
              suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`
            }`
          )
        }
      }
      if (path === undefined || path === "" || port === undefined) {
        return yield* importError({ file, line, field: fieldName }, `field "${fieldName}" needs both "path" and "port"`)
      }
      const route = { path, port }
      if (key === "liveness_route") out.livenessRoute = route
      else if (key === "readiness_route") out.readinessRoute = route
      else out.scoringRoute = route
    }
    return out
  })

/**
 * Imports an AzureML v2 environment YAML file (see the module notes).
 *
 * @since 0.1.0
 * @category azureml
 */
export const importAzureMLEnvironmentYaml = (
  file: string,
  options: AzureMLImportOptions = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const scope = yield* readScope(file, options)
    const text = yield* readSourceFile(file, scope.maxFileBytes)
    if (text === undefined) return yield* importError({ file }, "no such file")
    return yield* parseAzureMLEnvironment(file, text, { ...options, scope })
  })

/**
 * Template values for a curated environment of azureml-assets, read from the `asset.yaml` and
 * `environment.yaml` beside its `spec.yaml`: `asset.name`, `image.context.dir`,
 * `image.context.path` and `image.dockerfile.path`. (`asset.version` is `auto` there, assigned
 * at publication, so it stays unresolved.) Missing files give fewer values, never an error.
 *
 * @since 0.1.0
 * @category azureml
 */
export const curatedTemplateValues = (
  specFile: string,
  options: ReadOptions = {}
): Effect.Effect<TemplateValues, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const paths = yield* Path.Path
    const values: Record<string, string> = {}
    const dir = paths.dirname(specFile)
    const scope = yield* readScope(specFile, options)
    const read = (name: string) =>
      Effect.gen(function*() {
        const path = paths.join(dir, name)
        const text = yield* readReferencedFile(scope, path, { file: specFile, field: "template values", name })
        if (text === undefined) return undefined
        const source = yield* Effect.fromResult(parseYaml(path, text))
        // parseYaml has bounded what the aliases stand for; the library's own bound is set to match.
        return yield* Effect.try({
          try: () => source.doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_NODES }) as unknown,
          catch: (cause) => importError({ file: path }, `cannot read the YAML: ${describeCause(cause)}`)
        })
      })
    const asset = (yield* read("asset.yaml")) as { name?: unknown; version?: unknown } | null | undefined
    if (typeof asset?.name === "string") values["asset.name"] = asset.name
    if ((typeof asset?.version === "string" && asset.version !== "auto") || typeof asset?.version === "number") {
      values["asset.version"] = String(asset.version)
    }
    const environment = (yield* read("environment.yaml")) as
      | { image?: { context?: { dir?: unknown; dockerfile?: unknown } } }
      | null
      | undefined
    const context = environment?.image?.context
    if (typeof context?.dir === "string") {
      values["image.context.dir"] = context.dir
      values["image.context.path"] = context.dir
    }
    if (typeof context?.dockerfile === "string") values["image.dockerfile.path"] = context.dockerfile
    return values
  })
