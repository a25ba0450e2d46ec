/**
 * Walks every file of the shared corpus (`../shared/corpus` beside the repository) and gives each
 * one a fate, so that a file added to the corpus can never go untested:
 * - an environment file (azureml-examples, by its kind in MANIFEST.tsv; curated spec.yaml,
 *   conda_dependencies.yaml, requirements.txt) must import and give a definition that
 *   `CheckedDefinition` accepts;
 * - a pip constraints file must read as pip lines (it installs nothing, so it is no environment;
 *   the environment that uses it covers its content through its build context);
 * - a curated `asset.yaml` or `environment.yaml` gives the template values of the `spec.yaml` beside
 *   it: it has no test of its own, the import of that `spec.yaml` asserts that its values arrived;
 * - anything else must be listed below as not an environment, with the reason, and must fail to
 *   import as one;
 * - a file with no fate fails the walk.
 *
 * One import failure is expected and checked rather than skipped: the corpus holds back about a
 * third of the azureml-examples files (those whose sha1(repository path) starts with 0–4, see its
 * README). An AzureML YAML whose `conda_file` was held back cannot import; for those the test
 * asserts the precise `conda_file` error instead, and that the missing file really is a held-out one.
 *
 * Every test here can fail: none only restates that a file the walk has just listed exists.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, layer } from "@effect/vitest"
import { CanonicalHash, CheckedDefinition } from "@terrarium/domain"
import { Effect, Layer, Schema } from "effect"
import { createHash } from "node:crypto"
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"
import {
  curatedTemplateValues,
  type EnvironmentFileKind,
  type ImportedEnvironment,
  importEnvironmentFile,
  parseRequirementsTxt
} from "../../src/importers/index.ts"

const localDisk = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

const corpus = fileURLToPath(new URL("../../../../../shared/corpus/", import.meta.url))
const examples = join(corpus, "azureml-examples")
const curatedRoot = join(corpus, "curated")

const manifest = new Map(
  readFileSync(join(examples, "MANIFEST.tsv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [path = "", kind = ""] = line.split("\t")
      return [path, kind as EnvironmentFileKind] as const
    })
)

const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]
  )
/** Every file of the corpus, as a `/`-separated path relative to it. */
const corpusFiles = walk(corpus).map((file) => relative(corpus, file).split(sep).join("/")).sort()
/** Curated files of one name, relative to `curated/`. */
const curated = (name: string) =>
  corpusFiles.filter((path) => path.startsWith("curated/") && path.endsWith(`/${name}`)).map((path) => path.slice("curated/".length))

/** Files that are in the corpus but are not environments, and why. */
const NOT_ENVIRONMENTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^README\.md$/, "describes the corpus"],
  [/^azureml-examples\/MANIFEST\.tsv$/, "the kind of every azureml-examples file; this test reads it"],
  [/^curated\/INDEX\.tsv$/, "an index of the curated environments (name, spec path, base image, dependency file)"]
]

/** How the importer refuses a file that is no environment: not YAML at all, or YAML of no known kind. */
const NOT_AN_ENVIRONMENT_FILE = /^(?:invalid YAML: |cannot tell what kind of environment file this is )/

/**
 * azureml-assets files that the importer reads for the `{{…}}` values of the `spec.yaml` beside
 * them (`curatedTemplateValues`): asset metadata (name, version: auto, categories), and the image
 * build and publish settings (build context directory, Dockerfile path).
 */
const TEMPLATE_VALUE_FILES = /^(curated\/assets\/.+\/)(?:asset|environment)\.yaml$/

/** What the test does with one corpus file. */
type Fate =
  | { readonly _tag: "Import"; readonly kind: EnvironmentFileKind; readonly templated: boolean }
  | { readonly _tag: "HeldOutCondaFile"; readonly missing: string }
  | { readonly _tag: "Constraints" }
  | { readonly _tag: "TemplateValues"; readonly spec: string }
  | { readonly _tag: "NotAnEnvironment"; readonly reason: string }

const heldOut = (repositoryPath: string) => /^[0-4]/.test(createHash("sha1").update(repositoryPath).digest("hex"))

/** For a v2 YAML whose `conda_file` is not in the corpus: that file's repository path. */
const missingCondaFile = (path: string): string | undefined => {
  const doc = parse(readFileSync(join(examples, path), "utf8")) as { conda_file?: unknown } | null
  if (typeof doc?.conda_file !== "string") return undefined
  const target = join(dirname(path), doc.conda_file)
  return existsSync(join(examples, target)) ? undefined : target
}

