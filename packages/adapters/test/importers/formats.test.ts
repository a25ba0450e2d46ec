/**
 * Each format's features, over in-memory files (test/support/MemoryFileSystem.ts), so the cases
 * stay small. Build contexts are directories, so they are not read here (BuildContext.test.ts
 * reads real ones).
 */
import { assert, describe, it } from "@effect/vitest"
import { CanonicalHash, DEFAULT_BASE_IMAGE } from "@terrarium/domain"
import { Effect, Exit, Path } from "effect"
import {
  detectEnvironmentFileKind,
  type ImportError,
  importEnvironmentFile,
  parseRequirementsTxt
} from "../../src/importers/index.ts"
import * as MemoryFileSystem from "../support/MemoryFileSystem.ts"

/** Runs an importer over these files and no others. */
const files = (map: Record<string, string>) => Effect.provide(MemoryFileSystem.layer(map))
/** What the importers do with files a requirements file names (-r, -c) when asked to read them. */
const reading = { readReferences: true }

const digestOf = (text: string) => CanonicalHash.sha256Digest(new TextEncoder().encode(text))

/** The error names the file, line and field, says what to do, and does not repeat the secret. */
const assertCredentialsRefused = (error: ImportError, file: string, line: number, field: string) => {
  assert.strictEqual(error.file, file)
  assert.strictEqual(error.line, line)
  assert.strictEqual(error.field, field)
  assert.isTrue(error.message.startsWith(`${file}:${line}: `), error.message)
  assert.include(error.message, "carries credentials")
  assert.include(error.message, "configure the credentials by reference")
  assert.notInclude(error.message, "s3cret")
}

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
      const pip = yield* parseRequirementsTxt("req.txt", text).pipe(files({}))
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
      // Not asked to read the files it names, the constraints file is kept by name only, and that is said.
      assert.deepStrictEqual(pip.warnings.map((w) => [w.line, w.message]), [
        [7, "-c constraints.txt: constraints files are not read here; only its name is part of the canonical hash"]
      ])
    }))

  it.effect("records the digest of each constraints file, read relative to the file naming it", () =>
    Effect.gen(function*() {
      const read = (constraints: string) =>
        parseRequirementsTxt("env/requirements.txt", "-c pins/constraints.txt\nnumpy", reading).pipe(files({ "env/pins/constraints.txt": constraints }))
      const pip = yield* read("numpy<2\n")
      assert.deepStrictEqual(pip.options.constraints, ["pins/constraints.txt"])
      assert.deepStrictEqual(pip.options.constraintDigests, { "pins/constraints.txt": yield* digestOf("numpy<2\n") })
      assert.strictEqual(pip.warnings.length, 0)
      const edited = yield* read("numpy<1.27\n")
      assert.notDeepEqual(edited.options.constraintDigests, pip.options.constraintDigests)
    }))

  it.effect("keeps a constraints file it cannot read by name, with a warning", () =>
    Effect.gen(function*() {
      const pip = yield* parseRequirementsTxt(
        "r.txt",
        "-c /pip_constraints.txt\n-c https://example.org/c.txt",
        reading
      ).pipe(files({}))
      assert.deepStrictEqual(pip.options.constraints, ["/pip_constraints.txt", "https://example.org/c.txt"])
      assert.isUndefined(pip.options.constraintDigests)
      assert.deepStrictEqual(pip.warnings.map((w) => w.line), [1, 2])
      assert.include(pip.warnings[0]?.message, "does not exist here")
      assert.include(pip.warnings[1]?.message, "not fetched")
    }))

  it.effect("reads a constraints file named twice once, and says once that it cannot", () =>
    Effect.gen(function*() {
      const pip = yield* parseRequirementsTxt("r.txt", "-c /pip_constraints.txt\nnumpy\n-c /pip_constraints.txt", reading).pipe(files({}))
      assert.deepStrictEqual(pip.options.constraints, ["/pip_constraints.txt"])
      assert.deepStrictEqual(pip.warnings.map((w) => w.line), [1])
    }))

  it.effect("refuses an index, find-links or requirement URL with credentials, at its line", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, number, string]> = [
        ["numpy\n--extra-index-url https://u:s3cret@pypi.example.org/simple\n", 2, "--extra-index-url"],
        ["-i https://s3cret@pypi.example.org/simple\n", 1, "--index-url"],
        ["# wheels\n--find-links=https://u:s3cret@wheels.example.org/\n", 2, "--find-links"],
        ["-e git+https://s3cret@github.com/org/repo.git#egg=repo\n", 1, "--editable"]
      ]
      for (const [text, line, field] of cases) {
        const error = yield* importEnvironmentFile("requirements.txt").pipe(files({ "requirements.txt": text })).pipe(Effect.flip)
        assertCredentialsRefused(error, "requirements.txt", line, field)
      }
      const requirement = yield* importEnvironmentFile("requirements.txt").pipe(files({
        "requirements.txt": "numpy\npkg @ https://u:s3cret@files.example.org/pkg-1.0.tar.gz\n"
      })).pipe(Effect.flip)
      assert.strictEqual(requirement.line, 2)
      assert.include(requirement.message, "carries credentials")
      assert.notInclude(requirement.message, "s3cret")
    }))

  it.effect("does not repeat a secret given to an option that takes no value", () =>
    Effect.gen(function*() {
      const error = yield* importEnvironmentFile("requirements.txt").pipe(files({
        "requirements.txt": "--pre https://u:s3cret@pypi.example.org/simple\n"
      })).pipe(Effect.flip)
      assert.include(error.message, "takes no value")
      assert.include(error.message, "https://***@pypi.example.org/simple")
      assert.notInclude(error.message, "s3cret")
    }))

  it.effect("resolves -r relative to the including file, recursively, and survives cycles", () =>
    Effect.gen(function*() {
      const pip = yield* parseRequirementsTxt("env/requirements.txt", "-r base/common.txt\nflask", reading).pipe(files({
        "env/base/common.txt": "numpy\n-r ../more.txt",
        "env/more.txt": "pandas\n-r requirements.txt\n-r base/common.txt"
      }))
      assert.deepStrictEqual(pip.requirements.map((r) => r.name), ["numpy", "pandas", "flask"])
      assert.deepStrictEqual(pip.includes, ["env/base/common.txt", "env/more.txt"])
      assert.strictEqual(pip.warnings.length, 2) // the cycle back to requirements.txt, the repeated common.txt
    }))

  it.effect("an error in an included file names that file and line", () =>
    Effect.gen(function*() {
      const error = yield* parseRequirementsTxt("requirements.txt", "-r other.txt", reading).pipe(files({ "other.txt": "ok\n\nbad=>1" })).pipe(
        Effect.flip
      )
      assert.strictEqual(error.file, "other.txt")
      assert.strictEqual(error.line, 3)
    }))

  it.effect("a missing -r file is kept as a flag with a warning; unknown options fail", () =>
    Effect.gen(function*() {
      const pip = yield* parseRequirementsTxt("r.txt", "-r gone.txt", reading).pipe(files({}))
      assert.deepStrictEqual(pip.options.flags, ["--requirement gone.txt"])
      assert.strictEqual(pip.warnings[0]?.line, 1)
      const error = yield* parseRequirementsTxt("r.txt", "numpy\n--frobnicate").pipe(files({}), Effect.flip)
      assert.strictEqual(error.message, `r.txt:2: unknown pip option "--frobnicate" in "--frobnicate"`)
    }))

  it.effect("python-list lines and --hash options are read with warnings", () =>
    Effect.gen(function*() {
      const pip = yield* parseRequirementsTxt("r.txt", "'numpy==1.0',\nrequests==2.0 --hash=sha256:abc").pipe(files({}))
      assert.deepStrictEqual(pip.requirements.map((r) => r.specifier), ["==1.0", "==2.0"])
      assert.strictEqual(pip.warnings.length, 2)
    }))
})

