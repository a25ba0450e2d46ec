/**
 * Attacks that held when the registry was attacked (issue 14), kept holding by a test each: a YAML
 * alias bomb, deeply nested YAML and JSON, and `-r` loops in requirements files. Each asserts a
 * prompt, clear refusal (or, for a loop, the importer's warning) naming the file, never a stack
 * overflow or a hang.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  type ImportError,
  importEnvironmentFile,
  MAX_ARM_DEPTH,
  MAX_YAML_ALIAS_NODES,
  MAX_YAML_DEPTH
} from "../../src/importers/index.ts"
import * as MemoryFileSystem from "../support/MemoryFileSystem.ts"

const importing = (file: string, map: Record<string, string>) =>
  importEnvironmentFile(file).pipe(Effect.provide(MemoryFileSystem.layer(map)))

/** The refusal, and how long it took (ms). */
const timedRefusal = (file: string, map: Record<string, string>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const error: ImportError = yield* importing(file, map).pipe(Effect.flip)
    return { error, ms: Date.now() - started }
  })

/** "Billion laughs": nine levels of anchors, each aliasing the one before nine times (9^9 leaves if expanded). */
const aliasBomb = (indent: string): string => {
  const lines = [`${indent}lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]`]
  for (let i = 1; i <= 9; i++) lines.push(`${indent}lol${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(", ")}]`)
  return lines.join("\n")
}

const DEPTH = 100_000
const nestedFlow = "[".repeat(DEPTH) + "]".repeat(DEPTH)

describe("held attacks: alias bombs", () => {
  it.effect("an AzureML YAML with an alias bomb is refused promptly, naming the file", () =>
    Effect.gen(function*() {
      const { error, ms } = yield* timedRefusal("/w/env.yml", {
        "/w/env.yml": `name: bomb\nimage: python:3.11\ntags:\n${aliasBomb("  ")}\ndescription: *l9\n`
      })
      assert.strictEqual(error._tag, "ImportError")
      assert.strictEqual(error.file, "/w/env.yml")
      assert.include(error.message, "alias")
      assert.isBelow(ms, 5_000)
    }))

  it.effect("a conda environment file with an alias bomb, even in a section conda ignores, is refused promptly", () =>
    Effect.gen(function*() {
      const { error, ms } = yield* timedRefusal("/w/environment.yml", {
        "/w/environment.yml": `name: bomb\ndependencies:\n  - python=3.11\nextra:\n${aliasBomb("  ")}\n  all: *l9\n`
      })
      assert.strictEqual(error.file, "/w/environment.yml")
      assert.include(error.message, "alias")
      assert.isBelow(ms, 5_000)
    }))

  it.effect("anchors and aliases within the bound import as before (an alias where a value is read is refused there)", () =>
    Effect.gen(function*() {
      const imported = yield* importing("/w/environment.yml", {
        "/w/environment.yml": `dependencies:\n  - python=3.11\nextra:\n  base: &base [${Array(9).fill("x").join(", ")}]\n  again: [*base, *base]\n`
      })
      assert.deepStrictEqual(imported.definition.python.conda?.conda.map((spec) => spec.name), ["python"])
      const error = yield* importing("/w/env.yml", {
        "/w/env.yml": `name: a\nimage: &img python:3.11\ndescription: *img\n`
      }).pipe(Effect.flip)
      assert.strictEqual(error.message, `/w/env.yml:3: field "description" must be a single value`)
    }))

  it.effect(`aliases standing for more than MAX_YAML_ALIAS_NODES nodes are refused at the alias's line`, () =>
    Effect.gen(function*() {
      const items = Array(100).fill("x").join(", ")
      const aliases = Array(Math.floor(MAX_YAML_ALIAS_NODES / 101) + 1).fill("*big").join(", ")
      const error = yield* importing("/w/environment.yml", {
        "/w/environment.yml": `dependencies:\n  - python=3.11\nextra:\n  big: &big [${items}]\n  many: [${aliases}]\n`
      }).pipe(Effect.flip)
      assert.strictEqual(error.file, "/w/environment.yml")
      assert.strictEqual(error.line, 5)
      assert.include(error.message, `more than ${MAX_YAML_ALIAS_NODES} nodes`)
    }))
})

