/**
 * YAML parsing with positions, shared by the YAML importers (internal).
 *
 * Every node keeps its source range; `lineOf` turns it into a 1-based line so errors can point
 * at the exact key or list item. Scalars are read back as the text the author wrote where YAML
 * would otherwise lose it (`version: 1.10` is the string "1.10", not the number 1.1).
 *
 * @since 0.1.0
 * @internal
 */
import { unstorableTextProblem } from "@terrarium/domain"
import { Result } from "effect"
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type YAMLMap
} from "yaml"
import { importError, type ImportError } from "./ImportError.ts"

/**
 * How deep collections may nest in a YAML file an import reads. Environment files nest a few
 * levels; the parser composes recursively, so without a bound a file of `[[[[…` (100,000 deep in
 * 200 KB) would end in a stack overflow rather than a message.
 *
 * @since 0.1.0
 * @category yaml
 */
export const MAX_YAML_DEPTH = 64

/**
 * How many nodes the aliases of a YAML file may stand for, all together. An alias is never
 * expanded by the importers, which read only the nodes written out, but each alias is counted as
 * the nodes it names, so a "billion laughs" file (anchors aliasing anchors, 9^9 nodes from a few
 * lines) is refused as such wherever it hides, even in a section that is otherwise ignored. The
 * same bound is given to the `yaml` library whenever a document is turned into values.
 *
 * @since 0.1.0
 * @category yaml
 */
export const MAX_YAML_ALIAS_NODES = 10_000

/** A parsed YAML file and a way back from nodes to lines. */
export interface YamlSource {
  readonly file: string
  readonly doc: Document.Parsed
  readonly lineOf: (node: unknown) => number | undefined
}

/** Parses YAML text; a syntax error becomes an `ImportError` with the parser's line and column. */
export const parseYaml = (file: string, text: string): Result.Result<YamlSource, ImportError> => {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const first = doc.errors[0]
  if (first !== undefined) {
    const pos = lineCounter.linePos(first.pos[0])
    // The parser composes nested collections recursively and reports running out of stack as an
    // error; nesting is the only way to get there.
    const detail = /call stack/i.test(first.message) ? tooDeep : `invalid YAML: ${first.message}`
    return Result.fail(importError({ file, line: pos.line, column: pos.col }, detail))
  }
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as { range?: readonly [number, number, number] } | null | undefined)?.range
    return range === undefined ? undefined : lineCounter.linePos(range[0]).line
  }
  const source: YamlSource = { file, doc, lineOf }
  const problem = documentProblem(source)
  return problem === undefined ? Result.succeed(source) : Result.fail(problem)
}

const tooDeep = `the YAML nests deeper than the limit of ${MAX_YAML_DEPTH} levels (an environment file nests a few)`

/** A key of a path, as the domain writes paths (`["tags"]["team"]`, `["dependencies"][2]`). */
const step = (key: string | number): string => `[${typeof key === "number" ? key : JSON.stringify(key)}]`

/**
 * What makes a parsed document unfit to import, found in one walk without recursion (the
 * document may nest deeper than the stack): collections nested past `MAX_YAML_DEPTH`, aliases
 * standing for more than `MAX_YAML_ALIAS_NODES` nodes, or a string or key the log cannot store
 * (a NUL, a lone surrogate: `unstorableTextProblem`), reported at its line and path.
 */
