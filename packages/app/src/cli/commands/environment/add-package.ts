/**
 * `terrarium environment add-package`: add or re-pin a pip or conda package in an environment's
 * draft.
 *
 * @since 0.1.0
 */
import type { PackageSpec } from "@terrarium/domain"
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { UsageError } from "../../Diagnostics.ts"
import * as Render from "../../Render.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

// The spec parsers come with the adapters, which only the commands that need them load.
const spec = (manager: "pip" | "conda", text: string, where: string): Effect.Effect<PackageSpec, UsageError> =>
  Effect.promise(() => import("../../../Input.ts")).pipe(
    Effect.flatMap(({ decodePackageSpec }) => decodePackageSpec(manager, text)),
    Effect.mapError((e) => new UsageError({ detail: `${where}: ${e.message}` }))
  )

/**
 * @since 0.1.0
 * @category commands
 */
export const addPackage = Command.make("add-package", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name")),
  pip: Flag.String("pip").pipe(Flag.withDescription("A pip requirement (PEP 508), e.g. 'numpy>=1.26'"), Flag.optional),
  conda: Flag.String("conda").pipe(Flag.withDescription("A conda MatchSpec, e.g. 'python=3.11'"), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const parsed = Option.isSome(input.pip) && Option.isNone(input.conda)
          ? yield* spec("pip", input.pip.value, "--pip")
          : Option.isSome(input.conda) && Option.isNone(input.pip)
          ? yield* spec("conda", input.conda.value, "--conda")
          : yield* new UsageError({ detail: "give exactly one of --pip SPEC or --conda SPEC" })
        return yield* Terrarium.use((t) => t.addPackage({ workspace: flags.workspace, name: input.name, spec: parsed }))
      }),
    (d) => ({ data: d, table: () => Render.draft(d) })
  )).pipe(Command.withDescription("Add (or re-pin) a package in the draft; 'register' makes it a version"))
