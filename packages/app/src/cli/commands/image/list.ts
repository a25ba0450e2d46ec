/**
 * `terrarium image list`: every image of the cache (one per canonical hash), built, building or failed.
 *
 * @since 0.2.0
 */
import { Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import * as RenderImages from "../../RenderImages.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.2.0
 * @category commands
 */
export const list = Command.make("list", {}, () =>
  withTerrarium(
    () => Terrarium.use((t) => t.images),
    (rows) => ({ data: rows, table: () => RenderImages.images(rows) })
  )).pipe(Command.withDescription("List the images of the cache, one per canonical hash"))