const documentProblem = (source: YamlSource): ImportError | undefined => {
  const { file, lineOf } = source
  /** The nodes each anchored node stands for, once its walk is done. */
  const sizes = new Map<unknown, number>()
  const anchors = new Map<string, unknown>()
  let aliasNodes = 0
  interface Frame {
    readonly node: unknown
    readonly depth: number
    readonly path: string
    readonly isKey: boolean
    /** The children's sizes are added here on the way back up. */
    size: number
    readonly parent: Frame | undefined
    entered: boolean
  }
  const stack: Array<Frame> = [{ node: source.doc.contents, depth: 0, path: "", isKey: false, size: 1, parent: undefined, entered: false }]
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!
    const { node } = frame
    if (frame.entered) {
      stack.pop()
      if (frame.parent !== undefined) frame.parent.size += frame.size
      const anchor = (node as { anchor?: unknown } | null | undefined)?.anchor
      if (typeof anchor === "string") {
        anchors.set(anchor, node)
        sizes.set(node, frame.size)
      }
      continue
    }
    frame.entered = true
    const at = (path: string) => ({ file, line: lineOf(node) ?? lineOf(frame.parent?.node), field: path === "" ? undefined : path })
    if (isScalar(node)) {
      if (typeof node.value === "string") {
        const unstorable = unstorableTextProblem(node.value)
        if (unstorable !== undefined) {
          // A key is reported at its mapping's path: the path never quotes a key that cannot be shown.
          const what = frame.isKey ? `a key of ${frame.path === "" ? "the document" : `field ${frame.path}`}` : `field ${frame.path}`
          return importError(at(frame.path), `${what} ${unstorable}`)
        }
      }
    } else if (isAlias(node)) {
      const target = anchors.get(node.source)
      frame.size = sizes.get(target) ?? 1
      aliasNodes += frame.size
      if (aliasNodes > MAX_YAML_ALIAS_NODES) {
        return importError(
          at(frame.path),
          `the YAML aliases stand for more than ${MAX_YAML_ALIAS_NODES} nodes, past the limit on a file an import reads (an "alias bomb": anchors aliasing anchors)`
        )
      }
    } else if (isMap(node) || isSeq(node)) {
      if (frame.depth >= MAX_YAML_DEPTH) return importError(at(frame.path), tooDeep)
      const children: Array<Frame> = []
      node.items.forEach((item: unknown, index: number) => {
        const base = { depth: frame.depth + 1, size: 1, parent: frame, entered: false }
        if (isPair(item)) {
          const key = isScalar(item.key) ? item.key.value : item.key
          const name = typeof key === "string" || typeof key === "number" ? String(key) : "?"
          children.push({ ...base, node: item.key, path: frame.path, isKey: true })
          children.push({ ...base, node: item.value, path: `${frame.path}${step(name)}`, isKey: false })
        } else {
          children.push({ ...base, node: item, path: `${frame.path}${step(index)}`, isKey: false })
        }
      })
      // Pushed last first, so that they are walked in document order (an anchor before its aliases).
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!)
    }
  }
  return undefined
}

/** The top-level mapping, or an error naming the file when the document is something else. */
export const rootMap = (source: YamlSource, what: string): Result.Result<YAMLMap | undefined, ImportError> => {
  const contents = source.doc.contents
  if (contents === null || (isScalar(contents) && contents.value === null)) return Result.succeed(undefined)
  if (isMap(contents)) return Result.succeed(contents)
  return Result.fail(
    importError({ file: source.file, line: source.lineOf(contents) }, `expected ${what} to be a YAML mapping`)
  )
}

/** The string key of a pair (YAML allows non-string keys; they are reported by the caller). */
export const keyOf = (pair: Pair): string | undefined => {
  const key = pair.key
  if (isScalar(key)) return key.value === null ? undefined : String(key.value)
  return typeof key === "string" ? key : undefined
}

/**
 * A scalar as the text the author wrote: strings as they are, `null`/empty as "", numbers and
 * booleans as their source text (`2.10` stays "2.10"). `undefined` for maps and sequences.
 */
export const scalarText = (node: unknown): string | undefined => {
  if (node === null || node === undefined) return ""
  if (!isScalar(node)) return undefined
  const value = node.value
  if (value === null || value === undefined) return ""
  if (typeof value === "string") return value
  return typeof node.source === "string" && node.source !== "" ? node.source : String(value)
}

export { isMap, isScalar, isSeq }
export type { Node, Pair, YAMLMap }
