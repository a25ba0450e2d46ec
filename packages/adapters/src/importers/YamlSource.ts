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
import { Result } from "effect"
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument, type YAMLMap } from "yaml"
import { importError, type ImportError } from "./ImportError.ts"

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
    return Result.fail(importError({ file, line: pos.line, column: pos.col }, `invalid YAML: ${first.message}`))
  }
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as { range?: readonly [number, number, number] } | null | undefined)?.range
    return range === undefined ? undefined : lineCounter.linePos(range[0]).line
  }
  return Result.succeed({ file, doc, lineOf })
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
