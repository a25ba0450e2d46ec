/**
 * The `terrarium` command line, shaped after `az ml environment`.
 *
 * Every command opens the configured database (embedded PGlite by default, PostgreSQL with
 * `--database-url` / `TERRARIUM_DATABASE_URL`), runs migrations if needed, does its work and
 * prints the result as a table, JSON or YAML (`--output`). Failures print one clear line naming
 * the file, field and line where known, and exit non-zero with nothing appended
 * (`Diagnostics.ts` says how, and which exit code means what).
 *
 * @since 0.1.0
 */
import {
  importCondaEnvironmentFile,
  importEnvironmentFile,
  type ImportedEnvironment,
  type ImportWarning,
  formatWarning
} from "@terrarium/adapters"
import { type Definition, emptyDefinition, type PackageSpec } from "@terrarium/domain"
import { Console, Effect, type FileSystem, Option, type Path } from "effect"
import { Argument, CliOutput, Command, Flag } from "effect/cli"
import { AS_OF_FORMS, type AsOf } from "../AsOf.ts"
import type { EnvironmentRef } from "../EnvironmentRef.ts"
import { decodeAsOf, decodePackageSpec, decodeRef, fromImported } from "../Input.ts"
import { InvalidInput } from "../InvalidInput.ts"
import * as Setup from "../Setup.ts"
import { Terrarium } from "../Terrarium.ts"
import { UsageError } from "./Diagnostics.ts"
import { fields, type Format, render } from "./Output.ts"
import * as Render from "./Render.ts"

export { UsageError } from "./Diagnostics.ts"

const root = Command.make("terrarium").pipe(
  Command.withSharedFlags({
    workspace: Flag.String("workspace").pipe(
      Flag.withAlias("w"),
      Flag.withDescription("Workspace (team namespace) to work in"),
      Flag.withDefault("default")
    ),
    databaseUrl: Flag.String("database-url").pipe(
      Flag.withDescription("PostgreSQL URL, postgres://USER@HOST:PORT/DATABASE (default: $TERRARIUM_DATABASE_URL unless --data-dir is given, else the embedded database)"),
      Flag.optional
    ),
    databaseSchema: Flag.String("database-schema").pipe(
      Flag.withDescription("PostgreSQL schema (default: $TERRARIUM_DATABASE_SCHEMA, else public)"),
      Flag.optional
    ),
    dataDir: Flag.String("data-dir").pipe(
      Flag.withDescription("Embedded database directory, even when $TERRARIUM_DATABASE_URL is set (default: $TERRARIUM_HOME/data, else ~/.terrarium/data)"),
      Flag.optional
    ),
    actor: Flag.String("actor").pipe(Flag.withDescription("Who is acting (default: the OS user)"), Flag.optional),
    output: Flag.Literals("output", ["table", "json", "yaml"]).pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Output format; json is stable, for scripts"),
      Flag.withDefault("table" as const)
    )
  }),
  Command.withDescription("Terrarium: an event-sourced registry of machine-learning runtime environments")
)

interface RootFlags {
  readonly workspace: string
  readonly databaseUrl: Option.Option<string>
  readonly databaseSchema: Option.Option<string>
  readonly dataDir: Option.Option<string>
  readonly actor: Option.Option<string>
  readonly output: Format
}

/**
 * How the user gave each input of the library's that a command fills from its command line, so
 * that a rule broken by a value is reported as they typed it: `--name "my env": …`, not
 * `name "my env": …`. Inputs not listed (a name read from a file) keep the library's wording.
 */
type Spellings = Readonly<Record<string, string | undefined>>

const sharedSpellings: Spellings = {
  workspace: "--workspace",
  databaseUrl: "--database-url",
  asOf: "--as-of"
}

/** A library error about one input of the command line, as the usage error it is. */
const asUsageError = (spellings: Spellings) => <E>(error: E): E | UsageError => {
  const tagged = error as { readonly _tag?: unknown }
  if (tagged._tag === "ConflictingStorage") {
    return new UsageError({ detail: "--database-url and --data-dir: give a PostgreSQL URL or an embedded data directory, not both" })
  }
  if (tagged._tag !== "InvalidInput") return error
  const invalid = error as InvalidInput
  const spelled = spellings[invalid.field] ?? sharedSpellings[invalid.field]
  if (spelled === undefined) return error
  const { reason, input } = invalid
  const detail = new InvalidInput({ field: spelled, reason, ...(input === undefined ? {} : { input }) }).message
  return new UsageError({ detail, field: invalid.field })
}

