/**
 * `terrarium curated`: the curated catalog that ships with Terrarium, one module per command
 * under `curated/` (the catalog itself is listed by `environment list --curated`).
 *
 * @since 0.1.0
 */
import { Command } from "effect/cli"
import { sync } from "./curated/sync.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const curated = Command.make("curated").pipe(
  Command.withDescription("The curated catalog that ships with Terrarium (list it with: environment list --curated)"),
  Command.withSubcommands([sync])
)
