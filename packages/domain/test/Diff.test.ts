import { assert, describe, it } from "@effect/vitest"
import type { Definition } from "../src/Definition.ts"
import { emptyDefinition } from "../src/Definition.ts"
import type { CondaSpec, PipRequirement } from "../src/PackageSpec.ts"
import { diff, isBuildRelevant, isEmpty, render, renderSpec } from "../src/Diff.ts"
import { buildRelevantMutations, conda, irrelevantMutations, pip, rich } from "./fixtures.ts"

const withPackages = (
  pipSpecs: ReadonlyArray<PipRequirement>,
  condaSpecs: ReadonlyArray<CondaSpec> = rich.python.conda!.conda,
  channels: ReadonlyArray<string> = rich.python.conda!.channels
): Definition => ({
  ...rich,
  python: { ...rich.python, conda: { ...rich.python.conda!, pip: pipSpecs, conda: condaSpecs, channels } }
})

describe("renderSpec", () => {
  it("renders pip requirements from their normalised fields", () => {
    assert.strictEqual(renderSpec(pip("numpy", ">=1.2", { text: "NumPy >= 1.2" })), "numpy>=1.2")
    assert.strictEqual(renderSpec(pip("azureml-core")), "azureml-core")
    assert.strictEqual(
      renderSpec(pip("uvicorn", "<1,>=0.30", { extras: ["standard", "http"], marker: "python_version >= \"3.9\"" })),
      "uvicorn[http,standard]<1,>=0.30 ; python_version >= \"3.9\""
    )
    assert.strictEqual(renderSpec(pip("torch", "", { url: "https://example.org/torch.whl" })), "torch @ https://example.org/torch.whl")
    assert.strictEqual(
      renderSpec(pip("torch", "", { url: "https://example.org/torch.whl", marker: "sys_platform == \"linux\"" })),
      "torch @ https://example.org/torch.whl ; sys_platform == \"linux\""
    )
  })

  it("renders conda match specs", () => {
    assert.strictEqual(renderSpec(conda("python")), "python")
    assert.strictEqual(renderSpec(conda("python", "3.11.*")), "python 3.11.*")
    assert.strictEqual(renderSpec(conda("numpy", "1.26.4", { channel: "conda-forge", build: "py311h_0" })), "conda-forge::numpy 1.26.4 py311h_0")
    assert.strictEqual(renderSpec(conda("numpy", "", { build: "py311h_0" })), "numpy * py311h_0")
  })
})

