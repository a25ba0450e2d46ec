/**
 * How each kind of result looks in the `table` format. JSON and YAML print the data as is.
 *
 * @since 0.1.0
 */
import { CanonicalHash, Diff } from "@terrarium/domain"
import type { AuditEntry, CuratedCatalogRow, EnvironmentSummary, PipOptions, RSection, VersionRow } from "@terrarium/domain"
import type { CatalogSync, Clone, Draft, EnvironmentArchive, EnvironmentVersion, Registration, Share, VersionDiff } from "../Terrarium.ts"
import { fields, table, time } from "./Output.ts"

/** @since 0.1.0 @category rendering */
export const registration = (r: Registration, warnings: ReadonlyArray<string> = []): string =>
  [
    ...warnings.map((w) => `warning: ${w}`),
    r.created
      ? `Registered ${r.name}:${r.version} (${r.environmentType}, ${CanonicalHash.shortHash(r.canonicalHash)})`
      : `Unchanged: ${r.name}:${r.version} already has this definition (${CanonicalHash.shortHash(r.canonicalHash)})${r.archived ? " [archived]" : ""}`
  ].join("\n")

/** @since 0.1.0 @category rendering */
export const draft = (d: Draft): string =>
  d.registeredAs !== undefined
    ? `Draft of ${d.name} equals version ${d.registeredAs}; nothing to register`
    : `Draft of ${d.name} changed (${CanonicalHash.shortHash(d.canonicalHash)}); run 'terrarium environment register ${d.name}' to make it a version`

/** @since 0.1.0 @category rendering */
export const environments = (rows: ReadonlyArray<EnvironmentSummary>): string =>
  table(rows, [
    { header: "name", value: (r) => r.name },
    { header: "latest", value: (r) => r.latestVersion ?? "-" },
    { header: "versions", value: (r) => String(r.versionCount) },
    { header: "type", value: (r) => r.environmentType },
    { header: "updated", value: (r) => time(r.updatedAt) }
  ], "No environments yet. Create one with: terrarium environment create --file env.yml, or start from a curated one " +
    "(terrarium environment list --curated) with: terrarium environment clone AzureML-NAME NEW")

/** @since 0.1.0 @category rendering */
export const versions = (rows: ReadonlyArray<VersionRow>): string =>
  table(rows, [
    { header: "name", value: (r) => r.name },
    { header: "version", value: (r) => r.version + (r.archived ? " (archived)" : "") },
    { header: "hash", value: (r) => CanonicalHash.shortHash(r.canonicalHash) },
    { header: "type", value: (r) => r.environmentType },
    { header: "created", value: (r) => time(r.createdAt) },
    { header: "by", value: (r) => r.createdBy }
  ])

/** The first line of a Dockerfile and how long it is; the whole text is in `--output yaml` and `export --format dockerfile`. */
const dockerfileSummary = (text: string): string => {
  const lines = text.split("\n").filter((line) => line.trim() !== "")
  return `${lines[0] ?? ""}${lines.length > 1 ? ` … (${lines.length} lines)` : ""}`
}

const pipOptionRows = (options: PipOptions | undefined): ReadonlyArray<readonly [string, string | undefined]> => {
  const digests = options?.constraintDigests ?? {}
  return [
    ["index url", options?.indexUrl],
    ["extra index urls", options !== undefined && options.extraIndexUrls.length > 0 ? options.extraIndexUrls.join(", ") : undefined],
    ["find links", options !== undefined && options.findLinks.length > 0 ? options.findLinks.join(", ") : undefined],
    [
      "constraints",
      options !== undefined && options.constraints.length > 0
        ? options.constraints.map((file) => (digests[file] === undefined ? file : `${file} (${CanonicalHash.shortHash(digests[file], "labelled")})`)).join(", ")
        : undefined
    ],
    ["pip flags", options !== undefined && options.flags.length > 0 ? options.flags.join(" ") : undefined]
  ]
}

