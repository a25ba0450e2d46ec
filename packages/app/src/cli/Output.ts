/**
 * Rendering of command results: `table` for people, `json` (stable, for scripts) and `yaml`.
 *
 * JSON output is the plain data of the result with dates as ISO 8601 strings and keys in a fixed
 * order; fields are only ever added, never renamed, so scripts can rely on it.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import type * as Yaml from "yaml"

/**
 * The YAML library, loaded by the first `--output yaml` rather than by every command. A
 * CommonJS build, so it loads synchronously and rendering stays a plain function.
 */
let yaml: typeof Yaml | undefined
const toYaml = (value: unknown): string => (yaml ??= createRequire(import.meta.url)("yaml") as typeof Yaml).stringify(value)

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
 * Characters that act on a terminal instead of printing: the C0 and C1 controls and DEL (escape
 * sequences that clear the screen or set the window title start with ESC or CSI), the
 * bidirectional-text controls that reorder what follows them (U+202A–U+202E, U+2066–U+2069, the
 * marks), and the line and paragraph separators.
 */
const terminalControl = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu

const escaped = (c: string): string => {
  const code = c.codePointAt(0)!
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
}

/**
 * `text` with every terminal control character written out visibly (`\x1b`, `\u202e`), so that a
 * description, tag, variable or actor is shown as the text it is and cannot drive the terminal.
 * `keepNewlines` keeps `\n` for text whose lines are the output's own (a whole table); a single
 * value has its newlines escaped too, so that it stays on its line.
 *
 * @since 0.1.0
 * @category rendering
 */
export const escapeControls = (text: string, options?: { readonly keepNewlines?: boolean }): string =>
  text.replace(terminalControl, (c) => (c === "\n" && options?.keepNewlines === true ? c : escaped(c)))

/**
 * Renders `data` as JSON or YAML, or as a table via `table` when the format is `table`. A table is
 * for a terminal: its values have their control characters escaped (`escapeControls`). JSON and
 * YAML are data for programs and print it as it is (JSON writes the C0 controls as `\u001b`).
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
      // `table` and `fields` escape each value; this catches text rendered any other way (a diff).
      return escapeControls(table(), { keepNewlines: true })
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
  const cells = rows.map((row) => columns.map((c) => escapeControls(c.value(row))))
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
  return entries.map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${escapeControls(v)}`).join("\n")
}

/** @since 0.1.0 @category rendering */
export const time = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z")

