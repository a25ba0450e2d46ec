/**
 * The one error every importer reports, and the warnings it may return beside a result.
 *
 * Errors point at a place a person can open: the file, the 1-based line (and column, when the
 * parser knows it) and the field, so that `message` alone is a useful line in a terminal:
 * `env.yml:7: field "conda_fle" is not part of the AzureML v2 environment schema (did you mean "conda_file"?)`.
 *
 * @since 0.1.0
 */
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

/**
 * Builds an `ImportError` whose message is `file:line[:column]: detail`.
 *
 * @since 0.1.0
 * @category errors
 */
export const importError = (at: ImportLocation & { readonly field?: string | undefined }, detail: string): ImportError =>
  new ImportError({
    file: at.file,
    ...(at.line === undefined ? {} : { line: at.line }),
    ...(at.column === undefined ? {} : { column: at.column }),
    ...(at.field === undefined ? {} : { field: at.field }),
    detail,
    message: `${formatLocation(at)}: ${detail}`
  })

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