describe("diff", () => {
  it("is empty between equal definitions", () => {
    const d = diff(rich, structuredClone(rich))
    assert.isTrue(isEmpty(d))
    assert.isFalse(isBuildRelevant(d))
    assert.strictEqual(render(d), "")
  })

  it("reports packages added, removed and changed, per manager, by name", () => {
    const conda0 = rich.python.conda!
    const to = withPackages(
      [pip("torch", "==2.4.0"), conda0.pip[1]!, pip("requests", ">=2")],
      [conda("python", "3.11.*"), conda("numpy", ">=1.26", { channel: "conda-forge" }), conda("pandas")]
    )
    const d = diff(rich, to)
    assert.deepStrictEqual(d.packages, [
      { kind: "added", manager: "conda", name: "pandas", to: "pandas" },
      { kind: "removed", manager: "pip", name: "azureml-mlflow", from: "azureml-mlflow" },
      { kind: "added", manager: "pip", name: "requests", to: "requests>=2" },
      { kind: "changed", manager: "pip", name: "torch", from: "torch==2.3.1", to: "torch==2.4.0" }
    ])
    assert.isTrue(isBuildRelevant(d))
  })

  it("ignores package order and spelling", () => {
    const conda0 = rich.python.conda!
    const respelt = conda0.pip.map((p) => ({ ...p, text: p.text.toUpperCase() })).reverse()
    assert.isTrue(isEmpty(diff(rich, withPackages(respelt, [...conda0.conda].reverse()))))
  })

  it("shows a change of channel order", () => {
    const d = diff(rich, withPackages(rich.python.conda!.pip, rich.python.conda!.conda, ["defaults", "conda-forge"]))
    assert.deepStrictEqual(d.channels, {
      from: ["conda-forge", "defaults"],
      to: ["defaults", "conda-forge"],
      added: [],
      removed: [],
      reordered: true
    })
    assert.isTrue(isBuildRelevant(d))
    assert.include(render(d), "priority order changed")
  })

  it("shows channels added and removed without calling it a reorder", () => {
    const d = diff(rich, withPackages(rich.python.conda!.pip, rich.python.conda!.conda, ["conda-forge", "pytorch"]))
    assert.deepStrictEqual(d.channels?.added, ["pytorch"])
    assert.deepStrictEqual(d.channels?.removed, ["defaults"])
    assert.isFalse(d.channels?.reordered)
  })

  it("reports variables added, removed and changed", () => {
    const d = diff(rich, { ...rich, variables: { MODE: "serve", NEW: "1" } })
    assert.deepStrictEqual(d.variables, [
      { kind: "changed", variable: "MODE", from: "train", to: "serve" },
      { kind: "added", variable: "NEW", to: "1" },
      { kind: "removed", variable: "OMP_NUM_THREADS", from: "4" }
    ])
  })

  it("reports docker fields", () => {
    const to: Definition = {
      ...rich,
      docker: {
        base: { kind: "dockerfile", dockerfile: "FROM x\n", context: "./ctx" },
        baseImageRegistry: { address: "other.example.org" },
        gpuSupport: true,
        runArguments: [],
        platform: { os: "linux", arch: "arm64" }
      }
    }
    const fields = Object.fromEntries(diff(rich, to).fields.map((f) => [f.field, [f.from, f.to, f.buildRelevant]]))
    assert.deepStrictEqual(fields, {
      "docker.base.image": ["registry.example.org/ml/base:1", undefined, true],
      "docker.base.dockerfile": [undefined, "FROM x\n", true],
      "docker.base.context": [undefined, "./ctx", true],
      "docker.baseImageRegistry.address": ["registry.example.org", "other.example.org", true],
      "docker.baseImageRegistry.username": ["env:REG_USER", undefined, true],
      "docker.baseImageRegistry.password": ["env:REG_PASSWORD", undefined, true],
      "docker.gpuSupport": ["false", "true", true],
      "docker.shmSize": ["1g", undefined, true],
      "docker.runArguments": ["[\"--ipc=host\"]", "[]", true],
      "docker.platform": ["linux/amd64", "linux/arm64", true]
    })
  })

  it("reports python, spark and r fields", () => {
    const to: Definition = {
      ...rich,
      python: { ...rich.python, userManagedDependencies: true, interpreterPath: "/opt/py" },
      spark: { ...rich.spark, precachePackages: true },
      r: { ...rich.r!, rVersion: "4.4.0" }
    }
    assert.deepStrictEqual(diff(rich, to).fields.map((f) => f.field), [
      "python.userManagedDependencies", "python.interpreterPath", "spark.precachePackages", "r.rVersion"
    ])
  })

  it("marks description, tags and properties as not build-relevant", () => {
    const d = diff(rich, { ...rich, description: "new", tags: { team: "tag-team-value", stage: "dev" }, properties: {} })
    assert.deepStrictEqual(d.fields.map((f) => [f.field, f.buildRelevant]), [
      ["description", false],
      ["tags.stage", false],
      ["properties.owner", false]
    ])
    assert.isFalse(isEmpty(d))
    assert.isFalse(isBuildRelevant(d))
    assert.include(render(d), "~ description: desc-training-image -> new (not build-relevant)")
  })

  it("covers a definition growing from empty", () => {
    const d = diff(emptyDefinition, rich)
    assert.isTrue(isBuildRelevant(d))
    assert.strictEqual(d.packages.filter((p) => p.kind === "added").length, 5)
    assert.deepStrictEqual(d.channels?.added, ["conda-forge", "defaults"])
  })

  describe("agrees with the canonical hash on what is build-relevant", () => {
    for (const [name, mutate] of buildRelevantMutations) {
      it(`${name} is build-relevant`, () => assert.isTrue(isBuildRelevant(diff(rich, mutate(rich))), render(diff(rich, mutate(rich)))))
    }
    for (const [name, mutate] of irrelevantMutations) {
      it(`${name} is not build-relevant`, () => assert.isFalse(isBuildRelevant(diff(rich, mutate(rich))), render(diff(rich, mutate(rich)))))
    }
  })

  it("renders one line per change", () => {
    const to = { ...withPackages([pip("torch", "==2.4.0")]), variables: { MODE: "serve" } }
    assert.strictEqual(render(diff(rich, to)), [
      "- pip azureml-mlflow",
      "~ pip torch: torch==2.3.1 -> torch==2.4.0",
      "- pip uvicorn[http,standard]<1,>=0.30 ; python_version >= \"3.9\"",
      "~ variable MODE: train -> serve",
      "- variable OMP_NUM_THREADS=4"
    ].join("\n"))
  })
})
