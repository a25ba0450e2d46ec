/**
 * pip requirements files (`requirements.txt`), and the pip lines of other formats (a conda
 * file's `pip:` list, MLflow's `dependencies`), which follow the same syntax one item at a time.
 *
 * Read: comments (`#` at the start or after whitespace), blank lines, `\` continuations (joined
 * as pip joins them, with nothing between the pieces, before anything is checked: `https://user:\`
 * and `token@host` on the next line are one URL with credentials),
 * requirements (see `parsePipRequirement`), and option lines: `-r`/`--requirement` (included,
 * relative to the including file, recursively, each file once), `-c`/`--constraint`,
 * `-i`/`--index-url`, `--extra-index-url`, `-f`/`--find-links` into `PipOptions`; `--pre`,
 * `--no-index`, `--no-binary`, `--only-binary`, `--prefer-binary`, `--require-hashes`,
 * `--trusted-host`, `--use-feature`, `-e`/`--editable` kept verbatim as flags. Unknown options
 * are errors, and so is an option whose URL carries credentials (`--extra-index-url
 * https://user:token@host/simple`): the definition is kept forever in the event log.
 *
 * Included and constraints files are read only inside the environment file's folder tree, or a
 * folder `allowOutside` names (see `SourceFiles.ts`); includes nest at most `maxIncludeDepth` deep.
 *
 * A `-c` constraints file is read (relative to the file naming it) and the digest of its text
 * recorded in `constraintDigests`, so that editing it changes the canonical hash; one that cannot
 * be read here (a URL, a path inside the image, a missing file) is kept by name, with a warning.
 *
 * Leniencies, each with a warning, because real files have them: `{{...}}` placeholder versions
 * (the clause is dropped, the package stays unpinned); Python-list lines (`'numpy==1.0',`) are
 * unquoted; per-requirement options (`--hash=…`) are dropped; an `-r` file that does not exist
 * is kept as a flag.
 *
 * @since 0.1.0
 */
import {
  CanonicalHash,
  emptyDefinition,
  type PipOptions,
  type PipRequirement,
  redactUrlCredentials,
  unstorableTextProblem,
  urlCredentialsProblem
} from "@terrarium/domain"
import { Effect, type FileSystem, Path, Result } from "effect"
import { parsePipRequirement } from "../package-spec/PipSpec.ts"
import { stripVersionPlaceholders } from "../package-spec/Placeholders.ts"
import type { SpecError } from "../package-spec/SpecError.ts"
import { type ImportedEnvironment, validateDefinition } from "./ImportedEnvironment.ts"
import { excerpt, importError, type ImportError, type ImportWarning, importWarning } from "./ImportError.ts"
import { readReferencedFile, type ReadOptions, readScope, type ReadScope, readSourceFile } from "./SourceFiles.ts"

/**
 * One pip line and where it came from (1-based line in `file`).
 *
 * @since 0.1.0
 * @category requirements
 */
export interface PipLine {
  readonly text: string
  readonly line: number | undefined
}

/**
 * The pip part of a definition, as read from one or more files.
 *
 * @since 0.1.0
 * @category requirements
 */
export interface PipSection {
  readonly requirements: ReadonlyArray<PipRequirement>
  readonly options: PipOptions
  /** Files read through `-r`, in order. */
  readonly includes: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<ImportWarning>
}

/**
 * @since 0.1.0
 * @category requirements
 */
export interface PipReadOptions extends ReadOptions {
  /**
   * Reads `-r` includes and `-c` constraints files (through the `FileSystem`); without it,
   * includes are kept as flags and constraints files by name (with a warning).
   */
  readonly readReferences?: boolean | undefined
  /** What may be read, when the caller has settled it already (else settled from the file and these options). */
  readonly scope?: ReadScope | undefined
}

const VALUE_OPTIONS: Record<string, string> = {
  "-r": "--requirement",
  "--requirement": "--requirement",
  "-c": "--constraint",
  "--constraint": "--constraint",
  "-i": "--index-url",
  "--index-url": "--index-url",
  "--extra-index-url": "--extra-index-url",
  "-f": "--find-links",
  "--find-links": "--find-links",
  "--no-binary": "--no-binary",
  "--only-binary": "--only-binary",
  "--trusted-host": "--trusted-host",
  "--use-feature": "--use-feature",
  "-e": "--editable",
  "--editable": "--editable"
}
const FLAG_OPTIONS = new Set(["--pre", "--no-index", "--prefer-binary", "--require-hashes"])
const PER_REQUIREMENT_OPTION = /\s+--(?:hash|global-option|install-option|config-settings)(?:=|\s+)\S+/g

