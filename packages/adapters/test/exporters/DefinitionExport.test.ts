/**
 * What the corpus does not have: definitions with every section (Spark, R, a registry, GPU, run
 * arguments, another platform, inference routes, pip options), a Dockerfile with and without a
 * build context, and hostile paths. Each is exported, written to a real folder and imported
 * again by the real importers. And the folder writer: a folder with files is refused unless
 * forced, a forced export clears what an earlier one left, nothing escapes the folder.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, layer } from "@effect/vitest"
import { CanonicalHash, type Definition, emptyDefinition } from "@terrarium/domain"
import { Effect, Layer, Result } from "effect"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type DefinitionExport, type ExportFormat, exportDefinition, unstatedDifferences } from "../../src/exporters/DefinitionExport.ts"
import { writeExport } from "../../src/exporters/ExportFolder.ts"
import { importEnvironmentFile } from "../../src/importers/index.ts"
import { parseCondaSpec } from "../../src/package-spec/CondaSpec.ts"
import { parsePipRequirement } from "../../src/package-spec/PipSpec.ts"

const localDisk = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const scratch = mkdtempSync(join(tmpdir(), "terrarium-export-unit-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
let n = 0
const folder = () => join(scratch, String(n++))

const pip = (text: string) => Result.getOrThrow(parsePipRequirement(text))
const conda = (text: string) => Result.getOrThrow(parseCondaSpec(text))

const everything: Definition = {
  ...emptyDefinition,
  description: "everything",
  tags: { team: "risk" },
  python: {
    userManagedDependencies: false,
    interpreterPath: "/opt/py/bin/python",
    conda: {
      name: "full",
      channels: ["conda-forge", "defaults"],
      conda: [conda("python=3.11"), conda("conda-forge::numpy >=1.26")],
      pip: [pip("torch==2.3.1"), pip("uvicorn[standard] >=0.30,<1 ; python_version >= \"3.9\"")],
      pipOptions: {
        indexUrl: "https://pypi.example.org/simple",
        extraIndexUrls: ["https://b.example.org/simple"],
        findLinks: ["https://links.example.org/"],
        constraints: [],
        flags: ["--pre", "--no-binary :all:"]
      }
    }
  },
  docker: {
    base: { kind: "image", image: "registry.example.org/ml/base:1" },
    baseImageRegistry: { address: "registry.example.org", username: "env:REG_USER", password: "keyvault:kv/reg" },
    gpuSupport: true,
    shmSize: "2g",
    runArguments: ["--ipc=host", "--ulimit", "memlock=-1"],
    platform: { os: "linux", arch: "arm64" }
  },
  variables: { MODE: "train", OMP_NUM_THREADS: "4" },
  spark: {
    repositories: ["https://repo2.example.org/maven", "https://repo1.example.org/maven"],
    packages: [{ group: "com.microsoft.azure", artifact: "synapseml_2.12", version: "1.0.4" }],
    precachePackages: true
  },
  r: {
    rVersion: "4.3.2",
    userManaged: false,
    snapshotDate: "2024-01-15",
    cranPackages: [{ name: "dplyr" }, { name: "data.table", repository: "https://cran.example.org" }],
    gitHubPackages: [{ repository: "example/pkg", authToken: "env:GH_TOKEN" }],
    customUrlPackages: [],
    bioConductorPackages: ["limma"]
  },
  inferencingStackVersion: "latest"
}

/** Exports, writes, imports again: the export and the definition the import gives. */
const roundTrip = (definition: Definition, format: ExportFormat) =>
  Effect.gen(function*() {
    const exported = Result.getOrThrow(exportDefinition({ name: "full", version: "1", definition }, format))
    const out = folder()
    yield* writeExport(out, exported)
    const again = yield* importEnvironmentFile(exported.entry === "." ? out : join(out, exported.entry))
    return { exported, again: again.definition, out }
  })

const sameHash = (a: Definition, b: Definition) =>
  Effect.gen(function*() {
    assert.strictEqual(yield* CanonicalHash.hash(b), yield* CanonicalHash.hash(a))
  })
const fields = (e: DefinitionExport) => e.leftOut.map((o) => o.field)

