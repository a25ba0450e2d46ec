/**
 * `terrarium environment label`: point a label at a version.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { UsageError } from "../../Diagnostics.ts"
import * as Render from "../../Render.ts"
import { referenceFlags, referenceOf } from "../../ReferenceFlags.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const label = Command.make("label", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME:VERSION or NAME@LABEL (or --name NAME --version VERSION)"), Argument.optional),
  ...referenceFlags,
  label: Argument.String("label").pipe(Argument.withDescription("The label to point at it, e.g. prod"), Argument.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        // With --name the one argument left is the label, which the parser put in the first place.
        const [refArgument, labelArgument] = Option.isSome(input.name) && Option.isNone(input.label)
          ? [Option.none<string>(), input.ref]
          : [input.ref, input.label]
        const r = yield* referenceOf(refArgument, input)
        if (Option.isNone(labelArgument)) return yield* new UsageError({ detail: "Missing required argument: label" })
        const label = labelArgument.value
        return yield* Terrarium.use((t) => t.label({ workspace: flags.workspace, ref: r, label }))
      }),
    (v) => ({ data: v, table: () => Render.version(v) })
  )).pipe(Command.withDescription("Point a label (NAME@LABEL) at a version; moves are recorded, so past meanings stay answerable"))
