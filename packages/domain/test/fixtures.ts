/**
 * Shared test data: a definition that uses every section, spec builders, and the lists of
 * mutations that must (or must not) change the canonical hash. The hash tests and the diff tests
 * both walk these lists, so the two agree on what is build-relevant.
 */
import type { Definition } from "../src/Definition.ts"
import { emptyPipOptions } from "../src/Definition.ts"
import type { CondaSpec, PipRequirement } from "../src/PackageSpec.ts"

export const pip = (
  name: string,
  specifier = "",
  extra: { readonly extras?: ReadonlyArray<string>; readonly marker?: string; readonly url?: string; readonly text?: string } = {}
): PipRequirement => ({
  kind: "pip",
  name,
  extras: extra.extras ?? [],
  specifier,
  ...(extra.marker === undefined ? {} : { marker: extra.marker }),
  ...(extra.url === undefined ? {} : { url: extra.url }),
  text: extra.text ?? `${name}${specifier}`
})

export const conda = (
  name: string,
  version = "",
  extra: { readonly build?: string; readonly channel?: string; readonly text?: string } = {}
): CondaSpec => ({
  kind: "conda",
  name,
  version,
  build: extra.build ?? "",
  ...(extra.channel === undefined ? {} : { channel: extra.channel }),
  text: extra.text ?? `${name} ${version}`.trim()
})

/** A system-managed definition with something in every section. */
export const rich: Definition = {
  description: "desc-training-image",
  tags: { team: "tag-team-value" },
  properties: { owner: "prop-owner-value" },
  python: {
    userManagedDependencies: false,
    interpreterPath: "python",
    conda: {
      name: "conda-env-name",
      channels: ["conda-forge", "defaults"],
      conda: [conda("python", "3.11.*"), conda("numpy", ">=1.26", { channel: "conda-forge" })],
      pip: [
        pip("torch", "==2.3.1"),
        pip("uvicorn", "<1,>=0.30", { extras: ["standard", "http"], marker: "python_version >= \"3.9\"" }),
        pip("azureml-mlflow")
      ],
      pipOptions: {
        indexUrl: "https://pypi.example.org/simple",
        extraIndexUrls: ["https://a.example.org/simple", "https://b.example.org/simple"],
        findLinks: ["https://wheels.example.org/"],
        constraints: ["constraints.txt"],
        flags: ["--pre", "--no-binary :all:"]
      }
    }
  },
  docker: {
    base: { kind: "image", image: "registry.example.org/ml/base:1" },
    baseImageRegistry: { address: "registry.example.org", username: "env:REG_USER", password: "env:REG_PASSWORD" },
    gpuSupport: false,
    shmSize: "1g",
    runArguments: ["--ipc=host"],
    platform: { os: "linux", arch: "amd64" }
  },
  variables: { OMP_NUM_THREADS: "4", MODE: "train" },
  spark: {
    repositories: ["https://repo1.example.org/maven", "https://repo2.example.org/maven"],
    packages: [
      { group: "org.apache.spark", artifact: "spark-avro_2.12", version: "3.5.1" },
      { group: "com.example", artifact: "tools_2.12", version: "1.0.0" }
    ],
    precachePackages: false
  },
  r: {
    rVersion: "4.3.2",
    userManaged: false,
    rscriptPath: "/usr/bin/Rscript",
    snapshotDate: "2024-01-15",
    cranPackages: [{ name: "dplyr" }, { name: "data.table", repository: "https://cran.example.org" }],
    gitHubPackages: [{ repository: "example/pkg" }],
    customUrlPackages: ["https://example.org/a.tar.gz"],
    bioConductorPackages: ["limma", "edgeR"]
  },
  inferencingStackVersion: "latest",
  inferenceConfig: { scoringRoute: { path: "/score", port: 5001 } }
}

type Mutation = readonly [string, (d: Definition) => Definition]

/** A well-formed content digest made of one repeated hex digit. */
export const digest = (hexDigit: string): string => `sha256:${hexDigit.repeat(64)}`

const condaSection = (d: Definition) => {
  if (d.python.conda === undefined) throw new Error("fixture has no conda section")
  return d.python.conda
}
const withConda = (d: Definition, f: (c: NonNullable<Definition["python"]["conda"]>) => Partial<NonNullable<Definition["python"]["conda"]>>): Definition => ({
  ...d,
  python: { ...d.python, conda: { ...condaSection(d), ...f(condaSection(d)) } }
})
const withPip = (d: Definition, f: (p: typeof emptyPipOptions) => Partial<typeof emptyPipOptions>): Definition =>
  withConda(d, (c) => ({ pipOptions: { ...c.pipOptions, ...f(c.pipOptions) } }))
