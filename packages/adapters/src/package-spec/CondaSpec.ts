/**
 * Conda MatchSpecs, parsed into the domain's `CondaSpec`; the version part is validated and
 * normalised by rattler's `VersionSpec` (the conda reference implementation in Rust, as WASM).
 *
 * Accepted forms: `name`, `name 1.2.*`, `name 1.2 build`, `name=1.2`, `name=1.2=build`,
 * `name==1.2`, `name>=1.2,<2`, `name >=1.2, <2`, `channel::name ...`, `channel/subdir::name ...`,
 * `https://host/channel::name ...` and the bracket form
 * `name[version='>=1.0', build='py*', channel=..., subdir=...]`. A channel URL with credentials
 * (`https://user:token@host/channel`) is refused: definitions are kept forever in the event log.
 *
 * Normalisation follows conda's own reading of the forms, so equal meanings compare equal:
 * - `name=1.2` is a prefix match in conda: it becomes `1.2.*`, the same as `name 1.2.*`
 *   (so `python=3.10` equals `python 3.10.*`);
 * - a bare version (`name 1.2`, `name==1.2`, and the version of `name=1.2=build`) is an exact
 *   match: `==1.2`;
 * - `*` (any version) becomes the empty string, the same as no version;
 * - the operands of every `,` (and) and `|` (or) are sorted and de-duplicated (`>=1.2,<2` →
 *   `<2,>=1.2`, `1.3|1.2` → `==1.2|==1.3`), as both are commutative; `,` binds tighter than `|`,
 *   and parentheses are written only where an `|` sits inside a `,`. rattler itself keeps the
 *   order as written, so this is done on its output's structure, without reading any version.
 *
 * Like the pip parser, this returns a `Result` (synchronous and pure).
 *
 * @since 0.1.0
 */
import type * as Rattler from "@conda-org/rattler"
import { CONDA_BUILD_STRING, CONDA_PACKAGE_NAME, type CondaSpec, redactUrlCredentials, urlCredentialsProblem } from "@terrarium/domain"
import { Result } from "effect"
import { createRequire } from "node:module"
import { SpecError } from "./SpecError.ts"

/**
 * rattler, loaded on the first conda spec rather than with this module: its ES module build
 * carries its WebAssembly inline and compiles it on import, which every command paid, conda
 * spec or not (bench/README.md). Its CommonJS build reads the same WebAssembly from
 * its own file, synchronously, so the functions here stay synchronous.
 */
let rattler: typeof Rattler | undefined
export const loadRattler = (): typeof Rattler => (rattler ??= createRequire(import.meta.url)("@conda-org/rattler") as typeof Rattler)

const fail = (text: string, message: string): Result.Result<never, SpecError> =>
  Result.fail(new SpecError({ manager: "conda", text, message }))

/** A version spec as a tree: a constraint (`>=1.2`, `1.2.*`) or an and (`,`) / or (`|`) of operands. */
type VersionTree = string | { readonly op: "," | "|"; readonly operands: ReadonlyArray<VersionTree> }

/**
 * Reads rattler's printed form (no spaces; `,` binds tighter than `|`; parentheses where needed)
 * into a tree; `undefined` if it holds anything else, in which case the text is kept as rattler
 * printed it.
 */
const readVersionTree = (printed: string): VersionTree | undefined => {
  let index = 0
  const list = (op: "," | "|", operand: () => VersionTree | undefined): VersionTree | undefined => {
    const operands: Array<VersionTree> = []
    for (;;) {
      const next = operand()
      if (next === undefined) return undefined
      operands.push(next)
      if (printed[index] !== op) break
      index++
    }
    return operands.length === 1 ? operands[0] : { op, operands }
  }
  const atom = (): VersionTree | undefined => {
    if (printed[index] === "(") {
      index++
      const inner = list("|", () => list(",", atom))
      if (printed[index] !== ")") return undefined
      index++
      return inner
    }
    const constraint = /^[^,|()]+/.exec(printed.slice(index))?.[0]
    if (constraint === undefined) return undefined
    index += constraint.length
    return constraint
  }
  const tree = list("|", () => list(",", atom))
  return index === printed.length ? tree : undefined
}

