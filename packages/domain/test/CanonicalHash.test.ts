import { assert, describe, it } from "@effect/vitest"
import canonicalize from "canonicalize"
import { Effect, Schema } from "effect"
import { readFileSync } from "node:fs"
import { ALGORITHM_VERSION, canonicalDocument, canonicalJson, hash, isCanonicalHash, verify } from "../src/CanonicalHash.ts"
import { Definition, emptyDefinition } from "../src/Definition.ts"
import { CheckedDefinition } from "../src/DefinitionCheck.ts"
import { buildRelevantMutations, irrelevantMutations, pip, rich } from "./fixtures.ts"

const decodeDefinition = Schema.decodeUnknownSync(CheckedDefinition)

/**
 * Reads the test vectors out of the doc: fenced blocks tagged `vector-N-input|canonical|hash`, and
 * `vector-N-canonical-vK|hash-vK` for what an earlier algorithm version K gave.
 */
const vectors = (() => {
  const doc = readFileSync(new URL("../../../docs/canonical-hash.md", import.meta.url), "utf8")
  type Vector = { n: string; input?: string; canonical?: string; hash?: string; earlier: Map<number, { canonical?: string; hash?: string }> }
  const blocks = new Map<string, Vector>()
  for (const match of doc.matchAll(/^```\w+ vector-(\d+)-(input|canonical|hash)(?:-v(\d+))?\n([\s\S]*?)\n```$/gm)) {
    const [, n, part, earlier, body] = match
    const entry: Vector = blocks.get(n!) ?? { n: n!, earlier: new Map() }
    if (earlier === undefined) entry[part as "input" | "canonical" | "hash"] = body!
    else {
      const at = entry.earlier.get(Number(earlier)) ?? {}
      at[part as "canonical" | "hash"] = body!
      entry.earlier.set(Number(earlier), at)
    }
    blocks.set(n!, entry)
  }
  return [...blocks.values()]
})()

/** Rebuilds every plain object with its keys in reverse order: what a YAML file with another layout gives. */
const reverseKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reverseKeys)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]))
  }
  return value
}

