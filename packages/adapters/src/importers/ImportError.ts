/**
 * The one error every importer reports, and the warnings it may return beside a result.
 *
 * Errors point at a place a person can open: the file, the 1-based line (and column, when the
 * parser knows it) and the field, so that `message` alone is a useful line in a terminal:
 * `env.yml:7: field "conda_fle" is not part of the AzureML v2 environment schema (did you mean "conda_file"?)`.
 *
 * @since 0.1.0
 */
import { redactUrlCredentials } from "@terrarium/domain"
import { Schema } from "effect"

/**
 * A file that could not be imported.
 *
 * `message` is the full, located text (`file:line[:column]: detail`); `detail` is the same
 * without the location, for callers that render the location themselves.
 *
 * @since 0.1.0
 * @category errors
 */
export class ImportError extends Schema.TaggedError<ImportError>()("ImportError", {
  file: Schema.String,
  line: Schema.optionalKey(Schema.Number),
  column: Schema.optionalKey(Schema.Number),
  field: Schema.optionalKey(Schema.String),
  detail: Schema.String,
  message: Schema.String
}) {
  override toString(): string {
    return this.message
  }
}

/**
 * Where a problem is: file, and line/column (1-based) when known.
 *
 * @since 0.1.0
 * @category errors
 */
export interface ImportLocation {
  readonly file: string
  readonly line?: number | undefined
  readonly column?: number | undefined
}

/**
 * `file:line:column`, leaving out what is unknown.
 *
 * @since 0.1.0
 * @category errors
 */
export const formatLocation = (at: ImportLocation): string =>
  `${at.file}${at.line === undefined ? "" : `:${at.line}`}${
    at.line !== undefined && at.column !== undefined ? `:${at.column}` : ""
  }`

// Words are split at whitespace and at control characters: the NUL-separated `KEY=value` list of
// `/proc/self/environ` is as many words as variables.
const WORD = /[^\s\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g
const URL_WORD = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//
/** A word longer than this is cut to its first `WORD_HEAD` characters. */
const WORD_MAX = 40
const WORD_HEAD = 16
const URL_MAX = 80

const shortWord = (word: string): string => {
  if (URL_WORD.test(word)) {
    // A URL is shown without its credentials and without its query and fragment (`?token=…`).
    const bare = redactUrlCredentials(word).replace(/[?#].*$/s, (rest) => `${rest[0]}…`)
    return bare.length <= URL_MAX ? bare : `${bare.slice(0, URL_MAX)}…`
  }
  return word.length <= WORD_MAX ? word : `${word.slice(0, WORD_HEAD)}…`
}

/**
 * What an error may quote of the text it is about: the one word at `column` (1-based; the first
 * word when there is no column), cut short when long, a URL without its credentials or query, and
 * `…` where words were left out. A line of a file that was read (an `-r` include, a conda file)
 * may hold anything readable, so a message never repeats a whole line: `numpy=>1 SECRET…` is
 * quoted as `numpy=>1 …`.
 *
 * @example
 * ```ts
 * excerpt("numpy=>1 SECRET_TOKEN", 6) // "numpy=>1 …"
 * excerpt("--pre https://u:t@host/simple?token=x", 7) // "… https://***@host/simple?…"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const excerpt = (text: string, column?: number): string => {
  const words = [...text.matchAll(WORD)].map((m) => ({ word: m[0], end: m.index + m[0].length }))
  if (words.length === 0) return ""
  // The word the column is in, or the next one after it (a column may point at a space).
  const at = column === undefined ? 0 : words.findIndex((w) => column - 1 < w.end)
  const index = at === -1 ? words.length - 1 : at
  const chosen = words[index]?.word ?? ""
  return `${index > 0 ? "… " : ""}${shortWord(chosen)}${index < words.length - 1 ? " …" : ""}`
}

/** True when `text` is an excerpt already: one word, short, with `…` where others were left out. */
const isExcerpt = (text: string): boolean => {
  const word = text.replace(/^… /, "").replace(/ …$/, "")
  return [...word.matchAll(WORD)].length === 1 && word.match(WORD)?.[0] === word && shortWord(word) === word
}

// A quoted text this short is shown as it is (`name "my env"`): no more than what an excerpt shows of a long word.
const SHORT = WORD_HEAD
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/

/** Every `"…"` quoted in a message, cut down to its excerpt (see `excerpt`) unless short. */
const quotedExcerpts = (detail: string): string =>
  detail.replace(/"((?:[^"\\]|\\.)*)"/gs, (_, quoted: string) => {
    const plain = redactUrlCredentials(quoted)
    const keep = (plain.length <= SHORT && !CONTROL.test(plain)) || isExcerpt(plain)
    return `"${keep ? plain : excerpt(plain)}"`
  })

/**
 * Builds an `ImportError` whose message is `file:line[:column]: detail`. Whatever `detail` quotes
 * (`"…"`) is cut down to an excerpt, whoever wrote the detail (a parser, a schema): a message
 * never repeats a whole line of what was read.
 *
 * @since 0.1.0
 * @category errors
 */
export const importError = (at: ImportLocation & { readonly field?: string | undefined }, detail: string): ImportError => {
  const safe = quotedExcerpts(detail)
  return new ImportError({
    file: at.file,
    ...(at.line === undefined ? {} : { line: at.line }),
    ...(at.column === undefined ? {} : { column: at.column }),
    // A field may be a key of the file (`tags.<key>`): it is no more quoted whole than the rest.
    ...(at.field === undefined ? {} : { field: isExcerpt(at.field) ? at.field : excerpt(at.field) }),
    detail: safe,
    message: `${formatLocation(at)}: ${safe}`
  })
}

/**
 * Something an importer accepted but could not take literally (a placeholder version, an option
 * it keeps verbatim); returned beside the result, never thrown.
 *
 * @since 0.1.0
 * @category warnings
 */
export interface ImportWarning {
  readonly file: string
  readonly line?: number | undefined
  readonly message: string
}

/**
 * `file:line: message`, the same shape as an error message.
 *
 * @since 0.1.0
 * @category warnings
 */
export const formatWarning = (warning: ImportWarning): string => `${formatLocation(warning)}: ${warning.message}`

/**
 * Builds an `ImportWarning` (the line is left out when unknown).
 *
 * @since 0.1.0
 * @category warnings
 */
export const importWarning = (file: string, line: number | undefined, message: string): ImportWarning =>
  line === undefined ? { file, message } : { file, line, message }

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/**
 * The closest candidate to a misspelt name, if one is close enough to be a plausible typo
 * (edit distance at most 2, and at most a third of the name's length), or else a candidate
 * the name is a prefix of (at least 4 characters).
 *
 * @since 0.1.0
 * @category errors
 */
export const didYouMean = (name: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  if (bestDistance <= Math.min(2, Math.max(1, Math.floor(name.length / 3)))) return best
  // A truncated name (`dockerfile` for `dockerfile_path`) is a likely slip too.
  const lower = name.toLowerCase()
  return lower.length >= 4 ? candidates.find((candidate) => candidate.toLowerCase().startsWith(lower)) : undefined
}