const withDocker = (d: Definition, f: (k: Definition["docker"]) => Partial<Definition["docker"]>): Definition => ({
  ...d,
  docker: { ...d.docker, ...f(d.docker) }
})
const withR = (d: Definition, f: (r: NonNullable<Definition["r"]>) => Partial<NonNullable<Definition["r"]>>): Definition => {
  if (d.r === undefined) throw new Error("fixture has no R section")
  return { ...d, r: { ...d.r, ...f(d.r) } }
}
const mapPip = (d: Definition, name: string, f: (p: PipRequirement) => PipRequirement) =>
  withConda(d, (c) => ({ pip: c.pip.map((p) => (p.name === name ? f(p) : p)) }))
const mapConda = (d: Definition, name: string, f: (p: CondaSpec) => CondaSpec) =>
  withConda(d, (c) => ({ conda: c.conda.map((p) => (p.name === name ? f(p) : p)) }))

/** Each changes something that can change the image: the hash must change. */
export const buildRelevantMutations: ReadonlyArray<Mutation> = [
  ["python.userManagedDependencies", (d) => ({ ...d, python: { ...d.python, userManagedDependencies: true } })],
  ["python.interpreterPath", (d) => ({ ...d, python: { ...d.python, interpreterPath: "/opt/python/bin/python" } })],
  ["python.conda removed", (d) => ({ ...d, python: { userManagedDependencies: false, interpreterPath: "python" } })],
  ["channel added", (d) => withConda(d, (c) => ({ channels: [...c.channels, "pytorch"] }))],
  ["channel order", (d) => withConda(d, (c) => ({ channels: [...c.channels].reverse() }))],
  ["conda version", (d) => mapConda(d, "python", (p) => ({ ...p, version: "3.12.*" }))],
  ["conda build", (d) => mapConda(d, "python", (p) => ({ ...p, build: "h1234_0" }))],
  ["conda channel", (d) => mapConda(d, "numpy", (p) => ({ ...p, channel: "defaults" }))],
  ["conda added", (d) => withConda(d, (c) => ({ conda: [...c.conda, conda("pandas")] }))],
  ["conda removed", (d) => withConda(d, (c) => ({ conda: c.conda.filter((p) => p.name !== "numpy") }))],
  ["pip specifier", (d) => mapPip(d, "torch", (p) => ({ ...p, specifier: "==2.4.0" }))],
  ["pip extras", (d) => mapPip(d, "uvicorn", (p) => ({ ...p, extras: ["standard"] }))],
  ["pip marker", (d) => mapPip(d, "uvicorn", (p) => ({ ...p, marker: "python_version >= \"3.10\"" }))],
  ["pip url", (d) => mapPip(d, "torch", (p) => ({ ...p, specifier: "", url: "https://example.org/torch.whl" }))],
  ["pip added", (d) => withConda(d, (c) => ({ pip: [...c.pip, pip("requests")] }))],
  ["pip removed", (d) => withConda(d, (c) => ({ pip: c.pip.filter((p) => p.name !== "torch") }))],
  ["pip indexUrl", (d) => withPip(d, () => ({ indexUrl: "https://other.example.org/simple" }))],
  ["pip extraIndexUrls", (d) => withPip(d, (o) => ({ extraIndexUrls: [...o.extraIndexUrls, "https://c.example.org/simple"] }))],
  ["pip findLinks", (d) => withPip(d, () => ({ findLinks: [] }))],
  ["pip constraints", (d) => withPip(d, () => ({ constraints: ["other.txt"] }))],
  ["pip constraints file content", (d) => withPip(d, () => ({ constraintDigests: { "constraints.txt": digest("c") } }))],
  ["pip flags", (d) => withPip(d, (o) => ({ flags: [...o.flags].reverse() }))],
  ["docker base image", (d) => withDocker(d, () => ({ base: { kind: "image", image: "registry.example.org/ml/base:2" } }))],
  ["docker dockerfile", (d) => withDocker(d, () => ({ base: { kind: "dockerfile", dockerfile: "FROM ubuntu:22.04\n" } }))],
  ["docker dockerfile context", (d) => withDocker(d, () => ({ base: { kind: "dockerfile", dockerfile: "FROM ubuntu:22.04\n", context: "./ctx" } }))],
  ["docker dockerfilePath", (d) => withDocker(d, () => ({ base: { kind: "dockerfile", context: "./ctx", dockerfilePath: "gpu.Dockerfile" } }))],
  ["docker context content", (d) => withDocker(d, () => ({ base: { kind: "dockerfile", dockerfile: "FROM ubuntu:22.04\n", context: "./ctx", contextDigest: digest("a") } }))],
  ["docker context content changed", (d) => withDocker(d, () => ({ base: { kind: "dockerfile", dockerfile: "FROM ubuntu:22.04\n", context: "./ctx", contextDigest: digest("b") } }))],
  ["docker registry address", (d) => withDocker(d, () => ({ baseImageRegistry: { address: "other.example.org" } }))],
  ["docker registry username", (d) => withDocker(d, (k) => ({ baseImageRegistry: { address: k.baseImageRegistry?.address ?? "", username: "env:OTHER", password: "env:REG_PASSWORD" } }))],
  ["docker registry password", (d) => withDocker(d, (k) => ({ baseImageRegistry: { address: k.baseImageRegistry?.address ?? "", username: "env:REG_USER", password: "keyvault:v/other" } }))],
  ["docker registry removed", (d) => {
    const { baseImageRegistry: _, ...docker } = d.docker
    return { ...d, docker }
  }],
  ["docker gpuSupport", (d) => withDocker(d, () => ({ gpuSupport: true }))],
  ["docker shmSize", (d) => withDocker(d, () => ({ shmSize: "2g" }))],
  ["docker runArguments", (d) => withDocker(d, () => ({ runArguments: ["--ipc=host", "--ulimit", "memlock=-1"] }))],
  ["docker platform os", (d) => withDocker(d, () => ({ platform: { os: "windows", arch: "amd64" } }))],
  ["docker platform arch", (d) => withDocker(d, () => ({ platform: { os: "linux", arch: "arm64" } }))],
  ["variable added", (d) => ({ ...d, variables: { ...d.variables, NEW: "1" } })],
  ["variable changed", (d) => ({ ...d, variables: { ...d.variables, MODE: "serve" } })],
  ["variable removed", (d) => ({ ...d, variables: { OMP_NUM_THREADS: "4" } })],
  ["spark repositories order", (d) => ({ ...d, spark: { ...d.spark, repositories: [...d.spark.repositories].reverse() } })],
  ["spark package version", (d) => ({ ...d, spark: { ...d.spark, packages: d.spark.packages.map((p) => ({ ...p, version: "9" })) } })],
  ["spark precachePackages", (d) => ({ ...d, spark: { ...d.spark, precachePackages: true } })],
  ["r removed", (d) => {
    const { r: _, ...rest } = d
    return rest
  }],
  ["r rVersion", (d) => withR(d, () => ({ rVersion: "4.4.0" }))],
  ["r userManaged", (d) => withR(d, () => ({ userManaged: true }))],
  ["r rscriptPath", (d) => withR(d, () => ({ rscriptPath: "/opt/R/bin/Rscript" }))],
  ["r snapshotDate", (d) => withR(d, () => ({ snapshotDate: "2024-02-01" }))],
  ["r cranPackages", (d) => withR(d, (r) => ({ cranPackages: [...r.cranPackages, { name: "ggplot2" }] }))],
  ["r gitHubPackages token", (d) => withR(d, () => ({ gitHubPackages: [{ repository: "example/pkg", authToken: "env:GH_TOKEN" }] }))],
  ["r customUrlPackages", (d) => withR(d, () => ({ customUrlPackages: [] }))],
  ["r bioConductorPackages", (d) => withR(d, () => ({ bioConductorPackages: ["limma"] }))],
  ["inferencingStackVersion", (d) => ({ ...d, inferencingStackVersion: "2.0" })],
  ["inferenceConfig route", (d) => ({ ...d, inferenceConfig: { livenessRoute: { path: "/live", port: 8080 } } })],
  ["inferenceConfig port", (d) => ({ ...d, inferenceConfig: { scoringRoute: { path: "/score", port: 5002 } } })],
  ["inferenceConfig removed", (d) => {
    const { inferenceConfig: _, ...rest } = d
    return rest
  }]
]