describe("held attacks: deep nesting", () => {
  it.effect("YAML nested one level past MAX_YAML_DEPTH is refused naming the limit and the line; at the limit it imports", () =>
    Effect.gen(function*() {
      const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
      // The document's mapping and `extra:`'s value are two levels of their own.
      const file = (depth: number) => ({ "/w/environment.yml": `dependencies:\n  - python=3.11\nextra:\n  deep: ${nested(depth)}\n` })
      const imported = yield* importing("/w/environment.yml", file(MAX_YAML_DEPTH - 2))
      assert.deepStrictEqual(imported.definition.python.conda?.conda.map((spec) => spec.name), ["python"])
      const error = yield* importing("/w/environment.yml", file(MAX_YAML_DEPTH - 1)).pipe(Effect.flip)
      assert.strictEqual(error.line, 4)
      assert.include(error.message, `nests deeper than the limit of ${MAX_YAML_DEPTH} levels`)
    }))

  it.effect("100,000 nested YAML flow lists are a clear error, not a stack overflow", () =>
    Effect.gen(function*() {
      const { error, ms } = yield* timedRefusal("/w/env.yml", {
        "/w/env.yml": `name: deep\nimage: python:3.11\ntags:\n  deep: ${nestedFlow}\n`
      })
      assert.strictEqual(error.file, "/w/env.yml")
      assert.strictEqual(error.line, 4)
      assert.include(error.message, "nest")
      assert.notInclude(error.message, "call stack")
      assert.isBelow(ms, 10_000)
    }))

  it.effect("100,000 nested YAML maps in a conda file are a clear error", () =>
    Effect.gen(function*() {
      const { error } = yield* timedRefusal("/w/environment.yml", {
        "/w/environment.yml": `dependencies:\n  - python=3.11\nextra: ${"{a: ".repeat(DEPTH)}1${"}".repeat(DEPTH)}\n`
      })
      assert.strictEqual(error.file, "/w/environment.yml")
      assert.strictEqual(error.line, 3)
      assert.include(error.message, "nest")
      assert.notInclude(error.message, "call stack")
    }))

  it.effect("100,000 nested block lists on one line (`- - - …`) are a clear error", () =>
    Effect.gen(function*() {
      const { error } = yield* timedRefusal("/w/environment.yml", {
        "/w/environment.yml": `dependencies:\n  ${"- ".repeat(DEPTH)}x\n`
      })
      assert.strictEqual(error.file, "/w/environment.yml")
      assert.include(error.message, "nest")
      assert.notInclude(error.message, "call stack")
    }))

  it.effect("nested arrays in an ARM template's parameter value are a clear error", () =>
    Effect.gen(function*() {
      const template = `{"parameters": {"p": {"defaultValue": ${nestedFlow}}}, "resources": [{"type": "Microsoft.MachineLearningServices/workspaces/environments/versions", "name": "w/e/1", "properties": {"description": "[parameters('p')]", "image": "python:3.11"}}]}`
      const { error } = yield* timedRefusal("/w/env.json", { "/w/env.json": template })
      assert.strictEqual(error.file, "/w/env.json")
      assert.include(error.message, `nests deeper than the limit of ${MAX_ARM_DEPTH} levels at ["parameters"]["p"]["defaultValue"]`)
      assert.notInclude(error.message, "call stack")
    }))

  it.effect("a deeply nested ARM expression is a clear error", () =>
    Effect.gen(function*() {
      const expression = `[${"concat(".repeat(DEPTH)}'x'${")".repeat(DEPTH)}]`
      const template = `{"resources": [{"type": "Microsoft.MachineLearningServices/workspaces/environments/versions", "name": "w/e/1", "properties": {"description": "${expression}", "image": "python:3.11"}}]}`
      const { error } = yield* timedRefusal("/w/env.json", { "/w/env.json": template })
      assert.strictEqual(error.file, "/w/env.json")
      assert.include(error.message, `nests its calls deeper than the limit of ${MAX_ARM_DEPTH}`)
      assert.notInclude(error.message, "call stack")
    }))
})

describe("held attacks: -r loops", () => {
  it.effect("a.txt includes b.txt includes a.txt: read once each, the cycle a warning at its line", () =>
    Effect.gen(function*() {
      const imported = yield* importing("/w/a.txt", {
        "/w/a.txt": "numpy==1.26.4\n-r b.txt\n",
        "/w/b.txt": "pandas==2.2.2\n\n-r a.txt\n"
      })
      assert.deepStrictEqual(imported.definition.python.conda?.pip.map((r) => r.name), ["numpy", "pandas"])
      assert.deepStrictEqual(imported.source.includes, ["/w/b.txt"])
      const cycle = imported.warnings.find((w) => w.message.includes("cycle"))
      assert.isDefined(cycle)
      assert.strictEqual(cycle?.file, "/w/b.txt")
      assert.strictEqual(cycle?.line, 3)
      assert.include(cycle?.message, "-r a.txt would include /w/a.txt again (a cycle); skipped")
    }))

  it.effect("a file including itself is a cycle warning, read once", () =>
    Effect.gen(function*() {
      const imported = yield* importing("/w/requirements.txt", {
        "/w/requirements.txt": "numpy==1.26.4\n-r ./requirements.txt\n"
      })
      assert.deepStrictEqual(imported.definition.python.conda?.pip.map((r) => r.name), ["numpy"])
      assert.deepStrictEqual(imported.source.includes, [])
      assert.deepStrictEqual(
        imported.warnings.map((w) => [w.file, w.line, w.message]),
        [["/w/requirements.txt", 2, "-r ./requirements.txt would include /w/requirements.txt again (a cycle); skipped"]]
      )
    }))

  it.effect("a loop through a conda file's pip: list terminates too", () =>
    Effect.gen(function*() {
      const imported = yield* importing("/w/environment.yml", {
        "/w/environment.yml": "dependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - -r a.txt\n",
        "/w/a.txt": "numpy==1.26.4\n-r b.txt\n",
        "/w/b.txt": "-r a.txt\n"
      })
      assert.deepStrictEqual(imported.definition.python.conda?.pip.map((r) => r.name), ["numpy"])
      assert.isTrue(imported.warnings.some((w) => w.file === "/w/b.txt" && w.line === 1 && w.message.includes("(a cycle)")))
    }))
})
