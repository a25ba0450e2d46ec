/**
 * `terrarium image refresh [REF|HASH…]`: checks each built image's base image in its registry and
 * builds again where the base's tag has moved, keeping the old image under
 * `terrarium/env:<16 hex>-<build id>`. Without REF: every built image that a version of the
 * workspace's environments uses. One line per image on stdout (up to date, rebuilt with the
 * drift, not checkable and why, or failed and why); progress on stderr. Exit code 1 when any
 * image failed, after every image was checked. docs/images.md.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { decodeRef } from "../../../EnvironmentRef.ts"
import { BaseRefreshIncomplete, type BaseRefreshResult, type ImageTarget, Terrarium } from "../../../Terrarium.ts"
import * as RenderImages from "../../RenderImages.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

const HASH = /^sha256:[0-9a-f]{64}$/

/**
 * @since 0.3.0
 * @category commands
 */
export const refresh = Command.make("refresh", {
  refs: Argument.String("ref").pipe(
    Argument.withDescription("NAME, NAME:VERSION, NAME@LABEL or a canonical hash sha256:…; none: every built image the workspace's versions use"),
    Argument.variadic()
  )
}, (input) => {
  let results: ReadonlyArray<BaseRefreshResult> = []
  return withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const targets = yield* Effect.forEach(input.refs, (ref) =>
          HASH.test(ref) ? Effect.succeed<ImageTarget>({ canonicalHash: ref }) : Effect.map(decodeRef(ref), (r): ImageTarget => ({ ref: r })))
        const options = { terminal: process.stderr.isTTY === true }
        results = yield* Terrarium.use((t) =>
          t.refresh({
            workspace: flags.workspace, targets,
            onUpdate: (update) => Effect.sync(() => {
              const text = RenderImages.refreshProgressText(update, options)
              if (text !== "") process.stderr.write(text)
            })
          })
        )
        return results
      }),
    (r) => ({ data: r, table: () => RenderImages.refreshResults(r) })
  ).pipe(Effect.andThen(Effect.suspend(() => {
    // Printed first, failed after: every image's line is out before the exit code says some failed.
    const failed = results.filter((r) => r.outcome === "failed").map((r) => r.image)
    return failed.length === 0 ? Effect.void : Effect.fail(new BaseRefreshIncomplete({ failed, checked: results.length }))
  })))
}).pipe(Command.withDescription("Check built images' base images in their registries and rebuild those whose base moved"))