/** Each changes metadata or spelling only: the hash must stay the same. */
export const irrelevantMutations: ReadonlyArray<Mutation> = [
  ["description", (d) => ({ ...d, description: "something else" })],
  ["description removed", (d) => {
    const { description: _, ...rest } = d
    return rest
  }],
  ["tags", (d) => ({ ...d, tags: { team: "fraud", stage: "dev" } })],
  ["properties", (d) => ({ ...d, properties: {} })],
  ["conda env name", (d) => withConda(d, () => ({ name: "other" }))],
  ["pip text", (d) => mapPip(d, "torch", (p) => ({ ...p, text: "Torch == 2.3.1" }))],
  ["conda text", (d) => mapConda(d, "numpy", (p) => ({ ...p, text: "conda-forge::numpy >= 1.26" }))],
  ["pip package order", (d) => withConda(d, (c) => ({ pip: [...c.pip].reverse() }))],
  ["conda package order", (d) => withConda(d, (c) => ({ conda: [...c.conda].reverse() }))],
  ["pip extras order", (d) => mapPip(d, "uvicorn", (p) => ({ ...p, extras: [...p.extras].reverse() }))],
  ["no constraints digests written as an empty map", (d) => withPip(d, () => ({ constraintDigests: {} }))],
  ["extra index order", (d) => withPip(d, (o) => ({ extraIndexUrls: [...o.extraIndexUrls].reverse() }))],
  ["spark package order", (d) => ({ ...d, spark: { ...d.spark, packages: [...d.spark.packages].reverse() } })],
  ["r package order", (d) => withR(d, (r) => ({ cranPackages: [...r.cranPackages].reverse(), bioConductorPackages: [...r.bioConductorPackages].reverse() }))]
]
