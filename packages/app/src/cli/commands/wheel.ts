/**
 * `terrarium wheel`: private wheels, uploaded once and listed by definitions as pip dependencies
 * (docs/images.md, "Private wheels"); one module per command under `wheel/`.
 *
 * @since 0.3.0
 */
import { Command } from "effect/cli"
import { upload } from "./wheel/upload.ts"

/**
 * @since 0.3.0
 * @category commands
 */
export const wheel = Command.make("wheel").pipe(
  Command.withDescription("Private wheels: upload one, list its reference as a pip dependency"),
  Command.withSubcommands([upload])
)
