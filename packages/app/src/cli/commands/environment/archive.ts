/**
 * `terrarium environment archive`: archive a whole environment (`NAME`, as AzureML) or
 * retire one version from `latest`, keeping either resolvable by exact version.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import * as Render from "../../Render.ts"
import { environmentOrReference, referenceFlags } from "../../ReferenceFlags.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const archive = Command.make("archive", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME (the whole environment), NAME:VERSION or NAME@LABEL (or --name NAME [--version VERSION])"), Argument.optional),
  ...referenceFlags
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const target = yield* environmentOrReference(input.ref, input)
        return target._tag === "Environment"
          ? yield* Terrarium.use((t) => t.archiveEnvironment({ workspace: flags.workspace, name: target.name }))
          : yield* Terrarium.use((t) => t.archive({ workspace: flags.workspace, ref: target.ref }))
      }),
    (v) => ({ data: v, table: () => ("version" in v ? Render.version(v) : Render.environmentArchive(v)) })
  )).pipe(Command.withDescription("Archive a whole environment (NAME: hidden from list, new versions start archived) or one version (NAME:VERSION): still resolvable by exact version, never latest"))
