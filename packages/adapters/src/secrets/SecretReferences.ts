/**
 * Secret references (`env:NAME`, `file:PATH`) resolved into `Redacted` values at the moment of
 * use, for any adapter that holds one. The value never reaches a message: a failure names only
 * the reference.
 *
 * @since 0.3.0
 */
import { Config, Effect, Option, Redacted } from "effect"
import { readFile } from "node:fs/promises"

/**
 * The secret `reference` names, or `None` when it cannot be had (a variable unset, a file
 * unreadable, a scheme this process cannot resolve such as `keyvault:`). A file's one trailing
 * newline is not part of the secret.
 *
 * @since 0.3.0
 */
export const resolveSecretReference = (reference: string): Effect.Effect<Option.Option<Redacted.Redacted<string>>> => {
  const colon = reference.indexOf(":")
  const scheme = reference.slice(0, colon)
  const rest = reference.slice(colon + 1)
  if (colon > 0 && rest.length > 0 && scheme === "env") {
    return Config.Redacted(rest).pipe(Effect.option)
  }
  if (colon > 0 && rest.length > 0 && scheme === "file") {
    return Effect.tryPromise(() => readFile(rest, "utf8")).pipe(
      Effect.map((text) => Option.some(Redacted.make(text.replace(/\r?\n$/, "")))),
      Effect.orElseSucceed(() => Option.none())
    )
  }
  return Effect.succeed(Option.none())
}