const storageOf = (flags: RootFlags): Setup.StorageOptions => ({
  databaseUrl: Option.getOrUndefined(flags.databaseUrl),
  databaseSchema: Option.getOrUndefined(flags.databaseSchema),
  dataDir: Option.getOrUndefined(flags.dataDir)
})

/**
 * Runs `f` with the Terrarium service for the root flags, then prints what it returns.
 * `spellings` names the flags this command fills library inputs from.
 */
const withTerrarium = <A, E>(
  // Files (`--file`, `--conda-file`) are read through the FileSystem the executable provides.
  f: (flags: RootFlags) => Effect.Effect<A, E, Terrarium | FileSystem.FileSystem | Path.Path>,
  print: (value: A) => { readonly data: unknown; readonly table: () => string },
  spellings: Spellings = {}
) =>
  Effect.gen(function*() {
    const flags: RootFlags = yield* root
    const layer = Setup.layer({
      ...storageOf(flags),
      caller: Setup.defaultCaller(Option.getOrUndefined(flags.actor)),
      // Another terrarium command has the embedded database open: say what we are waiting for.
      onDataDirectoryBusy: (owner) =>
        process.stderr.write(`terrarium: waiting for process ${owner.pid}, which has the embedded database open\n`)
    })
    const value = yield* f(flags).pipe(Effect.provide(layer), Effect.mapError(asUsageError(spellings)))
    const shown = print(value)
    yield* Console.log(render(flags.output, shown.data, shown.table))
  })

const ref = decodeRef

const asOf = (input: Option.Option<string>): Effect.Effect<AsOf | undefined, InvalidInput> =>
  Option.isNone(input) ? Effect.succeed(undefined) : decodeAsOf(input.value)

const spec = (manager: "pip" | "conda", text: string, where: string): Effect.Effect<PackageSpec, UsageError> =>
  decodePackageSpec(manager, text).pipe(Effect.mapError((e) => new UsageError({ detail: `${where}: ${e.message}` })))

// ---------------------------------------------------------------------------------------------
// environment create
// ---------------------------------------------------------------------------------------------

const fromFlags = (input: {
  readonly file: Option.Option<string>
  readonly name: Option.Option<string>
  readonly condaFile: Option.Option<string>
  readonly image: Option.Option<string>
}) =>
  Effect.gen(function*() {
    if (Option.isSome(input.file)) {
      if (Option.isSome(input.condaFile) || Option.isSome(input.image)) {
        return yield* new UsageError({ detail: "--file cannot be combined with --conda-file or --image (put them in the YAML file)" })
      }
      return yield* importEnvironmentFile(input.file.value)
    }
    if (Option.isNone(input.name)) {
      return yield* new UsageError({ detail: "give --file env.yml, or --name NAME with --conda-file and/or --image" })
    }
    if (Option.isNone(input.condaFile) && Option.isNone(input.image)) {
      return yield* new UsageError({ detail: "--name needs --conda-file FILE and/or --image IMAGE (or use --file env.yml)" })
    }
    const base: ImportedEnvironment = Option.isSome(input.condaFile)
      ? yield* importCondaEnvironmentFile(input.condaFile.value)
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

const create = Command.make("create", {
  file: Flag.String("file").pipe(Flag.withAlias("f"), Flag.withDescription("AzureML v2 environment YAML (or a conda environment.yml)"), Flag.optional),
  name: Flag.String("name").pipe(Flag.withAlias("n"), Flag.withDescription("Environment name (overrides the file's)"), Flag.optional),
  condaFile: Flag.String("conda-file").pipe(Flag.withDescription("Conda environment.yml to install"), Flag.optional),
  image: Flag.String("image").pipe(Flag.withAlias("i"), Flag.withDescription("Base image"), Flag.optional),
  version: Flag.String("version").pipe(Flag.withAlias("v"), Flag.withDescription("Explicit version (default: next number)"), Flag.optional),
  description: Flag.String("description").pipe(Flag.withDescription("Description"), Flag.optional),
  tag: Flag.KeyValuePair("tag").pipe(Flag.withDescription("Tag key=value (repeatable)"), Flag.optional),
  curated: Flag.Boolean("curated").pipe(Flag.withDescription("Register as a curated (AzureML-) environment"), Flag.withDefault(false))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const imported = yield* fromFlags(input)
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
        return { registration, warnings: imported.warnings }
      }),
    ({ registration, warnings }) => ({
      data: { ...registration, warnings: warnings.map(formatWarning) },
      table: () => Render.registration(registration, warnings.map((w: ImportWarning) => formatWarning(w)))
    }),
    { name: "--name", version: "--version" }
  )).pipe(
    Command.withDescription("Define an environment and register it as a version (unchanged definitions keep their version)"),
    Command.withExamples([
      { command: "terrarium environment create --file env.yml", description: "From an AzureML v2 environment YAML" },
      { command: "terrarium environment create --name my-env --conda-file conda.yml --image python:3.11", description: "From flags" }
    ])
  )

