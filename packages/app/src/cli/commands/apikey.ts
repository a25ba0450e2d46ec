/**
 * `terrarium apikey`: the keys of the HTTP API (`terrarium serve`), one module per command.
 *
 * @since 0.4.0
 */
import { Command } from "effect/cli"
import { create } from "./apikey/create.ts"
import { list } from "./apikey/list.ts"
import { revoke } from "./apikey/revoke.ts"

/** @since 0.4.0 @category commands */
export const apikey = Command.make("apikey").pipe(
  Command.withDescription("API keys of the HTTP API (terrarium serve)"),
  Command.withSubcommands([create, list, revoke])
)
