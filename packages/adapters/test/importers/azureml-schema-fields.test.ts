/**
 * Every field of the AzureML v2 environment schema imports: those that decide what is built are
 * read, those that only say where AzureML keeps the asset are accepted with a warning naming them.
 * A field outside the schema is still refused, with its did-you-mean.
 */
import { assert, describe, it } from "@effect/vitest"
import { CanonicalHash } from "@terrarium/domain"
import { Effect } from "effect"
import { AZUREML_ENVIRONMENT_FIELDS, AZUREML_IGNORED_FIELDS } from "../../src/importers/AzureMLEnvironmentYaml.ts"
import { importEnvironmentFile } from "../../src/importers/index.ts"
import * as MemoryFileSystem from "../support/MemoryFileSystem.ts"

const base = [
  "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json",
  "name: scoring",
  "version: 3",
  "description: scoring image",
  "tags:",
  "  team: fraud",
  "properties:",
  "  owner: ml",
  "image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
  "conda_file: conda.yml",
  "os_type: linux",
  "inference_config:",
  "  liveness_route: {path: /live, port: 5001}",
  "  readiness_route: {path: /ready, port: 5001}",
  "  scoring_route: {path: /score, port: 5001}"
]
const conda = ["name: s", "dependencies:", "  - python=3.11", "  - numpy=1.26.4"].join("\n")

/** One line per field that changes nothing built, as AzureML writes it. */
const ignoredLines: Record<(typeof AZUREML_IGNORED_FIELDS)[number], ReadonlyArray<string>> = {
  datastore: ["datastore: azureml:workspaceblobstore"],
  stage: ["stage: Production"],
  intellectual_property: ["intellectual_property:", "  publisher: contoso", "  protection_level: all"],
  id: ["id: azureml:/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/environments/scoring/versions/3"],
  creation_context: ["creation_context:", "  created_by: someone", "  created_at: '2024-01-01T00:00:00Z'"],
  latest_version: ["latest_version: '3'"],
  auto_delete_setting: ["auto_delete_setting:", "  condition: created_greater_than", "  value: 30d"]
}

const importText = (lines: ReadonlyArray<string>) =>
  importEnvironmentFile("env/env.yml").pipe(
    Effect.provide(MemoryFileSystem.layer({ "env/env.yml": lines.join("\n"), "env/conda.yml": conda }))
  )

describe("AzureML v2 schema fields", () => {
  it("lists every field of the schema, those ignored included", () => {
    for (const field of AZUREML_IGNORED_FIELDS) assert.include(AZUREML_ENVIRONMENT_FIELDS as ReadonlyArray<string>, field)
  })

  it.effect("a file with every field imports, the ignored ones each warned about, the hash unchanged by them", () =>
    Effect.gen(function*() {
      const plain = yield* importText(base)
      const full = yield* importText([...base, ...Object.values(ignoredLines).flat()])
      assert.strictEqual(full.name, "scoring")
      assert.strictEqual(full.version, "3")
      assert.deepStrictEqual(full.definition.properties, { owner: "ml" })
      assert.deepStrictEqual(full.definition.inferenceConfig?.scoringRoute, { path: "/score", port: 5001 })
      for (const field of AZUREML_IGNORED_FIELDS) {
        const warning = full.warnings.find((w) => w.message.startsWith(`field "${field}" is ignored`))
        assert.isDefined(warning, field)
      }
      assert.strictEqual(yield* CanonicalHash.hash(full.definition), yield* CanonicalHash.hash(plain.definition))
    }))

  for (const [field, lines] of Object.entries(ignoredLines)) {
    it.effect(`"${field}" alone is accepted`, () =>
      Effect.gen(function*() {
        const imported = yield* importText([...base, ...lines])
        assert.isTrue(imported.warnings.some((w) => w.message.includes(`"${field}" is ignored`)))
      }))
  }

  it.effect("an unknown field is still refused, with its did-you-mean", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(importText([...base, "datastor: azureml:workspaceblobstore"]))
      assert.include(error.message, `field "datastor" is not part of the AzureML v2 environment schema`)
      assert.include(error.message, `did you mean "datastore"?`)
    }))
})