const rSummary = (r: RSection): string =>
  [
    r.rVersion === undefined ? "R" : `R ${r.rVersion}`,
    ...(r.userManaged ? ["user-managed"] : []),
    ...(r.rscriptPath === undefined ? [] : [`Rscript ${r.rscriptPath}`]),
    ...(r.snapshotDate === undefined ? [] : [`snapshot ${r.snapshotDate}`]),
    ...(r.cranPackages.length === 0 ? [] : [`cran ${r.cranPackages.map((p) => (p.repository === undefined ? p.name : `${p.name} (${p.repository})`)).join(" ")}`]),
    ...(r.gitHubPackages.length === 0 ? [] : [`github ${r.gitHubPackages.map((p) => (p.authToken === undefined ? p.repository : `${p.repository} (token ${p.authToken})`)).join(" ")}`]),
    ...(r.customUrlPackages.length === 0 ? [] : [`url ${r.customUrlPackages.join(" ")}`]),
    ...(r.bioConductorPackages.length === 0 ? [] : [`bioconductor ${r.bioConductorPackages.join(" ")}`])
  ].join("; ")

/**
 * One version, every field of its definition that is set: the common ones always, the rest only
 * when set, so a plain environment shows as it always has.
 *
 * @since 0.1.0
 * @category rendering
 */
export const version = (v: EnvironmentVersion): string => {
  const d = v.definition
  const conda = d.python.conda
  const lines: Array<readonly [string, string]> = [
    ["name", `${v.name}:${v.version}`],
    ["type", v.environmentType],
    ["labels", v.labels.join(", ") || "-"],
    ["archived", String(v.archived)],
    ["hash", `${v.canonicalHash} (algorithm ${v.hashAlgorithm})`],
    ["description", d.description ?? "-"],
    ["tags", Object.entries(d.tags).map(([k, val]) => (val === "" ? k : `${k}=${val}`)).join(", ") || "-"],
    ["image", d.docker.base.kind === "image" ? d.docker.base.image : `Dockerfile in ${d.docker.base.context ?? "(inline)"}`],
    ["python", d.python.userManagedDependencies ? `user-managed (${d.python.interpreterPath})` : "system-managed"],
    ["channels", conda?.channels.join(", ") || "-"],
    ["conda", conda?.conda.map(Diff.renderSpec).join(", ") || "-"],
    ["pip", conda?.pip.map(Diff.renderSpec).join(", ") || "-"],
    ["variables", Object.entries(d.variables).map(([k, val]) => `${k}=${val}`).join(", ") || "-"],
    ["as of", `position ${v.asOfPosition}`]
  ]
  // The rest only when set, so a plain environment shows as it always has.
  const docker = d.docker
  const base = docker.base
  const registry = docker.baseImageRegistry
  const optional: Array<readonly [string, string | undefined]> = [
    ["dockerfile", base.kind === "dockerfile" ? base.dockerfilePath : undefined],
    ["context digest", base.kind === "dockerfile" ? base.contextDigest : undefined],
    ["interpreter", !d.python.userManagedDependencies && d.python.interpreterPath !== "python" ? d.python.interpreterPath : undefined],
    ["gpu", docker.gpuSupport ? "true" : undefined],
    ["shm size", docker.shmSize],
    ["docker args", docker.runArguments.length > 0 ? docker.runArguments.join(" ") : undefined],
    [
      "registry",
      registry === undefined ? undefined : [
        registry.address,
        ...(registry.username === undefined ? [] : [`user ${registry.username}`]),
        ...(registry.password === undefined ? [] : [`password ${registry.password}`])
      ].join(", ")
    ],
    ["platform", docker.platform.os === "linux" && docker.platform.arch === "amd64" ? undefined : `${docker.platform.os}/${docker.platform.arch}`],
    ["properties", Object.keys(d.properties).length > 0 ? Object.entries(d.properties).map(([k, val]) => `${k}=${val}`).join(", ") : undefined],
    [
      "inference",
      d.inferenceConfig === undefined || Object.keys(d.inferenceConfig).length === 0 ? undefined : Object.entries(d.inferenceConfig)
        .map(([k, route]) => `${k} ${route.path}:${route.port}`).join(", ")
    ],
    ["dockerfile text", base.kind === "dockerfile" && base.dockerfile !== undefined ? dockerfileSummary(base.dockerfile) : undefined],
    ["conda name", conda?.name],
    ...pipOptionRows(conda?.pipOptions),
    ["spark repos", d.spark.repositories.length > 0 ? d.spark.repositories.join(", ") : undefined],
    ["spark packages", d.spark.packages.length > 0 ? d.spark.packages.map((p) => `${p.group}:${p.artifact}:${p.version}`).join(", ") : undefined],
    ["spark precache", d.spark.precachePackages ? "true" : undefined],
    ["r", d.r === undefined ? undefined : rSummary(d.r)],
    ["inferencing stack", d.inferencingStackVersion]
  ]
  const asOf = lines.pop()
  for (const [label, value] of optional) if (value !== undefined) lines.push([label, value])
  if (asOf !== undefined) lines.push(asOf)
  return fields(lines)
}

