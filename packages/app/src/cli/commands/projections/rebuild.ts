/**
 * `terrarium projections rebuild`: replay the whole log into every read model.
 *
 * @since 0.1.0
 */
import { Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const rebuild = Command.make("rebuild", {}, () =>
  withTerrarium(
    () => Terrarium.use((t) => t.rebuildProjections),
    (position) => ({ data: { position }, table: () => `Read models rebuilt from the log up to position ${position}` })
  )).pipe(Command.withDescription("Rebuild every read model from position 0 of the log"))