const fateOf = (path: string): Fate | undefined => {
  const exampleKind = path.startsWith("azureml-examples/") ? manifest.get(path.slice("azureml-examples/".length)) : undefined
  if (exampleKind !== undefined) {
    const missing = exampleKind === "azureml-v2-environment" ? missingCondaFile(path.slice("azureml-examples/".length)) : undefined
    return missing === undefined ? { _tag: "Import", kind: exampleKind, templated: false } : { _tag: "HeldOutCondaFile", missing }
  }
  if (/^curated\/assets\/.+\/spec\.yaml$/.test(path)) return { _tag: "Import", kind: "azureml-v2-environment", templated: true }
  if (/^curated\/assets\/.+\/context\/conda_dependencies\.yaml$/.test(path)) {
    return { _tag: "Import", kind: "conda-environment", templated: false }
  }
  if (/^curated\/assets\/.+\/context\/requirements\.txt$/.test(path)) return { _tag: "Import", kind: "pip-requirements", templated: false }
  if (/^curated\/assets\/.+\/context\/pip_constraints\.txt$/.test(path)) return { _tag: "Constraints" }
  const templateValues = TEMPLATE_VALUE_FILES.exec(path)
  if (templateValues !== null) {
    // Checked by the import of that spec.yaml, so only when there is one to import.
    const spec = `${templateValues[1]}spec.yaml`
    return corpusFiles.includes(spec) ? { _tag: "TemplateValues", spec } : undefined
  }
  const listed = NOT_ENVIRONMENTS.find(([pattern]) => pattern.test(path))
  return listed === undefined ? undefined : { _tag: "NotAnEnvironment", reason: listed[1] }
}

/**
 * What the `asset.yaml` and `environment.yaml` beside a curated spec.yaml say, read here with a
 * plain YAML parser so that the import's use of them is checked against the files themselves.
 */
const templateSources = (spec: string) => {
  const dir = dirname(spec)
  const read = (name: string) => parse(readFileSync(join(dir, name), "utf8")) as unknown
  const asset = read("asset.yaml") as { readonly name: string; readonly version: unknown }
  const { context } = (read("environment.yaml") as { readonly image: { readonly context: { readonly dir: string; readonly dockerfile: string } } }).image
  const { build } = read("spec.yaml") as { readonly build: { readonly path?: string; readonly dockerfile_path?: string } }
  return { asset, context, build }
}

const decodes = (env: ImportedEnvironment) =>
  Effect.gen(function*() {
    const decoded = yield* Schema.decodeUnknownEffect(CheckedDefinition)(env.definition)
    assert.deepStrictEqual(decoded, env.definition)
  })

