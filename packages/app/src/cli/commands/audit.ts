/**
 * `terrarium audit`: who changed what, when, from an environment's events.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { AS_OF_FORMS } from "../../AsOf.ts"
import { Terrarium } from "../../Terrarium.ts"
import { UsageError } from "../Diagnostics.ts"
import * as Render from "../Render.ts"
import { asOf, environmentName, withTerrarium } from "../TerrariumCommand.ts"

/** The name as an argument or as `--name`: one of them, once. */
const nameOf = (argument: Option.Option<string>, flag: Option.Option<string>): Effect.Effect<string, UsageError> =>
  Option.isSome(argument)
    ? Option.isSome(flag)
      ? Effect.fail(new UsageError({ detail: `give the name once: "${argument.value}" or --name ${flag.value}, not both` }))
      : Effect.succeed(argument.value)
    : Option.isSome(flag)
    ? Effect.succeed(flag.value)
    : Effect.fail(new UsageError({ detail: "Missing required argument: name" }))

/**
 * @since 0.1.0
 * @category commands
 */
export const audit = Command.make("audit", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name (or --name NAME)"), Argument.optional),
  nameFlag: Flag.String("name").pipe(Flag.withAlias("n"), Flag.withDescription("Environment name (as az ml spells it)"), Flag.optional),
  asOf: Flag.String("as-of").pipe(Flag.withDescription(`Only events up to then: ${AS_OF_FORMS}`), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const given = yield* nameOf(input.name, input.nameFlag)
        const name = yield* environmentName(given)
        const at = yield* asOf(input.asOf)
        return yield* Terrarium.use((t) => t.audit({ workspace: flags.workspace, name, asOf: at }))
      }),
    (rows) => ({ data: rows, table: () => Render.audit(rows) }),
    Option.isSome(input.nameFlag) ? { name: "--name" } : {}
  )).pipe(Command.withDescription("Who changed what, when: every event of an environment"))