/** Flattens nested operands of one operator, sorts and de-duplicates them, and prints the tree. */
const printSorted = (tree: VersionTree): string => {
  if (typeof tree === "string") return tree
  const flat = tree.operands.flatMap((operand) =>
    typeof operand !== "string" && operand.op === tree.op ? operand.operands : [operand]
  )
  const printed = flat.map((operand) => {
    const text = printSorted(operand)
    return tree.op === "," && typeof operand !== "string" && operand.op === "|" ? `(${text})` : text
  })
  return [...new Set(printed)].sort().join(tree.op)
}

/**
 * Validates and normalises a conda version spec with rattler (see the module notes).
 * `spec` is the version part exactly as conda reads it: `=1.2` (prefix), `1.2` (exact), `>=1,<2`.
 *
 * @since 0.1.0
 * @category conda
 */
export const normalizeCondaVersion = (text: string, spec: string): Result.Result<string, SpecError> => {
  const compact = spec.trim().replace(/\s*([,|])\s*/g, "$1").replace(/(===?|!=|~=|<=|>=|<|>)\s+/g, "$1")
  if (compact === "" || compact === "*") return Result.succeed("")
  let normalised: string
  try {
    const parsed = new (loadRattler().VersionSpec)(compact)
    try {
      normalised = parsed.toString()
    } finally {
      parsed.free()
    }
  } catch {
    // rattler's parser errors only echo the input with a caret; a hint at the grammar says more.
    return fail(
      text,
      `invalid conda version spec "${spec.trim()}" in "${text}" (expected e.g. 1.2, 1.2.*, >=1.2,<2 or 1.2|1.3)`
    )
  }
  if (normalised === "*") return Result.succeed("")
  const tree = readVersionTree(normalised)
  return Result.succeed(tree === undefined ? normalised : printSorted(tree))
}

/** Splits `key='v', key2=v2` on commas outside quotes. */
const bracketPairs = (inner: string): Array<[string, string]> | undefined => {
  const pairs: Array<[string, string]> = []
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:'([^']*)'|"([^"]*)"|([^,'"]*?))\s*(?:,|$)/y
  let index = 0
  while (index < inner.length) {
    re.lastIndex = index
    const m = re.exec(inner)
    if (m === null || m[0] === "") return undefined
    pairs.push([m[1] ?? "", (m[2] ?? m[3] ?? m[4] ?? "").trim()])
    index = re.lastIndex
  }
  return pairs
}

/**
 * Parses one conda MatchSpec (see the module notes for the forms and the normalisation).
 *
 * @example
 * ```ts
 * parseCondaSpec("conda-forge::Python=3.10")
 * // Success: { kind: "conda", channel: "conda-forge", name: "python", version: "3.10.*", build: "", ... }
 * ```
 *
 * @since 0.1.0
 * @category conda
 */
