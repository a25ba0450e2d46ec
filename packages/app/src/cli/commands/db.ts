/**
 * `terrarium db`: database maintenance, one module per command under `db/`.
 *
 * @since 0.1.0
 */
import { Command } from "effect/cli"
import { migrate } from "./db/migrate.ts"
import { status } from "./db/status.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const db = Command.make("db").pipe(
  Command.withDescription("Database maintenance"),
  Command.withSubcommands([migrate, status])
)
