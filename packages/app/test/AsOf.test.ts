/**
 * `--as-of` and the library's `asOf`: a log position, a date (the end of that day in UTC), or a
 * date-time with a zone, `Z` or an offset as the README shows (`2026-03-03T13:00+01:00`). An
 * offset names the same instant as the UTC time it stands for.
 */
import { assert, describe, it } from "@effect/vitest"
import { parseAsOf } from "../src/AsOf.ts"
import { InvalidInput } from "../src/InvalidInput.ts"

const timeOf = (input: string): number => {
  const asOf = parseAsOf(input)
  assert.isFalse(asOf instanceof InvalidInput, `${input}: ${asOf instanceof InvalidInput ? asOf.message : ""}`)
  assert.isTrue("time" in asOf, input)
  return (asOf as { readonly time: Date }).time.getTime()
}

const refused = (input: string) => {
  const asOf = parseAsOf(input)
  assert.instanceOf(asOf, InvalidInput, input)
  assert.strictEqual((asOf as InvalidInput).field, "asOf")
}

describe("as-of points", () => {
  it("a log position, and a date as the end of that day in UTC", () => {
    assert.deepStrictEqual(parseAsOf("42"), { position: 42 })
    assert.strictEqual(timeOf("2026-03-03"), Date.UTC(2026, 2, 3, 23, 59, 59, 999))
  })

  it("a date-time with an offset is the instant it names: 2026-03-03T13:00+01:00 is 12:00 UTC", () => {
    const noonUtc = Date.UTC(2026, 2, 3, 12, 0)
    assert.strictEqual(timeOf("2026-03-03T12:00:00Z"), noonUtc)
    assert.strictEqual(timeOf("2026-03-03T13:00+01:00"), noonUtc)
    assert.strictEqual(timeOf("2026-03-03T07:00:00-05:00"), noonUtc)
    assert.strictEqual(timeOf("2026-03-03T17:30+05:30"), noonUtc)
    assert.strictEqual(timeOf("2026-03-03T13:00:00.250+01:00"), noonUtc + 250)
    // Across midnight: the offset moves the day too.
    assert.strictEqual(timeOf("2026-03-04T00:30+01:00"), Date.UTC(2026, 2, 3, 23, 30))
  })

  it("a date-time without a zone, or with an offset that is no offset, is refused", () => {
    for (const input of ["2026-03-03T12:00:00", "2026-03-03T13:00+1:00", "2026-03-03T13:00+01:60", "2026-03-03T13:00+24:00", "2026-03-03T13:00 +01:00"]) {
      refused(input)
    }
  })
})
