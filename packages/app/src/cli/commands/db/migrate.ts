/**
 * `terrarium db migrate`: apply pending migrations and list them all.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const migrate = Command.make("migrate", {}, () =>
  withTerrarium(
    () => Terrarium.use((t) => Effect.map(t.migrations, (migrations) => ({ applied: t.appliedMigrations, migrations }))),
    (result) => ({
      data: result,
      table: () =>
        result.applied.length === 0
          ? `Database already up to date (${result.migrations.length} migrations)`
          : `Applied ${result.applied.length} migration${result.applied.length === 1 ? "" : "s"}: ${result.applied.join(", ")}`
    })
  )).pipe(Command.withDescription("Apply pending database migrations (also done automatically on start) and list them"))
