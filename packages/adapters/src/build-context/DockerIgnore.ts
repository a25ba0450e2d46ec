/**
 * `.dockerignore` files, read and matched the way Docker reads and matches them, so that the
 * digest of a build context covers exactly the files `docker build` would send.
 *
 * Reading follows BuildKit (`ignorefile.ReadAll`), deciding follows moby/patternmatcher (`New`,
 * `MatchesOrParentMatches`), which both the classic builder and BuildKit use. Each pattern is
 * compiled and matched by `@balena/dockerignore`, a port of the same Go code that builds the same
 * regular expression (`*` and `?` within one path segment, `**` across segments, `[…]` classes,
 * `\` escapes), quirks included: an escaped letter is a regular-expression escape (`\b` a word
 * boundary), and a `*` inside `[…]` is still a wildcard.
 *
 * The library ports moby as it was in 2020 (v19.03); this module does what it does not, or does
 * differently from Docker now (each case is in DockerIgnore.test.ts):
 * - reading: a UTF-8 BOM is dropped; a pattern is cleaned like a path (`./a//b/` is `a/b`, a
 *   leading `/` dropped) here, since the checks below need it cleaned (the library's own
 *   cleaning then leaves it as it is);
 * - refusing what `docker build` refuses, at its line: `!` alone, a pattern Go's `filepath.Match`
 *   calls malformed (an unclosed `[`, `[]`, `[-a]`, a trailing `\`), and one whose expression does
 *   not compile (`[z-a]`); the library accepts some silently and throws at the first match on
 *   others;
 * - matching case-sensitively, as on Linux (the library ignores case unless told not to);
 * - a pattern with no wildcard, class or escape, or none but a trailing `**`, is compared as a
 *   string, as patternmatcher does (`exactMatch`, `prefixMatch`): it is the path itself, or a
 *   prefix of it, so `c++`, `file(1).txt` and `^x` mean what they say (the library would read
 *   them as expressions: `c++` throws, `file(1).txt` matches `file1.txt`);
 * - in the other patterns, `+ ( ) | { }` are plain characters (patternmatcher escapes them since
 *   2021; the library does not), while `^` stays an anchor, so that `^*` excludes every path, in
 *   Docker as here;
 * - `**` followed by plain text matches by suffix (patternmatcher's `suffixMatch`): `**.log`
 *   excludes `a/debug.log`, where the library's expression matches only `.log`;
 * - a pattern excludes a path when it matches the path or any parent directory of it
 *   (patternmatcher's `MatchesOrParentMatches`). The library's `ignores()` tries parents too, but
 *   only those as deep as the pattern (moby's `Matches`, deprecated there as buggy), so here each
 *   pattern has its own matcher, asked about the path and each of its parents, and the last
 *   pattern that matches decides; `hasExceptions` tells the walk that an excluded directory may
 *   still hold files it must send. Each such matcher keeps its answer for every path it was asked
 *   (the library's cache, never cleared): on a large context that is one entry per path and
 *   parent directory for each pattern matched by expression, held while the walk lasts.
 *
 * Left as the library does it, both rare: the expression works on UTF-16 code units, so a `?` or
 * `[…]` does not match one character outside the Basic Multilingual Plane (an emoji); and where
 * JavaScript's expression syntax differs from Go's (`[]`, `\a`), so can the match.
 *
 * @since 0.1.0
 */
import dockerignore from "@balena/dockerignore"
import { describeCause } from "@terrarium/domain"
import { Result } from "effect"
import { posix } from "node:path"

/**
 * The patterns of one ignore file, compiled.
 *
 * @since 0.1.0
 * @category dockerignore
 */
export interface DockerIgnore {
  /** True when the path (relative to the context, `/`-separated, clean) is excluded. */
  readonly excludes: (path: string) => boolean
  /**
   * True when some pattern is an exception (`!…`): an excluded directory may then hold files
   * that are not excluded, so a walk must still enter it.
   */
  readonly hasExceptions: boolean
}

/**
 * A malformed pattern, at its 1-based line.
 *
 * @since 0.1.0
 * @category dockerignore
 */
export interface DockerIgnorePatternError {
  readonly line: number
  readonly message: string
}

interface Pattern {
  readonly exception: boolean
  /** Whether the pattern matches this path itself (its parents are the caller's business). */
  readonly matches: (path: string) => boolean
}

/**
 * A pattern as patternmatcher keeps it: BuildKit's reader cleans it like a path (Go's
 * `filepath.Clean`) and drops a leading `/`, then `New` trims it again (`a /` is `a`).
 */
const cleanPattern = (pattern: string): string => {
  const cleaned = posix.normalize(pattern).replace(/(?<=.)\/$/u, "")
  return (cleaned.length > 1 && cleaned.startsWith("/") ? cleaned.slice(1) : cleaned).trim()
}

/**
 * Whether Go's `filepath.Match` accepts the pattern, which patternmatcher's `New` asks of every
 * pattern: a `\` must escape something, and a class must be closed, hold at least one character
 * or range, and use `-` and `]` only escaped or as Go's `getEsc` allows.
 */
