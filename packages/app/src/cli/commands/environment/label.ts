/**
 * `terrarium environment label`: point a label at a version.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import * as Render from "../../Render.ts"
import { decodeRef } from "../../../EnvironmentRef.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const label = Command.make("label", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME:VERSION or NAME@LABEL")),
  label: Argument.String("label").pipe(Argument.withDescription("The label to point at it, e.g. prod"))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const r = yield* decodeRef(input.ref)
        return yield* Terrarium.use((t) => t.label({ workspace: flags.workspace, ref: r, label: input.label }))
      }),
    (v) => ({ data: v, table: () => Render.version(v) })
  )).pipe(Command.withDescription("Point a label (NAME@LABEL) at a version; moves are recorded, so past meanings stay answerable"))
