/**
 * `terrarium image show REF|HASH`: the image of a version's hash: built, building or failed,
 * what it holds, and any drift.
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
    (flags) => Effect.flatMap(imageTargetOf(input), (target) => Terrarium.use((t) => t.image({ workspace: flags.workspace, target }))),
    (row) => ({ data: row, table: () => RenderImages.image(row) })
  )).pipe(Command.withDescription("Show the image of a version or a canonical hash"))
