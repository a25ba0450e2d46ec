/**
 * What users type, turned into domain values: references, as-of points, package specs, imported
 * files. Shared by the CLI and the Promise facade so both accept exactly the same input.
 *
 * @since 0.1.0
 */
import { type ImportedEnvironment, type ImportError, importError, parseCondaSpec, parsePipRequirement, type SpecError } from "@terrarium/adapters"
import {
  CondaDependencies,
  CondaSpec,
  type Definition,
  Definition as DefinitionSchema,
  DockerSection,
  emptyDefinition,
  emptyPipOptions,
  EnvironmentName,
  type PackageManager,
  type PackageSpec,
  PipOptions,
  PipRequirement,
  Platform,
  PythonSection,
  RSection,
  SparkSection,
  VersionString
} from "@terrarium/domain"
import { Effect, Schema } from "effect"
import { decodeInput, InvalidInput } from "./InvalidInput.ts"


/** A pip requirement (PEP 508) or a conda MatchSpec, parsed and normalised. @since 0.1.0 @category input */
export const decodePackageSpec = (manager: PackageManager, text: string): Effect.Effect<PackageSpec, SpecError> =>
  Effect.fromResult<PackageSpec, SpecError>(manager === "pip" ? parsePipRequirement(text) : parseCondaSpec(text))

/** @since 0.1.0 @category errors */
export class MissingName extends Schema.TaggedError<MissingName>()("MissingName", {
  file: Schema.String,
  /** The `name:` of a conda environment file: the conda environment's, not a registry name. */
  condaName: Schema.optionalKey(Schema.String)
}) {
  override get message() {
    if (this.condaName !== undefined) {
      // AzureML's own curated conda files are all "project_environment": taking it as the
      // registry name would merge unrelated environments under one name.
      return `${this.file} is a conda environment file: its name "${this.condaName}" names the conda environment inside ` +
        `the image, not the registered environment; give that a name (--name ${this.condaName}), or write an AzureML ` +
        `environment YAML with "name:" and "conda_file: ${this.file.split("/").pop()}"`
    }
    return `${this.file}: no environment name; add "name:" to the file or give a name (--name)`
  }
}

// A definition as a library caller writes it: the domain's schema of each section, with a
// default for each field that may be left out, taken from `emptyDefinition` so that a definition
// left empty is that one. Spreading the domain's fields keeps a field added there accepted here.
const orDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefault(Effect.succeed(value)))

const PipOptionsInput = Schema.Struct({
  ...PipOptions.fields,
  extraIndexUrls: orDefault(PipOptions.fields.extraIndexUrls, emptyPipOptions.extraIndexUrls),
  findLinks: orDefault(PipOptions.fields.findLinks, emptyPipOptions.findLinks),
  constraints: orDefault(PipOptions.fields.constraints, emptyPipOptions.constraints),
  flags: orDefault(PipOptions.fields.flags, emptyPipOptions.flags)
})

const CondaInputSchema = Schema.Struct({
  ...CondaDependencies.fields,
  channels: orDefault(CondaDependencies.fields.channels, []),
  // Text is parsed after decoding (`specsOf`): the parsers are the adapters', with their own errors.
  conda: orDefault(Schema.Array(Schema.Union([Schema.String, CondaSpec])), []),
  pip: orDefault(Schema.Array(Schema.Union([Schema.String, PipRequirement])), []),
  pipOptions: orDefault(PipOptionsInput, {})
})

const PythonInput = Schema.Struct({
  ...PythonSection.fields,
  userManagedDependencies: orDefault(PythonSection.fields.userManagedDependencies, emptyDefinition.python.userManagedDependencies),
  interpreterPath: orDefault(PythonSection.fields.interpreterPath, emptyDefinition.python.interpreterPath),
  conda: Schema.optionalKey(CondaInputSchema)
})

const PlatformInput = Schema.Struct({
  ...Platform.fields,
  os: orDefault(Platform.fields.os, emptyDefinition.docker.platform.os),
  arch: orDefault(Platform.fields.arch, emptyDefinition.docker.platform.arch)
})

const DockerInput = Schema.Struct({
  ...DockerSection.fields,
  base: orDefault(DockerSection.fields.base, emptyDefinition.docker.base),
  gpuSupport: orDefault(DockerSection.fields.gpuSupport, emptyDefinition.docker.gpuSupport),
  runArguments: orDefault(DockerSection.fields.runArguments, emptyDefinition.docker.runArguments),
  platform: orDefault(PlatformInput, {})
})

const SparkInput = Schema.Struct({
  ...SparkSection.fields,
  repositories: orDefault(SparkSection.fields.repositories, emptyDefinition.spark.repositories),
  packages: orDefault(SparkSection.fields.packages, emptyDefinition.spark.packages),
  precachePackages: orDefault(SparkSection.fields.precachePackages, emptyDefinition.spark.precachePackages)
})

