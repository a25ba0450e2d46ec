/**
 * The rules a new definition must meet before it enters the log: the limits of `Limits.ts`, text
 * the store can keep and free of credentials in every field (`StoredText.ts`), package specs in
 * normal form, a Dockerfile base with something to build from, digests only for what they were
 * computed from.
 *
 * They are checked where definitions come in (the commands' schemas, the importers), never where
 * events are read: `Definition`, `PackageSpec` and `DockerSection` are only the shape that events
 * decode with, because an event log must decode all of its history, and a rule added later would
 * otherwise stop the stream and every projection rebuild at the first event written before it.
 * Each `Checked…` schema is its shape plus one check that walks the value and reports every
 * problem at the path of its field (`["python"]["conda"]["pip"][0]["name"]`). The limits are
 * checked first, by reading lengths and counts only: when one is broken nothing else is looked
 * at, so a value far over a limit costs no scan of its text.
 *
 * Why normal form: the canonical hash compares the normalised fields as they are, so a spec that
 * is visibly not normalised (`{ name: "NumPy", specifier: ">= 1.2" }`) would hash differently from
 * the parsed `numpy>=1.2`. What needs a version grammar to check (PEP 440 version normal form,
 * rattler's version-spec normal form, marker spacing) is the parsers' part; docs/canonical-hash.md
 * lists which check is where.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { CondaDependencies, Definition, DockerSection, PipOptions, RSection } from "./Definition.ts"
import { Definition as DefinitionShape, DockerSection as DockerSectionShape } from "./Definition.ts"
import { MAX_DEFINITION_BYTES, MAX_PACKAGES, MAX_TAGS, MAX_VARIABLES } from "./Limits.ts"
import type { CondaSpec, PackageSpec, PipRequirement } from "./PackageSpec.ts"
import { PackageSpec as PackageSpecShape } from "./PackageSpec.ts"
import { privateWheelRequirementProblem } from "./PrivateWheel.ts"
import { jsonByteLength, textContentProblems, textLengthProblems } from "./StoredText.ts"
import { hasUrlCredentials, imageCredentialsProblem, redactUrlCredentials, urlCredentialsProblem } from "./UrlCredentials.ts"

/**
 * A rule a value breaks, at the path of the field that breaks it (relative to the value checked).
 *
 * @since 0.1.0
 * @category models
 */
export interface FieldProblem {
  readonly path: ReadonlyArray<PropertyKey>
  readonly issue: string
}

const under = (prefix: ReadonlyArray<PropertyKey>, problems: ReadonlyArray<FieldProblem>): Array<FieldProblem> =>
  problems.map(({ path, issue }) => ({ path: [...prefix, ...path], issue }))

const problemIf = (broken: boolean, path: ReadonlyArray<PropertyKey>, issue: string): Array<FieldProblem> =>
  broken ? [{ path, issue }] : []

/** A problem found by a check that returns its sentence or `undefined`. */
const optionalProblem = (path: ReadonlyArray<PropertyKey>, issue: string | undefined): Array<FieldProblem> =>
  issue === undefined ? [] : [{ path, issue }]

/** The credentials problem of one string field, which names the field as `what`. */
const credentials = (path: ReadonlyArray<PropertyKey>, what: string, text: string | undefined): Array<FieldProblem> => {
  const issue = text === undefined ? undefined : urlCredentialsProblem(what, text)
  return issue === undefined ? [] : [{ path, issue }]
}

const pathKey = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((step) => typeof step === "number" ? `[${step}]` : `.${String(step)}`).join("")

/**
 * The problems of a value about to be stored: the length limits of its strings and `limits`
 * (counts, size) first, and when those hold, `rules` (the field-specific ones) and what a scan of
 * every string finds (`StoredText.ts`) where no rule has already spoken of that field.
 */
const storedValueProblems = (
  value: unknown,
  limits: () => Array<FieldProblem>,
  rules: () => Array<FieldProblem>
): Array<FieldProblem> => {
  const overLimit = [...textLengthProblems(value), ...limits()]
  if (overLimit.length > 0) return overLimit
  const ruled = rules()
  const named = new Set(ruled.map((problem) => pathKey(problem.path)))
  return [...ruled, ...textContentProblems(value).filter((problem) => !named.has(pathKey(problem.path)))]
}

