/**
 * `terrarium apikey revoke ID`: the key opens nothing from now on; a running `serve` that checked
 * it lately stops taking it within `KEY_CACHE_MILLIS` (5 s, `http/ApiKeys.ts`).
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { InvalidInput } from "../../../InvalidInput.ts"
import { withApiKeys } from "./ApiKeyCommand.ts"

/** @since 0.4.0 @category commands */
export const revoke = Command.make("revoke", { id: Argument.String("id").pipe(Argument.withDescription("The key's id (apikey list)")) }, (input) =>
  withApiKeys(
    (keys) =>
      Effect.flatMap(keys.revoke(input.id), (revoked) =>
        revoked ? Effect.succeed({ id: input.id, revoked }) : Effect.fail(new InvalidInput({ field: "id", input: input.id, reason: "no such key, or it is revoked already" }))),
    (r) => ({ data: r, table: () => `revoked ${r.id}` }),
    { id: "ID" }
  ).pipe(Effect.asVoid)).pipe(Command.withDescription("Revoke an API key"))