describe("line continuations", () => {
  it.effect("are joined as pip joins them, with nothing in between, before anything is checked", () =>
    Effect.gen(function*() {
      const pip = yield* parseRequirementsTxt("r.txt", "numpy\\\n==1.26.4\n--extra-index-url https://pypi.\\\nexample.org/simple\n").pipe(files({}))
      assert.deepStrictEqual(pip.requirements.map((r) => `${r.name}${r.specifier}`), ["numpy==1.26.4"])
      assert.deepStrictEqual(pip.options.extraIndexUrls, ["https://pypi.example.org/simple"])
    }))

  it.effect("a URL whose credentials are split over two lines is refused, at the first line", () =>
    Effect.gen(function*() {
      for (const split of [
        "--extra-index-url https://user:\\\ns3cret@pypi.example.org/simple\n",
        "--index-url https://user\\\n:s3cret@pypi.example.org/simple\n",
        "pkg @ https://\\\ns3cret@files.example.org/pkg-1.0.tar.gz\n"
      ]) {
        const error = yield* importEnvironmentFile("requirements.txt").pipe(files({ "requirements.txt": `numpy\n${split}` }), Effect.flip)
        assert.strictEqual(error.line, 2, split)
        assert.include(error.message, "carries credentials")
        assert.notInclude(error.message, "s3cret")
      }
    }))

  it.effect("a conda pip list item ending in a backslash continues into the next, as pip reads the file conda writes", () =>
    Effect.gen(function*() {
      const error = yield* importEnvironmentFile("env/conda.yml").pipe(files({
        "env/conda.yml": "dependencies:\n  - pip\n  - pip:\n    - numpy\n    - --extra-index-url https://user:\\\n    - s3cret@pypi.example.org/simple\n"
      }), Effect.flip)
      assertCredentialsRefused(error, "env/conda.yml", 5, "--extra-index-url")
    }))
})

