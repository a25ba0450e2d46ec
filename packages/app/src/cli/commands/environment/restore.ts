/**
 * `terrarium environment restore`: bring an archived version back.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import * as Render from "../../Render.ts"
import { referenceFlags, referenceOf } from "../../ReferenceFlags.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const restore = Command.make("restore", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME:VERSION or NAME@LABEL (or --name NAME --version VERSION)"), Argument.optional),
  ...referenceFlags
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const r = yield* referenceOf(input.ref, input)
        return yield* Terrarium.use((t) => t.restore({ workspace: flags.workspace, ref: r }))
      }),
    (v) => ({ data: v, table: () => Render.version(v) })
  )).pipe(Command.withDescription("Restore an archived version"))