/** Mutable accumulator while reading; frozen into a `PipSection` at the end. */
interface Acc {
  readonly requirements: Array<PipRequirement>
  indexUrl: string | undefined
  readonly extraIndexUrls: Array<string>
  readonly findLinks: Array<string>
  readonly constraints: Array<string>
  readonly constraintDigests: Record<string, string>
  readonly flags: Array<string>
  readonly includes: Array<string>
  readonly warnings: Array<ImportWarning>
}

const pushUnique = (list: Array<string>, value: string): void => {
  if (!list.includes(value)) list.push(value)
}

/**
 * Splits requirements-file text into logical lines: comments removed, `\` continuations joined
 * as pip joins them (the backslash dropped, nothing put in its place; numbered by their first
 * physical line), blank lines dropped.
 *
 * @since 0.1.0
 * @category requirements
 */
export const requirementsLines = (text: string): ReadonlyArray<PipLine> => {
  const out: Array<PipLine> = []
  const physical = text.replace(/^\uFEFF/, "").split(/\r?\n/)
  let pending: PipLine | undefined
  physical.forEach((raw, index) => {
    const withoutComment = raw.replace(/(^|\s)#.*$/, "")
    const continued = /\\\s*$/.test(withoutComment)
    const piece = continued ? withoutComment.replace(/\\\s*$/, "") : withoutComment
    pending = pending === undefined
      ? { text: piece, line: index + 1 }
      : { text: `${pending.text}${piece}`, line: pending.line }
    if (!continued) {
      if (pending.text.trim() !== "") out.push({ text: pending.text.trim(), line: pending.line })
      pending = undefined
    }
  })
  if (pending !== undefined && pending.text.trim() !== "") out.push({ text: pending.text.trim(), line: pending.line })
  return out
}

/**
 * Pip lines given one by one (a conda file's `pip:` items) with their `\` continuations joined:
 * conda writes the items into a requirements file, one a line, and pip joins a line ending in `\`
 * with the next before reading it, so the items are checked as pip will read them.
 */
const joinContinuations = (lines: ReadonlyArray<PipLine>): ReadonlyArray<PipLine> => {
  const out: Array<PipLine> = []
  let pending: PipLine | undefined
  for (const { text, line } of lines) {
    const continued = /\\\s*$/.test(text)
    const piece = continued ? text.replace(/\\\s*$/, "") : text
    pending = pending === undefined ? { text: piece, line } : { text: `${pending.text}${piece}`, line: pending.line }
    if (!continued) {
      out.push(pending)
      pending = undefined
    }
  }
  if (pending !== undefined) out.push(pending)
  return out
}

/**
 * A package-spec parser's complaint, quoting only the word it is about: the column it reports,
 * else the first word (see `excerpt`); never the whole line, which may be a line of any file read.
 */
const specProblem = (error: SpecError): string => {
  const column = /at column (\d+)/.exec(error.message)?.[1]
  const quoted = `"${error.text}"`
  return error.message.split(quoted).join(`"${excerpt(error.text, column === undefined ? undefined : Number(column))}"`)
}

const readLines = (
  file: string,
  lines: ReadonlyArray<PipLine>,
  acc: Acc,
  chain: ReadonlyArray<string>,
  options: PipReadOptions & { readonly scope: ReadScope }
): Effect.Effect<void, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    for (const { text: rawText, line } of lines) {
      let text = rawText.trim()
      if (text === "") continue
      const at = { file, line }
      // A Python list pasted into requirements.txt: `'numpy==1.0',`.
      const quoted = /^(['"])(.*)\1\s*,?$/.exec(text)
      if (quoted !== null && quoted[2] !== undefined) {
        acc.warnings.push(importWarning(file, line, `read the quoted Python string ${excerpt(text)} as the requirement ${excerpt(quoted[2])}`))
        text = quoted[2].trim()
      }
      if (text.startsWith("-")) {
        yield* readOption(file, line, text, acc, chain, options)
        continue
      }
      const perRequirement = text.match(PER_REQUIREMENT_OPTION)
      if (perRequirement !== null) {
        acc.warnings.push(
          importWarning(file, line, `per-requirement option(s) ${perRequirement.map((o) => excerpt(o)).join(" ")} are not kept`)
        )
        text = text.replace(PER_REQUIREMENT_OPTION, "").trim()
      }
      const { placeholders, text: stripped } = stripVersionPlaceholders(text)
      for (const placeholder of placeholders) {
        acc.warnings.push(importWarning(file, line, `version placeholder ${placeholder} dropped; "${stripped}" is left unpinned`))
      }
      const parsed = parsePipRequirement(stripped)
      if (Result.isFailure(parsed)) return yield* importError(at, specProblem(parsed.failure))
      // What parses is checked before it is kept, so that the refusal names the line (the domain's
      // check of the whole definition could name only the field).
      const unstorable = unstorableTextProblem(text)
      if (unstorable !== undefined) return yield* importError({ ...at, field: "requirement" }, `the requirement ${unstorable}`)
      acc.requirements.push(placeholders.length > 0 ? { ...parsed.success, text } : parsed.success)
    }
  })

const readOption = (
  file: string,
  line: number | undefined,
  text: string,
  acc: Acc,
  chain: ReadonlyArray<string>,
  options: PipReadOptions & { readonly scope: ReadScope }
): Effect.Effect<void, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const at = { file, line }
    const m = /^(--?[A-Za-z][A-Za-z0-9-]*)(?:=|\s+)?(.*)$/s.exec(text)
    const name = m?.[1] ?? text
    const value = (m?.[2] ?? "").trim()
    if (FLAG_OPTIONS.has(name)) {
      if (value !== "") return yield* importError(at, `pip option ${name} takes no value (got "${redactUrlCredentials(value)}")`)
      pushUnique(acc.flags, name)
      return
    }
    const canonical = VALUE_OPTIONS[name]
    if (canonical === undefined) {
      return yield* importError(at, `unknown pip option "${excerpt(name)}" in "${excerpt(redactUrlCredentials(text))}"`)
    }
    if (value === "") return yield* importError(at, `pip option ${name} needs a value`)
    const unstorable = unstorableTextProblem(value)
    if (unstorable !== undefined) return yield* importError({ ...at, field: canonical }, `pip option ${canonical} ${unstorable}`)
    const credentials = urlCredentialsProblem(`pip option ${name}`, value)
    if (credentials !== undefined) return yield* importError({ ...at, field: canonical }, credentials)
    switch (canonical) {
      case "--requirement":
        return yield* include(file, line, value, acc, chain, options)
      case "--constraint":
        if (acc.constraints.includes(value)) return // read once, however often it is named
        acc.constraints.push(value)
        return yield* constraintsDigest(file, line, value, acc, options)
      case "--index-url":
        if (acc.indexUrl !== undefined && acc.indexUrl !== value) {
          acc.warnings.push(importWarning(file, line, `a second --index-url (${excerpt(value)}) replaces ${excerpt(acc.indexUrl)}`))
        }
        acc.indexUrl = value
        return
      case "--extra-index-url":
        return pushUnique(acc.extraIndexUrls, value)
      case "--find-links":
        return pushUnique(acc.findLinks, value)
      case "--editable":
        acc.warnings.push(importWarning(file, line, `editable install "${excerpt(value)}" is kept as a pip flag`))
        return pushUnique(acc.flags, `${canonical} ${value}`)
      default:
        return pushUnique(acc.flags, `${canonical} ${value}`)
    }
  })

