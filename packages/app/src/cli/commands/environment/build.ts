/**
 * `terrarium environment build REF [--follow] [--no-cache] [--cancel]`: build a version's image, or
 * answer at once from the cache when its hash is built; on PostgreSQL the build is queued for
 * `terrarium worker` and followed. `--cancel` cancels the hash's queued or running build. Progress goes to stderr (a line per step on a
 * terminal, plain lines otherwise; `--follow` adds the build's log lines), the answer to stdout.
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { referenceFlags, referenceOf } from "../../ReferenceFlags.ts"
import * as RenderImages from "../../RenderImages.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.2.0
 * @category commands
 */
export const build = Command.make("build", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME, NAME:VERSION or NAME@LABEL (or --name NAME --version VERSION)"), Argument.optional),
  ...referenceFlags,
  follow: Flag.Boolean("follow").pipe(Flag.withDescription("Show the build's log lines as they come"), Flag.withDefault(false)),
  noCache: Flag.Boolean("no-cache").pipe(Flag.withDescription("Build again, reusing no layer (records any drift of the resolved packages)"), Flag.withDefault(false)),
  cancel: Flag.Boolean("cancel").pipe(Flag.withDescription("Cancel the queued or running build of the version's hash instead"), Flag.withDefault(false))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const ref = yield* referenceOf(input.ref, input)
        const options = { terminal: process.stderr.isTTY === true, follow: input.follow }
        if (input.cancel) return yield* Terrarium.use((t) => t.cancelBuild({ workspace: flags.workspace, ref }))
        return yield* Terrarium.use((t) =>
          t.build({
            workspace: flags.workspace, ref, noCache: input.noCache, follow: input.follow,
            onUpdate: (update) => Effect.sync(() => {
              const text = RenderImages.progressText(update, options)
              if (text !== "") process.stderr.write(text)
            })
          })
        )
      }),
    (r) => ({ data: r, table: () => ("cancelledJobs" in r ? RenderImages.cancelledBuild(r) : RenderImages.buildResult(r)) })
  )).pipe(Command.withDescription("Build a version's image (answers from the cache when its hash is built)"))