// ---------------------------------------------------------------------------------------------
// environment list / show / diff
// ---------------------------------------------------------------------------------------------

const list = Command.make("list", {
  name: Flag.String("name").pipe(Flag.withAlias("n"), Flag.withDescription("Show the versions of this environment"), Flag.optional),
  archived: Flag.Boolean("archived").pipe(Flag.withDescription("Include archived versions"), Flag.withDefault(false)),
  curated: Flag.Boolean("curated").pipe(Flag.withDescription("List the curated (AzureML-) catalog"), Flag.withDefault(false))
}, ({ name, archived, curated }) =>
  curated
    ? withTerrarium(
      () => Terrarium.use((t) => t.curatedCatalog),
      (rows) => ({ data: rows, table: () => Render.catalog(rows) })
    )
    : Option.match(name, {
      onNone: () =>
        withTerrarium(
          (flags) => Terrarium.use((t) => t.environments({ workspace: flags.workspace, includeArchived: archived })),
          (rows) => ({ data: rows, table: () => Render.environments(rows) })
        ),
      onSome: (name) =>
        withTerrarium(
          (flags) => Terrarium.use((t) => t.versions({ workspace: flags.workspace, name, includeArchived: archived })),
          (rows) => ({ data: rows, table: () => Render.versions(rows) })
        )
    })).pipe(Command.withDescription("List environments, the versions of one (--name), or the curated catalog (--curated)"))

const show = Command.make("show", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME, NAME:VERSION or NAME@LABEL")),
  asOf: Flag.String("as-of").pipe(Flag.withDescription(`What the reference meant then: ${AS_OF_FORMS}`), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const r = yield* ref(input.ref)
        const at = yield* asOf(input.asOf)
        return yield* Terrarium.use((t) => t.show({ workspace: flags.workspace, ref: r, asOf: at }))
      }),
    (v) => ({ data: v, table: () => Render.version(v) })
  )).pipe(Command.withDescription("Show one version with its full definition"))

const diff = Command.make("diff", {
  from: Argument.String("from").pipe(Argument.withDescription("NAME:VERSION or NAME@LABEL")),
  to: Argument.String("to").pipe(Argument.withDescription("NAME:VERSION or NAME@LABEL"))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const from = yield* ref(input.from)
        const to = yield* ref(input.to)
        return yield* Terrarium.use((t) => t.diff({ workspace: flags.workspace, from, to }))
      }),
    (d) => ({ data: d, table: () => Render.diff(d) })
  )).pipe(Command.withDescription("Semantic diff of two versions: packages, channels, docker, variables"))

// ---------------------------------------------------------------------------------------------
// draft changes: add-package / remove-package / set-variable, then register
// ---------------------------------------------------------------------------------------------

