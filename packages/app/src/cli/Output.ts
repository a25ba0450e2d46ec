/**
 * Rendering of command results: `table` for people, `json` (stable, for scripts) and `yaml`.
 *
 * JSON output is the plain data of the result with dates as ISO 8601 strings and keys in a fixed
 * order; fields are only ever added, never renamed, so scripts can rely on it.
 *
 * @since 0.1.0
 */
import { stringify as toYaml } from "yaml"

/** @since 0.1.0 @category model */
export type Format = "table" | "json" | "yaml"

/** @since 0.1.0 @category model */
export interface Column<A> {
  readonly header: string
  readonly value: (row: A) => string
}

const plain = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v)))

/**
 * Renders `data` as JSON or YAML, or as a table via `table` when the format is `table`.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (format: Format, data: unknown, table: () => string): string => {
  switch (format) {
    case "json":
      return JSON.stringify(plain(data), null, 2)
    case "yaml":
      return toYaml(plain(data)).trimEnd()
    case "table":
      return table()
  }
}

/**
 * Left-aligned columns separated by two spaces; an empty list says so instead of printing a lone header.
 *
 * @since 0.1.0
 * @category rendering
 */
export const table = <A>(rows: ReadonlyArray<A>, columns: ReadonlyArray<Column<A>>, empty = "(none)"): string => {
  if (rows.length === 0) return empty
  const cells = rows.map((row) => columns.map((c) => c.value(row)))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)))
  const line = (values: ReadonlyArray<string>) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join("\n")
}

/**
 * `key: value` lines with aligned values, for one record.
 *
 * @since 0.1.0
 * @category rendering
 */
export const fields = (entries: ReadonlyArray<readonly [string, string]>): string => {
  const width = Math.max(...entries.map(([k]) => k.length))
  return entries.map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${v}`).join("\n")
}

/** @since 0.1.0 @category rendering */
export const time = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z")