layer(localDisk)("exporters: what the corpus does not have", (it) => {
  it.effect("an AzureML v1 folder holds every section but the routes: the same hash", () =>
    Effect.gen(function*() {
      const { exported, again } = yield* roundTrip(everything, "azureml-v1-dir")
      assert.deepStrictEqual(fields(exported), ["description", "tags"])
      assert.isFalse(exported.leftOut.some((o) => o.buildRelevant))
      yield* sameHash(everything, again)
    }))

  it.effect("the v1 folder leaves out inference routes, and says so", () =>
    Effect.gen(function*() {
      const routed = { ...everything, inferenceConfig: { scoringRoute: { path: "/score", port: 5001 } } }
      const { exported, again } = yield* roundTrip(routed, "azureml-v1-dir")
      assert.include(fields(exported), "inferenceConfig")
      assert.deepStrictEqual(unstatedDifferences(routed, again, exported.leftOut), [])
      assert.notStrictEqual(yield* CanonicalHash.hash(again), yield* CanonicalHash.hash(routed))
    }))

  it.effect("AzureML v2 names each Docker setting, Spark, R and the interpreter it cannot hold", () =>
    Effect.gen(function*() {
      const { exported, again } = yield* roundTrip(everything, "azureml-v2")
      assert.deepStrictEqual(fields(exported).sort(), [
        "docker.baseImageRegistry", "docker.gpuSupport", "docker.platform", "docker.runArguments", "docker.shmSize",
        "inferencingStackVersion", "python.interpreterPath", "r", "spark"
      ])
      assert.deepStrictEqual(unstatedDifferences(everything, again, exported.leftOut), [])
      // What it holds comes back: packages, pip options, variables, metadata.
      assert.deepStrictEqual(again.python.conda?.pipOptions, everything.python.conda?.pipOptions)
      assert.deepStrictEqual(again.variables, everything.variables)
      assert.deepStrictEqual([again.description, again.tags], [everything.description, everything.tags])
    }))

  it.effect("AzureML v2: a Dockerfile with a relative build context is written into it; with its digest, the context's files are said to be left out", () =>
    Effect.gen(function*() {
      const dockerfile = "FROM python:3.11-slim\n"
      const plain: Definition = { ...emptyDefinition, python: { userManagedDependencies: true, interpreterPath: "python" }, docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", dockerfile, context: "./docker", dockerfilePath: "Dockerfile" } } }
      const first = yield* roundTrip(plain, "azureml-v2")
      assert.strictEqual(readFileSync(join(first.out, "docker", "Dockerfile"), "utf8"), dockerfile)
      // The definition had no digest (its context was not read), the re-import digests the folder: said.
      assert.deepStrictEqual(fields(first.exported), ["docker.base.contextDigest"])
      // Now with the digest the re-import computed: the context holds only the Dockerfile, so nothing is left out.
      const digested = first.again
      const second = yield* roundTrip(digested, "azureml-v2")
      assert.deepStrictEqual(fields(second.exported), ["docker.base.contextDigest"])
      assert.deepStrictEqual(unstatedDifferences(digested, second.again, second.exported.leftOut), [])
    }))

  it.effect("a build context outside the export folder is written as ./context, and said", () =>
    Effect.gen(function*() {
      const outside: Definition = { ...emptyDefinition, docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", dockerfile: "FROM x\n", context: "../../etc", dockerfilePath: "Dockerfile" } } }
      const { exported, again, out } = yield* roundTrip(outside, "azureml-v2")
      assert.isTrue(existsSync(join(out, "context", "Dockerfile")))
      assert.isFalse(existsSync(join(scratch, "etc")))
      assert.include(fields(exported), "docker.base.context")
      assert.deepStrictEqual(unstatedDifferences(outside, again, exported.leftOut), [])
    }))

  it.effect("a Dockerfile export of a version whose Dockerfile is only in a remote context is refused", () =>
    Effect.sync(() => {
      const remote: Definition = { ...emptyDefinition, docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", context: "https://github.com/org/repo.git#main", dockerfilePath: "Dockerfile" } } }
      const refused = exportDefinition({ name: "r", version: "1", definition: remote }, "dockerfile")
      assert.isTrue(Result.isFailure(refused))
      assert.match(Result.isFailure(refused) ? refused.failure : "", /has no Dockerfile text to export/)
    }))

  it.effect("a folder with files is refused and left alone; --force replaces the format's files and clears stale ones", () =>
    Effect.gen(function*() {
      const out = folder()
      mkdirSync(out)
      writeFileSync(join(out, "mine.txt"), "mine\n")
      writeFileSync(join(out, "BaseDockerfile"), "FROM stale\n")
      const withConda = Result.getOrThrow(exportDefinition({ name: "full", version: "1", definition: everything }, "azureml-v1-dir"))
      const refused = yield* Effect.flip(writeExport(out, withConda))
      assert.match(refused.message, /is not empty \(2 entries\); nothing was written/)
      assert.deepStrictEqual(readdirSync(out).sort(), ["BaseDockerfile", "mine.txt"])
      yield* writeExport(out, withConda, { force: true })
      // The stale BaseDockerfile would have been read back as the Dockerfile: it is gone.
      assert.deepStrictEqual(readdirSync(out).sort(), ["azureml_environment.json", "conda_dependencies.yml", "mine.txt"])
      const again = yield* importEnvironmentFile(out)
      yield* sameHash(everything, again.definition)
    }))

  it.effect("a forced export replaces a symbolic link, never writing through it", () =>
    Effect.gen(function*() {
      const out = folder()
      mkdirSync(out)
      const target = join(scratch, `target-${n}`)
      writeFileSync(target, "keep\n")
      symlinkSync(target, join(out, "environment.yml"))
      const exported = Result.getOrThrow(exportDefinition({ name: "full", version: "1", definition: everything }, "conda"))
      yield* writeExport(out, exported, { force: true })
      assert.strictEqual(readFileSync(target, "utf8"), "keep\n")
      assert.include(readFileSync(join(out, "environment.yml"), "utf8"), "channels:")
    }))

  it.effect("a path that would leave the folder is refused before anything is written", () =>
    Effect.gen(function*() {
      const out = folder()
      const hostile: DefinitionExport = { format: "conda", files: [{ path: "ok.yml", text: "x" }, { path: "../escaped.yml", text: "x" }], leftOut: [], entry: "ok.yml", managedFiles: [] }
      const error = yield* Effect.flip(writeExport(out, hostile))
      assert.match(error.message, /outside the folder; nothing was written/)
      assert.isFalse(existsSync(out))
      assert.isFalse(existsSync(join(scratch, "escaped.yml")))
    }))
})
