/**
 * `.dockerignore` files, read and matched the way Docker reads and matches them, so that the
 * digest of a build context covers exactly the files `docker build` would send.
 *
 * Reading follows BuildKit's `dockerignore.ReadAll`; matching follows moby/patternmatcher
 * (`MatchesOrParentMatches`), which both the classic builder and BuildKit use:
 * - a line starting with `#` is a comment; lines are trimmed; empty lines are skipped; a UTF-8 BOM
 *   is dropped;
 * - `!` makes an exception; a pattern is cleaned like a path (`./a//b/` → `a/b`) and a leading
 *   `/` dropped;
 * - `*` matches any run of characters but `/`, `?` one character but `/`, `[…]` a character class
 *   (`[^…]` negated, `a-z` ranges, as Go's `filepath.Match`), `\` escapes the next character;
 *   `**` matches any number of path segments (`**` alone or at the start: any suffix; at the end:
 *   any prefix);
 * - a path is excluded when the last pattern matching it, or matching one of its parent
 *   directories, is not an exception.
 *
 * A pattern Go's `filepath.Match` would call malformed (an unclosed `[`, a trailing `\`) fails the
 * read, as it fails `docker build`.
 *
 * `@balena/dockerignore` is a maintained port of the same Go code; should the project take it as a
 * dependency, swapping it in changes this file alone (dockerignore.test.ts states the behaviour).
 *
 * @since 0.1.0
 */
import { Result } from "effect"

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
  readonly matches: (path: string) => boolean
}

/** Go's `path.Clean`: the shortest equivalent path, `.` for an empty one. */
const cleanPath = (path: string): string => {
  const rooted = path.startsWith("/")
  const segments: Array<string> = []
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") {
      if (segments.length > 0 && segments[segments.length - 1] !== "..") segments.pop()
      else if (!rooted) segments.push("..")
      continue
    }
    segments.push(segment)
  }
  const joined = segments.join("/")
  return rooted ? `/${joined}` : joined === "" ? "." : joined
}

// Characters a JavaScript regular expression (with the `u` flag) needs escaped, outside and
// inside a character class. With `u`, only syntax characters may be escaped.
const escapeOutside = (ch: string): string => (/[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch)
const escapeInside = (ch: string): string => (/[\\\]^[-]/.test(ch) ? `\\${ch}` : ch)

/**
 * One character of a class, as Go's `getEsc` reads it: not `-` or `]` unescaped, `\` escapes,
 * and the class must go on after it. Returns the character and the index after it.
 */
const classCharacter = (chars: ReadonlyArray<string>, index: number): { ch: string; next: number } | undefined => {
  let at = index
  let ch = chars[at]
  if (ch === undefined || ch === "-" || ch === "]") return undefined
  if (ch === "\\") {
    ch = chars[++at]
    if (ch === undefined) return undefined
  }
  return at + 1 < chars.length ? { ch, next: at + 1 } : undefined
}

/**
 * A `[…]` class starting at `index` (just after `[`), as a JavaScript class, and the index after
 * its `]`; `undefined` when Go would call it malformed.
 */
const characterClass = (chars: ReadonlyArray<string>, index: number): { regex: string; next: number } | undefined => {
  let at = index
  let negated = false
  if (chars[at] === "^") {
    negated = true
    at++
  }
  let body = ""
  for (let ranges = 0;; ranges++) {
    if (chars[at] === "]" && ranges > 0) return { regex: `[${negated ? "^" : ""}${body}]`, next: at + 1 }
    const low = classCharacter(chars, at)
    if (low === undefined) return undefined
    at = low.next
    body += escapeInside(low.ch)
    if (chars[at] === "-") {
      const high = classCharacter(chars, at + 1)
      if (high === undefined) return undefined
      at = high.next
      body += `-${escapeInside(high.ch)}`
    }
  }
}

/**
 * Compiles one cleaned pattern (without its `!`) as patternmatcher's `Pattern.compile` does:
 * plain text is an exact match, a trailing `**` a prefix match, a leading `**` a suffix match,
 * anything else a regular expression anchored at both ends.
 */
const compilePattern = (pattern: string): ((path: string) => boolean) | undefined => {
  const chars = Array.from(pattern)
  let regex = "^"
  let kind: "exact" | "prefix" | "suffix" | "regexp" = "exact"
  let index = 0
  for (let token = 0; index < chars.length; token++) {
    const ch = chars[index++]!
    if (ch === "*") {
      if (chars[index] === "*") {
        index++
        if (chars[index] === "/") index++ // `**/` is `**`
        if (index === chars.length) {
          if (kind === "exact") kind = "prefix"
          else {
            regex += ".*"
            kind = "regexp"
          }
        } else {
          regex += "(?:.*/)?"
          kind = "regexp"
        }
        if (token === 0) kind = "suffix"
      } else {
        regex += "[^/]*"
        kind = "regexp"
      }
    } else if (ch === "?") {
      regex += "[^/]"
      kind = "regexp"
    } else if (ch === "\\") {
      const escaped = chars[index++]
      if (escaped === undefined) return undefined // a trailing `\`: malformed for filepath.Match
      regex += escapeOutside(escaped)
      kind = "regexp"
    } else if (ch === "[") {
      const cls = characterClass(chars, index)
      if (cls === undefined) return undefined
      regex += cls.regex
      index = cls.next
      kind = "regexp"
    } else if (ch === "]") {
      regex += "\\]"
      kind = "regexp"
    } else {
      regex += escapeOutside(ch)
    }
  }
  switch (kind) {
    case "exact":
      return (path) => path === pattern
    case "prefix": {
      const prefix = pattern.slice(0, -2) // without the trailing `**`
      return (path) => path.startsWith(prefix)
    }
    case "suffix": {
      const suffix = pattern.slice(2) // without the leading `**`
      return (path) => path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1))
    }
    case "regexp": {
      const compiled = new RegExp(`${regex}$`, "u")
      return (path) => compiled.test(path)
    }
  }
}

/** The parent directories of a path, shortest first: `a/b/c` → `a`, `a/b`. */
const parents = (path: string): Array<string> => {
  const segments = path.split("/").slice(0, -1)
  return segments.map((_, i) => segments.slice(0, i + 1).join("/"))
}

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
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/)
  for (const [i, raw] of lines.entries()) {
    if (raw.startsWith("#")) continue // a comment only when `#` is the very first character
    let line = raw.trim()
    if (line === "") continue
    const exception = line.startsWith("!")
    if (exception) line = line.slice(1).trim()
    if (exception && line === "") return Result.fail({ line: i + 1, message: `illegal exception pattern "!"` })
    let cleaned = cleanPath(line)
    if (cleaned.length > 1 && cleaned.startsWith("/")) cleaned = cleaned.slice(1)
    const matches = compilePattern(cleaned)
    if (matches === undefined) {
      return Result.fail({ line: i + 1, message: `malformed pattern "${raw.trim()}" (an unclosed "[", a bad range or a trailing "\\")` })
    }
    patterns.push({ exception, matches })
  }
  return Result.succeed({
    hasExceptions: patterns.some((pattern) => pattern.exception),
    excludes: (path) => {
      let excluded = false
      const ancestors = parents(path)
      for (const pattern of patterns) {
        // A pattern that cannot change the answer is not evaluated (as in patternmatcher).
        if (pattern.exception !== excluded) continue
        if (pattern.matches(path) || ancestors.some(pattern.matches)) excluded = !pattern.exception
      }
      return excluded
    }
  })
}
