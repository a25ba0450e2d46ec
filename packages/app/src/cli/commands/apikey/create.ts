/**
 * `terrarium apikey create --workspace W [--description TEXT]`: a key of the HTTP API that opens
 * workspace W. The key is printed once and stored only as its SHA-256.
 *
 * @since 0.4.0
 */
import { Effect, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import { fields } from "../../Output.ts"
import { withApiKeys } from "./ApiKeyCommand.ts"

/** @since 0.4.0 @category commands */
export const create = Command.make("create", {
  description: Flag.String("description").pipe(Flag.withDescription("What the key is for"), Flag.optional)
}, (input) =>
  withApiKeys(
    (keys, flags, actor) =>
      keys.create({ workspace: flags.workspace, actor, description: input.description._tag === "Some" ? input.description.value : undefined }),
    (made) => ({
      data: { id: made.id, workspace: made.workspace, key: Redacted.value(made.key), description: made.description, createdAt: made.createdAt },
      table: () =>
        fields([
          ["id", made.id],
          ["workspace", made.workspace],
          ["key", Redacted.value(made.key)]
        ]) + "\nThe key is shown this once: keep it now (send it as Authorization: Bearer KEY or api-key: KEY)."
    })
  ).pipe(Effect.asVoid)).pipe(Command.withDescription("Make an API key of a workspace (shown once)"))
