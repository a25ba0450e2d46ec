/**
 * `terrarium environment remove-package`: remove a pip or conda package from an environment's
 * draft.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { UsageError } from "../../Diagnostics.ts"
import * as Render from "../../Render.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const removePackage = Command.make("remove-package", {
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
