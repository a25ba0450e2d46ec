/**
 * `terrarium environment clone SOURCE NEW`: start a new environment from a copy of another's
 * version (a curated one, or any other), as a draft to customise and then register.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { decodeRef } from "../../../EnvironmentRef.ts"
import { Terrarium } from "../../../Terrarium.ts"
import * as Render from "../../Render.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const clone = Command.make("clone", {
  source: Argument.String("source").pipe(Argument.withDescription("What to copy: NAME, NAME:VERSION or NAME@LABEL (curated or not)")),
  name: Argument.String("new").pipe(Argument.withDescription("The new environment's name")),
  sourceWorkspace: Flag.String("source-workspace").pipe(
    Flag.withDescription("The workspace SOURCE is in (default: --workspace; a curated SOURCE is read from the catalog)"),
    Flag.optional
  )
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const source = yield* decodeRef(input.source)
        return yield* Terrarium.use((t) =>
          t.clone({ workspace: flags.workspace, source, name: input.name, sourceWorkspace: Option.getOrUndefined(input.sourceWorkspace) })
        )
      }),
    (c) => ({ data: c, table: () => Render.clone(c) }),
    { sourceWorkspace: "--source-workspace", name: "NEW" }
  )).pipe(
    Command.withDescription("Start a new environment from a copy of another's version (a draft: add packages, then register)"),
    Command.withExamples([
      {
        command: "terrarium environment clone AzureML-sklearn-1.5 my-sklearn",
        description: "Customise a curated environment: then add-package my-sklearn --pip …, register my-sklearn"
      }
    ])
  )
