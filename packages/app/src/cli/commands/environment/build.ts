/**
 * `terrarium environment build REF [--follow] [--no-cache] [--cancel] [--push [--registry HOST[:PORT]/REPO]]`:
 * build a version's image, or answer at once from the cache when its hash is built (or pull it by
 * digest from a registry it was pushed to, when this engine lacks it), and push it with `--push`
 * (docs/images.md); on PostgreSQL the build is queued for
 * `terrarium worker` and followed. `--cancel` cancels the hash's queued or running build. Progress goes to stderr (a line per step on a
 * terminal, plain lines otherwise; `--follow` adds the build's log lines), the answer to stdout.
 *
 * @since 0.2.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { InvalidInput } from "../../../InvalidInput.ts"
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
  cancel: Flag.Boolean("cancel").pipe(Flag.withDescription("Cancel the queued or running build of the version's hash instead"), Flag.withDefault(false)),
  push: Flag.Boolean("push").pipe(
    Flag.withDescription("Push the image (built or cached) to --registry, else to TERRARIUM_REGISTRY, and record its digest"),
    Flag.withDefault(false)
  ),
  registry: Flag.String("registry").pipe(
    Flag.withDescription("HOST[:PORT]/REPOSITORY to push to (with --push); credentials: TERRARIUM_REGISTRY_USERNAME/PASSWORD by reference"),
    Flag.optional
  )
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const ref = yield* referenceOf(input.ref, input)
        const options = { terminal: process.stderr.isTTY === true, follow: input.follow }
        if (input.cancel) return yield* Terrarium.use((t) => t.cancelBuild({ workspace: flags.workspace, ref }))
        if (Option.isSome(input.registry) && !input.push) {
          return yield* new InvalidInput({ field: "--registry", reason: "says where --push pushes to; add --push" })
        }
        const registry = Option.getOrUndefined(input.registry)
        return yield* Terrarium.use((t) =>
          t.build({
            workspace: flags.workspace, ref, noCache: input.noCache, follow: input.follow,
            push: input.push ? { registry } : undefined,
            onUpdate: (update) => Effect.sync(() => {
              const text = RenderImages.progressText(update, options)
              if (text !== "") process.stderr.write(text)
            })
          })
        )
      }),
    (r) => ({ data: r, table: () => ("cancelledJobs" in r ? RenderImages.cancelledBuild(r) : RenderImages.buildResult(r)) })
  )).pipe(Command.withDescription("Build a version's image (answers from the cache when its hash is built)"))
