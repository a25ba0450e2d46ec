/**
 * `terrarium image`: the images built from registered versions, one per canonical hash, one
 * module per command under `image/`. (`environment build` builds them.)
 *
 * @since 0.2.0
 */
import { Command } from "effect/cli"
import { list } from "./image/list.ts"
import { logs } from "./image/logs.ts"
import { refresh } from "./image/refresh.ts"
import { show } from "./image/show.ts"

/**
 * @since 0.2.0
 * @category commands
 */
export const image = Command.make("image").pipe(
  Command.withDescription("The images built from registered versions (one per canonical hash)"),
  Command.withSubcommands([list, show, logs, refresh])
)
