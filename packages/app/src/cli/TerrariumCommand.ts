/**
 * The root `terrarium` command and what every command under it shares: the flags that choose
 * the workspace, the database and the output format, and `withTerrarium`, which opens the
 * configured database (embedded PGlite by default, PostgreSQL with `--database-url` /
 * `TERRARIUM_DATABASE_URL`), runs migrations if needed, does a command's work and prints the
 * result as a table, JSON or YAML (`--output`).
 *
 * @since 0.1.0
 */
import { EnvironmentName } from "@terrarium/domain"
import { Console, Effect, type FileSystem, Option, type Path } from "effect"
import { Command, Flag } from "effect/cli"
import { type AsOf, decodeAsOf } from "../AsOf.ts"
import { ConflictingStorage } from "../Errors.ts"
import { decodeInput, InvalidInput } from "../InvalidInput.ts"
import type { CatalogOptions, StorageOptions } from "../Setup.ts"
import type { Terrarium } from "../Terrarium.ts"
import { UsageError } from "./Diagnostics.ts"
import { type Format, render } from "./Output.ts"
import { progressText } from "./Progress.ts"

/**
 * The `terrarium` command without its subcommands (`Cli.ts` adds them): its flags are shared by
 * every command under it.
 *
 * @since 0.1.0
 * @category commands
 */
export const root = Command.make("terrarium").pipe(
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

/**
 * The root command's flags, as every command reads them.
 *
 * @since 0.1.0
 * @category models
 */
export interface RootFlags {
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
 *
 * @since 0.1.0
 * @category models
 */
export type Spellings = Readonly<Record<string, string | undefined>>

const sharedSpellings: Spellings = {
  workspace: "--workspace",
  databaseUrl: "--database-url",
  databaseSchema: "--database-schema",
  actor: "--actor",
  asOf: "--as-of"
}

/**
 * A library error about one input of the command line, as the usage error it is.
 *
 * @since 0.1.0
 * @category errors
 */
export const asUsageError = (spellings: Spellings) => <E>(error: E): E | UsageError => {
  if (error instanceof ConflictingStorage) {
    return new UsageError({ detail: "--database-url and --data-dir: give a PostgreSQL URL or an embedded data directory, not both" })
  }
  if (!(error instanceof InvalidInput)) return error
  const spelled = spellings[error.field] ?? sharedSpellings[error.field]
  if (spelled === undefined) return error
  const { reason, input } = error
  const detail = new InvalidInput({ field: spelled, reason, ...(input === undefined ? {} : { input }) }).message
  return new UsageError({ detail, field: error.field })
}

/**
 * The composition root, loaded when a command first needs the database: the adapters (Kysely,
 * the drivers, the importers) are most of what a command loads, and `--help` or a usage error
 * needs none of them (the bundle puts them in a chunk of their own).
 *
 * @since 0.1.0
 * @category running
 */
export const loadSetup = Effect.promise(() => import("../Setup.ts"))

/**
 * Where the root flags say the data lives.
 *
 * @since 0.1.0
 * @category flags
 */
export const storageOf = (flags: RootFlags): StorageOptions => ({
  databaseUrl: Option.getOrUndefined(flags.databaseUrl),
  databaseSchema: Option.getOrUndefined(flags.databaseSchema),
  dataDir: Option.getOrUndefined(flags.dataDir)
})

/**
 * Runs `f` with the Terrarium service for the root flags, then prints what it returns.
 * `spellings` names the flags this command fills library inputs from.
 *
 * @since 0.1.0
 * @category running
 */
export const withTerrarium = <A, E>(
  // Files (`--file`, `--conda-file`) are read through the FileSystem the executable provides.
  f: (flags: RootFlags) => Effect.Effect<A, E, Terrarium | FileSystem.FileSystem | Path.Path>,
  print: (value: A) => { readonly data: unknown; readonly table: () => string },
  spellings: Spellings = {},
  catalog: CatalogOptions = {}
) =>
  Effect.gen(function*() {
    const flags: RootFlags = yield* root
    const Setup = yield* loadSetup
    const layer = Setup.layer({
      ...storageOf(flags),
      ...catalog,
      caller: Setup.defaultCaller(Option.getOrUndefined(flags.actor)),
      // Another terrarium command has the embedded database open: say what we are waiting for.
      onDataDirectoryBusy: (owner) =>
        process.stderr.write(`terrarium: waiting for process ${owner.pid}, which has the embedded database open\n`),
      // A read after many writes by other processes catches up first: say so when it takes a while.
      catchUpProgress: {
        report: (progress) => {
          const text = progressText(progress, process.stderr.isTTY === true)
          if (text !== undefined) process.stderr.write(text)
        }
      }
    })
    const value = yield* f(flags).pipe(Effect.provide(layer), Effect.mapError(asUsageError(spellings)))
    const shown = print(value)
    const text = render(flags.output, shown.data, shown.table)
    // A command that printed its table as it went (`image logs`) has nothing left to print.
    if (!(flags.output === "table" && text === "")) yield* Console.log(text)
  })

/**
 * An environment name given on the command line to a read (`audit NAME`, `list --name`): one that
 * breaks the naming rule names no environment, and is a wrong command line (`InvalidInput`, field
 * `name`), not an unknown environment.
 *
 * @since 0.1.0
 * @category decoding
 */
export const environmentName = (input: string): Effect.Effect<string, InvalidInput> =>
  decodeInput(EnvironmentName, input, { root: "name" })

/**
 * An optional `--as-of`: `undefined` when not given.
 *
 * @since 0.1.0
 * @category decoding
 */
export const asOf = (input: Option.Option<string>): Effect.Effect<AsOf | undefined, InvalidInput> =>
  Option.isNone(input) ? Effect.succeed(undefined) : decodeAsOf(input.value)
