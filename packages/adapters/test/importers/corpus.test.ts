/**
 * Imports every file of the shared corpus (`../shared/corpus` beside the repository): each must
 * import and give a `Definition` that decodes with the schema.
 *
 * One exception is checked rather than skipped: the corpus holds back about a third of the
 * azureml-examples files (those whose sha1(repository path) starts with 0–4, see its README).
 * An AzureML YAML whose `conda_file` was held back cannot import; for those the test asserts the
 * precise `conda_file` error instead, and that the missing file really is a held-out one.
 */
import { assert, describe, it } from "@effect/vitest"
import { Definition } from "@terrarium/domain"
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"
import {
  curatedTemplateValues,
  type EnvironmentFileKind,
  type ImportedEnvironment,
  importEnvironmentFile
} from "../../src/importers/index.ts"

const corpus = fileURLToPath(new URL("../../../../../shared/corpus/", import.meta.url))
const examples = join(corpus, "azureml-examples")
const curatedRoot = join(corpus, "curated")

const manifest = readFileSync(join(examples, "MANIFEST.tsv"), "utf8")
  .trim()
  .split("\n")
  .slice(1)
  .map((line) => {
    const [path = "", kind = ""] = line.split("\t")
    return { path, kind: kind as EnvironmentFileKind }
  })

const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]
  )
const curatedFiles = walk(join(curatedRoot, "assets")).map((file) => relative(curatedRoot, file)).sort()
const curatedSpecs = curatedFiles.filter((file) => file.endsWith("/spec.yaml"))
const curatedConda = curatedFiles.filter((file) => file.endsWith("/context/conda_dependencies.yaml"))
const curatedRequirements = curatedFiles.filter((file) => file.endsWith("/context/requirements.txt"))

const heldOut = (repositoryPath: string) => /^[0-4]/.test(createHash("sha1").update(repositoryPath).digest("hex"))

/** For a v2 YAML whose `conda_file` is not in the corpus: that file's repository path. */
const missingCondaFile = (path: string): string | undefined => {
  const doc = parse(readFileSync(join(examples, path), "utf8")) as { conda_file?: unknown } | null
  if (typeof doc?.conda_file !== "string") return undefined
  const target = join(dirname(path), doc.conda_file)
  return existsSync(join(examples, target)) ? undefined : target
}

const decodes = (env: ImportedEnvironment) =>
  Effect.gen(function*() {
    const decoded = yield* Schema.decodeUnknownEffect(Definition)(env.definition)
    assert.deepStrictEqual(decoded, env.definition)
  })

describe("corpus: azureml-examples (MANIFEST.tsv)", () => {
  it("lists every stored file", () => {
    assert.strictEqual(manifest.length, 130)
    for (const { path } of manifest) assert.isTrue(existsSync(join(examples, path)), path)
  })

  for (const { path, kind } of manifest) {
    const heldOutConda = kind === "azureml-v2-environment" ? missingCondaFile(path) : undefined
    if (heldOutConda !== undefined) {
      it.effect(`${path}: its conda_file ${heldOutConda} is held out, and the error says so`, () =>
        Effect.gen(function*() {
          assert.isTrue(heldOut(heldOutConda), `${heldOutConda} is missing but not one of the held-out files`)
          const error = yield* importEnvironmentFile(join(examples, path)).pipe(Effect.flip)
          assert.strictEqual(error.field, "conda_file")
          assert.strictEqual(error.file, join(examples, path))
          assert.isDefined(error.line)
        }))
      continue
    }
    it.effect(`${path} (${kind})`, () =>
      Effect.gen(function*() {
        const env = yield* importEnvironmentFile(join(examples, path))
        assert.strictEqual(env.kind, kind)
        yield* decodes(env)
      }))
  }
})

