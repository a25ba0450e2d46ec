/**
 * Each format's features, over in-memory files (`readFileFromMap`), so the cases stay small.
 */
import { assert, describe, it } from "@effect/vitest"
import { DEFAULT_BASE_IMAGE } from "@terrarium/domain"
import { Effect, Result } from "effect"
import {
  detectEnvironmentFileKind,
  importEnvironmentFile,
  parseRequirementsTxt,
  readFileFromMap
} from "../../src/importers/index.ts"

const files = (map: Record<string, string>) => ({ readFile: readFileFromMap(map) })

describe("requirements.txt", () => {
  it.effect("reads comments, continuations, options and requirements", () =>
    Effect.gen(function*() {
      const text = [
        "# comment",
        "--index-url https://pypi.example/simple",
        "--extra-index-url=https://extra.example/simple",
        "-f ./wheels",
        "--pre",
        "--no-binary :all:",
        "-c constraints.txt",
        "",
        "numpy >= 1.2  # why",
        "scikit-learn \\",
        "  ==1.3.0",
        "pkg @ https://example.org/pkg-1.0.tar.gz#sha256=abc"
      ].join("\n")
      const pip = yield* parseRequirementsTxt("req.txt", text)
      assert.deepStrictEqual(pip.options, {
        indexUrl: "https://pypi.example/simple",
        extraIndexUrls: ["https://extra.example/simple"],
        findLinks: ["./wheels"],
        constraints: ["constraints.txt"],
        flags: ["--pre", "--no-binary :all:"]
      })
      assert.deepStrictEqual(pip.requirements.map((r) => [r.name, r.specifier]), [
        ["numpy", ">=1.2"],
        ["scikit-learn", "==1.3.0"],
        ["pkg", ""]
      ])
      assert.strictEqual(pip.warnings.length, 0)
    }))

  it.effect("resolves -r relative to the including file, recursively, and survives cycles", () =>
    Effect.gen(function*() {
      const pip = yield* parseRequirementsTxt("env/requirements.txt", "-r base/common.txt\nflask", files({
        "env/base/common.txt": "numpy\n-r ../more.txt",
        "env/more.txt": "pandas\n-r requirements.txt\n-r base/common.txt"
      }))
      assert.deepStrictEqual(pip.requirements.map((r) => r.name), ["numpy", "pandas", "flask"])
      assert.deepStrictEqual(pip.includes, ["env/base/common.txt", "env/more.txt"])
      assert.strictEqual(pip.warnings.length, 2) // the cycle back to requirements.txt, the repeated common.txt
    }))

  it.effect("an error in an included file names that file and line", () =>
    Effect.gen(function*() {
      const error = yield* parseRequirementsTxt("requirements.txt", "-r other.txt", files({ "other.txt": "ok\n\nbad=>1" })).pipe(
        Effect.flip
      )
      assert.strictEqual(error.file, "other.txt")
      assert.strictEqual(error.line, 3)
    }))

  it.effect("a missing -r file is kept as a flag with a warning; unknown options fail", () =>
    Effect.gen(function*() {
      const pip = yield* parseRequirementsTxt("r.txt", "-r gone.txt", files({}))
      assert.deepStrictEqual(pip.options.flags, ["--requirement gone.txt"])
      assert.strictEqual(pip.warnings[0]?.line, 1)
      const error = yield* parseRequirementsTxt("r.txt", "numpy\n--frobnicate").pipe(Effect.flip)
      assert.strictEqual(error.message, `r.txt:2: unknown pip option "--frobnicate" in "--frobnicate"`)
    }))

  it.effect("python-list lines and --hash options are read with warnings", () =>
    Effect.gen(function*() {
      const pip = yield* parseRequirementsTxt("r.txt", "'numpy==1.0',\nrequests==2.0 --hash=sha256:abc")
      assert.deepStrictEqual(pip.requirements.map((r) => r.specifier), ["==1.0", "==2.0"])
      assert.strictEqual(pip.warnings.length, 2)
    }))
})

