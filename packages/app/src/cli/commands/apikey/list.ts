/**
 * `terrarium apikey list [--workspace W]`: the keys (never the keys themselves), of a workspace
 * when `--workspace` is given, else of every workspace.
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { table } from "../../Output.ts"
import { withApiKeys } from "./ApiKeyCommand.ts"

/** @since 0.4.0 @category commands */
export const list = Command.make("list", {
  all: Flag.Boolean("all-workspaces").pipe(Flag.withDescription("The keys of every workspace"), Flag.withDefault(false))
}, (input) =>
  withApiKeys(
    (keys, flags) => keys.list({ workspace: input.all ? undefined : flags.workspace }),
    (rows) => ({
      data: rows,
      table: () =>
        table(rows, [
          { header: "ID", value: (r) => r.id },
          { header: "WORKSPACE", value: (r) => r.workspace },
          { header: "CREATED", value: (r) => r.createdAt.toISOString() },
          { header: "BY", value: (r) => r.createdBy },
          { header: "REVOKED", value: (r) => r.revokedAt?.toISOString() ?? "" },
          { header: "DESCRIPTION", value: (r) => r.description ?? "" }
        ])
    })
  ).pipe(Effect.asVoid)).pipe(Command.withDescription("List the API keys (never the keys themselves)"))
