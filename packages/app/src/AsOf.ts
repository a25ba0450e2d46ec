/**
 * `--as-of` (and the library's `asOf`) names a point of the log's history: a log position (a whole
 * number) or a time in ISO 8601, either a date (`2026-03-03`), meaning the **end of that day in
 * UTC** ("what did it mean on 3 March"), or a date-time with a zone (`2026-03-03T12:00:00Z`,
 * `2026-03-03T13:00+01:00`). A date-time without a zone is refused: it would depend on the
 * machine's time zone.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { InvalidInput } from "./InvalidInput.ts"

/** @since 0.1.0 @category model */
export type AsOf = { readonly position: number } | { readonly time: Date }

const POSITION = /^\d+$/
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/i

/**
 * The forms an as-of point takes, in words: for help texts, and the rule a bad one breaks.
 *
 * @since 0.1.0
 * @category parsing
 */
export const AS_OF_FORMS = "a log position (e.g. 42), a date (2026-03-03: the end of that day in UTC) " +
  "or an ISO 8601 date-time with a zone (2026-03-03T12:00:00Z)"

const RULE = `give ${AS_OF_FORMS}`

const POSITION_RULE = `a log position is a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`

/** Beyond 2^53 - 1 a number is no longer exact: it would name another position than the one meant. */
const isPosition = (n: number) => Number.isSafeInteger(n) && n >= 0

/** Whether the fields name a real day and time (`Date` would roll 2026-02-30 over into March). */
const isCalendar = (year: number, month: number, day: number, hour = 0, minute = 0, second = 0, offsetHour = 0, offsetMinute = 0) =>
  month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate() &&
  hour <= 23 && minute <= 59 && second <= 59 && offsetHour <= 23 && offsetMinute <= 59

/**
 * @since 0.1.0
 * @category parsing
 */
export const parseAsOf = (input: string): AsOf | InvalidInput => {
  const text = input.trim()
  const invalid = new InvalidInput({ field: "asOf", input, reason: RULE })
  if (POSITION.test(text)) {
    const position = Number(text)
    return isPosition(position) ? { position } : new InvalidInput({ field: "asOf", input, reason: POSITION_RULE })
  }
  const date = DATE.exec(text)
  if (date !== null) {
    const [, y, m, d] = date.map(Number) as [number, number, number, number]
    return isCalendar(y, m, d) ? { time: new Date(`${text}T23:59:59.999Z`) } : invalid
  }
  const dateTime = DATE_TIME.exec(text)
  if (dateTime === null) return invalid
  const [y, m, d, hh, mm, ss = 0, oh = 0, om = 0] = dateTime.slice(1).map((part) => (part === undefined ? undefined : Number(part)))
  if (!isCalendar(y!, m!, d!, hh!, mm!, ss, oh, om)) return invalid
  return { time: new Date(text) }
}

/**
 * An as-of point a library caller gave as a value rather than as text: a log position as a
 * number, a time as a `Date`. Checked as text is: `-1`, `1.5` or `NaN` name no position, and an
 * invalid `Date` no time, so neither reaches the log.
 *
 * @since 0.1.0
 * @category parsing
 */
export const asOfValue = (input: number | Date): AsOf | InvalidInput => {
  if (typeof input === "number") {
    return isPosition(input) ? { position: input } : new InvalidInput({ field: "asOf", input: String(input), reason: POSITION_RULE })
  }
  return Number.isNaN(input.getTime())
    ? new InvalidInput({ field: "asOf", input: String(input), reason: "a time is a valid Date" })
    : { time: input }
}

/** An as-of point as text (`--as-of`) or, from the library, as a position or a `Date`. @since 0.1.0 @category parsing */
export const decodeAsOf = (input: string | number | Date): Effect.Effect<AsOf, InvalidInput> => {
  const r = typeof input === "string" ? parseAsOf(input) : asOfValue(input)
  return r instanceof InvalidInput ? Effect.fail(r) : Effect.succeed(r)
}
