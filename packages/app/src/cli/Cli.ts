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
import { CliOutput, Command } from "effect/cli"
import { audit } from "./commands/audit.ts"
import { db } from "./commands/db.ts"
import { environment } from "./commands/environment.ts"
import { projections } from "./commands/projections.ts"
import { root } from "./TerrariumCommand.ts"

export { UsageError } from "./Diagnostics.ts"

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
