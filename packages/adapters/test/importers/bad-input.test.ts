/**
 * Bad input: every error names the file, the line and (where there is one) the field.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { fileURLToPath } from "node:url"
import { type ImportError, importEnvironmentFile } from "../../src/importers/index.ts"

const fixture = (path: string) => fileURLToPath(new URL(`../fixtures/importers/${path}`, import.meta.url))
const failure = (path: string) =>
  importEnvironmentFile(fixture(path)).pipe(Effect.flip, Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)))
const assertLocated = (error: ImportError, file: string, line: number) => {
  assert.strictEqual(error._tag, "ImportError")
  assert.strictEqual(error.file, file)
  assert.strictEqual(error.line, line)
  assert.isTrue(error.message.startsWith(`${file}:${line}`), error.message)
  assert.strictEqual(String(error), error.message)
}

describe("importer errors", () => {
  it.effect("invalid YAML reports the parser's line and column", () =>
    Effect.gen(function*() {
      const file = fixture("invalid-yaml/env.yml")
      const error = yield* failure("invalid-yaml/env.yml")
      assertLocated(error, file, 4)
      assert.strictEqual(error.column, 7)
      assert.strictEqual(error.message, `${file}:4:7: invalid YAML: Nested mappings are not allowed in compact mappings`)
    }))

  it.effect("an unknown top-level field is named, with its line and a suggestion", () =>
    Effect.gen(function*() {
      const file = fixture("unknown-field/env.yml")
      const error = yield* failure("unknown-field/env.yml")
      assertLocated(error, file, 8)
      assert.strictEqual(error.field, "conda_fle")
      assert.strictEqual(
        error.message,
        `${file}:8: field "conda_fle" is not part of the AzureML v2 environment schema (did you mean "conda_file"?)`
      )
    }))

  it.effect("a bad pip spec in a conda file is reported at its line in the conda file", () =>
    Effect.gen(function*() {
      const file = fixture("bad-pip-in-conda/conda.yml")
      const error = yield* failure("bad-pip-in-conda/conda.yml")
      assertLocated(error, file, 9)
      assert.match(error.detail, /invalid pip requirement "pandas=>2.0"/)
    }))

  it.effect("a bad requirements line is reported at its line", () =>
    Effect.gen(function*() {
      const file = fixture("bad-requirements/requirements.txt")
      const error = yield* failure("bad-requirements/requirements.txt")
      assertLocated(error, file, 5)
      assert.match(error.detail, /invalid pip requirement "torch==="/)
    }))

  it.effect("a missing conda_file names the YAML file, the conda_file line and the field", () =>
    Effect.gen(function*() {
      const file = fixture("missing-conda-file/env.yml")
      const error = yield* failure("missing-conda-file/env.yml")
      assertLocated(error, file, 4)
      assert.strictEqual(error.field, "conda_file")
      assert.match(error.detail, /^field "conda_file" refers to "environment\/conda.yml", which does not exist/)
    }))

  it.effect("a missing file is an error, not a crash", () =>
    Effect.gen(function*() {
      const error = yield* failure("nope/env.yml")
      assert.match(error.message, /no such file/)
    }))
})