describe("corpus: curated azureml-assets", () => {
  it("has the documented files", () => {
    assert.strictEqual(curatedSpecs.length, 62)
    assert.strictEqual(curatedConda.length, 29)
    assert.strictEqual(curatedRequirements.length, 22)
  })

  for (const path of curatedSpecs) {
    it.effect(`${path} (AzureML v2, templated)`, () =>
      Effect.gen(function*() {
        const file = join(curatedRoot, path)
        const templateValues = yield* curatedTemplateValues(file)
        const env = yield* importEnvironmentFile(file, { templateValues })
        assert.strictEqual(env.kind, "azureml-v2-environment")
        assert.strictEqual(env.name, templateValues["asset.name"])
        assert.strictEqual(env.definition.docker.base.kind, "dockerfile")
        yield* decodes(env)
      }))
  }

  for (const path of [...curatedConda, ...curatedRequirements]) {
    it.effect(`${path}`, () =>
      Effect.gen(function*() {
        const env = yield* importEnvironmentFile(join(curatedRoot, path))
        assert.strictEqual(env.kind, path.endsWith(".txt") ? "pip-requirements" : "conda-environment")
        yield* decodes(env)
      }))
  }
})

describe("corpus: spot checks", () => {
  it.effect("image + conda_file: base image, conda file relative to the YAML", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile(join(examples, "cli/assets/environment/docker-image-plus-conda.yaml"))
      assert.strictEqual(env.name, "docker-image-plus-conda-example")
      assert.deepStrictEqual(env.definition.docker.base, {
        kind: "image",
        image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
      })
      assert.strictEqual(env.source.condaFile, join(examples, "cli/assets/environment/conda-yamls/pydata.yml"))
      assert.isFalse(env.definition.python.userManagedDependencies)
      assert.isAbove(env.definition.python.conda?.conda.length ?? 0, 0)
      assert.strictEqual(env.definition.description, "Environment created from a Docker image plus Conda environment.")
    }))

  it.effect("numbers keep their written text: version: 1, hpcx: 2.10", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile(
        join(examples, "best-practices/largescale-deep-learning/Training/Bert-Pretrain/src/environment/env.yml")
      )
      assert.strictEqual(env.version, "1")
      assert.strictEqual(env.tags["hpcx"], "2.10")
      assert.strictEqual(env.tags["os_version"], "20.04")
      assert.deepStrictEqual(env.definition.docker.base, { kind: "dockerfile", context: "./context/", dockerfilePath: "Dockerfile" })
    }))

  it.effect("curated placeholders: version clause dropped with a warning, package kept unpinned", () =>
    Effect.gen(function*() {
      const path = curatedRequirements.find((p) =>
        readFileSync(join(curatedRoot, p), "utf8").includes("azureml-acft-contrib-hf-nlp=={{latest-pypi-version}}")
      )
      assert.isDefined(path)
      const env = yield* importEnvironmentFile(join(curatedRoot, path ?? ""))
      const req = env.definition.python.conda?.pip.find((r) => r.name === "azureml-acft-contrib-hf-nlp")
      assert.strictEqual(req?.specifier, "")
      assert.strictEqual(req?.text, "azureml-acft-contrib-hf-nlp=={{latest-pypi-version}}")
      assert.isTrue(env.warnings.some((w) => w.message.includes("{{latest-pypi-version}}")))
    }))

  it.effect("curated spec without template values: kept verbatim with warnings", () =>
    Effect.gen(function*() {
      const path = curatedSpecs[0] ?? ""
      const env = yield* importEnvironmentFile(join(curatedRoot, path))
      assert.strictEqual(env.name, "{{asset.name}}")
      assert.isTrue(env.warnings.some((w) => w.message.includes("{{asset.name}}")))
    }))

  it.effect("the ARM template: parameter defaults evaluated, empty image means the default base image", () =>
    Effect.gen(function*() {
      const file = join(examples, "arm-templates/environment-version.json")
      const env = yield* importEnvironmentFile(file)
      assert.strictEqual(env.description, "This is a test description for an environment created from an ARM template")
      assert.strictEqual(env.definition.docker.base.kind, "image")
      assert.isUndefined(env.name) // workspaceName has no default
      const named = yield* importEnvironmentFile(file, {
        armParameters: { workspaceName: "ws", environmentAssetName: "arm-env", dockerImage: "python:3.11" }
      })
      assert.strictEqual(named.name, "arm-env")
      assert.strictEqual(named.version, "1")
      assert.deepStrictEqual(named.definition.docker.base, { kind: "image", image: "python:3.11" })
    }))
})
