/**
 * What every string a command brings into the log must be, whatever field holds it: text the
 * store can keep (no NUL, no lone surrogate), within its length limit (`Limits.ts`), and free of
 * credentials in URLs. The field-specific rules of `DefinitionCheck.ts` come on top of these.
 *
 * The checks walk the value, not its schema, so a field added to a definition or a command later
 * is checked without anyone remembering to; keys (a tag's name, a variable's) are text too.
 *
 * Why NUL and lone surrogates: the log and the read model keep JSON (PostgreSQL's `jsonb`), which
 * has no NUL character and only whole surrogate pairs; such a string fails the append itself
 * with a message naming no field (`unsupported Unicode escape sequence`), and `canonicalJson`
 * cannot write it either.
 *
 * @since 0.1.0
 */
import type { FieldProblem } from "./DefinitionCheck.ts"
import { MAX_DOCKERFILE_LENGTH, MAX_TEXT_LENGTH } from "./Limits.ts"
import { textCredentialsProblem } from "./UrlCredentials.ts"

/** A NUL, a high surrogate not followed by a low one, or a low one not after a high one. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const codePoint = (unit: string): string => `U+${unit.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`

/**
 * Why `text` cannot be stored, naming the character and where it is (never quoting the text), or
 * `undefined` when it can.
 *
 * @since 0.1.0
 * @category stored text
 */
export const unstorableTextProblem = (text: string): string | undefined => {
  const found = UNSTORABLE.exec(text)
  if (found === null) return undefined
  const at = `at character ${found.index + 1}`
  return found[0] === "\u0000"
    ? `holds a NUL character (U+0000) ${at}, which cannot be stored: text has no NUL`
    : `holds a lone surrogate (${codePoint(found[0])}) ${at}, which cannot be stored: text must be valid Unicode ` +
      "(a surrogate comes only in a pair, as half of one character)"
}

/**
 * The length limit of the string at `path`, with the limit's name: the Dockerfile text
 * (`…base.dockerfile`) has its own, every other string `MAX_TEXT_LENGTH`.
 */
const lengthLimitAt = (path: ReadonlyArray<PropertyKey>): readonly [number, string] =>
  path.length >= 2 && path[path.length - 1] === "dockerfile" && path[path.length - 2] === "base"
    ? [MAX_DOCKERFILE_LENGTH, "MAX_DOCKERFILE_LENGTH"]
    : [MAX_TEXT_LENGTH, "MAX_TEXT_LENGTH"]

const tooLong = (length: number, [limit, name]: readonly [number, string], what: string): string | undefined =>
  length > limit ? `${what} is ${length} characters long; the limit is ${limit} characters (${name})` : undefined

/** Report at most this many problems of one kind: a value with a million bad strings needs no million lines. */
const MAX_REPORTED = 20

/** After a string or key: walk on, leave out the entry under this key, or stop walking. */
type Next = "walk on" | "skip entry" | "stop"

/** Calls `visit` on every string and every key of a JSON-like value, with its path; keys at their record's path. */
const walk = (
  value: unknown,
  path: ReadonlyArray<PropertyKey>,
  visit: (text: string, path: ReadonlyArray<PropertyKey>, key: boolean) => Next
): boolean => {
  if (typeof value === "string") return visit(value, path, false) !== "stop"
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!walk(value[i], [...path, i], visit)) return false
  } else if (typeof value === "object" && value !== null) {
    for (const key of Object.keys(value)) {
      const next = visit(key, path, true)
      if (next === "stop") return false
      if (next === "walk on" && !walk((value as Record<string, unknown>)[key], [...path, key], visit)) return false
    }
  }
  return true
}

/**
 * Collects the problems `check` finds over every string and key of `value`, up to `MAX_REPORTED`.
 * A key's problem is reported at its record's path, so that a path never quotes a key that holds
 * a secret or a character that cannot be shown; the entry under such a key is not walked.
 */
const collect = (
  value: unknown,
  check: (text: string, path: ReadonlyArray<PropertyKey>, key: boolean) => string | undefined
): Array<FieldProblem> => {
  const problems: Array<FieldProblem> = []
  walk(value, [], (text, path, key) => {
    const issue = check(text, path, key)
    if (issue === undefined) return "walk on"
    problems.push({ path, issue })
    return problems.length >= MAX_REPORTED ? "stop" : key ? "skip entry" : "walk on"
  })
  return problems
}

/**
 * The length problems of every string and key of `value` (at most 20): each is measured, never
 * scanned, so this is cheap however long the strings are, and is the check to run first.
 *
 * @since 0.1.0
 * @category stored text
 */
export const textLengthProblems = (value: unknown): Array<FieldProblem> =>
  collect(value, (text, path, key) =>
    key
      ? tooLong(text.length, [MAX_TEXT_LENGTH, "MAX_TEXT_LENGTH"], "a key")
      : tooLong(text.length, lengthLimitAt(path), "this text"))

/**
 * The problems of every string and key of `value` that scanning finds (at most 20): a NUL or a
 * lone surrogate, and URLs with credentials (quoted only as scheme and host). Run after
 * `textLengthProblems` has found nothing, which bounds the scan.
 *
 * @since 0.1.0
 * @category stored text
 */
export const textContentProblems = (value: unknown): Array<FieldProblem> =>
  collect(value, (text, _path, key) => {
    const unstorable = unstorableTextProblem(text)
    if (unstorable !== undefined) return `${key ? "a key" : "this text"} ${unstorable}`
    return textCredentialsProblem(key ? "a key" : "this text", text)
  })

/**
 * The bytes of `value`'s JSON text in UTF-8 (no whitespace, strings escaped as `JSON.stringify`
 * does, which is `canonicalJson`'s size too), counted without writing it; once the count passes
 * `budget`, counting stops and some number above `budget` is returned.
 *
 * @since 0.1.0
 * @category stored text
 */
export const jsonByteLength = (value: unknown, budget: number = Number.MAX_SAFE_INTEGER): number => {
  let bytes = 0
  const text = (s: string): boolean => {
    bytes += 2
    for (let i = 0; i < s.length && bytes <= budget; i++) {
      const unit = s.charCodeAt(i)
      if (unit === 0x22 || unit === 0x5c || unit === 0x08 || unit === 0x09 || unit === 0x0a || unit === 0x0c || unit === 0x0d) bytes += 2
      else if (unit < 0x20) bytes += 6
      else if (unit < 0x80) bytes += 1
      else if (unit < 0x800) bytes += 2
      else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
        bytes += 4
        i++
      } else if (unit >= 0xd800 && unit <= 0xdfff) bytes += 6
      else bytes += 3
    }
    return bytes <= budget
  }
  const count = (v: unknown): boolean => {
    if (typeof v === "string") return text(v)
    if (typeof v === "number" || typeof v === "boolean" || v === null) {
      bytes += String(v).length
      return bytes <= budget
    }
    if (Array.isArray(v)) {
      bytes += 2 + Math.max(0, v.length - 1)
      for (const item of v) if (!count(item)) return false
      return bytes <= budget
    }
    if (typeof v === "object") {
      const keys = Object.keys(v).filter((key) => (v as Record<string, unknown>)[key] !== undefined)
      bytes += 2 + Math.max(0, keys.length - 1) + keys.length
      for (const key of keys) if (!text(key) || !count((v as Record<string, unknown>)[key])) return false
      return bytes <= budget
    }
    return true
  }
  count(value)
  return bytes
}
