/**
 * The one error of the package-spec parsers: the text that could not be read and why.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A package spec (pip requirement or conda MatchSpec) that could not be parsed.
 * `message` is complete on its own (`invalid pip requirement "numpy=>1": …`), so importers can
 * prefix it with a file and line and show it unchanged.
 *
 * @since 0.1.0
 * @category errors
 */
export class SpecError extends Schema.TaggedError<SpecError>()("SpecError", {
  /** Which parser rejected the text. */
  manager: Schema.Literals(["pip", "conda"]),
  /** The offending text, trimmed. */
  text: Schema.String,
  message: Schema.String
}) {
  override toString(): string {
    return this.message
  }
}