describe("CanonicalHash", () => {
  it("has algorithm version 2", () => assert.strictEqual(ALGORITHM_VERSION, 2))

  describe("test vectors in docs/canonical-hash.md", () => {
    it("has at least 4 complete vectors", () => {
      assert.isAtLeast(vectors.length, 4)
      for (const v of vectors) {
        assert.isString(v.input, `vector ${v.n} input`)
        assert.isString(v.canonical, `vector ${v.n} canonical`)
        assert.isString(v.hash, `vector ${v.n} hash`)
      }
    })
    for (const v of vectors) {
      it.effect(`vector ${v.n}`, () =>
        Effect.gen(function*() {
          const definition = decodeDefinition(JSON.parse(v.input!))
          const canonical = canonicalJson(canonicalDocument(definition))
          assert.strictEqual(canonical, v.canonical)
          assert.strictEqual(canonicalize(canonicalDocument(definition)), v.canonical)
          assert.strictEqual(yield* hash(definition), v.hash)
          assert.isTrue(yield* verify(definition, v.hash!, ALGORITHM_VERSION))
          for (const [algorithm, earlier] of v.earlier) {
            assert.strictEqual(canonicalJson(canonicalDocument(definition, algorithm)), earlier.canonical, `version ${algorithm}`)
            assert.strictEqual(yield* hash(definition, algorithm), earlier.hash, `version ${algorithm}`)
            // A hash stored under version 1 still verifies, and only under the version it names.
            assert.isTrue(yield* verify(definition, earlier.hash!, algorithm))
            assert.isFalse(yield* verify(definition, earlier.hash!, ALGORITHM_VERSION))
          }
        }))
    }
    it("keeps a vector of an earlier algorithm version", () => {
      assert.isTrue(vectors.some((v) => v.earlier.has(1) && v.earlier.get(1)?.hash !== v.hash))
    })
  })

  describe("algorithm version 2: inference routes", () => {
    const withRoutes = { ...rich, inferenceConfig: { scoringRoute: { path: "/score", port: 5001 } } }
    it.effect("a changed route or port is a new hash; under version 1 it was not", () =>
      Effect.gen(function*() {
        const moved = { ...withRoutes, inferenceConfig: { scoringRoute: { path: "/predict", port: 5001 } } }
        const port = { ...withRoutes, inferenceConfig: { scoringRoute: { path: "/score", port: 8080 } } }
        const base = yield* hash(withRoutes)
        assert.notStrictEqual(yield* hash(moved), base)
        assert.notStrictEqual(yield* hash(port), base)
        assert.strictEqual(yield* hash(moved, 1), yield* hash(withRoutes, 1))
      }))
    it.effect("a definition without routes (or with an empty config) hashes as under version 1", () =>
      Effect.gen(function*() {
        const { inferenceConfig: _, ...none } = withRoutes
        assert.strictEqual(yield* hash(none), yield* hash(none, 1))
        assert.strictEqual(yield* hash({ ...none, inferenceConfig: {} }), yield* hash(none))
        assert.notStrictEqual(yield* hash(withRoutes), yield* hash(withRoutes, 1))
      }))
    it.effect("an unknown algorithm version verifies nothing", () =>
      Effect.gen(function*() {
        assert.isFalse(yield* verify(withRoutes, yield* hash(withRoutes), 3))
        assert.isFalse(yield* verify(withRoutes, yield* hash(withRoutes), 0))
      }))
  })

  it.effect("hash is sha256: and 64 lower-case hex digits", () =>
    Effect.gen(function*() {
      const h = yield* hash(emptyDefinition)
      assert.match(h, /^sha256:[0-9a-f]{64}$/)
      assert.isTrue(isCanonicalHash(h))
      assert.isFalse(isCanonicalHash(h.toUpperCase()))
    }))

  it.effect("does not depend on key order (a YAML and a JSON file of the same definition)", () =>
    Effect.gen(function*() {
      // Decoding rebuilds structs in schema order but keeps the order of record keys (variables,
      // tags), so check both the raw objects and the decoded ones.
      const fromYaml = reverseKeys(rich) as Definition
      assert.notDeepEqual(Object.keys(fromYaml), Object.keys(rich))
      assert.notDeepEqual(Object.keys(fromYaml.variables), Object.keys(rich.variables))
      assert.strictEqual(yield* hash(fromYaml), yield* hash(rich))
      const decoded = decodeDefinition(fromYaml)
      assert.notDeepEqual(Object.keys(decoded.variables), Object.keys(rich.variables))
      assert.strictEqual(yield* hash(decoded), yield* hash(decodeDefinition(JSON.parse(JSON.stringify(rich)))))
    }))

  // Only the `text` field is varied here: that the parsers turn `numpy >= 1.2` and `NumPy>=1.2`
  // into the same fields is checked from the file to the hash in
  // packages/adapters/test/importers/spelling.test.ts, and the schemas refuse unnormalised fields
  // (Definition.test.ts).
  it.effect("leaves the text a requirement was written as out of the hash", () =>
    Effect.gen(function*() {
      const spelt = (text: string) => ({
        ...emptyDefinition,
        python: {
          ...emptyDefinition.python,
          conda: { channels: [], conda: [], pip: [pip("numpy", ">=1.2", { text })], pipOptions: rich.python.conda!.pipOptions }
        }
      })
      const a = yield* hash(spelt("numpy >= 1.2"))
      assert.strictEqual(a, yield* hash(spelt("NumPy>=1.2")))
      assert.strictEqual(a, yield* hash(spelt("numpy>=1.2")))
      assert.notInclude(canonicalJson(canonicalDocument(spelt("numpy >= 1.2"))), "numpy >= 1.2")
    }))

  it.effect("package order is irrelevant, channel order is relevant", () =>
    Effect.gen(function*() {
      const conda = rich.python.conda!
      const base = yield* hash(rich)
      const reordered = { ...rich, python: { ...rich.python, conda: { ...conda, pip: [...conda.pip].reverse(), conda: [...conda.conda].reverse() } } }
      assert.strictEqual(yield* hash(reordered), base)
      const channels = { ...rich, python: { ...rich.python, conda: { ...conda, channels: [...conda.channels].reverse() } } }
      assert.notStrictEqual(yield* hash(channels), base)
    }))

  it("leaves metadata out of the document", () => {
    const doc = canonicalJson(canonicalDocument(rich))
    for (const absent of ["desc-training-image", "tag-team-value", "prop-owner-value", "conda-env-name", "description", "tags", "properties", "text"]) {
      assert.notInclude(doc, absent)
    }
  })

  describe("every build-relevant field changes the hash", () => {
    it.effect("all mutations give distinct hashes", () =>
      Effect.gen(function*() {
        const base = yield* hash(rich)
        const seen = new Map<string, string>([[base, "base"]])
        for (const [name, mutate] of buildRelevantMutations) {
          const mutated = decodeDefinition(mutate(rich)) // the mutation is still a valid definition
          const h = yield* hash(mutated)
          assert.isFalse(seen.has(h), `${name} hashes like ${seen.get(h)}`)
          seen.set(h, name)
        }
        assert.strictEqual(seen.size, buildRelevantMutations.length + 1)
      }))
  })

  it.effect("metadata, spelling and set order do not change the hash", () =>
    Effect.gen(function*() {
      const base = yield* hash(rich)
      for (const [name, mutate] of irrelevantMutations) {
        assert.strictEqual(yield* hash(decodeDefinition(mutate(rich))), base, name)
      }
    }))

  it("the environment name is not part of the definition at all", () => {
    assert.notProperty(Definition.fields, "name")
    assert.notProperty(Definition.fields, "version")
  })
})