// Not in `emptyDefinition`: an R section is there only when given; its lists default to empty.
const RInput = Schema.Struct({
  ...RSection.fields,
  userManaged: orDefault(RSection.fields.userManaged, false),
  cranPackages: orDefault(RSection.fields.cranPackages, []),
  gitHubPackages: orDefault(RSection.fields.gitHubPackages, []),
  customUrlPackages: orDefault(RSection.fields.customUrlPackages, []),
  bioConductorPackages: orDefault(RSection.fields.bioConductorPackages, [])
})

const DefinitionInputSchema = Schema.Struct({
  ...DefinitionSchema.fields,
  tags: orDefault(DefinitionSchema.fields.tags, emptyDefinition.tags),
  properties: orDefault(DefinitionSchema.fields.properties, emptyDefinition.properties),
  python: orDefault(PythonInput, {}),
  docker: orDefault(DockerInput, {}),
  variables: orDefault(DefinitionSchema.fields.variables, emptyDefinition.variables),
  spark: orDefault(SparkInput, {}),
  r: Schema.optionalKey(RInput)
})

// The definition is decoded under the name the caller gave it, so that every field is named
// from there (`definition.python.conda.pip`) and a definition that is no object is `definition`.
const DefinitionArgument = Schema.Struct({ definition: orDefault(DefinitionInputSchema, {}) })

/**
 * A definition as a library caller writes it: sections and fields left out take their defaults
 * (`emptyDefinition`'s), and pip and conda specs may be text, parsed like the CLI's.
 *
 * @since 0.1.0
 * @category input
 */
export type DefinitionInput = typeof DefinitionInputSchema.Encoded

/** @since 0.1.0 @category input */
export type CondaInput = typeof CondaInputSchema.Encoded

const specsOf = <S extends PackageSpec>(manager: PackageManager, specs: ReadonlyArray<S | string>) =>
  Effect.forEach(specs, (spec, i) =>
    typeof spec === "string"
      ? decodePackageSpec(manager, spec).pipe(
        // The parser of `manager` only makes specs of that manager's kind.
        Effect.map((parsed) => parsed as S),
        Effect.mapError((e) => new InvalidInput({ field: `definition.python.conda.${manager}[${i}]`, reason: e.message }))
      )
      : Effect.succeed(spec))

/**
 * The definition a caller's `DefinitionInput` stands for, from any value: one that is not a
 * definition (a field of the wrong type, a field no definition has, such as a misspelt section)
 * is an `InvalidInput` naming the field (`definition.python.conda.dependencies`). The result is
 * checked against the domain's rules when the command is built (`InvalidInput` naming the field).
 *
 * @since 0.1.0
 * @category input
 */
export const decodeDefinitionInput = (input: unknown): Effect.Effect<Definition, InvalidInput> =>
  Effect.gen(function*() {
    const { definition } = yield* decodeInput(DefinitionArgument, { definition: input }, { onExcessProperty: "error" })
    const { python: { conda, ...python } } = definition
    if (conda === undefined) return { ...definition, python }
    const parsed: CondaDependencies = {
      ...conda,
      conda: yield* specsOf<CondaSpec>("conda", conda.conda),
      pip: yield* specsOf<PipRequirement>("pip", conda.pip)
    }
    return { ...definition, python: { ...python, conda: parsed } }
  })

/**
 * The registry name, version and definition of an imported file, with the caller's overrides: a
 * given name, version or description wins over the file's; given tags are added to the file's.
 * A name or version taken from the file must follow the registry's rules; breaking one is an
 * `ImportError` naming the file and field (an override is checked where the command is built).
 *
 * @since 0.1.0
 * @category input
 */
export const fromImported = (
  imported: ImportedEnvironment,
  overrides: {
    readonly name?: string | undefined
    readonly version?: string | undefined
    readonly description?: string | undefined
    readonly tags?: Readonly<Record<string, string>> | undefined
  } = {}
): Effect.Effect<
  { readonly name: string; readonly version: string | undefined; readonly definition: Definition },
  MissingName | ImportError
> =>
  Effect.gen(function*() {
    const file = imported.source.file
    const name = overrides.name ?? imported.name
    if (name === undefined) {
      const condaName = imported.kind === "conda-environment" ? imported.definition.python?.conda?.name : undefined
      return yield* new MissingName({ file, ...(condaName !== undefined ? { condaName } : {}) })
    }
    if (overrides.name === undefined) yield* fileField(file, "name", EnvironmentName, name)
    const version = overrides.version ?? imported.version
    if (overrides.version === undefined && version !== undefined) yield* fileField(file, "version", VersionString, version)
    const description = overrides.description ?? imported.description
    return {
      name,
      version,
      definition: {
        ...imported.definition,
        ...(description === undefined ? {} : { description }),
        tags: { ...imported.definition.tags, ...imported.tags, ...overrides.tags }
      }
    }
  })

const fileField = (file: string, field: string, schema: Schema.Codec<string>, value: string) =>
  Schema.decodeUnknownEffect(schema)(value).pipe(
    Effect.mapError((issue) =>
      importError({ file, field }, new InvalidInput({ field, input: value, reason: issue.message }).message)
    )
  )
