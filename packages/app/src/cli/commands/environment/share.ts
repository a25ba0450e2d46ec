/**
 * `terrarium environment share`: copy a version into another workspace, as
 * `az ml environment share` promotes one to a registry. The copy has the same definition and
 * canonical hash; both workspaces' audit trails record the share (a `Shared` event on the source,
 * the copy's registration naming where it came from). The REF is the source, spelt as on every
 * environment command (`NAME:VERSION`, or `--name/-n` and `--version/-v`); the copy's name and
 * version are az ml's `--share-with-name` and `--share-with-version` (default: the same).
 *
 * @since 0.2.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { referenceFlags, referenceOf } from "../../ReferenceFlags.ts"
import * as Render from "../../Render.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.2.0
 * @category commands
 */
export const share = Command.make("share", {
  ref: Argument.String("ref").pipe(
    Argument.withDescription("The version to share: NAME:VERSION or NAME@LABEL (or --name NAME --version VERSION)"),
    Argument.optional
  ),
  ...referenceFlags,
  toWorkspace: Flag.String("to-workspace").pipe(Flag.withDescription("The workspace to copy it into")),
  shareWithName: Flag.String("share-with-name").pipe(Flag.withDescription("Its name there (default: the same name)"), Flag.optional),
  shareWithVersion: Flag.String("share-with-version").pipe(
    Flag.withDescription("Its version there (default: the same version)"),
    Flag.optional
  )
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const ref = yield* referenceOf(input.ref, input)
        return yield* Terrarium.use((t) =>
          t.share({
            workspace: flags.workspace,
            ref,
            toWorkspace: input.toWorkspace,
            shareWithName: Option.getOrUndefined(input.shareWithName),
            shareWithVersion: Option.getOrUndefined(input.shareWithVersion)
          })
        )
      }),
    (s) => ({ data: s, table: () => Render.share(s) }),
    { toWorkspace: "--to-workspace", shareWithName: "--share-with-name", shareWithVersion: "--share-with-version" }
  )).pipe(
    Command.withDescription("Copy a version into another workspace, its provenance recorded in both (as az ml environment share)"),
    Command.withExamples([
      { command: "terrarium environment share pydata:2 --to-workspace team-b", description: "pydata:2 in team-b too, same hash" },
      {
        command: "terrarium environment share -n pydata -v 2 --to-workspace prod --share-with-name pydata-prod --share-with-version 1",
        description: "Under another name and version there"
      }
    ])
  )
