/**
 * PEP 508 pip requirements, parsed into the domain's `PipRequirement`.
 *
 * Parsing is synchronous and pure, so the parser returns a `Result` rather than an `Effect`:
 * callers in plain code match on it, callers in `Effect.gen` lift it with `Effect.fromResult`.
 *
 * Normalisation makes two spellings of one requirement compare (and hash) equal:
 * - name: PEP 503 (`Scikit_Learn` → `scikit-learn`);
 * - extras: PEP 503 too, then sorted and de-duplicated;
 * - specifier: one string per clause without spaces, versions in PEP 440 normal form where they
 *   are valid (`1.02` → `1.2`, `1.0RC1` → `1.0rc1`; `1.0.0` stays `1.0.0`, trailing zeros are
 *   significant to pip's output), clauses sorted and joined by `,`;
 * - marker: single spaces around operators and `and`/`or`, strings in double quotes,
 *   parentheses only where precedence needs them.
 *
 * Besides PEP 508, bare URL lines (`git+https://host/repo.git@sha`, `https://host/x-1.0-py3-none-any.whl`)
 * are accepted as URL requirements, as pip accepts them in requirements files. A URL with
 * credentials (`https://user:token@host/…`) is refused: definitions are kept forever in the event log.
 *
 * @since 0.1.0
 */
import { clean as cleanPep440 } from "@renovatebot/pep440"
import { describeCause, type PipRequirement, redactUrlCredentials, urlCredentialsProblem } from "@terrarium/domain"
import { Result } from "effect"
import { createRequire } from "node:module"
import type * as PipRequirements from "pip-requirements-js"
import type { EnvironmentMarker, Requirement } from "pip-requirements-js"
import { SpecError } from "./SpecError.ts"

/**
 * pip-requirements-js, loaded on the first pip requirement rather than with this module: it
 * builds its grammar (ohm-js) when loaded, which every command paid, `terrarium --help` included
 * (bench/README.md). A CommonJS package, so it loads synchronously and the parsers stay
 * synchronous.
 */
let pipRequirements: typeof PipRequirements | undefined
const pipRequirementsJs = (): typeof PipRequirements =>
  (pipRequirements ??= createRequire(import.meta.url)("pip-requirements-js") as typeof PipRequirements)

/**
 * The PEP 503 normal form of a project name: lower case, runs of `-`, `_` and `.` folded to `-`.
 *
 * @since 0.1.0
 * @category pip
 */
export const normalizePipName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, "-")

/**
 * The PEP 440 normal form of one version, or the text unchanged when it is not a valid version
 * (pip's legacy versions, placeholders): normalising must never make a spec fail.
 * A trailing `.*` (prefix match) is kept; the local part (`+abc`) is lower-cased with `-`/`_` → `.`.
 *
 * @since 0.1.0
 * @category pip
 */
export const normalizePep440Version = (version: string): string => {
  const wildcard = version.endsWith(".*")
  const body = wildcard ? version.slice(0, -2) : version
  const plus = body.indexOf("+")
  const publicPart = plus === -1 ? body : body.slice(0, plus)
  const localPart = plus === -1 ? undefined : body.slice(plus + 1)
  const cleaned = cleanPep440(publicPart)
  if (cleaned === null || (localPart !== undefined && !/^[A-Za-z0-9]+([-_.][A-Za-z0-9]+)*$/.test(localPart))) {
    return version
  }
  const local = localPart === undefined ? "" : `+${localPart.toLowerCase().replace(/[-_]/g, ".")}`
  return `${cleaned}${local}${wildcard ? ".*" : ""}`
}

/**
 * Normalises a list of specifier clauses (`[{operator: ">=", version: "1.2"}]`) to the domain's
 * string form: `<2,>=1.2`. Arbitrary equality (`===`) keeps its version verbatim, as PEP 440 asks.
 *
 * @since 0.1.0
 * @category pip
 */