const noLimits = (): Array<FieldProblem> => []

/**
 * Text that may enter the log as a command's field (a variable's name or value, a package name):
 * within `MAX_TEXT_LENGTH`, storable, and free of credentials in URLs.
 *
 * @since 0.1.0
 * @category stored text
 */
export const CheckedText = Schema.String.check(Schema.makeFilter((text: string) => storedValueProblems(text, noLimits, () => [])))

const eachCredentials = (path: ReadonlyArray<PropertyKey>, what: string, texts: ReadonlyArray<string>): Array<FieldProblem> =>
  texts.flatMap((text, i) => credentials([...path, i], what, text))

// ---------------------------------------------------------------------------------------------
// Package specs
// ---------------------------------------------------------------------------------------------

/** A PEP 503 normalised project name: lower-case letters and digits, single `-` between runs. */
const PEP503_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

/** One clause of a PEP 440 specifier, without spaces: an operator and a version. */
const SPECIFIER_CLAUSE = /^(?:===|~=|==|!=|<=|>=|<|>)[^\s,;]+$/

const NO_WHITESPACE = /^\S+$/

/**
 * A conda package name as stored: lower-case letters, digits, `_`, `.`, `+` and `-`, not starting
 * with `.`, `+` or `-`. The conda parser lower-cases a name and then holds it to this.
 *
 * @since 0.1.0
 * @category package specs
 */
export const CONDA_PACKAGE_NAME = /^[a-z0-9_][a-z0-9_.+-]*$/

/**
 * A conda build-string matcher (`py311_0`, `py*`), or `""` when there is none.
 *
 * @since 0.1.0
 * @category package specs
 */
export const CONDA_BUILD_STRING = /^[A-Za-z0-9_.*+-]*$/

/**
 * The problems of a conda channel (a name or URL) at `path`: whitespace, or credentials.
 */
const channelProblems = (path: ReadonlyArray<PropertyKey>, channel: string): Array<FieldProblem> => [
  ...problemIf(!NO_WHITESPACE.test(channel), path, "a conda channel is a name or URL without whitespace"),
  ...credentials(path, "the conda channel", channel)
]

/**
 * The problems that keep a pip requirement from being in normal form or free of credentials.
 * A requirement whose name could not be told from its URL keeps the URL as its name.
 */
const pipRequirementProblems = (spec: PipRequirement): Array<FieldProblem> => {
  const clauses = spec.specifier === "" ? [] : spec.specifier.split(",")
  const wellFormed = clauses.every((clause) => SPECIFIER_CLAUSE.test(clause))
  return [
    ...problemIf(
      !PEP503_NAME.test(spec.name) && spec.name !== spec.url,
      ["name"],
      "a pip package name is stored in PEP 503 normal form: lower case, runs of '-', '_' and '.' written as one '-'"
    ),
    ...spec.extras.flatMap((extra, i) =>
      problemIf(!PEP503_NAME.test(extra), ["extras", i], "an extra is stored in PEP 503 normal form, like a name")),
    ...problemIf(
      !wellFormed,
      ["specifier"],
      "a pip specifier is stored as clauses without spaces (operator and version), joined by ','"
    ),
    // Plain `<` orders strings by UTF-16 code units, as the parser sorts them.
    ...problemIf(
      wellFormed && !clauses.every((clause, i) => i === 0 || clauses[i - 1]! < clause),
      ["specifier"],
      "the clauses of a pip specifier are stored sorted, each once"
    ),
    ...problemIf(spec.url !== undefined && spec.specifier !== "", ["specifier"], "a URL requirement has no version specifier"),
    ...problemIf(
      spec.marker !== undefined && !/^\S(?:.*\S)?$/s.test(spec.marker),
      ["marker"],
      "a marker is stored trimmed and non-empty (leave it out when there is none)"
    ),
    ...problemIf(spec.url !== undefined && !NO_WHITESPACE.test(spec.url), ["url"], "a requirement URL has no whitespace"),
    ...credentials(["url"], "the requirement URL", spec.url),
    ...credentials(["text"], "the requirement", spec.text),
    ...optionalProblem(["url"], privateWheelRequirementProblem(spec))
  ]
}