const isWellFormed = (pattern: string): boolean => {
  const chars = Array.from(pattern)
  let at = 0
  /** One character of a class, as `getEsc` reads it; the class must go on after it. */
  const classCharacter = (): boolean => {
    if (chars[at] === undefined || chars[at] === "-" || chars[at] === "]") return false
    if (chars[at] === "\\" && chars[++at] === undefined) return false
    return ++at < chars.length
  }
  while (at < chars.length) {
    const ch = chars[at++]
    if (ch === "\\") {
      if (at === chars.length) return false
      at++
    } else if (ch === "[") {
      if (chars[at] === "^") at++
      for (let ranges = 0; !(chars[at] === "]" && ranges > 0); ranges++) {
        if (!classCharacter()) return false
        if (chars[at] === "-") {
          at++
          if (!classCharacter()) return false
        }
      }
      at++
    }
  }
  return true
}

/**
 * `**` then text without wildcards: patternmatcher matches it by suffix, and a suffix starting
 * with `/` also matches the path without that `/` (a pattern `**` + `/foo` matches `foo`).
 */
const suffixMatcher = (pattern: string): ((path: string) => boolean) | undefined => {
  if (!/^\*\*[^*?[\]\\]*$/u.test(pattern)) return undefined
  const suffix = pattern.slice(2)
  return (path) => path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1))
}

/**
 * A pattern without wildcards, classes or escapes, but perhaps a trailing `**`: patternmatcher
 * compares it as a string, equal to the path (`exactMatch`) or, with the `**`, a prefix of it
 * (`prefixMatch`).
 */
const stringMatcher = (pattern: string): ((path: string) => boolean) | undefined =>
  !/^[^*?[\]\\]*(?:\*\*)?$/u.test(pattern) ? undefined
    : pattern.endsWith("**") ? (path) => path.startsWith(pattern.slice(0, -2))
    : (path) => path === pattern

/**
 * A matcher of one cleaned, well-formed pattern by the library. `+ ( ) | { }` are escaped so
 * that they stay plain characters in its expression, as patternmatcher escapes them, and `!` and
 * `#` so that the library reads a pattern starting with them (`!!foo*` is an exception for
 * `!foo*`) as neither an exception nor a comment. An escape already in the pattern is kept as it is.
 */
const libraryMatcher = (pattern: string): (path: string) => boolean => {
  const escaped = pattern.replace(/\\[\s\S]|[!#+()|{}]/gu, (token) => (token.length === 1 ? `\\${token}` : token))
  // A CommonJS module declared with `export default`: the default import is `module.exports`,
  // whose `default` is the factory.
  const matcher = dockerignore.default({ ignorecase: false }).add(escaped)
  return (path) => matcher.ignores(path)
}

/** The parent directories of a path, shortest first: `a/b/c` → `a`, `a/b`. */
const parentDirectories = (path: string): Array<string> => {
  const segments = path.split("/").slice(0, -1)
  return segments.map((_, i) => segments.slice(0, i + 1).join("/"))
}

/**
 * The ignore file of a context that has none: nothing is excluded.
 *
 * @since 0.1.0
 * @category dockerignore
 */
export const NO_DOCKERIGNORE: DockerIgnore = { excludes: () => false, hasExceptions: false }

/**
 * Reads the text of a `.dockerignore` file (see the module notes).
 *
 * @example
 * ```ts
 * const ignore = Result.getOrThrow(parseDockerIgnore("*.log\n!keep.log\nbuild/\n"))
 * ignore.excludes("debug.log") // true
 * ignore.excludes("keep.log") // false
 * ignore.excludes("build/out/x.o") // true: its parent matches
 * ```
 *
 * @since 0.1.0
 * @category dockerignore
 */
export const parseDockerIgnore = (text: string): Result.Result<DockerIgnore, DockerIgnorePatternError> => {
  const patterns: Array<Pattern> = []
  const lines = text.replace(/^\uFEFF/u, "").split(/\r?\n/u)
  for (const [i, raw] of lines.entries()) {
    if (raw.startsWith("#")) continue // a comment only when `#` is the very first character
    let line = raw.trim()
    if (line === "") continue
    const exception = line.startsWith("!")
    if (exception) line = line.slice(1).trim()
    const pattern = cleanPattern(line)
    // `!/` is `!` too: patternmatcher cleans `!` and the pattern together, leaving `!`.
    if (exception && (line === "" || pattern === "/")) {
      return Result.fail({ line: i + 1, message: `illegal exception pattern "!"` })
    }
    const malformed = (why: string) => Result.fail({ line: i + 1, message: `malformed pattern "${raw.trim()}" (${why})` })
    if (!isWellFormed(pattern)) return malformed(`an unclosed "[", an empty class, a bad range or a trailing "\\"`)
    const matches = suffixMatcher(pattern) ?? stringMatcher(pattern) ?? libraryMatcher(pattern)
    try {
      matches(".") // the library compiles on first use; Docker too refuses what Go cannot compile (`[z-a]`)
    } catch (cause) {
      return malformed(describeCause(cause))
    }
    patterns.push({ exception, matches })
  }
  return Result.succeed({
    hasExceptions: patterns.some((pattern) => pattern.exception),
    excludes: (path) => {
      let excluded = false
      const parents = parentDirectories(path)
      for (const pattern of patterns) {
        // A pattern that cannot change the answer is not evaluated (as in patternmatcher).
        if (pattern.exception !== excluded) continue
        if (pattern.matches(path) || parents.some(pattern.matches)) excluded = !pattern.exception
      }
      return excluded
    }
  })
}
