/**
 * `terrarium environment show`: one version with its full definition, now or as of a past moment.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { AS_OF_FORMS } from "../../../AsOf.ts"
import { Terrarium } from "../../../Terrarium.ts"
import * as Render from "../../Render.ts"
import * as RenderImages from "../../RenderImages.ts"
import { referenceFlags, referenceOf } from "../../ReferenceFlags.ts"
import { asOf, withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const show = Command.make("show", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME, NAME:VERSION or NAME@LABEL (or --name NAME --version VERSION)"), Argument.optional),
  ...referenceFlags,
  asOf: Flag.String("as-of").pipe(Flag.withDescription(`What the reference meant then: ${AS_OF_FORMS}`), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const r = yield* referenceOf(input.ref, input)
        const at = yield* asOf(input.asOf)
        return yield* Terrarium.use((t) =>
          Effect.gen(function*() {
            const version = yield* t.show({ workspace: flags.workspace, ref: r, asOf: at })
            // The image is as it is now: the cache keeps no past states to show as of a moment.
            const image = at === undefined ? (yield* t.imageStatus(version.canonicalHash)) ?? null : undefined
            return { version, image }
          })
        )
      }),
    ({ version, image }) => ({
      data: image === undefined ? version : { ...version, image },
      table: () => image === undefined ? Render.version(version) : `${Render.version(version)}\n${RenderImages.imageLines(image ?? undefined)}`
    })
  )).pipe(
    Command.withDescription(
      "Show one version with its full definition, and whether its image is built, building or failed. This is a display: " +
        "--output yaml or json prints the version as Terrarium holds it, " +
        "which no tool imports as an environment file. To write a file that imports again (AzureML v2 or v1, conda, requirements, " +
        "Dockerfile), use: terrarium environment export REF --format FORMAT --out DIR"
    )
  )
