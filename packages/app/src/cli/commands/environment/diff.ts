/**
 * `terrarium environment diff`: what changed between two versions.
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
export const diff = Command.make("diff", {
  from: Argument.String("from").pipe(Argument.withDescription("NAME:VERSION or NAME@LABEL")),
  to: Argument.String("to").pipe(Argument.withDescription("NAME:VERSION or NAME@LABEL"))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const from = yield* decodeRef(input.from)
        const to = yield* decodeRef(input.to)
        return yield* Terrarium.use((t) => t.diff({ workspace: flags.workspace, from, to }))
      }),
    (d) => ({ data: d, table: () => Render.diff(d) })
  )).pipe(Command.withDescription("Semantic diff of two versions: packages, channels, docker, variables"))
