/**
 * What users type, turned into domain values: references, as-of points, package specs, imported
 * files. Shared by the CLI and the Promise facade so both accept exactly the same input.
 *
 * @since 0.1.0
 */
import { type ImportedEnvironment, type ImportError, importError, parseCondaSpec, parsePipRequirement, type SpecError } from "@terrarium/adapters"
import {
  type CondaDependencies,
  type CondaSpec,
  type Definition,
  emptyDefinition,
  emptyPipOptions,
  EnvironmentName,
  type PackageManager,
  type PackageSpec,
  type PipRequirement,
  type PythonSection,
  VersionString
} from "@terrarium/domain"
import { Effect, Schema } from "effect"
import { type AsOf, asOfValue, parseAsOf } from "./AsOf.ts"
import { type EnvironmentRef, InvalidReference, parseRef } from "./EnvironmentRef.ts"
import { InvalidInput } from "./InvalidInput.ts"

/** @since 0.1.0 @category input */
export const decodeRef = (input: string): Effect.Effect<EnvironmentRef, InvalidReference> => {
  const r = parseRef(input)
  return r instanceof InvalidReference ? Effect.fail(r) : Effect.succeed(r)
}

/** An as-of point as text (`--as-of`) or, from the library, as a position or a `Date`. @since 0.1.0 @category input */
export const decodeAsOf = (input: string | number | Date): Effect.Effect<AsOf, InvalidInput> => {
  const r = typeof input === "string" ? parseAsOf(input) : asOfValue(input)
  return r instanceof InvalidInput ? Effect.fail(r) : Effect.succeed(r)
}

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

/**
 * A definition as a library caller writes it: sections left out take their defaults
 * (`emptyDefinition`), and pip and conda specs may be text, parsed like the CLI's.
 *
 * @since 0.1.0
 * @category input
 */
export type DefinitionInput = Partial<Omit<Definition, "python">> & {
  readonly python?: (Omit<PythonSection, "conda"> & { readonly conda?: CondaInput | undefined }) | undefined
}

/** @since 0.1.0 @category input */
export interface CondaInput extends Omit<CondaDependencies, "conda" | "pip" | "pipOptions"> {
  readonly conda: ReadonlyArray<CondaSpec | string>
  readonly pip: ReadonlyArray<PipRequirement | string>
  readonly pipOptions?: CondaDependencies["pipOptions"] | undefined
}

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
 * The definition a `DefinitionInput` stands for. The result is checked again, field by field,
 * when the command is built (`InvalidInput` naming the field).
 *
 * @since 0.1.0
 * @category input
 */
export const decodeDefinitionInput = (input: DefinitionInput): Effect.Effect<Definition, InvalidInput> =>
  Effect.gen(function*() {
    const { python, ...rest } = input
    if (python === undefined) return { ...emptyDefinition, ...rest }
    const { conda, ...section } = python
    if (conda === undefined) return { ...emptyDefinition, ...rest, python: section }
    const { conda: condaSpecs, pip, pipOptions, ...condaRest } = conda
    const parsed: CondaDependencies = {
      ...condaRest,
      conda: yield* specsOf<CondaSpec>("conda", condaSpecs),
      pip: yield* specsOf<PipRequirement>("pip", pip),
      pipOptions: pipOptions ?? emptyPipOptions
    }
    return { ...emptyDefinition, ...rest, python: { ...section, conda: parsed } }
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
