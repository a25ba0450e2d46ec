/**
 * `terrarium image logs REF|HASH [--follow]`: the log of the last build of a version's hash,
 * whether it is running, built or failed; `--follow` keeps printing until the build ends. As a
 * table (the default) the lines are printed as they come, control characters escaped; as JSON or
 * YAML they come at the end as `{ lines }`.
 *
 * @since 0.2.0
 */
import { Effect, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { escapeControls } from "../../Output.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"
import { imageTargetInput, imageTargetOf } from "./ImageTargetArgument.ts"

/**
 * @since 0.2.0
 * @category commands
 */
export const logs = Command.make("logs", {
  ...imageTargetInput,
  follow: Flag.Boolean("follow").pipe(Flag.withDescription("Keep printing new lines until the build ends"), Flag.withDefault(false))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const target = yield* imageTargetOf(input)
        const lines = yield* Terrarium.use((t) => Effect.succeed(t.logs({ workspace: flags.workspace, target, follow: input.follow })))
        if (flags.output !== "table") return { lines: yield* Stream.runCollect(lines), printed: false }
        yield* Stream.runForEach(lines, (line) => Effect.sync(() => process.stdout.write(`${escapeControls(line)}\n`)))
        return { lines: [] as ReadonlyArray<string>, printed: true }
      }),
    (r) => ({ data: { lines: r.lines }, table: () => "" })
  )).pipe(Command.withDescription("Print the log of the last build of a version's image (running, built or failed)"))