const addPackage = Command.make("add-package", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name")),
  pip: Flag.String("pip").pipe(Flag.withDescription("A pip requirement (PEP 508), e.g. 'numpy>=1.26'"), Flag.optional),
  conda: Flag.String("conda").pipe(Flag.withDescription("A conda MatchSpec, e.g. 'python=3.11'"), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const parsed = Option.isSome(input.pip) && Option.isNone(input.conda)
          ? yield* spec("pip", input.pip.value, "--pip")
          : Option.isSome(input.conda) && Option.isNone(input.pip)
          ? yield* spec("conda", input.conda.value, "--conda")
          : yield* new UsageError({ detail: "give exactly one of --pip SPEC or --conda SPEC" })
        return yield* Terrarium.use((t) => t.addPackage({ workspace: flags.workspace, name: input.name, spec: parsed }))
      }),
    (d) => ({ data: d, table: () => Render.draft(d) })
  )).pipe(Command.withDescription("Add (or re-pin) a package in the draft; 'register' makes it a version"))

const removePackage = Command.make("remove-package", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name")),
  pip: Flag.String("pip").pipe(Flag.withDescription("pip package name"), Flag.optional),
  conda: Flag.String("conda").pipe(Flag.withDescription("conda package name"), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const [manager, pkg] = Option.isSome(input.pip) && Option.isNone(input.conda)
          ? ["pip" as const, input.pip.value]
          : Option.isSome(input.conda) && Option.isNone(input.pip)
          ? ["conda" as const, input.conda.value]
          : yield* new UsageError({ detail: "give exactly one of --pip NAME or --conda NAME" })
        return yield* Terrarium.use((t) => t.removePackage({ workspace: flags.workspace, name: input.name, manager, package: pkg }))
      }),
    (d) => ({ data: d, table: () => Render.draft(d) })
  )).pipe(Command.withDescription("Remove a package from the draft"))

const setVariable = Command.make("set-variable", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name")),
  variable: Argument.String("variable").pipe(Argument.withDescription("KEY=VALUE, or KEY= to unset"))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const eq = input.variable.indexOf("=")
        if (eq <= 0) return yield* new UsageError({ detail: `expected KEY=VALUE, got "${input.variable}"` })
        const variable = input.variable.slice(0, eq)
        const value = input.variable.slice(eq + 1)
        return yield* Terrarium.use((t) =>
          value === ""
            ? t.unsetVariable({ workspace: flags.workspace, name: input.name, variable })
            : t.setVariable({ workspace: flags.workspace, name: input.name, variable, value }))
      }),
    (d) => ({ data: d, table: () => Render.draft(d) })
  )).pipe(Command.withDescription("Set (KEY=VALUE) or unset (KEY=) an environment variable in the draft"))

const register = Command.make("register", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name")),
  version: Flag.String("version").pipe(Flag.withAlias("v"), Flag.withDescription("Explicit version (default: next number)"), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Terrarium.use((t) => t.register({ workspace: flags.workspace, name: input.name, version: Option.getOrUndefined(input.version) })),
    (r) => ({ data: r, table: () => Render.registration(r) }),
    { version: "--version" }
  )).pipe(Command.withDescription("Register the draft as a new version (or report the version it already is)"))

// ---------------------------------------------------------------------------------------------
// archive / restore / label
// ---------------------------------------------------------------------------------------------

const versionCommand = (
  name: string,
  description: string,
  op: (t: Terrarium["Service"], workspace: string, r: EnvironmentRef) => ReturnType<Terrarium["Service"]["archive"]>
) =>
  Command.make(name, {
    ref: Argument.String("ref").pipe(Argument.withDescription("NAME:VERSION or NAME@LABEL"))
  }, (input) =>
    withTerrarium(
      (flags) =>
        Effect.gen(function*() {
          const r = yield* ref(input.ref)
          return yield* Terrarium.use((t) => op(t, flags.workspace, r))
        }),
      (v) => ({ data: v, table: () => Render.version(v) })
    )).pipe(Command.withDescription(description))

const archive = versionCommand("archive", "Archive a version: still resolvable by exact version, never latest",
  (t, workspace, r) => t.archive({ workspace, ref: r }))
const restore = versionCommand("restore", "Restore an archived version", (t, workspace, r) => t.restore({ workspace, ref: r }))

