/**
 * `terrarium environment restore`: bring an archived environment (`NAME`) or version back.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import * as Render from "../../Render.ts"
import { environmentOrReference, referenceFlags } from "../../ReferenceFlags.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const restore = Command.make("restore", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME (the whole environment), NAME:VERSION or NAME@LABEL (or --name NAME [--version VERSION])"), Argument.optional),
  ...referenceFlags
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const target = yield* environmentOrReference(input.ref, input)
        return target._tag === "Environment"
          ? yield* Terrarium.use((t) => t.restoreEnvironment({ workspace: flags.workspace, name: target.name }))
          : yield* Terrarium.use((t) => t.restore({ workspace: flags.workspace, ref: target.ref }))
      }),
    (v) => ({ data: v, table: () => ("version" in v ? Render.version(v) : Render.environmentArchive(v)) })
  )).pipe(Command.withDescription("Restore an archived environment (NAME) or version (NAME:VERSION)"))
