/**
 * `environment show` displays every field of a definition that is set: each value the definition
 * holds (but the spelling of a package spec, which is shown in its normal form, and the Dockerfile
 * text, which is summarised by its first line) appears in the table.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Definition, emptyDefinition } from "@terrarium/domain"
import { render } from "../src/cli/Output.ts"
import * as Render from "../src/cli/Render.ts"
import type { EnvironmentVersion } from "../src/Results.ts"

const digest = (c: string) => `sha256:${c.repeat(64)}`

const everything: Definition = {
  description: "desc-value",
  tags: { "tag-key": "tag-value" },
  properties: { "prop-key": "prop-value" },
  python: {
    userManagedDependencies: false,
    interpreterPath: "/opt/py/bin/python",
    conda: {
      name: "conda-env-name",
      channels: ["channel-one"],
      conda: [{ kind: "conda", name: "python", version: "3.11.*", build: "", text: "python=3.11" }],
      pip: [{ kind: "pip", name: "numpy", extras: [], specifier: "==1.26.4", text: "numpy==1.26.4" }],
      pipOptions: {
        indexUrl: "https://index.example.org/simple",
        extraIndexUrls: ["https://extra.example.org/simple"],
        findLinks: ["https://links.example.org/"],
        constraints: ["constraints.txt"],
        constraintDigests: { "constraints.txt": digest("c") },
        flags: ["--pre"]
      }
    }
  },
  docker: {
    base: { kind: "dockerfile", dockerfile: "FROM ubuntu:22.04\nRUN true\n", context: "./ctx-path", dockerfilePath: "gpu.Dockerfile", contextDigest: digest("a") },
    baseImageRegistry: { address: "registry.example.org", username: "env:REG_USER", password: "keyvault:vault/reg" },
    gpuSupport: true,
    shmSize: "2g",
    runArguments: ["--ipc=host"],
    platform: { os: "linux", arch: "arm64" }
  },
  variables: { VAR_NAME: "var-value" },
  spark: { repositories: ["https://maven.example.org"], packages: [{ group: "org.example", artifact: "spark-thing", version: "3.5.1" }], precachePackages: true },
  r: {
    rVersion: "4.3.2",
    userManaged: true,
    rscriptPath: "/opt/R/bin/Rscript",
    snapshotDate: "2024-01-15",
    cranPackages: [{ name: "dplyr", repository: "https://cran.example.org" }],
    gitHubPackages: [{ repository: "example/rpkg", authToken: "env:GH_TOKEN" }],
    customUrlPackages: ["https://example.org/pkg.tar.gz"],
    bioConductorPackages: ["limma"]
  },
  inferencingStackVersion: "latest",
  inferenceConfig: { livenessRoute: { path: "/live", port: 5001 }, scoringRoute: { path: "/score", port: 5002 } }
}

/** Every string and number the definition holds, with its path; spec spellings and the Dockerfile text aside. */
const leaves = (value: unknown, path: string): Array<readonly [string, string]> => {
  if (/^python\.conda\.(conda|pip)\.\d+\.(text|kind|extras)$/.test(path) || path === "docker.base.dockerfile" || path === "docker.base.kind") return []
  if (typeof value === "string" || typeof value === "number") return [[path, String(value)]]
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, v]) => [
      // A record's keys are values too (tags, variables, constraint files).
      ...(Array.isArray(value) ? [] : /^(tags|properties|variables|python\.conda\.pipOptions\.constraintDigests)$/.test(path) ? [[`${path}.${key} (key)`, key] as const] : []),
      ...leaves(v, path === "" ? key : `${path}.${key}`)
    ])
  }
  return []
}

describe("environment show", () => {
  it("displays every field of the definition that is set", () => {
    const version: EnvironmentVersion = {
      workspace: "default", name: "x", version: "1", canonicalHash: digest("0"), hashAlgorithm: 2,
      environmentType: "system-managed", archived: false, labels: ["latest"], definition: everything, asOfPosition: 3
    }
    const table = render("table", version, () => Render.version(version))
    const all = leaves(everything, "")
    assert.isAbove(all.length, 40)
    for (const [path, value] of all) {
      // Digests are shown shortened, as everywhere.
      const shown = /^sha256:/.test(value) ? value.slice(0, "sha256:".length + 12) : value
      assert.include(table, shown, `${path} = ${value} is not shown`)
    }
    for (const flag of ["gpu:", "spark precache:", "user-managed"]) assert.include(table, flag)
    assert.include(table, "FROM ubuntu:22.04 … (2 lines)")
    assert.include(table, "numpy==1.26.4")
    assert.include(table, "python 3.11.*")
  })

  it("shows a plain environment as before: no row for what is not set", () => {
    const version: EnvironmentVersion = {
      workspace: "default", name: "x", version: "1", canonicalHash: digest("0"), hashAlgorithm: 2,
      environmentType: "system-managed", archived: false, labels: [], definition: emptyDefinition, asOfPosition: 1
    }
    const table = render("table", version, () => Render.version(version))
    for (const label of ["spark", "inferencing stack", "conda name", "index url", "pip flags", "r:", "dockerfile text"]) assert.notInclude(table, label)
  })
})