const label = Command.make("label", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME:VERSION or NAME@LABEL")),
  label: Argument.String("label").pipe(Argument.withDescription("The label to point at it, e.g. prod"))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const r = yield* ref(input.ref)
        return yield* Terrarium.use((t) => t.label({ workspace: flags.workspace, ref: r, label: input.label }))
      }),
    (v) => ({ data: v, table: () => Render.version(v) })
  )).pipe(Command.withDescription("Point a label (NAME@LABEL) at a version; moves are recorded, so past meanings stay answerable"))

const environment = Command.make("environment").pipe(
  Command.withAlias("env"),
  Command.withDescription("Define, register, inspect and compare environments"),
  Command.withSubcommands([create, list, show, diff, addPackage, removePackage, setVariable, register, archive, restore, label])
)

// ---------------------------------------------------------------------------------------------
// audit / db / projections
// ---------------------------------------------------------------------------------------------

const audit = Command.make("audit", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name")),
  asOf: Flag.String("as-of").pipe(Flag.withDescription(`Only events up to then: ${AS_OF_FORMS}`), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const at = yield* asOf(input.asOf)
        return yield* Terrarium.use((t) => t.audit({ workspace: flags.workspace, name: input.name, asOf: at }))
      }),
    (rows) => ({ data: rows, table: () => Render.audit(rows) })
  )).pipe(Command.withDescription("Who changed what, when: every event of an environment"))

const migrateCommand = Command.make("migrate", {}, () =>
  withTerrarium(
    () => Terrarium.use((t) => Effect.map(t.migrations, (migrations) => ({ applied: t.appliedMigrations, migrations }))),
    (result) => ({
      data: result,
      table: () =>
        result.applied.length === 0
          ? `Database already up to date (${result.migrations.length} migrations)`
          : `Applied ${result.applied.length} migration${result.applied.length === 1 ? "" : "s"}: ${result.applied.join(", ")}`
    })
  )).pipe(Command.withDescription("Apply pending database migrations (also done automatically on start) and list them"))

const status = Command.make("status", {}, () =>
  Effect.gen(function*() {
    const flags: RootFlags = yield* root
    const storage = yield* Effect.fromResult(Setup.resolveStorage(storageOf(flags))).pipe(Effect.mapError(asUsageError({})))
    const where = Setup.describeStorage(storage)
    return yield* withTerrarium(
      () => Terrarium.use((t) => t.status),
      (s) => ({
        data: { ...s, storage: where },
        table: () =>
          fields([
            ["storage", where],
            ["log head", `position ${s.headPosition}`],
            ["read models", `position ${s.projectionCheckpoint}`],
            ["migrations", s.migrations.join(", ")]
          ])
      })
    )
  })).pipe(Command.withDescription("Where the data lives and where the log stands"))

const db = Command.make("db").pipe(
  Command.withDescription("Database maintenance"),
  Command.withSubcommands([migrateCommand, status])
)

const rebuild = Command.make("rebuild", {}, () =>
  withTerrarium(
    () => Terrarium.use((t) => t.rebuildProjections),
    (position) => ({ data: { position }, table: () => `Read models rebuilt from the log up to position ${position}` })
  )).pipe(Command.withDescription("Rebuild every read model from position 0 of the log"))

const projections = Command.make("projections").pipe(
  Command.withDescription("Read models derived from the log"),
  Command.withSubcommands([rebuild])
)

/**
 * The whole command tree.
 *
 * @since 0.1.0
 * @category commands
 */
export const terrarium = root.pipe(Command.withSubcommands([environment, audit, db, projections]))

/**
 * The framework prints help for `--help`, and its version; a command line it cannot parse is
 * reported by the caller of `run` as one line (`Diagnostics.ts`), without the help text.
 */
const presenter: CliOutput.Presenter = {
  present: (event) => (event._tag === "InvalidInvocation" ? Effect.void : CliOutput.defaultPresenter.present(event))
}

/**
 * Runs the CLI on the given arguments (without `node` and the script path).
 *
 * @since 0.1.0
 * @category running
 */
export const run = (args: ReadonlyArray<string>) =>
  Command.runWith(terrarium, { version: "0.1.0" })(args).pipe(Effect.provide(CliOutput.layerPresenter(presenter)))
