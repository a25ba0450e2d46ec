/**
 * Issue 15's registry parity, end to end through the `terrarium` executable: inference routes are
 * part of a version (algorithm 2), every field of the AzureML v2 schema imports, AzureML v1
 * environments import (the JSON and the save_to_directory folder), `environment export` writes
 * files that `environment create` reads back to the same hash or says what it left out, and
 * `show` says it is a display and points to `export`. Bad input: a clear error, nothing appended,
 * nothing written.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { json, runCli, tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-export-")
const env = { TERRARIUM_HOME: home.path }
const cli = (...args: Array<string>) => runCli(args, env)
const head = () => json<{ headPosition: number }>(cli("db", "status", "-o", "json")).headPosition
const SECRET = "SECRET_TOKEN_abc123"

afterAll(() => home.remove())

/** A folder with an AzureML v2 YAML (inference routes, a conda file) and returns the YAML's path. */
const v2Environment = (name: string, scoringPort: number, extra: ReadonlyArray<string> = []) => {
  const dir = join(home.path, `${name}-${scoringPort}-${extra.length}`)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, "conda.yml"), "name: serve\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - scikit-learn==1.5.1\nvariables:\n  MODE: serve\n")
  writeFileSync(join(dir, "env.yml"), [
    `name: ${name}`,
    "description: serving image",
    "tags:",
    "  team: fraud",
    "image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
    "conda_file: conda.yml",
    "inference_config:",
    "  liveness_route: {path: /live, port: 5001}",
    "  readiness_route: {path: /ready, port: 5001}",
    `  scoring_route: {path: /score, port: ${scoringPort}}`,
    ...extra
  ].join("\n") + "\n")
  return join(dir, "env.yml")
}

describe("inference routes are hashed (algorithm 2)", () => {
  it("a changed scoring route is a new version, not Unchanged; the same file again is Unchanged", { timeout: 120_000 }, () => {
    const first = json(cli("environment", "create", "--file", v2Environment("routes", 5001), "-o", "json"))
    assert.deepStrictEqual([first.version, first.created], ["1", true])
    const again = json(cli("environment", "create", "--file", v2Environment("routes", 5001), "-o", "json"))
    assert.deepStrictEqual([again.version, again.created], ["1", false])
    const moved = json(cli("environment", "create", "--file", v2Environment("routes", 8080), "-o", "json"))
    assert.deepStrictEqual([moved.version, moved.created], ["2", true])
    assert.notStrictEqual(moved.canonicalHash, first.canonicalHash)
    const shown = json(cli("environment", "show", "routes:2", "-o", "json"))
    assert.strictEqual(shown.hashAlgorithm, 2)
    assert.deepStrictEqual(shown.definition.inferenceConfig.scoringRoute, { path: "/score", port: 8080 })
    const diff = cli("environment", "diff", "routes:1", "routes:2")
    assert.match(diff.stdout, /inferenceConfig\.scoringRoute: \/score:5001 -> \/score:8080\n/, "a build-relevant change, not marked otherwise")
  })
})

describe("every field of the AzureML v2 schema", () => {
  it("datastore, stage, intellectual_property and what az ml writes back (id, creation_context, latest_version, auto_delete_setting) import with warnings", { timeout: 120_000 }, () => {
    const file = v2Environment("allfields", 5001, [
      "datastore: azureml:workspaceblobstore",
      "stage: Production",
      "intellectual_property: {publisher: contoso}",
      "id: azureml:/subscriptions/0/environments/allfields/versions/1",
      "creation_context: {created_by: someone}",
      "latest_version: '1'",
      "auto_delete_setting: {condition: created_greater_than, value: 30d}"
    ])
    const r = json(cli("environment", "create", "--file", file, "-o", "json"))
    assert.strictEqual(r.created, true)
    for (const field of ["datastore", "stage", "intellectual_property", "id", "creation_context", "latest_version", "auto_delete_setting"]) {
      assert.isTrue(r.warnings.some((w: string) => w.includes(`field "${field}" is ignored`)), field)
    }
  })
})

/** What azureml-core's `Environment.save_to_directory` writes, as a folder. */
const savedV1 = (name: string, patch: (doc: any) => void = () => {}) => {
  const dir = join(home.path, `v1-${name}`)
  mkdirSync(dir, { recursive: true })
  const doc: any = {
    name,
    version: null,
    environmentVariables: { EXAMPLE_ENV_VAR: "EXAMPLE_VALUE" },
    python: { userManagedDependencies: false, interpreterPath: "python", condaDependenciesFile: null, baseCondaEnvironment: null },
    docker: {
      enabled: false, baseImage: null, platform: { os: "Linux", architecture: "amd64" }, sharedVolumes: true, shmSize: "2g",
      arguments: [], baseImageRegistry: { address: "myregistry.azurecr.io", username: "env:ACR_USER", password: "keyvault:kv/acr", registryIdentity: null },
      gpuSupport: true
    },
    spark: { repositories: [], packages: [], precachePackages: true },
    databricks: { mavenLibraries: [], pypiLibraries: [], rcranLibraries: [], jarLibraries: [], eggLibraries: [] },
    r: null,
    inferencingStackVersion: "latest",
    assetId: null
  }
  patch(doc)
  writeFileSync(join(dir, "azureml_environment.json"), JSON.stringify(doc, null, 4))
  writeFileSync(join(dir, "conda_dependencies.yml"), "name: project_environment\ndependencies:\n  - python=3.8.13\n  - pip=20.2.4\n  - pip:\n    - azureml-defaults\nchannels:\n  - anaconda\n  - conda-forge\n")
  writeFileSync(join(dir, "BaseDockerfile"), "FROM mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04\nRUN echo hello\n")
  return dir
}

