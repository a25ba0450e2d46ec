/**
 * What a PostgreSQL `jsonb` column gives back for a value: JSON only, object keys in jsonb's own
 * order (shorter keys first, then by bytes). The memory adapters read their values through it, so
 * that what they return is what the SQL adapters return, key order included.
 *
 * @since 0.1.0
 */

/** `jsonb` keeps object keys shorter first, then by bytes. */
const compareJsonbKeys = (a: string, b: string) => {
  const byLength = Buffer.byteLength(a) - Buffer.byteLength(b)
  return byLength !== 0 ? byLength : Buffer.compare(Buffer.from(a), Buffer.from(b))
}

const order = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(order)
  if (typeof v === "object" && v !== null) {
    const keys = Object.keys(v).sort(compareJsonbKeys)
    return Object.fromEntries(keys.map((k) => [k, order((v as Record<string, unknown>)[k])]))
  }
  return v
}

/**
 * A value as a `jsonb` column gives it back.
 *
 * @since 0.1.0
 * @category jsonb
 */
export const asJsonb = (value: unknown): unknown => order(JSON.parse(JSON.stringify(value ?? null)))

/**
 * A JSON text as a `jsonb` column gives it back.
 *
 * @since 0.1.0
 * @category jsonb
 */
export const parseAsJsonb = (text: string): unknown => order(JSON.parse(text))
