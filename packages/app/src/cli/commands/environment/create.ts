/**
 * `terrarium environment create`: define an environment from an AzureML v2 YAML, or from a conda
 * file and/or an image given as flags, and register it as a version.
 *
 * @since 0.1.0
 */
import type { BuildContextProgressReporter, ImportedEnvironment } from "@terrarium/adapters"
import { type Definition, emptyDefinition, SecretReference, urlCredentialsProblem } from "@terrarium/domain"
import { Clock, Console, Effect, Option, Path, Schema } from "effect"
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

interface DefinitionFlags {
  readonly dockerfile: Option.Option<string>
  readonly buildContext: Option.Option<string>
  readonly userManaged: boolean
  readonly interpreterPath: Option.Option<string>
  readonly gpu: boolean
  readonly shmSize: Option.Option<string>
  readonly dockerArg: ReadonlyArray<string>
  readonly baseImageRegistry: Option.Option<string>
  readonly registryUsernameRef: Option.Option<string>
  readonly registryPasswordRef: Option.Option<string>
}

const usage = (flag: string, detail: string) => new UsageError({ detail: `${flag}: ${detail}`, field: flag })
const isSecretReference = Schema.is(SecretReference)

/**
 * The flags that set a part of the definition, laid over what the file, conda file or image gave.
 * Each is checked here, before anything is read or appended, so a bad value names its flag.
 */
const applyDefinitionFlags = (definition: Definition, flags: DefinitionFlags, condaGiven: boolean) =>
  Effect.gen(function*() {
    let python = definition.python
    let docker = definition.docker
    if (flags.userManaged) {
      // A user-managed environment installs nothing, so a conda file given with it would be dropped unseen.
      if (condaGiven || python.conda !== undefined) {
        return yield* usage("--user-managed", "a user-managed environment installs nothing; it cannot have a conda file")
      }
      python = { ...python, userManagedDependencies: true }
    }
    if (Option.isSome(flags.interpreterPath)) {
      const path = flags.interpreterPath.value
      if (path.trim() === "" || /[\r\n\0]/.test(path)) return yield* usage("--interpreter-path", "give the path of the Python interpreter in the image")
      python = { ...python, interpreterPath: path }
    }
    if (flags.gpu) docker = { ...docker, gpuSupport: true }
    if (Option.isSome(flags.shmSize)) {
      const size = flags.shmSize.value.trim()
      if (!/^[1-9][0-9]*[bkmg]?$/i.test(size)) {
        return yield* usage("--shm-size", `"${flags.shmSize.value}" is not a size (a number with an optional unit b, k, m or g, as 2g)`)
      }
      docker = { ...docker, shmSize: size }
    }
    for (const arg of flags.dockerArg) {
      if (arg.trim() === "" || /[\r\n\0]/.test(arg)) return yield* usage("--docker-arg", "an argument to docker run cannot be empty or span lines")
    }
    if (flags.dockerArg.length > 0) docker = { ...docker, runArguments: [...docker.runArguments, ...flags.dockerArg] }
    if (Option.isNone(flags.baseImageRegistry)) {
      for (const [flag, value] of [["--registry-username-ref", flags.registryUsernameRef], ["--registry-password-ref", flags.registryPasswordRef]] as const) {
        if (Option.isSome(value)) return yield* usage(flag, "needs --base-image-registry ADDRESS")
      }
    } else {
      const address = flags.baseImageRegistry.value.trim()
      if (address === "" || /\s/.test(address)) return yield* usage("--base-image-registry", "give the registry's address (as myregistry.example:5000)")
      const credentials = urlCredentialsProblem("--base-image-registry", address)
      if (credentials !== undefined) return yield* usage("--base-image-registry", credentials)
      const refs: { username?: string; password?: string } = {}
      for (const [flag, key, value] of [
        ["--registry-username-ref", "username", flags.registryUsernameRef],
        ["--registry-password-ref", "password", flags.registryPasswordRef]
      ] as const) {
        if (Option.isNone(value)) continue
        // The value itself is never echoed: it may be the secret given by mistake.
        if (!isSecretReference(value.value)) {
          return yield* usage(flag, "a secret is given by reference (env:NAME, file:PATH or keyvault:VAULT/NAME), never by value")
        }
        refs[key] = value.value
      }
      docker = { ...docker, baseImageRegistry: { address, ...refs } }
    }
    return { ...definition, python, docker }
  })

/**
 * A Dockerfile given as a flag is imported as AzureML's `build` section would be: read within the
 * usual rules (inside its build context), the context's files digested.
 */
const fromDockerfile = (dockerfile: string, buildContext: Option.Option<string>, allowOutside: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { parseAzureMLEnvironment } = yield* Effect.promise(() => import("@terrarium/adapters"))
    const paths = yield* Path.Path
    const file = paths.resolve(dockerfile)
    const context = Option.isSome(buildContext) ? paths.resolve(buildContext.value) : paths.dirname(file)
    const inContext = paths.relative(context, file)
    if (inContext === "" || inContext.startsWith("..") || paths.isAbsolute(inContext)) {
      return yield* usage("--dockerfile", `${dockerfile} is not inside the build context (--build-context ${context})`)
    }
    const yaml = `build: {path: ${JSON.stringify(context)}, dockerfile_path: ${JSON.stringify(inContext)}}\n`
    const imported = yield* parseAzureMLEnvironment(paths.join(context, "(command line)"), yaml, { allowOutside })
    if (imported.definition.docker.base.kind !== "dockerfile" || imported.definition.docker.base.dockerfile === undefined) {
      return yield* usage("--dockerfile", `${dockerfile} was not found`)
    }
    return imported
  })

