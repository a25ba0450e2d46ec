/**
 * Parsed package requirements.
 *
 * Specs are stored parsed, never as opaque strings, so that the canonical hash, the diff and the
 * image builder all see the same structure. The parsers themselves live at the edge
 * (`@terrarium/adapters` `package-spec/`), because they lean on libraries; the domain only
 * holds the result and never needs to re-parse text.
 *
 * The canonical hash compares the normalised fields as they are, so the schemas refuse a spec
 * that is visibly not in normal form (`{ name: "NumPy", specifier: ">= 1.2" }`) instead of
 * letting it hash differently from the parsed `numpy>=1.2`. What needs a version grammar to
 * check (PEP 440 version normal form, rattler's version-spec normal form, marker spacing) is the
 * parsers' part; docs/canonical-hash.md lists which check is where.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { WithoutUrlCredentials } from "./UrlCredentials.ts"

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** A PEP 503 normalised project name: lower-case letters and digits, single `-` between runs. */
const PEP503_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

/** One clause of a PEP 440 specifier, without spaces: an operator and a version. */
const SPECIFIER_CLAUSE = /^(?:===|~=|==|!=|<=|>=|<|>)[^\s,;]+$/

const NO_WHITESPACE = /^\S*$/

/**
 * The problems that keep a pip requirement from being in normal form, each at its field.
 * A requirement whose name could not be told from its URL keeps the URL as its name.
 */
const pipNormalForm = (spec: {
  readonly name: string
  readonly extras: ReadonlyArray<string>
  readonly specifier: string
  readonly marker?: string
  readonly url?: string
}): Array<Schema.FilterIssue> => {
  const issues: Array<Schema.FilterIssue> = []
  if (!PEP503_NAME.test(spec.name) && spec.name !== spec.url) {
    issues.push({
      path: ["name"],
      issue: "a pip package name is stored in PEP 503 normal form: lower case, runs of '-', '_' and '.' written as one '-'"
    })
  }
  spec.extras.forEach((extra, i) => {
    if (!PEP503_NAME.test(extra)) issues.push({ path: ["extras", i], issue: "an extra is stored in PEP 503 normal form, like a name" })
  })
  if (spec.specifier !== "") {
    const clauses = spec.specifier.split(",")
    if (!clauses.every((clause) => SPECIFIER_CLAUSE.test(clause))) {
      issues.push({
        path: ["specifier"],
        issue: "a pip specifier is stored as clauses without spaces (operator and version), joined by ','"
      })
    } else if (!clauses.every((clause, i) => i === 0 || compareStrings(clauses[i - 1]!, clause) < 0)) {
      issues.push({ path: ["specifier"], issue: "the clauses of a pip specifier are stored sorted, each once" })
    }
    if (spec.url !== undefined) issues.push({ path: ["specifier"], issue: "a URL requirement has no version specifier" })
  }
  if (spec.marker !== undefined && !/^\S(?:.*\S)?$/s.test(spec.marker)) {
    issues.push({ path: ["marker"], issue: "a marker is stored trimmed and non-empty (leave it out when there is none)" })
  }
  return issues
}

/**
 * A pip requirement per PEP 508: `name[extras] specifier ; marker` or `name[extras] @ url ; marker`.
 *
 * `name` is the PEP 503 normalised project name (lower case, runs of `-_.` folded to `-`), so
 * `Scikit_Learn` and `scikit-learn` are one package. `specifier` is the normalised version
 * specifier: clauses without spaces, sorted and joined by `,` (`>=1.2,<2` becomes `<2,>=1.2`).
 * `text` keeps what the user wrote, for display only; it is never hashed.
 *
 * @since 0.1.0
 * @category package specs
 */
export const PipRequirement = Schema.Struct({
  kind: Schema.Literal("pip"),
  name: Schema.String,
  extras: Schema.Array(Schema.String),
  specifier: Schema.String,
  marker: Schema.optionalKey(Schema.String),
  url: Schema.optionalKey(WithoutUrlCredentials.pipe(
    Schema.check(Schema.isPattern(/^\S+$/, { message: "a requirement URL has no whitespace" }))
  )),
  text: Schema.String
}).check(Schema.makeFilter(pipNormalForm))
export type PipRequirement = typeof PipRequirement.Type

/**
 * A conda channel: a name (`conda-forge`, `pytorch/label/nightly`) or a URL, without whitespace
 * and without credentials.
 *
 * @since 0.1.0
 * @category package specs
 */
export const CondaChannel = WithoutUrlCredentials.pipe(
  Schema.check(Schema.isPattern(/^\S+$/, { message: "a conda channel is a name or URL without whitespace" }))
)

/**
 * A conda MatchSpec: `[channel::]name [version [build]]`, or `name=version=build`.
 *
 * `name` is lower case; `version` is the version spec as rattler normalises it, without spaces
 * (empty when unpinned, never `*`); `build` is the build-string matcher (empty when absent);
 * `channel` a channel name or URL, without credentials.
 *
 * @since 0.1.0
 * @category package specs
 */
export const CondaSpec = Schema.Struct({
  kind: Schema.Literal("conda"),
  channel: Schema.optionalKey(CondaChannel),
  name: Schema.String.pipe(Schema.check(Schema.isPattern(/^[a-z0-9_][a-z0-9_.+-]*$/, {
    message: "a conda package name is stored in lower case (letters, digits, '_', '.', '+', '-')"
  }))),
  version: Schema.String.pipe(Schema.check(
    Schema.isPattern(NO_WHITESPACE, { message: "a conda version spec is stored without spaces" }),
    Schema.makeFilter((version: string) => version !== "*", { message: "any version is stored as \"\", not \"*\"" })
  )),
  build: Schema.String.pipe(Schema.check(Schema.isPattern(/^[A-Za-z0-9_.*+-]*$/, {
    message: "a conda build string has letters, digits, '_', '.', '*', '+' or '-' (empty when absent)"
  }))),
  text: Schema.String
})
export type CondaSpec = typeof CondaSpec.Type

/** @since 0.1.0 @category package specs */
export const PackageSpec = Schema.Union([PipRequirement, CondaSpec])
export type PackageSpec = typeof PackageSpec.Type

/** @since 0.1.0 @category package specs */
export const PackageManager = Schema.Literals(["pip", "conda"])
export type PackageManager = typeof PackageManager.Type

/**
 * True when the spec names an exact version (`==1.2.3`, `===x`, conda `1.2.3` or `==1.2.3`) or
 * a direct URL, i.e. when building it twice cannot give two different packages.
 *
 * @since 0.1.0
 * @category package specs
 */
export const isPinned = (spec: PackageSpec): boolean => {
  if (spec.kind === "pip") {
    if (spec.url !== undefined) return true
    return /^===?[^,*]+$/.test(spec.specifier)
  }
  return /^(==)?[^<>=!~*,|]+$/.test(spec.version)
}

/**
 * The name under which a package is stored: PEP 503 for pip (lower case, runs of `-`, `_`, `.`
 * folded to `-`), lower case for conda. Lets `remove Scikit_Learn` find `scikit-learn`.
 *
 * @since 0.1.0
 * @category package specs
 */
export const normalizePackageName = (manager: PackageManager, name: string): string =>
  manager === "pip" ? name.trim().toLowerCase().replace(/[-_.]+/g, "-") : name.trim().toLowerCase()