describe("AzureML v1 environments", () => {
  it("the save_to_directory folder imports whole: JSON, conda_dependencies.yml and BaseDockerfile; the JSON alone names the same", { timeout: 120_000 }, () => {
    const dir = savedV1("legacy")
    const r = json(cli("environment", "create", "--file", dir, "-o", "json"))
    assert.deepStrictEqual([r.name, r.version, r.created], ["legacy", "1", true])
    const d = json(cli("environment", "show", "legacy:1", "-o", "json")).definition
    assert.deepStrictEqual(d.docker.base, { kind: "dockerfile", dockerfile: "FROM mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04\nRUN echo hello\n" })
    assert.deepStrictEqual(d.python.conda.channels, ["anaconda", "conda-forge"])
    assert.deepStrictEqual([d.docker.gpuSupport, d.docker.shmSize, d.inferencingStackVersion], [true, "2g", "latest"])
    assert.deepStrictEqual(d.docker.baseImageRegistry, { address: "myregistry.azurecr.io", username: "env:ACR_USER", password: "keyvault:kv/acr" })
    assert.deepStrictEqual(d.variables, { EXAMPLE_ENV_VAR: "EXAMPLE_VALUE" })
    const file = json(cli("environment", "create", "--file", join(dir, "azureml_environment.json"), "-o", "json"))
    assert.deepStrictEqual([file.version, file.created], ["1", false])
  })

  it("a registry password by value is refused with the credentials message, never echoed, nothing appended", { timeout: 120_000 }, () => {
    const before = head()
    const dir = savedV1("leaky", (doc) => {
      doc.docker.baseImageRegistry.password = SECRET
    })
    const r = cli("environment", "create", "--file", dir)
    assert.strictEqual(r.status, 1)
    assert.match(r.stderr, /azureml_environment\.json:\d+: field "docker\.baseImageRegistry\.password" holds a secret by value/)
    assert.match(r.stderr, /by reference \(env:NAME, file:PATH or keyvault:VAULT\/NAME\), never by value/)
    assert.notInclude(r.stderr + r.stdout, SECRET)
    assert.strictEqual(head(), before)
  })

  it("a folder that is not a save_to_directory folder is a clear error", { timeout: 120_000 }, () => {
    const dir = join(home.path, "empty-folder")
    mkdirSync(dir, { recursive: true })
    const r = cli("environment", "create", "--file", dir)
    assert.strictEqual(r.status, 1)
    assert.match(r.stderr, /has no azureml_environment\.json/)
  })
})