/**
 * Where the file named by `-r`/`-c target` in `file` is read (relative to `file`), or why it is
 * not read here: `readReferences` not set, or a URL, which is never fetched. `files` names such
 * files in that reason ("includes", "constraints files").
 */
const localTarget = (
  path: Path.Path,
  file: string,
  target: string,
  files: string,
  options: PipReadOptions
): Result.Result<string, string> => {
  if (options.readReferences !== true) return Result.fail(`${files} are not read here`)
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(target)) return Result.fail(`remote ${files} are not fetched`)
  return Result.succeed(path.isAbsolute(target) ? target : path.join(path.dirname(file), target))
}

const include = (
  file: string,
  line: number | undefined,
  target: string,
  acc: Acc,
  chain: ReadonlyArray<string>,
  options: PipReadOptions & { readonly scope: ReadScope }
): Effect.Effect<void, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const keep = (why: string) => {
      acc.warnings.push(importWarning(file, line, `-r ${target}: ${why}; kept as a pip flag`))
      pushUnique(acc.flags, `--requirement ${target}`)
    }
    const paths = yield* Path.Path
    const local = localTarget(paths, file, target, "includes", options)
    if (Result.isFailure(local)) return keep(local.failure)
    const path = local.success
    const key = paths.resolve(path)
    if (chain.includes(key)) {
      acc.warnings.push(importWarning(file, line, `-r ${target} would include ${path} again (a cycle); skipped`))
      return
    }
    if (acc.includes.some((seen) => paths.resolve(seen) === key)) {
      acc.warnings.push(importWarning(file, line, `-r ${target}: ${path} was already included; skipped`))
      return
    }
    if (chain.length > options.scope.maxIncludeDepth) {
      return yield* importError(
        { file, line, field: "--requirement" },
        `-r ${excerpt(target)}: includes nest deeper than the limit of ${options.scope.maxIncludeDepth}; ` +
          `raise it with TERRARIUM_MAX_INCLUDE_DEPTH=N (or the maxIncludeDepth option)`
      )
    }
    const text = yield* readReferencedFile(options.scope, path, { file, line, field: "-r", name: target })
    if (text === undefined) return keep(`${path} does not exist`)
    acc.includes.push(path)
    yield* readLines(path, requirementsLines(text), acc, [...chain, key], options)
  })