export const normalizePipSpecifier = (
  clauses: ReadonlyArray<{ readonly operator: string; readonly version: string }>
): string => {
  const parts = clauses.map(({ operator, version }) =>
    `${operator}${operator === "===" ? version.trim() : normalizePep440Version(version.trim())}`
  )
  return [...new Set(parts)].sort().join(",")
}

const quoteMarkerValue = (value: string): string => {
  const m = /^(['"])(.*)\1$/s.exec(value)
  if (m === null) return value // a marker variable such as python_version
  const inner = m[2] ?? ""
  return inner.includes("\"") ? `'${inner}'` : `"${inner}"`
}

/**
 * Renders a marker tree in normal spacing. The parser keeps no parentheses, so they are put
 * back where `or` sits under `and`; `and`/`or` are associative, so nothing else needs them.
 *
 * @since 0.1.0
 * @category pip
 */
export const renderMarker = (marker: EnvironmentMarker): string => {
  if (marker.operator === "and" || marker.operator === "or") {
    const node = marker as { operator: "and" | "or"; left: EnvironmentMarker; right: EnvironmentMarker }
    const side = (child: EnvironmentMarker): string => {
      const text = renderMarker(child)
      return node.operator === "and" && child.operator === "or" ? `(${text})` : text
    }
    return `${side(node.left)} ${node.operator} ${side(node.right)}`
  }
  const leaf = marker as { left: string; operator: string; right: string }
  return `${quoteMarkerValue(leaf.left)} ${leaf.operator} ${quoteMarkerValue(leaf.right)}`
}

const VCS_OR_URL = /^(?:(?:git|hg|svn|bzr)\+)?[A-Za-z][A-Za-z0-9+.-]*:\/\//
const ARCHIVE = /\.(?:tar\.gz|tar\.bz2|tar\.xz|tgz|zip)$/i

/** A valid PEP 508 project name (before normalisation). */
const PROJECT_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/

/**
 * A project name for a bare URL: the `#egg=` fragment, else the wheel's distribution name, else an
 * sdist's base name without its version, else the URL itself (a Git repository's name need not be
 * its project name, so it is not guessed). A candidate that is not a valid project name is no
 * name either.
 */
const nameFromUrl = (url: string): string => {
  const path = url.replace(/[?#].*$/, "")
  const file = decodeURIComponent(path.slice(path.lastIndexOf("/") + 1))
  const candidates = [
    /[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(url)?.[1],
    /\.whl$/i.test(file) ? file.split("-")[0] : undefined,
    ARCHIVE.test(file) ? file.replace(ARCHIVE, "").replace(/-\d.*$/, "") : undefined
  ]
  const name = candidates.find((candidate) => candidate !== undefined && PROJECT_NAME.test(candidate))
  return name === undefined ? url : normalizePipName(name)
}

const syntaxError = (text: string, cause: unknown): SpecError => {
  const raw = describeCause(cause)
  const where = /col (\d+): (.*)$/s.exec(raw)
  const detail = where === null ? raw : `at column ${where[1]}, ${where[2]}`
  return new SpecError({ manager: "pip", text, message: `invalid pip requirement "${text}": ${detail}` })
}

const parseMarker = (text: string, markerText: string): Result.Result<string, SpecError> => {
  try {
    const tree = pipRequirementsJs().parsePipRequirementsLine(`x ; ${markerText}`)
    if (tree === null || tree.type !== "ProjectName" || tree.environmentMarkerTree === undefined) {
      return Result.fail(new SpecError({ manager: "pip", text, message: `invalid marker in pip requirement "${text}"` }))
    }
    return Result.succeed(renderMarker(tree.environmentMarkerTree))
  } catch (cause) {
    return Result.fail(
      new SpecError({
        manager: "pip",
        text,
        message: `invalid environment marker in pip requirement "${text}": ${
          describeCause(cause).replace(/^.*?col \d+: /s, "")
        }`
      })
    )
  }
}

const withMarker = (req: PipRequirement, marker: string | undefined): PipRequirement =>
  marker === undefined ? req : { ...req, marker }

/**
 * Parses one pip requirement: a PEP 508 line (`name[extras] specifier ; marker`,
 * `name[extras] @ url ; marker`) or a bare URL / VCS line. `text` in the result is the input,
 * trimmed. Option lines (`-r`, `--index-url`) are not requirements and are rejected here; the
 * requirements-file reader handles them.
 *
 * @example
 * ```ts
 * parsePipRequirement("Scikit_Learn [Alldeps] >= 1.2 , <2")
 * // Success: { kind: "pip", name: "scikit-learn", extras: ["alldeps"], specifier: "<2,>=1.2", ... }
 * ```
 *
 * @since 0.1.0
 * @category pip
 */
export const parsePipRequirement = (input: string): Result.Result<PipRequirement, SpecError> => {
  const text = input.trim()
  if (text === "") {
    return Result.fail(new SpecError({ manager: "pip", text, message: "empty pip requirement" }))
  }
  const credentials = urlCredentialsProblem("pip requirement", text)
  if (credentials !== undefined) {
    return Result.fail(new SpecError({ manager: "pip", text: redactUrlCredentials(text), message: credentials }))
  }
  if (text.startsWith("-")) {
    return Result.fail(
      new SpecError({ manager: "pip", text, message: `"${text}" is a pip option, not a requirement` })
    )
  }
  // Bare URL / VCS line: pip accepts it in requirements files; PEP 508 does not.
  if (VCS_OR_URL.test(text)) {
    const m = /^(\S+)(?:\s+;\s*(.*))?$/s.exec(text)
    if (m === null || m[1] === undefined) {
      return Result.fail(new SpecError({ manager: "pip", text, message: `invalid URL requirement "${text}"` }))
    }
    const url = m[1]
    const base: PipRequirement = { kind: "pip", name: nameFromUrl(url), extras: [], specifier: "", url, text }
    if (m[2] === undefined) return Result.succeed(base)
    return Result.map(parseMarker(text, m[2]), (marker) => withMarker(base, marker))
  }
  // `name @ url ; marker`: the library's grammar cannot take a marker after a URL, so split it off.
  let body = text
  let markerText: string | undefined
  const urlWithMarker = /^([^;]*@\s*\S+)\s+;(.*)$/s.exec(text)
  if (urlWithMarker !== null && urlWithMarker[1] !== undefined && urlWithMarker[2] !== undefined) {
    body = urlWithMarker[1]
    markerText = urlWithMarker[2]
  }
  let parsed: Requirement | null
  try {
    parsed = pipRequirementsJs().parsePipRequirementsLine(body)
  } catch (cause) {
    return Result.fail(syntaxError(text, cause))
  }
  if (parsed === null) {
    return Result.fail(new SpecError({ manager: "pip", text, message: `"${text}" is a comment, not a requirement` }))
  }
  if (parsed.type === "RequirementsFile" || parsed.type === "ConstraintsFile") {
    return Result.fail(
      new SpecError({ manager: "pip", text, message: `"${text}" is a pip option, not a requirement` })
    )
  }
  const extras = [...new Set((parsed.extras ?? []).map(normalizePipName))].sort()
  const marker = parsed.environmentMarkerTree === undefined ? undefined : renderMarker(parsed.environmentMarkerTree)
  const base: PipRequirement = {
    kind: "pip",
    name: normalizePipName(parsed.name),
    extras,
    specifier: parsed.type === "ProjectName" ? normalizePipSpecifier(parsed.versionSpec ?? []) : "",
    ...(parsed.type === "ProjectURL" ? { url: parsed.url } : {}),
    text
  }
  if (markerText !== undefined) {
    return Result.map(parseMarker(text, markerText), (m) => withMarker(base, m))
  }
  return Result.succeed(withMarker(base, marker))
}
