/**
 * `terrarium image show REF|HASH`: the image of a version's hash: built, building or failed,
 * what it holds, any drift, and the builds before the last one (kept by `image refresh`).
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import * as RenderImages from "../../RenderImages.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"
import { imageTargetInput, imageTargetOf } from "./ImageTargetArgument.ts"

/**
 * @since 0.2.0
 * @category commands
 */
export const show = Command.make("show", imageTargetInput, (input) =>
  withTerrarium(
    (flags) =>
      Effect.flatMap(imageTargetOf(input), (target) =>
        Terrarium.use((t) =>
          Effect.flatMap(t.image({ workspace: flags.workspace, target }), (row) =>
            Effect.map(t.previousBuilds(row.canonicalHash), (previousBuilds) => ({ row, previousBuilds })))
        )),
    // The row's fields as before, and the builds before the last one (`previousBuilds`, since 0.3.0).
    ({ row, previousBuilds }) => ({ data: { ...row, previousBuilds }, table: () => RenderImages.imageWithHistory(row, previousBuilds) })
  )).pipe(Command.withDescription("Show the image of a version or a canonical hash"))
