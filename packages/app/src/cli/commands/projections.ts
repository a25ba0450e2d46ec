/**
 * `terrarium projections`: the read models derived from the log, one module per command under
 * `projections/`.
 *
 * @since 0.1.0
 */
import { Command } from "effect/cli"
import { rebuild } from "./projections/rebuild.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const projections = Command.make("projections").pipe(
  Command.withDescription("Read models derived from the log"),
  Command.withSubcommands([rebuild])
)