/** The problems that keep a conda spec from being in normal form or free of credentials. */
const condaSpecProblems = (spec: CondaSpec): Array<FieldProblem> => [
  ...(spec.channel === undefined ? [] : channelProblems(["channel"], spec.channel)),
  ...problemIf(
    !CONDA_PACKAGE_NAME.test(spec.name),
    ["name"],
    "a conda package name is stored in lower case (letters, digits, '_', '.', '+', '-')"
  ),
  ...problemIf(/\s/.test(spec.version), ["version"], "a conda version spec is stored without spaces"),
  ...problemIf(spec.version === "*", ["version"], "any version is stored as \"\", not \"*\""),
  ...problemIf(
    !CONDA_BUILD_STRING.test(spec.build),
    ["build"],
    "a conda build string has letters, digits, '_', '.', '*', '+' or '-' (empty when absent)"
  ),
  ...credentials(["text"], "the conda spec", spec.text)
]

/**
 * Every problem of a package spec, each at the path of its field.
 *
 * @since 0.1.0
 * @category package specs
 */
export const packageSpecProblems = (spec: PackageSpec): Array<FieldProblem> =>
  spec.kind === "pip" ? pipRequirementProblems(spec) : condaSpecProblems(spec)

/**
 * A package spec that may enter the log: `PackageSpec` in normal form, without credentials.
 *
 * @since 0.1.0
 * @category package specs
 */
export const CheckedPackageSpec = PackageSpecShape.check(
  Schema.makeFilter((spec: PackageSpec) => storedValueProblems(spec, noLimits, () => packageSpecProblems(spec)))
)

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

const pipOptionsProblems = (options: PipOptions): Array<FieldProblem> => [
  ...credentials(["indexUrl"], "the index URL", options.indexUrl),
  ...eachCredentials(["extraIndexUrls"], "the extra index URL", options.extraIndexUrls),
  ...eachCredentials(["findLinks"], "the find-links location", options.findLinks),
  ...eachCredentials(["constraints"], "the constraints file", options.constraints),
  ...eachCredentials(["flags"], "the pip option", options.flags),
  ...Object.keys(options.constraintDigests ?? {}).flatMap((file) =>
    problemIf(
      !options.constraints.includes(file),
      // A key with credentials is reported at its record (as StoredText does), so that the path cannot quote it.
      hasUrlCredentials(file) ? ["constraintDigests"] : ["constraintDigests", file],
      `a digest for "${redactUrlCredentials(file)}", which is not one of the constraints files`
    ))
]

const condaProblems = (conda: CondaDependencies): Array<FieldProblem> => [
  ...conda.channels.flatMap((channel, i) => channelProblems(["channels", i], channel)),
  ...conda.conda.flatMap((spec, i) => under(["conda", i], condaSpecProblems(spec))),
  ...conda.pip.flatMap((spec, i) => under(["pip", i], pipRequirementProblems(spec))),
  ...under(["pipOptions"], pipOptionsProblems(conda.pipOptions))
]

const imageProblems = (path: ReadonlyArray<PropertyKey>, image: string): Array<FieldProblem> => {
  const issue = imageCredentialsProblem("the image reference", image)
  return issue === undefined ? [] : [{ path, issue }]
}

/**
 * Every problem of a docker section, each at the path of its field: a Dockerfile base with
 * nothing to build from, a context digest without its context, credentials in a URL or in the
 * image reference.
 *
 * @since 0.1.0
 * @category docker
 */
export const dockerSectionProblems = (docker: DockerSection): Array<FieldProblem> => {
  const { base } = docker
  return [
    ...(base.kind === "image" ? imageProblems(["base", "image"], base.image) : [
      ...problemIf(
        base.dockerfile === undefined && base.context === undefined,
        ["base"],
        "a Dockerfile base needs the Dockerfile text (dockerfile), a build context (context), or both"
      ),
      ...problemIf(
        base.contextDigest !== undefined && base.context === undefined,
        ["base", "contextDigest"],
        "a context digest needs the context it was computed from"
      ),
      ...credentials(["base", "context"], "the build context", base.context)
    ]),
    ...credentials(["baseImageRegistry", "address"], "the registry address", docker.baseImageRegistry?.address)
  ]
}

