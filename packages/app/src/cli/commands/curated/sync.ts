/**
 * `terrarium curated sync`: publish the curated catalog this Terrarium ships into the database
 * (done by itself on the first start of a release; this says what it did).
 *
 * @since 0.1.0
 */
import { Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import * as Render from "../../Render.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const sync = Command.make("sync", {
  force: Flag.Boolean("force").pipe(
    Flag.withDescription("Compare every version of the catalog again, even if this release is recorded as published"),
    Flag.withDefault(false)
  )
}, (input) =>
  withTerrarium(
    () => Terrarium.use((t) => t.syncCurated({ force: input.force })),
    (s) => ({ data: s, table: () => Render.catalogSync(s) }),
    {},
    // This command publishes the catalog itself, to report what it did.
    { curatedCatalog: false }
  )).pipe(Command.withDescription("Publish the curated catalog this Terrarium ships (adds versions, never rewrites one)"))