export const parseCondaSpec = (input: string): Result.Result<CondaSpec, SpecError> => {
  const text = input.trim()
  if (text === "") return fail(text, "empty conda spec")
  // Credentials can only be in a channel URL; refused (shown redacted) before anything is read.
  const credentials = urlCredentialsProblem("conda spec", text)
  if (credentials !== undefined) return fail(redactUrlCredentials(text), credentials)
  let rest = text
  let channel: string | undefined
  const bracket: Record<string, string> = {}

  const bracketMatch = /^([^[]*)\[(.*)\]$/s.exec(rest)
  if (bracketMatch !== null) {
    const pairs = bracketPairs(bracketMatch[2] ?? "")
    if (pairs === undefined) return fail(text, `invalid bracket options in conda spec "${text}"`)
    for (const [key, value] of pairs) {
      if (!["version", "build", "channel", "subdir"].includes(key)) {
        return fail(text, `unsupported bracket option "${key}" in conda spec "${text}" (supported: version, build, channel, subdir)`)
      }
      bracket[key] = value
    }
    rest = (bracketMatch[1] ?? "").trim()
  }

  // The last `::` ends the channel, so a channel URL (`https://host/forge::numpy`) keeps its `://`.
  const channelMatch = /^(\S+)::(.*)$/s.exec(rest)
  if (channelMatch !== null) {
    channel = channelMatch[1]
    rest = (channelMatch[2] ?? "").trim()
  }
  if (bracket["channel"] !== undefined) {
    if (channel !== undefined) return fail(text, `conda spec "${text}" names its channel twice`)
    channel = bracket["channel"]
  }
  if (bracket["subdir"] !== undefined) {
    if (channel === undefined) return fail(text, `conda spec "${text}" gives a subdir without a channel`)
    if (channel.includes("/")) return fail(text, `conda spec "${text}" names its subdir twice`)
    channel = `${channel}/${bracket["subdir"]}`
  }

  const nameMatch = /^([^\s=<>!~]+)\s*(.*)$/s.exec(rest)
  if (nameMatch === null || nameMatch[1] === undefined) return fail(text, `conda spec "${text}" has no package name`)
  const name = nameMatch[1].toLowerCase()
  if (!CONDA_PACKAGE_NAME.test(name)) {
    return fail(text, `invalid conda package name "${nameMatch[1]}" in "${text}" (letters, digits, '_', '.', '+', '-')`)
  }
  rest = (nameMatch[2] ?? "").trim()

  let versionSpec = ""
  let build = ""
  if (rest.startsWith("=") && !rest.startsWith("==")) {
    // `name=1.2` (prefix match) or `name=1.2=build` (exact version + build).
    const [version = "", buildPart, ...extra] = rest.slice(1).split("=")
    // `name=>1` is a typo for `>=1`, not the prefix match `=` of `>1`: dropping the `=` would
    // quietly change what it means.
    const operator = /^\s*([<>!~])/.exec(version)
    if (operator !== null) {
      return fail(text, `invalid conda spec "${text}": "=${operator[1]}" is not an operator (did you mean "${operator[1]}="?)`)
    }
    if (extra.length > 0 || version.trim() === "") return fail(text, `invalid conda spec "${text}"`)
    if (buildPart === undefined) {
      versionSpec = /[,|<>!~]/.test(version) ? version : `=${version.trim()}`
    } else {
      versionSpec = version
      build = buildPart.trim()
    }
  } else if (rest !== "") {
    // Space form: `version [build]`; spaces after operators and around `,`/`|` are not separators.
    const compact = rest.replace(/\s*([,|])\s*/g, "$1").replace(/(===?|!=|~=|<=|>=|<|>)\s+/g, "$1")
    const tokens = compact.split(/\s+/)
    if (tokens.length > 2) return fail(text, `invalid conda spec "${text}": expected "name [version [build]]"`)
    versionSpec = tokens[0] ?? ""
    build = tokens[1] ?? ""
  }
  if (bracket["version"] !== undefined) {
    if (versionSpec !== "") return fail(text, `conda spec "${text}" gives its version twice`)
    versionSpec = bracket["version"]
  }
  if (bracket["build"] !== undefined) {
    if (build !== "") return fail(text, `conda spec "${text}" gives its build twice`)
    build = bracket["build"]
  }
  if (!CONDA_BUILD_STRING.test(build)) return fail(text, `invalid conda build string "${build}" in "${text}"`)

  return Result.map(normalizeCondaVersion(text, versionSpec), (version): CondaSpec => ({
    kind: "conda",
    ...(channel === undefined ? {} : { channel }),
    name,
    version,
    build,
    text
  }))
}