/** @since 0.1.0 @category rendering */
export const environmentArchive = (a: EnvironmentArchive): string =>
  `${a.archived ? "Archived" : "Restored"} environment ${a.name}` +
  (a.versions.length === 0 ? "" : ` (${a.archived ? "archived" : "restored"} versions ${a.versions.join(", ")})`) +
  (a.archived ? "; versions registered from now on start archived" : "")

/** @since 0.2.0 @category rendering */
export const share = (s: Share): string =>
  [
    `${s.to.created ? "Shared" : "Already shared:"} ${s.from.name}:${s.from.version} (workspace ${s.from.workspace}) ` +
    `as ${s.to.name}:${s.to.version} in workspace ${s.to.workspace} (${CanonicalHash.shortHash(s.to.canonicalHash)})` +
    (s.to.archived ? " [archived]" : ""),
    ...(s.buildContext === "missing"
      ? [`warning: the build context of ${s.from.name}:${s.from.version} is not stored (it was registered before build ` +
        "contexts were); register it again from its folder so that either copy can be rebuilt"]
      : [])
  ].join("\n")

/** @since 0.1.0 @category rendering */
export const diff = (r: VersionDiff): string => {
  const header = `--- ${r.from.name}:${r.from.version}\n+++ ${r.to.name}:${r.to.version}`
  return Diff.isEmpty(r.diff) ? `${header}\n(no differences)` : `${header}\n${Diff.render(r.diff)}`
}

/** @since 0.1.0 @category rendering */
export const audit = (rows: ReadonlyArray<AuditEntry>): string =>
  table(rows, [
    { header: "position", value: (r) => String(r.position) },
    { header: "time", value: (r) => time(r.occurredAt) },
    { header: "actor", value: (r) => r.actor },
    { header: "event", value: (r) => r.eventType },
    { header: "summary", value: (r) => r.summary }
  ])

/** @since 0.1.0 @category rendering */
export const catalog = (rows: ReadonlyArray<CuratedCatalogRow>): string =>
  table(rows, [
    { header: "name", value: (r) => r.name },
    { header: "latest", value: (r) => r.latestVersion },
    { header: "workspace", value: (r) => r.workspace },
    { header: "hash", value: (r) => CanonicalHash.shortHash(r.canonicalHash) },
    { header: "description", value: (r) => r.description ?? "" }
  ], "The curated catalog is empty: publish the one this Terrarium ships with: terrarium curated sync")

/** @since 0.1.0 @category rendering */
export const clone = (c: Clone): string => {
  const from = c.clonedFrom
  return `Cloned ${from.name}:${from.version} (${CanonicalHash.shortHash(from.canonicalHash)}) into the draft of ${c.name}; ` +
    `change it (terrarium environment add-package ${c.name} --pip SPEC) and register it: terrarium environment register ${c.name}`
}

/** @since 0.1.0 @category rendering */
export const catalogSync = (s: CatalogSync): string => {
  const head = s.published
    ? `Published the curated catalog ${s.release}: ${s.added.length} version(s) added, ${s.unchanged} already there, ${s.refused.length} refused`
    : `The curated catalog ${s.release} is already published (${s.versions} versions); --force compares every version again`
  const refused = s.refused.map((r) => `refused ${r.name}:${r.version}: ${r.reason}`)
  return [head, ...refused].join("\n")
}
