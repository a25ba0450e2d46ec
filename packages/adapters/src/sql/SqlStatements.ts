/**
 * Splits a SQL script into statements. PGlite's `query` (which Kysely uses) runs one statement
 * per call, so a migration file with several statements has to be cut up; doing it the same way
 * on PostgreSQL keeps one code path and lets an error name the failing statement.
 *
 * Understands `--` and `/* *\/` comments, '…' strings (with '' escapes, and E'…' backslash
 * escapes), "…" identifiers and $tag$ … $tag$ bodies; enough for DDL and PL/pgSQL bodies.
 *
 * @since 0.1.0
 */

/**
 * The non-empty statements of `script`, without their terminating semicolons.
 *
 * @since 0.1.0
 * @category parsing
 */
export const splitStatements = (script: string): ReadonlyArray<string> => {
  const statements: Array<string> = []
  let start = 0
  let i = 0
  const n = script.length
  const push = (end: number) => {
    const text = script.slice(start, end).trim()
    // A chunk made only of comments is not a statement.
    if (stripComments(text).trim() !== "") statements.push(text)
  }
  while (i < n) {
    const c = script[i]!
    const next = script[i + 1]
    if (c === "-" && next === "-") {
      const end = script.indexOf("\n", i)
      i = end === -1 ? n : end + 1
    } else if (c === "/" && next === "*") {
      let depth = 1
      i += 2
      while (i < n && depth > 0) {
        if (script[i] === "/" && script[i + 1] === "*") (depth++, i += 2)
        else if (script[i] === "*" && script[i + 1] === "/") (depth--, i += 2)
        else i++
      }
    } else if (c === "'") {
      const backslashes = i > 0 && /[eE]/.test(script[i - 1]!) && (i < 2 || !/\w/.test(script[i - 2]!))
      i++
      while (i < n) {
        if (backslashes && script[i] === "\\") i += 2
        else if (script[i] === "'" && script[i + 1] === "'") i += 2
        else if (script[i] === "'") break
        else i++
      }
      i++
    } else if (c === "\"") {
      const end = script.indexOf("\"", i + 1)
      i = end === -1 ? n : end + 1
    } else if (c === "$" && (i === 0 || !/[\w$]/.test(script[i - 1]!))) {
      const tag = /^\$([A-Za-z_][\w]*)?\$/.exec(script.slice(i))
      if (tag) {
        const end = script.indexOf(tag[0], i + tag[0].length)
        i = end === -1 ? n : end + tag[0].length
      } else i++
    } else if (c === ";") {
      push(i)
      start = ++i
    } else i++
  }
  push(n)
  return statements
}

const stripComments = (text: string): string =>
  text.replace(/--[^\n]*/g, "").replace(/\/\*[\s\S]*?\*\//g, "")