/** Reads a `-c` file and records the digest of its text, or says why its content is not hashed. */
const constraintsDigest = (
  file: string,
  line: number | undefined,
  target: string,
  acc: Acc,
  options: PipReadOptions & { readonly scope: ReadScope }
): Effect.Effect<void, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const unhashed = (why: string) =>
      acc.warnings.push(importWarning(file, line, `-c ${target}: ${why}; only its name is part of the canonical hash`))
    const local = localTarget(yield* Path.Path, file, target, "constraints files", options)
    if (Result.isFailure(local)) return unhashed(local.failure)
    const path = local.success
    const text = yield* readReferencedFile(options.scope, path, { file, line, field: "-c", name: target })
    if (text === undefined) return unhashed(`${path} does not exist here (a path inside the image?)`)
    acc.constraintDigests[target] = yield* CanonicalHash.sha256Digest(new TextEncoder().encode(text))
  })

const freeze = (acc: Acc): PipSection => ({
  requirements: acc.requirements,
  options: {
    ...(acc.indexUrl === undefined ? {} : { indexUrl: acc.indexUrl }),
    extraIndexUrls: acc.extraIndexUrls,
    findLinks: acc.findLinks,
    constraints: acc.constraints,
    ...(Object.keys(acc.constraintDigests).length === 0 ? {} : { constraintDigests: acc.constraintDigests }),
    flags: acc.flags
  },
  includes: acc.includes,
  warnings: acc.warnings
})

/**
 * Reads pip lines that belong to `file` (a conda file's `pip:` items, a requirements file's
 * lines); `-r` paths are relative to `file`.
 *
 * @since 0.1.0
 * @category requirements
 */
export const readPipLines = (
  file: string,
  lines: ReadonlyArray<PipLine>,
  options: PipReadOptions = {}
): Effect.Effect<PipSection, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const acc: Acc = {
      requirements: [],
      indexUrl: undefined,
      extraIndexUrls: [],
      findLinks: [],
      constraints: [],
      constraintDigests: {},
      flags: [],
      includes: [],
      warnings: []
    }
    const scope = options.scope ?? (yield* readScope(file, options))
    yield* readLines(file, joinContinuations(lines), acc, [(yield* Path.Path).resolve(file)], { ...options, scope })
    return freeze(acc)
  })

/**
 * Parses the text of a requirements file (`file` names it in errors and anchors `-r` paths).
 *
 * @since 0.1.0
 * @category requirements
 */
export const parseRequirementsTxt = (
  file: string,
  text: string,
  options: PipReadOptions = {}
): Effect.Effect<PipSection, ImportError, FileSystem.FileSystem | Path.Path> => readPipLines(file, requirementsLines(text), options)

/**
 * Imports a requirements file as a system-managed definition whose conda section has no
 * channels and no conda packages, only pip ones (the AzureML `python_requirements_txt` case).
 *
 * @since 0.1.0
 * @category requirements
 */
export const importRequirementsTxt = (
  file: string,
  options: ReadOptions = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const scope = yield* readScope(file, options)
    const text = yield* readSourceFile(file, scope.maxFileBytes)
    if (text === undefined) return yield* importError({ file }, "no such file")
    return yield* importRequirementsText(file, text, { scope })
  })

/**
 * `importRequirementsTxt` over text already read (`file` names it and anchors `-r` paths).
 *
 * @since 0.1.0
 * @category requirements
 */
export const importRequirementsText = (
  file: string,
  text: string,
  options: ReadOptions & { readonly scope?: ReadScope | undefined } = {}
): Effect.Effect<ImportedEnvironment, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const pip = yield* parseRequirementsTxt(file, text, { ...options, readReferences: true })
    const definition = yield* validateDefinition(file, {
      ...emptyDefinition,
      python: {
        userManagedDependencies: false,
        interpreterPath: "python",
        conda: { channels: [], conda: [], pip: pip.requirements, pipOptions: pip.options }
      }
    })
    return {
      kind: "pip-requirements",
      tags: {},
      definition,
      source: { file, includes: pip.includes },
      warnings: pip.warnings
    } satisfies ImportedEnvironment
  })
