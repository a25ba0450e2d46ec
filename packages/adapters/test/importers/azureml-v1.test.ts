/**
 * AzureML v1 environments: the JSON azureml-core writes (`Environment.save_to_directory` and its
 * inline form) imports field by field, with the conda file and Dockerfile beside it; secrets by
 * value, fields that cannot be kept and fields outside the format are refused, naming the field.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { importEnvironmentFile } from "../../src/importers/index.ts"
import * as MemoryFileSystem from "../support/MemoryFileSystem.ts"

const SECRET = "SECRET_TOKEN_abc123"

/** What `save_to_directory` writes for an environment with every section set (conda in its own file). */
const saved = (patch: (doc: Record<string, any>) => void = () => {}) => {
  const doc: Record<string, any> = {
    name: "fraud-train",
    version: null,
    environmentVariables: { EXAMPLE_ENV_VAR: "EXAMPLE_VALUE" },
    python: { userManagedDependencies: false, interpreterPath: "python", condaDependenciesFile: null, baseCondaEnvironment: null },
    docker: {
      enabled: false,
      baseImage: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:20230103.v1",
      platform: { os: "Linux", architecture: "amd64" },
      sharedVolumes: true,
      shmSize: "2g",
      arguments: ["--ipc=host"],
      baseImageRegistry: { address: "myregistry.azurecr.io", username: "env:ACR_USER", password: "keyvault:vault/acr", registryIdentity: null },
      gpuSupport: true
    },
    spark: { repositories: ["https://repo.example.org/maven"], packages: [{ group: "com.microsoft.azure", artifact: "synapseml_2.12", version: "1.0.4" }], precachePackages: true },
    databricks: { mavenLibraries: [], pypiLibraries: [], rcranLibraries: [], jarLibraries: [], eggLibraries: [] },
    r: null,
    inferencingStackVersion: "latest",
    assetId: null
  }
  patch(doc)
  return JSON.stringify(doc, null, 4)
}
const condaFile = ["name: project_environment", "dependencies:", "  - python=3.8.13", "  - pip=20.2.4", "  - pip:", "    - azureml-defaults", "channels:", "  - anaconda", "  - conda-forge"].join("\n")

const importFiles = (files: Record<string, string>, path = "env/azureml_environment.json") =>
  importEnvironmentFile(path).pipe(Effect.provide(MemoryFileSystem.layer(files)))

