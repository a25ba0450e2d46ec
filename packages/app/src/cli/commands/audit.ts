/**
 * `terrarium audit`: who changed what, when, from an environment's events.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { AS_OF_FORMS } from "../../AsOf.ts"
import { Terrarium } from "../../Terrarium.ts"
import * as Render from "../Render.ts"
import { asOf, environmentName, withTerrarium } from "../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const audit = Command.make("audit", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name")),
  asOf: Flag.String("as-of").pipe(Flag.withDescription(`Only events up to then: ${AS_OF_FORMS}`), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const name = yield* environmentName(input.name)
        const at = yield* asOf(input.asOf)
        return yield* Terrarium.use((t) => t.audit({ workspace: flags.workspace, name, asOf: at }))
      }),
    (rows) => ({ data: rows, table: () => Render.audit(rows) })
  )).pipe(Command.withDescription("Who changed what, when: every event of an environment"))