describe("canonicalJson", () => {
  it("sorts keys by UTF-16 code units and writes no whitespace", () => {
    assert.strictEqual(canonicalJson({ b: 1, a: [true, null, "x"], A: {} }), `{"A":{},"a":[true,null,"x"],"b":1}`)
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB01 in UTF-16 but after it by code point.
    assert.strictEqual(canonicalJson({ "\uFB01": 1, "\u{1F600}": 2, "\u00e9": 3 }), `{"é":3,"😀":2,"ﬁ":1}`)
  })

  it("escapes strings like JSON.stringify", () => {
    assert.strictEqual(canonicalJson("a\"b\\c\n\u0001\u007f€"), `"a\\"b\\\\c\\n\\u0001\u007f€"`)
  })

  it("writes -0 as 0", () => assert.strictEqual(canonicalJson([-0, 0, -12, 9007199254740991]), "[0,0,-12,9007199254740991]"))

  it("rejects what it cannot canonicalise", () => {
    const bad: ReadonlyArray<unknown> = [
      1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, undefined, { a: undefined }, [undefined],
      "\uD800", "x\uDC00", 1n, () => 1, Symbol("s"), new Date(0), new Map()
    ]
    for (const value of bad) assert.throws(() => canonicalJson(value), TypeError, undefined, String(typeof value))
  })

  it("agrees with the canonicalize reference implementation on generated values", () => {
    // A small deterministic PRNG (mulberry32) keeps the values reproducible.
    let seed = 0x5eed
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = seed
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]!
    const alphabet = ["a", "B", "z", "_", "0", " ", "\"", "\\", "\n", "\t", "\u0000", "\u001f", "\u007f", "é", "€", "ﬁ", "\u2028", "😀", "𝄞", "中"]
    const string = () => Array.from({ length: Math.floor(random() * 6) }, () => pick(alphabet)).join("")
    const value = (depth: number): unknown => {
      const kind = depth > 3 ? Math.floor(random() * 4) : Math.floor(random() * 6)
      switch (kind) {
        case 0: return string()
        case 1: return pick([true, false, null])
        case 2: return Math.floor((random() - 0.5) * 2 ** Math.floor(random() * 53))
        case 3: return pick([0, -1, 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])
        case 4: return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1))
        default: return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [string(), value(depth + 1)]))
      }
    }
    for (let i = 0; i < 2000; i++) {
      const v = value(0)
      assert.strictEqual(canonicalJson(v), canonicalize(v))
    }
  })
})
