/**
 * The `terrarium` command line, shaped after `az ml environment`.
 *
 * Every command opens the configured database (embedded PGlite by default, PostgreSQL with
 * `--database-url` / `TERRARIUM_DATABASE_URL`), runs migrations if needed, does its work and
 * prints the result as a table, JSON or YAML (`--output`). Failures print one clear line naming
 * the file, field and line where known, and exit non-zero with nothing appended
 * (`Diagnostics.ts` says how, and which exit code means what).
 *
 * This module only assembles the tree: the root command and what its commands share are in
 * `TerrariumCommand.ts`, each command is one module under `commands/`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { CliConfig, CliOutput, Command, GlobalFlag } from "effect/cli"
import { apikey } from "./commands/apikey.ts"
import { audit } from "./commands/audit.ts"
import { curated } from "./commands/curated.ts"
import { db } from "./commands/db.ts"
import { environment } from "./commands/environment.ts"
import { image } from "./commands/image.ts"
import { projections } from "./commands/projections.ts"
import { serve } from "./commands/serve.ts"
import { wheel } from "./commands/wheel.ts"
import { worker } from "./commands/worker.ts"
import { root } from "./TerrariumCommand.ts"

export { UsageError } from "./Diagnostics.ts"

/**
 * The whole command tree.
 *
 * @since 0.1.0
 * @category commands
 */
export const terrarium = root.pipe(Command.withSubcommands([environment, image, wheel, curated, audit, db, projections, worker, serve, apikey]))

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
  Command.runWith(terrarium, { version: "0.1.0" })(args).pipe(
    Effect.provide([CliOutput.layerPresenter(presenter), CliConfig.layer({ builtIns: builtInsFor(args) })])
  )

/**
 * The framework's `--version` / `-v` is global: given to any command that has no flag of that
 * name (`environment show --name pydata --version 1`, the `az ml` spelling), it printed the
 * version and exited 0 with nothing done. It is the product's version only on a command line that
 * names no command (`terrarium --version`); anywhere else a command that takes no `--version`
 * refuses it as the flag it does not know (exit 2).
 */
const builtInsFor = (args: ReadonlyArray<string>): ReadonlyArray<GlobalFlag.BuiltIn> =>
  args.some((arg) => commandNames.has(arg))
    ? GlobalFlag.BuiltIns.filter((flag) => flag !== GlobalFlag.Version)
    : GlobalFlag.BuiltIns

const commandNames: ReadonlySet<string> = new Set(
  terrarium.subcommands.flatMap((group) =>
    group.commands.flatMap((command) => command.alias === undefined ? [command.name] : [command.name, command.alias])
  )
)