describe("conda environment file", () => {
  it.effect("reads channels in order, conda specs, the pip list with options, and variables", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("env/conda.yml", files({
        "env/conda.yml": [
          "name: demo",
          "channels: [pytorch, conda-forge]",
          "dependencies:",
          "  - python=3.10",
          "  - pip",
          "  - numpy>=1.2,<2",
          "  - pip:",
          "    - --extra-index-url=https://extra.example/simple",
          "    - -r more.txt",
          "    - azureml-core=={{latest-pypi-version}}",
          "variables:",
          "  OMP_NUM_THREADS: 4"
        ].join("\n"),
        "env/more.txt": "torch==2.1.0"
      }))
      const conda = env.definition.python.conda
      assert.strictEqual(conda?.name, "demo")
      assert.deepStrictEqual(conda?.channels, ["pytorch", "conda-forge"])
      assert.deepStrictEqual(conda?.conda.map((s) => `${s.name} ${s.version}`), ["python 3.10.*", "pip ", "numpy <2,>=1.2"])
      assert.deepStrictEqual(conda?.pip.map((r) => `${r.name}${r.specifier}`), ["torch==2.1.0", "azureml-core"])
      assert.deepStrictEqual(conda?.pipOptions.extraIndexUrls, ["https://extra.example/simple"])
      assert.deepStrictEqual(env.definition.variables, { OMP_NUM_THREADS: "4" })
      assert.deepStrictEqual(env.source.includes, ["env/more.txt"])
      assert.strictEqual(env.warnings.length, 1)
      assert.strictEqual(env.warnings[0]?.line, 10)
    }))

  it.effect("a bad conda spec is reported at its list item", () =>
    Effect.gen(function*() {
      const error = yield* importEnvironmentFile("c.yml", files({
        "c.yml": "channels: [conda-forge]\ndependencies:\n  - python=3.10\n  - numpy >>1\n"
      })).pipe(Effect.flip)
      assert.strictEqual(error.line, 4)
      assert.strictEqual(error.field, "dependencies")
      assert.match(error.message, /^c\.yml:4: invalid conda version spec ">>1"/)
    }))
})

