/**
 * What the CLI prints for a terminal cannot drive it: control characters in descriptions, tags,
 * variables, actors and error messages (ANSI and OSC escape sequences that clear the screen or set
 * the window title, bidirectional overrides that reorder a line) are written out visibly in table
 * output and on stderr; JSON output is data, printed as it is.
 */
import { assert, describe, it } from "@effect/vitest"
import { type AuditEntry, emptyDefinition } from "@terrarium/domain"
import * as Diagnostics from "../src/cli/Diagnostics.ts"
import { escapeControls, render } from "../src/cli/Output.ts"
import * as Render from "../src/cli/Render.ts"
import type { EnvironmentVersion } from "../src/Results.ts"

const ESC = "\u001b"
const hostile = `clear${ESC}[2J${ESC}]0;title\u0007 \u202eevil\u202c \u2066iso\u2069 c1\u009b del\u007f nul\u0000 line\nbreak\ttab\u2028`
const shown = String.raw`clear\x1b[2J\x1b]0;title\x07 \u202eevil\u202c \u2066iso\u2069 c1\x9b del\x7f nul\x00 line\x0abreak\x09tab\u2028`

/** No character that acts on a terminal, but the newlines between a table's own lines. */
const assertInert = (text: string) =>
  assert.notMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u, text)

describe("terminal output", () => {
  it("escapes C0, C1, DEL, bidirectional controls and separators visibly; leaves other text alone", () => {
    assert.strictEqual(escapeControls(hostile), shown)
    assert.strictEqual(escapeControls("numpy>=1.26 — ünïcödé 🧪 \\x1b"), "numpy>=1.26 — ünïcödé 🧪 \\x1b")
    assert.strictEqual(escapeControls("a\nb", { keepNewlines: true }), "a\nb")
    assert.strictEqual(escapeControls("a\u200fb\u061c"), "a\\u200fb\\u061c")
  })

  it("show: description, tags and variables are escaped in the table, kept in JSON", () => {
    const version: EnvironmentVersion = {
      workspace: "default",
      name: "x",
      version: "1",
      canonicalHash: "sha256:" + "0".repeat(64),
      hashAlgorithm: 1,
      environmentType: "system-managed",
      archived: false,
      labels: ["latest"],
      definition: { ...emptyDefinition, description: hostile, tags: { [`k${ESC}[31m`]: hostile }, variables: { A: hostile } },
      asOfPosition: 3
    }
    const table = render("table", version, () => Render.version(version))
    assertInert(table)
    assert.include(table, `description: ${shown}\n`)
    assert.include(table, `tags:        k\\x1b[31m=${shown}\n`)
    assert.include(table, `variables:   A=${shown}\n`)
    // One line per field: a newline in a value does not start a line of its own.
    assert.strictEqual(table.split("\n").length, 14)
    const json = render("json", version, () => Render.version(version))
    assert.strictEqual(JSON.parse(json).definition.description, hostile)
  })

  it("audit: the actor and summary are escaped, and the columns stay aligned", () => {
    const entry = (position: number, actor: string): AuditEntry => ({
      position,
      workspace: "default",
      name: "x",
      eventType: "Defined",
      version: null,
      actor,
      occurredAt: new Date("2026-01-01T00:00:00Z"),
      correlationId: "c",
      causationId: null,
      summary: `defined ${actor}`,
      details: {}
    })
    const rows = [entry(1, `ev${ESC}]0;pwned${ESC}\\il`), entry(2, "root")]
    const table = render("table", rows, () => Render.audit(rows))
    assertInert(table)
    const lines = table.split("\n")
    assert.strictEqual(lines[1], String.raw`1         2026-01-01T00:00:00Z  ev\x1b]0;pwned\x1b\il  Defined  defined ev\x1b]0;pwned\x1b\il`)
    assert.strictEqual(lines[2]!.indexOf("Defined"), lines[1]!.indexOf("Defined"))
  })

  it("an error line on stderr is escaped; its JSON report is kept", () => {
    const report = { _tag: "InvalidReference", message: `invalid environment reference "x${ESC}[2J\u202e"` }
    assert.strictEqual(Diagnostics.render("table", report), String.raw`terrarium: invalid environment reference "x\x1b[2J\u202e"`)
    assert.strictEqual(JSON.parse(Diagnostics.render("json", report)).error.message, report.message)
  })
})