describe("conda environment file", () => {
  it.effect("reads channels in order, conda specs, the pip list with options, and variables", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("env/conda.yml").pipe(files({
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

  it.effect("refuses a channel with credentials, at its line", () =>
    Effect.gen(function*() {
      const listed = yield* importEnvironmentFile("env/conda.yml").pipe(files({
        "env/conda.yml": "name: private\nchannels:\n  - conda-forge\n  - https://user:s3cret@conda.example.org/forge\ndependencies:\n  - numpy\n"
      })).pipe(Effect.flip)
      assertCredentialsRefused(listed, "env/conda.yml", 4, "channels")
      const inSpec = yield* importEnvironmentFile("env/conda.yml").pipe(files({
        "env/conda.yml": "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - https://s3cret@conda.example.org/forge::numpy\n"
      })).pipe(Effect.flip)
      assert.strictEqual(inSpec.line, 4)
      assert.include(inSpec.message, "carries credentials")
      assert.notInclude(inSpec.message, "s3cret")
      const inPipList = yield* importEnvironmentFile("env/conda.yml").pipe(files({
        "env/conda.yml": "dependencies:\n  - pip\n  - pip:\n    - --extra-index-url https://u:s3cret@pypi.example.org/simple\n"
      })).pipe(Effect.flip)
      assertCredentialsRefused(inPipList, "env/conda.yml", 4, "--extra-index-url")
    }))

  it.effect("reads a channel URL, in the list and in a spec", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("c.yml").pipe(files({
        "c.yml": "channels: [https://conda.example.org/forge]\ndependencies:\n  - https://conda.example.org/forge::numpy>=1.2\n"
      }))
      assert.deepStrictEqual(env.definition.python.conda?.channels, ["https://conda.example.org/forge"])
      assert.strictEqual(env.definition.python.conda?.conda[0]?.channel, "https://conda.example.org/forge")
    }))

  it.effect("a bad conda spec is reported at its list item", () =>
    Effect.gen(function*() {
      const error = yield* importEnvironmentFile("c.yml").pipe(files({
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
      const env = yield* importEnvironmentFile("envs/env.yml").pipe(files({
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
      const env = yield* importEnvironmentFile("e.yml").pipe(files({ "e.yml": "name: bare\nconda_file:\n  dependencies: [python=3.11]\n" }))
      assert.deepStrictEqual(env.definition.docker.base, { kind: "image", image: DEFAULT_BASE_IMAGE })
      assert.strictEqual(env.definition.python.conda?.conda[0]?.version, "3.11.*")
    }))

  it.effect("inference_config, tags, properties and os_type", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("e.yml").pipe(files({
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
      const env = yield* importEnvironmentFile("spec.yaml", { templateValues: { "asset.name": "sklearn-1.5" } }).pipe(
        files({ "spec.yaml": "name: \"{{asset.name}}\"\nversion: \"{{asset.version}}\"\nimage: python:3.11\n" })
      )
      assert.strictEqual(env.name, "sklearn-1.5")
      assert.strictEqual(env.version, "{{asset.version}}")
      assert.strictEqual(env.warnings.length, 1)
      assert.strictEqual(env.warnings[0]?.line, 2)
    }))

  it.effect("field errors: image with build, bad port, unknown build field", () =>
    Effect.gen(function*() {
      const both = yield* importEnvironmentFile("e.yml").pipe(files({ "e.yml": "image: a\nbuild:\n  path: .\n" })).pipe(Effect.flip)
      assert.strictEqual(both.field, "build")
      assert.strictEqual(both.line, 2)
      const port = yield* importEnvironmentFile("e.yml").pipe(files({
        "e.yml": "image: a\ninference_config:\n  scoring_route:\n    path: /\n    port: http\n"
      })).pipe(Effect.flip)
      assert.strictEqual(port.line, 5)
      assert.strictEqual(port.field, "inference_config.scoring_route.port")
      const typo = yield* importEnvironmentFile("e.yml").pipe(files({ "e.yml": "build:\n  path: .\n  dockerfile: D\n" })).pipe(Effect.flip)
      assert.strictEqual(typo.line, 3)
      assert.match(typo.message, /did you mean "build.dockerfile_path"/)
    }))

  it.effect("refuses a build context URI with credentials", () =>
    Effect.gen(function*() {
      const error = yield* importEnvironmentFile("e.yml").pipe(files({
        "e.yml": "name: x\nbuild:\n  path: https://s3cret@github.com/org/repo.git#main\n"
      })).pipe(Effect.flip)
      assertCredentialsRefused(error, "e.yml", 2, "build.path")
    }))
})

describe("MLflow python_env.yaml", () => {
  it.effect("python becomes a conda spec; build dependencies and -r requirements become pip", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile("model/python_env.yaml").pipe(files({
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
    const detect = (file: string, text: string) => detectEnvironmentFileKind(file, text).pipe(Effect.provide(Path.layer))
    const kind = (file: string, text: string) => Effect.runSync(detect(file, text))
    assert.strictEqual(kind("a.json", "{}"), "arm-template-environment-version")
    assert.strictEqual(kind("requirements-dev.txt", ""), "pip-requirements")
    assert.strictEqual(kind("env.yml", "$schema: https://x/environment.schema.json\nname: a\n"), "azureml-v2-environment")
    assert.strictEqual(kind("env.yml", "name: a\nimage: b\n"), "azureml-v2-environment")
    assert.strictEqual(kind("python_env.yaml", "python: 3.8\ndependencies: [-r requirements.txt]\n"), "mlflow-python-env")
    assert.strictEqual(kind("conda.yaml", "name: a\ndependencies: [python=3.8]\n"), "conda-environment")
    assert.isTrue(Exit.isFailure(Effect.runSyncExit(detect("x.yml", "hello: world\n"))))
  })
})