layer(localDisk)("corpus: every file", (it) => {
  it("has a fate: imported, a constraints file, the template values of a spec.yaml, or listed as not an environment with a reason", () => {
    assert.isAbove(corpusFiles.length, 0, `no corpus at ${corpus}`)
    const unclassified = corpusFiles.filter((path) => fateOf(path) === undefined)
    assert.deepStrictEqual(unclassified, [], "add these to corpus.test.ts: an importer case, or NOT_ENVIRONMENTS with a reason (an asset.yaml or environment.yaml needs its spec.yaml)")
  })

  it("MANIFEST.tsv lists only files that are there", () => {
    for (const path of manifest.keys()) assert.isTrue(existsSync(join(examples, path)), path)
  })

  for (const path of corpusFiles) {
    const fate = fateOf(path)
    if (fate === undefined) continue // reported by the test above
    const file = join(corpus, path)
    switch (fate._tag) {
      case "Import":
        it.effect(`${path}: imports as ${fate.kind}${fate.templated ? " (templated)" : ""}`, () =>
          Effect.gen(function*() {
            const templateValues = fate.templated ? yield* curatedTemplateValues(file) : undefined
            const env = yield* importEnvironmentFile(file, { templateValues })
            assert.strictEqual(env.kind, fate.kind)
            if (fate.templated) {
              assert.strictEqual(env.name, templateValues?.["asset.name"])
              assert.strictEqual(env.definition.docker.base.kind, "dockerfile")
              // The asset.yaml and environment.yaml beside it (whose fate is this test) gave their values.
              const { asset, context, build } = templateSources(file)
              assert.strictEqual(env.name, asset.name, "the name comes from asset.yaml")
              // `version: auto` leaves the version to the registry: the template stays, with a warning.
              assert.strictEqual(env.version, asset.version === "auto" ? "{{asset.version}}" : String(asset.version))
              const base = env.definition.docker.base
              assert.isTrue(
                build.dockerfile_path === "{{image.dockerfile.path}}" || ["{{image.context.path}}", "{{image.context.dir}}"].includes(build.path ?? ""),
                "the spec takes something from environment.yaml"
              )
              if (base.kind === "dockerfile" && build.dockerfile_path === "{{image.dockerfile.path}}") {
                assert.strictEqual(base.dockerfilePath, context.dockerfile, "the Dockerfile path comes from environment.yaml")
              }
              if (base.kind === "dockerfile" && ["{{image.context.path}}", "{{image.context.dir}}"].includes(build.path ?? "")) {
                assert.strictEqual(base.context, context.dir, "the build context comes from environment.yaml")
              }
            }
            yield* decodes(env)
          }))
        break
      case "HeldOutCondaFile":
        it.effect(`${path}: its conda_file ${fate.missing} is held out, and the error says so`, () =>
          Effect.gen(function*() {
            assert.isTrue(heldOut(fate.missing), `${fate.missing} is missing but not one of the held-out files`)
            const error = yield* importEnvironmentFile(file).pipe(Effect.flip)
            assert.strictEqual(error.field, "conda_file")
            assert.strictEqual(error.file, file)
            assert.isDefined(error.line)
          }))
        break
      case "Constraints":
        it.effect(`${path}: a pip constraints file, read as pip lines`, () =>
          Effect.gen(function*() {
            const pip = yield* parseRequirementsTxt(file, readFileSync(file, "utf8"))
            assert.isAbove(pip.requirements.length, 0)
            assert.isTrue(pip.requirements.every((r) => r.specifier !== "" && r.url === undefined), "constraints pin versions")
            assert.deepStrictEqual(pip.warnings, [])
          }))
        break
      case "TemplateValues":
        break // asserted by the import of fate.spec
      case "NotAnEnvironment":
        it.effect(`${path}: not an environment (${fate.reason}), and the importer does not take it for one`, () =>
          Effect.gen(function*() {
            const error = yield* importEnvironmentFile(file).pipe(Effect.flip)
            assert.strictEqual(error.file, file)
            assert.match(error.detail, NOT_AN_ENVIRONMENT_FILE)
          }))
        break
    }
  }
})

layer(localDisk)("corpus: the curated constraints file reaches the hash", (it) => {
  // rag_embeddings installs its conda file in the image with `-c /pip_constraints.txt`, a path
  // inside the image; the file itself is in the build context, so the context digest covers it.
  const environment = join(curatedRoot, "assets/large_language_models/rag/environments/rag_embeddings")

  it.effect("the conda file keeps the in-image constraints path by name, and says so", () =>
    Effect.gen(function*() {
      const env = yield* importEnvironmentFile(join(environment, "context/conda_dependencies.yaml"))
      assert.deepStrictEqual(env.definition.python.conda?.pipOptions.constraints, ["/pip_constraints.txt"])
      assert.isTrue(env.warnings.some((w) => w.message.includes("-c /pip_constraints.txt") && w.message.includes("does not exist here")))
    }))

  it.effect("editing pip_constraints.txt changes the hash of the environment built from that context", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "terrarium-rag-"))),
      (copy) =>
        Effect.gen(function*() {
          cpSync(environment, copy, { recursive: true })
          for (const file of walk(copy)) chmodSync(file, 0o644) // the corpus is read-only
          const spec = join(copy, "spec.yaml")
          const hashOf = curatedTemplateValues(spec).pipe(
            Effect.flatMap((templateValues) => importEnvironmentFile(spec, { templateValues })),
            Effect.flatMap((env) => CanonicalHash.hash(env.definition))
          )
          const before = yield* hashOf
          assert.strictEqual(yield* hashOf, before)
          const constraints = join(copy, "context/pip_constraints.txt")
          const text = readFileSync(constraints, "utf8")
          assert.include(text, "urllib3>=2.6.3")
          writeFileSync(constraints, text.replace("urllib3>=2.6.3", "urllib3>=2.6.4"))
          assert.notStrictEqual(yield* hashOf, before)
        }),
      (copy) => Effect.sync(() => rmSync(copy, { recursive: true, force: true }))
    ))
})

layer(localDisk)("corpus: spot checks", (it) => {
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
      const path = curated("requirements.txt").find((p) =>
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
      const path = curated("spec.yaml")[0] ?? ""
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
