/**
 * `terrarium environment list`: the environments of a workspace, the versions of one, or the
 * curated catalog.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { AS_OF_FORMS } from "../../../AsOf.ts"
import { Terrarium } from "../../../Terrarium.ts"
import { UsageError } from "../../Diagnostics.ts"
import * as Render from "../../Render.ts"
import { asOf, environmentName, withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const list = Command.make("list", {
  name: Flag.String("name").pipe(Flag.withAlias("n"), Flag.withDescription("Show the versions of this environment"), Flag.optional),
  archived: Flag.Boolean("archived").pipe(Flag.withDescription("Include archived versions"), Flag.withDefault(false)),
  curated: Flag.Boolean("curated").pipe(
    Flag.withDescription("List the curated catalog (AzureML- environments, shipped with Terrarium, read-only: clone one to customise it)"),
    Flag.withDefault(false)
  ),
  asOf: Flag.String("as-of").pipe(Flag.withDescription(`The environments (or versions) as they were then: ${AS_OF_FORMS}`), Flag.optional)
}, ({ name, archived, curated, asOf: asOfText }) =>
  curated
    ? Option.isSome(name) || archived || Option.isSome(asOfText)
      // The catalog is one list of every curated environment at its latest version: rather than
      // ignore these, say how to ask for what they mean.
      ? Effect.fail(new UsageError({
        detail: "--curated lists the whole curated catalog as it is now and takes none of --name, --archived, --as-of; " +
          "the versions of a curated environment: terrarium environment list --name AzureML-NAME"
      }))
      : withTerrarium(
        () => Terrarium.use((t) => t.curatedCatalog),
        (rows) => ({ data: rows, table: () => Render.catalog(rows) })
      )
    : Option.match(name, {
      onNone: () =>
        withTerrarium(
          (flags) =>
            Effect.flatMap(asOf(asOfText), (at) => Terrarium.use((t) => t.environments({ workspace: flags.workspace, includeArchived: archived, asOf: at }))),
          (rows) => ({ data: rows, table: () => Render.environments(rows) })
        ),
      onSome: (name) =>
        withTerrarium(
          (flags) =>
            Effect.all([environmentName(name), asOf(asOfText)]).pipe(Effect.flatMap(([name, at]) =>
              Terrarium.use((t) => t.versions({ workspace: flags.workspace, name, includeArchived: archived, asOf: at }))
            )),
          (rows) => ({ data: rows, table: () => Render.versions(rows) }),
          { name: "--name" }
        )
    })).pipe(Command.withDescription("List environments, the versions of one (--name), or the curated catalog (--curated)"))
