/**
 * `terrarium environment set-variable`: set or unset an environment variable in an
 * environment's draft.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { UsageError } from "../../Diagnostics.ts"
import * as Render from "../../Render.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const setVariable = Command.make("set-variable", {
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
