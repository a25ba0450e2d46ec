/**
 * `terrarium environment update`: change the description and tags of a version, as
 * `az ml environment update` does (they are the only mutable properties; the content, and so the
 * canonical hash, never changes). The change is an event: `audit` says who made it, and `--as-of`
 * before it shows the old values.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { UsageError } from "../../Diagnostics.ts"
import { referenceFlags, referenceOf } from "../../ReferenceFlags.ts"
import * as Render from "../../Render.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const update = Command.make("update", {
  ref: Argument.String("ref").pipe(
    Argument.withDescription("NAME:VERSION or NAME@LABEL (or --name NAME --version VERSION)"),
    Argument.optional
  ),
  ...referenceFlags,
  description: Flag.String("description").pipe(Flag.withDescription("The new description"), Flag.optional),
  tag: Flag.KeyValuePair("tag").pipe(Flag.withDescription("Set a tag key=value (repeatable)"), Flag.optional),
  removeTag: Flag.String("remove-tag").pipe(Flag.withDescription("Remove a tag by key (repeatable)"), Flag.atLeast(0))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const ref = yield* referenceOf(input.ref, input)
        const tags = Option.getOrUndefined(input.tag)
        const description = Option.getOrUndefined(input.description)
        if (description === undefined && tags === undefined && input.removeTag.length === 0) {
          return yield* new UsageError({ detail: "nothing to update: give --description, --tag KEY=VALUE or --remove-tag KEY" })
        }
        return yield* Terrarium.use((t) =>
          t.update({ workspace: flags.workspace, ref, description, tags, removeTags: input.removeTag })
        )
      }),
    (v) => ({ data: v, table: () => Render.version(v) }),
    { description: "--description", tags: "--tag", removeTags: "--remove-tag" }
  )).pipe(
    Command.withDescription("Change the description and tags of a version (its content and hash stay)"),
    Command.withExamples([
      { command: "terrarium environment update pydata:1 --description \"Pandas 2\" --tag stage=prod --remove-tag draft", description: "As az ml environment update" }
    ])
  )