describe("AzureML v1 environment JSON", () => {
  it.effect("save_to_directory's files: the JSON with conda_dependencies.yml beside it", () =>
    Effect.gen(function*() {
      const env = yield* importFiles({ "env/azureml_environment.json": saved(), "env/conda_dependencies.yml": condaFile })
      assert.strictEqual(env.kind, "azureml-v1-environment")
      assert.strictEqual(env.name, "fraud-train")
      assert.isUndefined(env.version)
      const d = env.definition
      assert.deepStrictEqual(d.python.conda?.channels, ["anaconda", "conda-forge"])
      assert.deepStrictEqual(d.python.conda?.pip.map((p) => p.name), ["azureml-defaults"])
      assert.deepStrictEqual(d.docker.base, { kind: "image", image: "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:20230103.v1" })
      assert.deepStrictEqual(d.docker.baseImageRegistry, { address: "myregistry.azurecr.io", username: "env:ACR_USER", password: "keyvault:vault/acr" })
      assert.isTrue(d.docker.gpuSupport)
      assert.strictEqual(d.docker.shmSize, "2g")
      assert.deepStrictEqual(d.docker.runArguments, ["--ipc=host"])
      assert.deepStrictEqual(d.docker.platform, { os: "linux", arch: "amd64" })
      assert.deepStrictEqual(d.variables, { EXAMPLE_ENV_VAR: "EXAMPLE_VALUE" })
      assert.deepStrictEqual(d.spark.packages, [{ group: "com.microsoft.azure", artifact: "synapseml_2.12", version: "1.0.4" }])
      assert.isTrue(d.spark.precachePackages)
      assert.strictEqual(d.inferencingStackVersion, "latest")
      assert.deepStrictEqual(env.warnings, [])
    }))

  it.effect("BaseDockerfile beside the JSON is the Dockerfile; inline condaDependencies and R are read", () =>
    Effect.gen(function*() {
      const json = saved((doc) => {
        doc["docker"].baseImage = null
        doc["python"].userManagedDependencies = true
        doc["python"].interpreterPath = "/opt/venv/bin/python"
        doc["python"].condaDependencies = { name: "x", channels: ["conda-forge"], dependencies: ["python=3.11"] }
        doc["r"] = {
          rVersion: "4.3.2", userManaged: false, rscriptPath: null, snapshotDate: "2024-01-15",
          cranPackages: [{ name: "dplyr", version: null, repository: null }],
          githubPackages: [{ repository: "example/pkg", authToken: "env:GH_TOKEN" }],
          customUrlPackages: [], bioconductorPackages: ["limma"]
        }
      })
      const env = yield* importFiles({ "env/azureml_environment.json": json, "env/BaseDockerfile": "FROM ubuntu:22.04\n" })
      const d = env.definition
      assert.deepStrictEqual(d.docker.base, { kind: "dockerfile", dockerfile: "FROM ubuntu:22.04\n" })
      assert.deepStrictEqual(d.python.conda?.conda.map((c) => c.name), ["python"])
      assert.strictEqual(d.python.interpreterPath, "/opt/venv/bin/python")
      assert.isTrue(d.python.userManagedDependencies)
      assert.deepStrictEqual(d.r?.gitHubPackages, [{ repository: "example/pkg", authToken: "env:GH_TOKEN" }])
      assert.deepStrictEqual(d.r?.bioConductorPackages, ["limma"])
    }))

  it.effect("a variable named __proto__ is a variable like any other", () =>
    Effect.gen(function*() {
      const json = saved((doc) => {
        doc["environmentVariables"] = JSON.parse('{"__proto__": "x", "A": "1"}')
      })
      const env = yield* importFiles({ "env/azureml_environment.json": json })
      assert.deepStrictEqual(Object.entries(env.definition.variables), [["__proto__", "x"], ["A", "1"]])
    }))

  it.effect("a v1 JSON under another name is told from an ARM template and read alone", () =>
    Effect.gen(function*() {
      const env = yield* importFiles({ "env/myenv.json": saved(), "env/conda_dependencies.yml": condaFile }, "env/myenv.json")
      assert.strictEqual(env.kind, "azureml-v1-environment")
      assert.isUndefined(env.definition.python.conda, "the conda file beside it belongs to save_to_directory's layout only")
    }))

  it.effect("the file beside the JSON wins over the inline section, with a warning", () =>
    Effect.gen(function*() {
      const json = saved((doc) => {
        doc["python"].condaDependencies = { dependencies: ["python=3.11"] }
      })
      const env = yield* importFiles({ "env/azureml_environment.json": json, "env/conda_dependencies.yml": condaFile })
      assert.deepStrictEqual(env.definition.python.conda?.channels, ["anaconda", "conda-forge"])
      assert.isTrue(env.warnings.some((w) => w.message.includes("replaced by conda_dependencies.yml")))
    }))

  const refusals: ReadonlyArray<readonly [string, (doc: Record<string, any>) => void, RegExp]> = [
    ["a registry password by value", (doc) => { doc["docker"].baseImageRegistry.password = SECRET },
      /field "docker\.baseImageRegistry\.password" holds a secret by value.*by reference \(env:NAME, file:PATH or keyvault:VAULT\/NAME\), never by value/],
    ["a registry username by value", (doc) => { doc["docker"].baseImageRegistry.username = SECRET }, /"docker\.baseImageRegistry\.username" holds a secret by value/],
    ["a GitHub token by value", (doc) => {
      doc["r"] = { userManaged: false, githubPackages: [{ repository: "a/b", authToken: SECRET }] }
    }, /"r\.githubPackages\[\]\.authToken" holds a secret by value/],
    ["a field outside the format", (doc) => { doc["docker"].baseImag = "x" }, /field "docker\.baseImag" is not part of the AzureML v1 environment JSON \(did you mean "baseImage"\?\)/],
    ["an image and a Dockerfile", (doc) => { doc["docker"].baseDockerfile = "FROM x\n" }, /"docker\.baseImage" and "docker\.baseDockerfile" cannot both be given/],
    ["a managed identity", (doc) => { doc["docker"].baseImageRegistry.registryIdentity = { clientId: "c" } }, /\(a managed identity\) cannot be imported/],
    ["a conda file elsewhere", (doc) => { doc["python"].condaDependenciesFile = "../conda.yml" }, /"python\.condaDependenciesFile" points at a conda environment elsewhere/],
    ["a pinned CRAN version", (doc) => { doc["r"] = { cranPackages: [{ name: "dplyr", version: "1.1.0" }] } }, /"r\.cranPackages\[\]\.version" cannot be kept/],
    ["an OSX platform", (doc) => { doc["docker"].platform.os = "OSX" }, /"docker\.platform\.os" must be "Linux" or "Windows"/],
    ["credentials in the image", (doc) => { doc["docker"].baseImage = `user:${SECRET}@registry.example.org/img:1` }, /docker\.baseImage/],
    ["a string where a flag goes", (doc) => { doc["docker"].gpuSupport = "yes" }, /field "docker\.gpuSupport" must be true or false/]
  ]
  for (const [what, patch, expected] of refusals) {
    it.effect(`refuses ${what}, naming the file, line and field, and never echoing the secret`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(importFiles({ "env/azureml_environment.json": saved(patch) }))
        assert.match(error.message, expected)
        assert.match(error.message, /^env\/azureml_environment\.json:\d+: /)
        assert.notInclude(JSON.stringify(error), SECRET)
      }))
  }
})
