/**
 * One environment written several ways, from the file to the canonical hash: block YAML or
 * flow (JSON-style) YAML, keys in another order, specs spaced and cased differently, packages in
 * another order, an inline conda file or one beside the YAML. Every spelling must give one hash;
 * a channel reorder or a version change must give another.
 */
import { assert, describe, it } from "@effect/vitest"
import { CanonicalHash } from "@terrarium/domain"
import { Effect } from "effect"
import { importEnvironmentFile } from "../../src/importers/index.ts"
import * as MemoryFileSystem from "../support/MemoryFileSystem.ts"

const hashOf = (file: string, files: Record<string, string>) =>
  importEnvironmentFile(file).pipe(
    Effect.flatMap((env) => CanonicalHash.hash(env.definition)),
    Effect.provide(MemoryFileSystem.layer(files))
  )

/** The reference: block YAML, a conda file beside it, specs written compactly. */
const block = {
  "env/env.yml": [
    "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json",
    "name: fraud-train",
    "version: 1",
    "description: training image",
    "image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
    "conda_file: conda.yml"
  ].join("\n"),
  "env/conda.yml": [
    "name: fraud",
    "channels:",
    "  - conda-forge",
    "  - defaults",
    "dependencies:",
    "  - python=3.11",
    "  - numpy>=1.26,<2",
    "  - pip",
    "  - pip:",
    "    - scikit-learn>=1.4,<1.6",
    "    - uvicorn[standard]>=0.30",
    "    - torch==2.3.1",
    "variables:",
    "  OMP_NUM_THREADS: 4"
  ].join("\n")
}

/** The same, as flow YAML (JSON syntax), keys reordered, the conda file inline, specs respaced. */
const flow = {
  "other/environment.yaml": JSON.stringify(
    {
      conda_file: {
        variables: { OMP_NUM_THREADS: "4" },
        dependencies: [
          { pip: ["Torch == 2.3.1", "Scikit_Learn >= 1.4 , < 1.6", "UVicorn [Standard] >= 0.30"] },
          "pip",
          "NumPy >=1.26, <2",
          "python 3.11.*"
        ],
        channels: ["conda-forge", "defaults"],
        name: "another-name"
      },
      image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
      description: "a different description",
      name: "fraud-train-copy"
    },
    null,
    2
  )
}

const withConda = (edit: (text: string) => string) => ({ ...block, "env/conda.yml": edit(block["env/conda.yml"]) })

describe("one environment, spelt several ways", () => {
  it.effect("block or flow YAML, keys and packages reordered, specs respaced and recased: one hash", () =>
    Effect.gen(function*() {
      const reference = yield* hashOf("env/env.yml", block)
      assert.strictEqual(yield* hashOf("other/environment.yaml", flow), reference)
      const reordered = withConda((text) =>
        text
          .replace("  - python=3.11\n  - numpy>=1.26,<2\n", "  - numpy >= 1.26 , < 2\n  - python = 3.11\n")
          .replace(
            "    - scikit-learn>=1.4,<1.6\n    - uvicorn[standard]>=0.30\n    - torch==2.3.1",
            "    - torch == 2.3.1\n    - uvicorn [standard] >= 0.30\n    - scikit-learn <1.6, >=1.4"
          )
      )
      assert.notStrictEqual(reordered["env/conda.yml"], block["env/conda.yml"])
      assert.strictEqual(yield* hashOf("env/env.yml", reordered), reference)
    }))

  it.effect("a channel reorder is a new build: another hash", () =>
    Effect.gen(function*() {
      const reference = yield* hashOf("env/env.yml", block)
      const swapped = withConda((text) => text.replace("  - conda-forge\n  - defaults", "  - defaults\n  - conda-forge"))
      assert.notStrictEqual(yield* hashOf("env/env.yml", swapped), reference)
    }))

  it.effect("a version change is a new build: another hash", () =>
    Effect.gen(function*() {
      const reference = yield* hashOf("env/env.yml", block)
      const pip = withConda((text) => text.replace("torch==2.3.1", "torch==2.3.2"))
      const conda = withConda((text) => text.replace("python=3.11", "python=3.12"))
      const hashes = new Set([reference, yield* hashOf("env/env.yml", pip), yield* hashOf("env/env.yml", conda)])
      assert.strictEqual(hashes.size, 3)
    }))
})