describe("environment export", () => {
  it("azureml-v2 re-imports to the same hash; the others say what they leave out, on stderr and in JSON", { timeout: 300_000 }, () => {
    const created = json(cli("environment", "create", "--file", v2Environment("shipped", 5001), "-o", "json"))
    const out = (format: string) => join(home.path, `out-${format}`)

    const v2 = json(cli("environment", "export", "shipped:1", "--format", "azureml-v2", "--out", out("v2"), "-o", "json"))
    assert.deepStrictEqual(v2.files, ["environment.yml", "conda.yml"])
    assert.deepStrictEqual(v2.leftOut, [])
    assert.isTrue(v2.sameHash)
    const back = json(cli("environment", "create", "--file", join(out("v2"), "environment.yml"), "-o", "json"))
    assert.deepStrictEqual([back.name, back.version, back.created, back.canonicalHash], ["shipped", "1", false, created.canonicalHash])

    // The v1 format has no inference routes: it says so, and the re-import is another version.
    const v1 = cli("environment", "export", "--name", "shipped", "--version", "1", "--format", "azureml-v1-dir", "--out", out("v1"))
    assert.strictEqual(v1.status, 0, v1.stderr)
    assert.match(v1.stderr, /warning: left out inferenceConfig: a AzureML v1 environment has no inference routes/)
    assert.match(v1.stderr, /warning: left out description: .*\(metadata, not part of the hash\)/)
    assert.deepStrictEqual(readdirSync(out("v1")).sort(), ["azureml_environment.json", "conda_dependencies.yml"])
    const fromV1 = json(cli("environment", "create", "--file", out("v1"), "--name", "shipped-v1", "-o", "json"))
    assert.notStrictEqual(fromV1.canonicalHash, created.canonicalHash)
    const d1 = json(cli("environment", "diff", "shipped:1", "shipped-v1:1", "-o", "json"))
    assert.deepStrictEqual(
      d1.diff.fields.filter((f: any) => f.buildRelevant).map((f: any) => f.field).sort(),
      ["inferenceConfig.livenessRoute", "inferenceConfig.readinessRoute", "inferenceConfig.scoringRoute"],
      "exactly what the export said it left out"
    )

    const req = json(cli("environment", "export", "shipped", "--format", "requirements", "--out", out("req"), "-o", "json"))
    assert.deepStrictEqual(req.leftOut.map((o: any) => o.field), [
      "python.conda.channels", "python.conda.conda", "python.conda.name", "variables", "inferenceConfig", "description", "tags"
    ])
    assert.strictEqual(readFileSync(join(out("req"), "requirements.txt"), "utf8"), "scikit-learn==1.5.1\n")

    const conda = json(cli("environment", "export", "shipped:1", "--format", "conda", "--out", out("conda"), "-o", "json"))
    // The image is the default base image, which a conda file's re-import starts from too.
    assert.deepStrictEqual(conda.leftOut.map((o: any) => o.field), ["inferenceConfig", "description", "tags"])

    const docker = json(cli("environment", "export", "shipped:1", "--format", "dockerfile", "--out", out("docker"), "-o", "json"))
    assert.strictEqual(readFileSync(join(out("docker"), "Dockerfile"), "utf8"), "FROM mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest\n")
    assert.match(docker.reimport, /^terrarium environment create --name shipped --dockerfile /)
    const fromDocker = json(cli("environment", "create", "--name", "shipped-docker", "--dockerfile", join(out("docker"), "Dockerfile"), "-o", "json"))
    assert.strictEqual(fromDocker.created, true)
  })

  it("a v1 folder exports back to a folder that re-imports to the same hash", { timeout: 120_000 }, () => {
    const created = json(cli("environment", "create", "--file", savedV1("roundtrip"), "-o", "json"))
    const out = join(home.path, "v1-again")
    const r = json(cli("environment", "export", "roundtrip:1", "--format", "azureml-v1-dir", "--out", out, "-o", "json"))
    assert.deepStrictEqual(r.leftOut, [])
    assert.deepStrictEqual(readdirSync(out).sort(), ["BaseDockerfile", "azureml_environment.json", "conda_dependencies.yml"])
    const back = json(cli("environment", "create", "--file", out, "-o", "json"))
    assert.deepStrictEqual([back.version, back.created, back.canonicalHash], ["1", false, created.canonicalHash])
  })

  it("bad input: a clear error and nothing written", { timeout: 180_000 }, () => {
    json(cli("environment", "create", "--file", v2Environment("guarded", 5001), "-o", "json"))
    const before = head()
    // A folder with files is kept as it is.
    const busy = join(home.path, "busy")
    mkdirSync(busy, { recursive: true })
    writeFileSync(join(busy, "notes.txt"), "mine\n")
    const refused = cli("environment", "export", "guarded:1", "--format", "conda", "--out", busy)
    assert.strictEqual(refused.status, 1)
    assert.match(refused.stderr, /busy: is not empty \(1 entries\); nothing was written.*--force/)
    assert.deepStrictEqual(readdirSync(busy), ["notes.txt"])
    // With --force the export is written beside the other files.
    const forced = json(cli("environment", "export", "guarded:1", "--format", "conda", "--out", busy, "--force", "-o", "json"))
    assert.deepStrictEqual(forced.files, ["environment.yml"])
    assert.deepStrictEqual(readdirSync(busy).sort(), ["environment.yml", "notes.txt"])
    // An unknown version, an unknown format, a missing --out, a file as --out: nothing is created.
    const nowhere = join(home.path, "nowhere")
    for (const [args, status, message] of [
      [["guarded:9", "--format", "conda", "--out", nowhere], 1, /has no version 9/],
      [["guarded:1", "--format", "yaml", "--out", nowhere], 2, /format/],
      [["guarded:1", "--format", "conda"], 2, /--out/],
      [["guarded:1", "--format", "conda", "--out", join(busy, "notes.txt")], 1, /exists and is not a folder; nothing was written/]
    ] as const) {
      const r = cli("environment", "export", ...args)
      assert.strictEqual(r.status, status, `${args.join(" ")}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.isFalse(existsSync(nowhere), args.join(" "))
    }
    assert.strictEqual(readFileSync(join(busy, "notes.txt"), "utf8"), "mine\n")
    assert.strictEqual(head(), before, "an export appends nothing")
  })

  it("show's help says it is a display and points to export", { timeout: 60_000 }, () => {
    const help = cli("environment", "show", "--help")
    assert.strictEqual(help.status, 0)
    assert.match(help.stdout.replace(/\s+/g, " "), /This is a display: --output yaml or json prints the version as Terrarium holds it.*terrarium environment export REF --format FORMAT --out DIR/)
    const exportHelp = cli("environment", "export", "--help")
    assert.match(exportHelp.stdout, /azureml-v1-dir/)
  })
})