/** Where the definition comes from: a file, a conda file and/or an image, then the flags over it. */
type SourceFlags = DefinitionFlags & {
  readonly file: Option.Option<string>
  readonly name: Option.Option<string>
  readonly condaFile: Option.Option<string>
  readonly image: Option.Option<string>
  readonly allowOutside: ReadonlyArray<string>
}

const fromFlags = (input: SourceFlags) =>
  Effect.gen(function*() {
    const imported = yield* importedFromFlags(input)
    const definition = yield* applyDefinitionFlags(imported.definition, input, Option.isSome(input.condaFile))
    return { ...imported, definition }
  })

const importedFromFlags = (input: SourceFlags) =>
  Effect.gen(function*() {
    // The importers (YAML, the spec parsers) are loaded by this command only.
    const { importCondaEnvironmentFile, importEnvironmentFile } = yield* Effect.promise(() => import("@terrarium/adapters"))
    if (Option.isSome(input.buildContext) && Option.isNone(input.dockerfile)) {
      return yield* usage("--build-context", "needs --dockerfile FILE")
    }
    if (Option.isSome(input.file)) {
      if (Option.isSome(input.condaFile) || Option.isSome(input.image) || Option.isSome(input.dockerfile)) {
        return yield* new UsageError({ detail: "--file cannot be combined with --conda-file, --image or --dockerfile (put them in the YAML file)" })
      }
      const progress = contextProgress()
      return yield* importEnvironmentFile(input.file.value, { allowOutside: input.allowOutside, onContextProgress: progress.report }).pipe(
        Effect.ensuring(progress.done)
      )
    }
    if (Option.isNone(input.name)) {
      return yield* new UsageError({ detail: "give --file env.yml, or --name NAME with --conda-file, --image and/or --dockerfile" })
    }
    if (Option.isNone(input.condaFile) && Option.isNone(input.image) && Option.isNone(input.dockerfile)) {
      return yield* new UsageError({ detail: "--name needs --conda-file FILE, --image IMAGE and/or --dockerfile FILE (or use --file env.yml)" })
    }
    if (Option.isSome(input.dockerfile) && Option.isSome(input.image)) {
      return yield* usage("--dockerfile", "cannot be combined with --image (an environment starts from an image or from a Dockerfile)")
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
    if (Option.isSome(input.dockerfile)) {
      const built = yield* fromDockerfile(input.dockerfile.value, input.buildContext, input.allowOutside)
      const definition: Definition = { ...base.definition, docker: { ...base.definition.docker, base: built.definition.docker.base } }
      // The context's folder goes with it, for its files to be stored with the version.
      const source = built.source.buildContext === undefined ? base.source : { ...base.source, buildContext: built.source.buildContext }
      return { ...base, definition, source, warnings: [...base.warnings, ...built.warnings] }
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
  file: Flag.String("file").pipe(Flag.withAlias("f"), Flag.withDescription("AzureML v2 environment YAML, conda environment.yml, requirements.txt, or AzureML v1 azureml_environment.json / save_to_directory folder"), Flag.optional),
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
  dockerfile: Flag.String("dockerfile").pipe(Flag.withDescription("Dockerfile to build from (its folder is the build context)"), Flag.optional),
  buildContext: Flag.String("build-context").pipe(Flag.withDescription("Build context folder for --dockerfile"), Flag.optional),
  userManaged: Flag.Boolean("user-managed").pipe(Flag.withDescription("The image's Python is used as is; nothing is installed"), Flag.withDefault(false)),
  interpreterPath: Flag.String("interpreter-path").pipe(Flag.withDescription("Path of the Python interpreter in the image"), Flag.optional),
  gpu: Flag.Boolean("gpu").pipe(Flag.withDescription("Run with GPU support"), Flag.withDefault(false)),
  shmSize: Flag.String("shm-size").pipe(Flag.withDescription("Shared memory size of the container (as 2g)"), Flag.optional),
  dockerArg: Flag.String("docker-arg").pipe(Flag.withDescription("An argument to docker run (repeatable)"), Flag.atLeast(0)),
  baseImageRegistry: Flag.String("base-image-registry").pipe(Flag.withDescription("Registry the base image is pulled from"), Flag.optional),
  registryUsernameRef: Flag.String("registry-username-ref").pipe(
    Flag.withDescription("The registry user name, by reference (env:NAME, file:PATH, keyvault:VAULT/NAME)"),
    Flag.optional
  ),
  registryPasswordRef: Flag.String("registry-password-ref").pipe(
    Flag.withDescription("The registry password, by reference (env:NAME, file:PATH, keyvault:VAULT/NAME)"),
    Flag.optional
  )
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
        // A Dockerfile's build context is read again, whole, to be stored with the version.
        const { importedBuildContext } = yield* Effect.promise(() => import("../../../ImportedBuildContext.ts"))
        const progress = contextProgress()
        const buildContext = yield* importedBuildContext(imported, progress.report).pipe(Effect.ensuring(progress.done))
        const terrarium = yield* Terrarium
        const registration = yield* terrarium.create({
          workspace: flags.workspace,
          name,
          definition,
          version,
          buildContext
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
