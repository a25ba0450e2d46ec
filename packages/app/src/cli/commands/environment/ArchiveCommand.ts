/**
 * What `archive` and `restore` share: one reference that is either a whole environment (`NAME`,
 * or `--name NAME` alone) or one version (`NAME:VERSION`, `NAME@LABEL`), and the use case for each.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import type { EnvironmentRef } from "../../../EnvironmentRef.ts"
import type { EnvironmentArchive, EnvironmentVersion } from "../../../Results.ts"
import { Terrarium } from "../../../Terrarium.ts"
import type { TerrariumError } from "../../../Errors.ts"
import * as Render from "../../Render.ts"
import { environmentOrReference, referenceFlags } from "../../ReferenceFlags.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * An `archive`-like command: `onEnvironment` for a whole environment, `onVersion` for one version.
 *
 * @since 0.1.0
 * @category commands
 */
export const archiveCommand = (
  name: string,
  description: string,
  onEnvironment: (t: Terrarium["Service"], scope: { readonly workspace: string; readonly name: string }) => Effect.Effect<EnvironmentArchive, TerrariumError>,
  onVersion: (t: Terrarium["Service"], scope: { readonly workspace: string; readonly ref: EnvironmentRef }) => Effect.Effect<EnvironmentVersion, TerrariumError>
) =>
  Command.make(name, {
    ref: Argument.String("ref").pipe(
      Argument.withDescription("NAME (the whole environment), NAME:VERSION or NAME@LABEL (or --name NAME [--version VERSION])"),
      Argument.optional
    ),
    ...referenceFlags
  }, (input) =>
    withTerrarium(
      (flags) =>
        Effect.gen(function*() {
          const target = yield* environmentOrReference(input.ref, input)
          const terrarium = yield* Terrarium
          return target._tag === "Environment"
            ? yield* onEnvironment(terrarium, { workspace: flags.workspace, name: target.name })
            : yield* onVersion(terrarium, { workspace: flags.workspace, ref: target.ref })
        }),
      (v) => ({ data: v, table: () => ("version" in v ? Render.version(v) : Render.environmentArchive(v)) })
    )).pipe(Command.withDescription(description))
