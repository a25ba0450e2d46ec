/**
 * `--as-of` accepts a log position (a whole number) or a point in time (ISO 8601, or anything
 * `Date` parses unambiguously such as `2026-03-03` or `2026-03-03T12:00:00Z`).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** @since 0.1.0 @category model */
export type AsOf = { readonly position: number } | { readonly time: Date }

/** @since 0.1.0 @category errors */
export class InvalidAsOf extends Schema.TaggedError<InvalidAsOf>()("InvalidAsOf", { input: Schema.String }) {
  override get message() {
    return `invalid --as-of "${this.input}": give a log position (e.g. 42) or a time (e.g. 2026-03-03 or 2026-03-03T12:00:00Z)`
  }
}

/** @since 0.1.0 @category parsing */
export const parseAsOf = (input: string): AsOf | InvalidAsOf => {
  const text = input.trim()
  if (/^\d+$/.test(text)) return { position: Number(text) }
  // Date-only input means the end of that day in UTC: "what did it mean on 3 March".
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text)
  const time = new Date(dateOnly ? `${text}T23:59:59.999Z` : text)
  return Number.isNaN(time.getTime()) ? new InvalidAsOf({ input }) : { time }
}