describe("AzureML v2 environment YAML", () => {
  it.effect("build: reads the Dockerfile from the context, relative to the YAML file", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("envs/env.yml", files({
        "envs/env.yml": "name: built\nversion: 2\nbuild:\n  path: ./ctx\n  dockerfile_path: docker/Dockerfile\nos_type: linux\n",
        "envs/ctx/docker/Dockerfile": "FROM python:3.11\n"
      }))
      assert.deepStrictEqual(env.definition.docker.base, {
        kind: "dockerfile",
        dockerfile: "FROM python:3.11\n",
        context: "./ctx",
        dockerfilePath: "docker/Dockerfile"
      })
      assert.strictEqual(env.source.buildContext, "envs/ctx")
      assert.strictEqual(env.source.dockerfilePath, "envs/ctx/docker/Dockerfile")
      assert.strictEqual(env.version, "2")
      assert.isTrue(env.definition.python.userManagedDependencies)
    }))

  it.effect("no image and no build: the default base image", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("e.yml", files({ "e.yml": "name: bare\nconda_file:\n  dependencies: [python=3.11]\n" }))
      assert.deepStrictEqual(env.definition.docker.base, { kind: "image", image: DEFAULT_BASE_IMAGE })
      assert.strictEqual(env.definition.python.conda?.conda[0]?.version, "3.11.*")
    }))

  it.effect("inference_config, tags, properties and os_type", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("e.yml", files({
        "e.yml": [
          "name: serve",
          "image: python:3.11",
          "os_type: Windows",
          "tags: {Preview: '', GPU: 1.10}",
          "properties: {owner: me}",
          "inference_config:",
          "  liveness_route: {path: /live, port: 5001}",
          "  readiness_route: {path: /ready, port: 5001}",
          "  scoring_route: {path: /score, port: 5001}"
        ].join("\n")
      }))
      assert.deepStrictEqual(env.definition.inferenceConfig, {
        livenessRoute: { path: "/live", port: 5001 },
        readinessRoute: { path: "/ready", port: 5001 },
        scoringRoute: { path: "/score", port: 5001 }
      })
      assert.deepStrictEqual(env.tags, { Preview: "", GPU: "1.10" })
      assert.deepStrictEqual(env.definition.properties, { owner: "me" })
      assert.strictEqual(env.definition.docker.platform.os, "windows")
    }))

  it.effect("template values fill {{...}}; the rest stays verbatim with a warning", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("spec.yaml", {
        ...files({ "spec.yaml": "name: \"{{asset.name}}\"\nversion: \"{{asset.version}}\"\nimage: python:3.11\n" }),
        templateValues: { "asset.name": "sklearn-1.5" }
      })
      assert.strictEqual(env.name, "sklearn-1.5")
      assert.strictEqual(env.version, "{{asset.version}}")
      assert.strictEqual(env.warnings.length, 1)
      assert.strictEqual(env.warnings[0]?.line, 2)
    }))

  it.effect("field errors: image with build, bad port, unknown build field", () =>
    Effect.gen(function*() {
      const both = yield* importEnvironmentFile("e.yml", files({ "e.yml": "image: a\nbuild:\n  path: .\n" })).pipe(Effect.flip)
      assert.strictEqual(both.field, "build")
      assert.strictEqual(both.line, 2)
      const port = yield* importEnvironmentFile("e.yml", files({
        "e.yml": "image: a\ninference_config:\n  scoring_route:\n    path: /\n    port: http\n"
      })).pipe(Effect.flip)
      assert.strictEqual(port.line, 5)
      assert.strictEqual(port.field, "inference_config.scoring_route.port")
      const typo = yield* importEnvironmentFile("e.yml", files({ "e.yml": "build:\n  path: .\n  dockerfile: D\n" })).pipe(Effect.flip)
      assert.strictEqual(typo.line, 3)
      assert.match(typo.message, /did you mean "build.dockerfile_path"/)
    }))
})

describe("MLflow python_env.yaml", () => {
  it.effect("python becomes a conda spec; build dependencies and -r requirements become pip", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("model/python_env.yaml", files({
        "model/python_env.yaml": "python: 3.8.5\nbuild_dependencies:\n- pip==23.2.1\n- setuptools\ndependencies:\n- -r requirements.txt\n",
        "model/requirements.txt": "mlflow==2.8.0\nscikit-learn==1.3.2\n"
      }))
      assert.strictEqual(env.kind, "mlflow-python-env")
      const conda = env.definition.python.conda
      assert.deepStrictEqual(conda?.conda.map((s) => `${s.name} ${s.version}`), ["python 3.8.5.*"])
      assert.deepStrictEqual(conda?.pip.map((r) => r.name), ["pip", "setuptools", "mlflow", "scikit-learn"])
    }))
})

describe("detectEnvironmentFileKind", () => {
  it("tells the formats apart", () => {
    const kind = (file: string, text: string) => Result.getOrThrow(detectEnvironmentFileKind(file, text))
    assert.strictEqual(kind("a.json", "{}"), "arm-template-environment-version")
    assert.strictEqual(kind("requirements-dev.txt", ""), "pip-requirements")
    assert.strictEqual(kind("env.yml", "$schema: https://x/environment.schema.json\nname: a\n"), "azureml-v2-environment")
    assert.strictEqual(kind("env.yml", "name: a\nimage: b\n"), "azureml-v2-environment")
    assert.strictEqual(kind("python_env.yaml", "python: 3.8\ndependencies: [-r requirements.txt]\n"), "mlflow-python-env")
    assert.strictEqual(kind("conda.yaml", "name: a\ndependencies: [python=3.8]\n"), "conda-environment")
    assert.isTrue(Result.isFailure(detectEnvironmentFileKind("x.yml", "hello: world\n")))
  })
})
