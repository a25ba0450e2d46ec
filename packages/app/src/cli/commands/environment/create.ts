/**
 * `terrarium environment create`: define an environment from an AzureML v2 YAML, or from a conda
 * file and/or an image given as flags, and register it as a version.
 *
 * @since 0.1.0
 */
import type { BuildContextProgressReporter, ImportedEnvironment } from "@terrarium/adapters"
import { type Definition, emptyDefinition } from "@terrarium/domain"
import { Clock, Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { Terrarium, type Registration, type VersionMetadata } from "../../../Terrarium.ts"
import { UsageError } from "../../Diagnostics.ts"
import * as Render from "../../Render.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * On a terminal, a long build context walk shows how far it has got on one stderr line (redrawn
 * at most 5 times a second); `done` clears it. Elsewhere (a pipe, a log) nothing is shown.
 */
const contextProgress = (): { readonly report: BuildContextProgressReporter | undefined; readonly done: Effect.Effect<void> } => {
  if (process.stderr.isTTY !== true) return { report: undefined, done: Effect.void }
  let shownAt: number | undefined
  const report: BuildContextProgressReporter = ({ files, bytes }) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (shownAt !== undefined && now - shownAt < 200) return
      shownAt = now
      process.stderr.write(`\rterrarium: reading the build context: ${files} files, ${Math.round(bytes / 1048576)} MiB`)
    })
  return { report, done: Effect.sync(() => shownAt === undefined || process.stderr.write("\r\u001b[K")).pipe(Effect.asVoid) }
}

/**
 * An unchanged definition keeps its version, and with it the version's description and tags:
 * the ones given differ, so say that they were not applied and how to apply them.
 */
const notAppliedWarning = (r: Registration, given: VersionMetadata): string => {
  const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`
  const flags = [
    ...(given.description === undefined ? [] : [`--description ${quote(given.description)}`]),
    ...Object.entries(given.tags).map(([k, v]) => `--tag ${quote(`${k}=${v}`)}`)
  ]
  return `${r.name}:${r.version} already has this definition; its description and tags were not changed ` +
    `(they are not part of the definition). To apply them: terrarium environment update ${r.name}:${r.version} ${flags.join(" ")}`.trimEnd() +
    " (and --remove-tag KEY for a tag to drop)"
}

const fromFlags = (input: {
  readonly file: Option.Option<string>
  readonly name: Option.Option<string>
  readonly condaFile: Option.Option<string>
  readonly image: Option.Option<string>
  readonly allowOutside: ReadonlyArray<string>
}) =>
  Effect.gen(function*() {
    // The importers (YAML, the spec parsers) are loaded by this command only.
    const { importCondaEnvironmentFile, importEnvironmentFile } = yield* Effect.promise(() => import("@terrarium/adapters"))
    if (Option.isSome(input.file)) {
      if (Option.isSome(input.condaFile) || Option.isSome(input.image)) {
        return yield* new UsageError({ detail: "--file cannot be combined with --conda-file or --image (put them in the YAML file)" })
      }
      const progress = contextProgress()
      return yield* importEnvironmentFile(input.file.value, { allowOutside: input.allowOutside, onContextProgress: progress.report }).pipe(
        Effect.ensuring(progress.done)
      )
    }
    if (Option.isNone(input.name)) {
      return yield* new UsageError({ detail: "give --file env.yml, or --name NAME with --conda-file and/or --image" })
    }
    if (Option.isNone(input.condaFile) && Option.isNone(input.image)) {
      return yield* new UsageError({ detail: "--name needs --conda-file FILE and/or --image IMAGE (or use --file env.yml)" })
    }
    const base: ImportedEnvironment = Option.isSome(input.condaFile)
      ? yield* importCondaEnvironmentFile(input.condaFile.value, { allowOutside: input.allowOutside })
      : {
        kind: "azureml-v2-environment",
        tags: {},
        // An environment that is only an image uses the image's Python as is (AzureML semantics).
        definition: { ...emptyDefinition, python: { ...emptyDefinition.python, userManagedDependencies: true } },
        source: { file: "(command line)", includes: [] },
        warnings: []
      }
    if (Option.isNone(input.image)) return base
    const definition: Definition = {
      ...base.definition,
      docker: { ...base.definition.docker, base: { kind: "image", image: input.image.value } }
    }
    return { ...base, definition }
  })

/**
 * @since 0.1.0
 * @category commands
 */
export const create = Command.make("create", {
  file: Flag.String("file").pipe(Flag.withAlias("f"), Flag.withDescription("AzureML v2 environment YAML (or a conda environment.yml)"), Flag.optional),
  name: Flag.String("name").pipe(Flag.withAlias("n"), Flag.withDescription("Environment name (overrides the file's)"), Flag.optional),
  condaFile: Flag.String("conda-file").pipe(Flag.withDescription("Conda environment.yml to install"), Flag.optional),
  image: Flag.String("image").pipe(Flag.withAlias("i"), Flag.withDescription("Base image"), Flag.optional),
  version: Flag.String("version").pipe(Flag.withAlias("v"), Flag.withDescription("Explicit version (default: next number)"), Flag.optional),
  description: Flag.String("description").pipe(Flag.withDescription("Description"), Flag.optional),
  tag: Flag.KeyValuePair("tag").pipe(Flag.withDescription("Tag key=value (repeatable)"), Flag.optional),
  allowOutside: Flag.String("allow-outside").pipe(
    Flag.withDescription("A folder outside the environment file's own that the files it names may be read from (repeatable)"),
    Flag.atLeast(0)
  ),
  curated: Flag.Boolean("curated").pipe(Flag.withDescription("Register as a curated (AzureML-) environment"), Flag.withDefault(false))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const imported = yield* fromFlags(input)
        const { fromImported } = yield* Effect.promise(() => import("../../../Input.ts"))
        const { formatWarning } = yield* Effect.promise(() => import("@terrarium/adapters"))
        const { name, version, definition } = yield* fromImported(imported, {
          name: Option.getOrUndefined(input.name),
          version: Option.getOrUndefined(input.version),
          description: Option.getOrUndefined(input.description),
          tags: Option.getOrUndefined(input.tag)
        })
        const terrarium = yield* Terrarium
        const registration = yield* terrarium.create({
          workspace: flags.workspace,
          name,
          definition,
          version,
          curated: input.curated
        })
        if (registration.metadataNotApplied !== undefined) {
          yield* Console.error(`warning: ${notAppliedWarning(registration, registration.metadataNotApplied)}`)
        }
        return { registration, warnings: imported.warnings.map(formatWarning) }
      }),
    ({ registration, warnings }) => ({
      data: { ...registration, warnings },
      table: () => Render.registration(registration, warnings)
    }),
    { name: "--name", version: "--version" }
  )).pipe(
    Command.withDescription("Define an environment and register it as a version (unchanged definitions keep their version)"),
    Command.withExamples([
      { command: "terrarium environment create --file env.yml", description: "From an AzureML v2 environment YAML" },
      { command: "terrarium environment create --name my-env --conda-file conda.yml --image python:3.11", description: "From flags" }
    ])
  )
