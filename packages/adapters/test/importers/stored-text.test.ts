/**
 * What the domain refuses in any stored field (StoredText.ts, Limits.ts) reaches a user of the
 * importers as an `ImportError` naming the file and the field, without the secret: a NUL in a
 * description, credentials in conda `variables:` or in an `image:`. pip's `${NAME}` references
 * are no credentials and import as written.
 */
import { assert, describe, it } from "@effect/vitest"
import { MAX_TEXT_LENGTH } from "@terrarium/domain"
import { Effect } from "effect"
import { importEnvironmentFile } from "../../src/importers/index.ts"
import * as MemoryFileSystem from "../support/MemoryFileSystem.ts"

const importing = (file: string, map: Record<string, string>) =>
  importEnvironmentFile(file).pipe(Effect.provide(MemoryFileSystem.layer(map)))

const refusal = (file: string, map: Record<string, string>) => importing(file, map).pipe(Effect.flip)

describe("what the domain refuses in a stored field, through an importer", () => {
  it.effect("a NUL in a description names the file and the field, not the text", () =>
    Effect.gen(function*() {
      const error = yield* refusal("/w/env.yml", {
        "/w/env.yml": "name: nul\nimage: python:3.11\ndescription: \"before\\0after\"\n"
      })
      assert.strictEqual(error._tag, "ImportError")
      assert.strictEqual(error.file, "/w/env.yml")
      assert.include(error.message, "NUL character (U+0000)")
      assert.include(error.message, `["description"]`)
      assert.notInclude(error.message, "before")
      assert.notInclude(error.message, "\u0000")
    }))

  it.effect("a lone surrogate in a tag names the file and the field", () =>
    Effect.gen(function*() {
      const error = yield* refusal("/w/env.yml", {
        "/w/env.yml": "name: s\nimage: python:3.11\ntags:\n  team: \"a\\uD800b\"\n"
      })
      assert.strictEqual(error.file, "/w/env.yml")
      assert.include(error.message, "lone surrogate (U+D800)")
      assert.include(error.message, `["tags"]["team"]`)
    }))

  it.effect("credentials in a conda file's variables, or in an image reference, are refused without the secret", () =>
    Effect.gen(function*() {
      const conda = yield* refusal("/w/conda.yml", {
        "/w/conda.yml": "name: v\ndependencies:\n  - python=3.11\nvariables:\n  PIP_INDEX_URL: https://u:s3cret@pypi.example.org/simple\n"
      })
      assert.strictEqual(conda.file, "/w/conda.yml")
      assert.include(conda.message, "carries credentials")
      assert.include(conda.message, `["variables"]["PIP_INDEX_URL"]`)
      assert.notInclude(conda.message, "s3cret")
      const image = yield* refusal("/w/env.yml", {
        "/w/env.yml": "name: i\nimage: deploy:s3cret@registry.example.org/team/base:1\n"
      })
      assert.strictEqual(image.file, "/w/env.yml")
      assert.include(image.message, "must not carry credentials")
      assert.include(image.message, `["docker"]["base"]["image"]`)
      assert.notInclude(image.message, "s3cret")
    }))

  it.effect("a description over MAX_TEXT_LENGTH names the limit", () =>
    Effect.gen(function*() {
      const error = yield* refusal("/w/env.yml", {
        "/w/env.yml": `name: long\nimage: python:3.11\ndescription: ${"x".repeat(MAX_TEXT_LENGTH + 1)}\n`
      })
      assert.strictEqual(error.file, "/w/env.yml")
      assert.include(error.message, `the limit is ${MAX_TEXT_LENGTH} characters (MAX_TEXT_LENGTH)`)
      assert.isBelow(error.message.length, 1_000)
    }))

  it.effect("pip's ${NAME} references in an index URL import as written", () =>
    Effect.gen(function*() {
      const url = "https://${PIP_USER}:${PIP_TOKEN}@pypi.example.org/simple"
      const imported = yield* importing("/w/conda.yml", {
        "/w/conda.yml": `name: refs\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - --index-url ${url}\n    - numpy\nvariables:\n  PIP_INDEX_URL: ${url}\n`
      })
      assert.strictEqual(imported.definition.python.conda?.pipOptions.indexUrl, url)
      assert.strictEqual(imported.definition.variables["PIP_INDEX_URL"], url)
    }))
})