/**
 * A docker section that may enter the log (`ConfigureDocker`).
 *
 * @since 0.1.0
 * @category docker
 */
export const CheckedDockerSection = DockerSectionShape.check(
  Schema.makeFilter((docker: DockerSection) => storedValueProblems(docker, noLimits, () => dockerSectionProblems(docker)))
)

const rProblems = (r: RSection): Array<FieldProblem> => [
  ...r.cranPackages.flatMap((p, i) => credentials(["cranPackages", i, "repository"], "the CRAN repository", p.repository)),
  ...r.gitHubPackages.flatMap((p, i) => credentials(["gitHubPackages", i, "repository"], "the GitHub repository", p.repository)),
  ...eachCredentials(["customUrlPackages"], "the package URL", r.customUrlPackages)
]

// ---------------------------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------------------------

const countProblem = (path: ReadonlyArray<PropertyKey>, count: number, what: string, limit: number, name: string) =>
  problemIf(count > limit, path, `${count} ${what}; the limit is ${limit} (${name})`)

/**
 * The limits of `Limits.ts` a definition breaks, other than its strings' lengths: the number of
 * packages, variables, tags and properties, and its size. Lengths and counts are read, and the
 * size is counted only up to the limit, so this costs little however large the definition is.
 * The decider holds a draft to these after each change.
 *
 * @since 0.1.0
 * @category definition
 */
export const definitionLimitProblems = (definition: Definition): Array<FieldProblem> => {
  const conda = definition.python.conda
  const size = jsonByteLength(definition, MAX_DEFINITION_BYTES)
  return [
    ...(conda === undefined ? [] : countProblem(
      ["python", "conda"],
      conda.conda.length + conda.pip.length,
      "packages (conda and pip together)",
      MAX_PACKAGES,
      "MAX_PACKAGES"
    )),
    ...countProblem(["variables"], Object.keys(definition.variables).length, "variables", MAX_VARIABLES, "MAX_VARIABLES"),
    ...countProblem(["tags"], Object.keys(definition.tags).length, "tags", MAX_TAGS, "MAX_TAGS"),
    ...countProblem(["properties"], Object.keys(definition.properties).length, "properties", MAX_TAGS, "MAX_TAGS"),
    ...problemIf(
      size > MAX_DEFINITION_BYTES,
      [],
      `the definition is more than ${MAX_DEFINITION_BYTES} bytes of canonical JSON; the limit is ${MAX_DEFINITION_BYTES} (MAX_DEFINITION_BYTES)`
    )
  ]
}

/**
 * The field-specific problems of a definition, each at the path of its field.
 */
const definitionRuleProblems = (definition: Definition): Array<FieldProblem> => [
  ...(definition.python.conda === undefined ? [] : under(["python", "conda"], condaProblems(definition.python.conda))),
  ...under(["docker"], dockerSectionProblems(definition.docker)),
  ...eachCredentials(["spark", "repositories"], "the Spark repository", definition.spark.repositories),
  ...(definition.r === undefined ? [] : under(["r"], rProblems(definition.r)))
]

/**
 * Every problem of a definition, each at the path of its field (see the module notes): a broken
 * limit alone when there is one, else every rule it breaks.
 *
 * @since 0.1.0
 * @category definition
 */
export const definitionProblems = (definition: Definition): Array<FieldProblem> =>
  storedValueProblems(definition, () => definitionLimitProblems(definition), () => definitionRuleProblems(definition))

/**
 * A definition that may enter the log: `Definition` that meets every rule above. Commands that
 * carry a definition (`Create`, `Define`) and the importers check with it; events decode with
 * `Definition`.
 *
 * @since 0.1.0
 * @category definition
 */
export const CheckedDefinition = DefinitionShape.check(Schema.makeFilter(definitionProblems))
