/**
 * The semantic difference between two definitions, for `environment diff` and for showing what a
 * registration would change.
 *
 * Packages are matched per manager by name and compared by their normalised fields (so a change
 * in spelling only is no change); lists that the canonical hash treats as sets are compared as
 * sets, and channel order is compared as the priority list it is. Each change says whether it is
 * build-relevant, using the same rules as `CanonicalHash`, so `isBuildRelevant(diff(a, b))`
 * holds exactly when `a` and `b` hash differently.
 *
 * @since 0.1.0
 */
import { canonicalJson, canonicalSpec, compareStrings } from "./CanonicalHash.ts"
import type { Definition, DockerBase, PipOptions, RSection } from "./Definition.ts"
import type { PackageManager, PackageSpec } from "./PackageSpec.ts"

/**
 * A package added, removed or changed (its `from` / `to` are `renderSpec` texts).
 *
 * @since 0.1.0
 * @category models
 */
export type PackageChange =
  | { readonly kind: "added"; readonly manager: PackageManager; readonly name: string; readonly to: string }
  | { readonly kind: "removed"; readonly manager: PackageManager; readonly name: string; readonly from: string }
  | { readonly kind: "changed"; readonly manager: PackageManager; readonly name: string; readonly from: string; readonly to: string }

/**
 * The conda channel list changed: channels added, removed, or only their order (priority).
 *
 * @since 0.1.0
 * @category models
 */
export interface ChannelsChange {
  readonly from: ReadonlyArray<string>
  readonly to: ReadonlyArray<string>
  readonly added: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
  /** True when the channels both lists share appear in a different relative order. */
  readonly reordered: boolean
}

/** @since 0.1.0 @category models */
export type VariableChange =
  | { readonly kind: "added"; readonly variable: string; readonly to: string }
  | { readonly kind: "removed"; readonly variable: string; readonly from: string }
  | { readonly kind: "changed"; readonly variable: string; readonly from: string; readonly to: string }

/**
 * Any other field, named by its dotted path (`docker.base.image`, `python.conda.pipOptions.indexUrl`,
 * `tags.team`). Values are rendered as text: strings as they are, anything else as JSON; a side
 * is absent when the field is.
 *
 * @since 0.1.0
 * @category models
 */
export interface FieldChange {
  readonly field: string
  readonly from?: string
  readonly to?: string
  /** False for metadata (description, tags, properties, conda env name). */
  readonly buildRelevant: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DefinitionDiff {
  /** Sorted by manager, then name. */
  readonly packages: ReadonlyArray<PackageChange>
  readonly channels?: ChannelsChange
  /** Sorted by variable name. */
  readonly variables: ReadonlyArray<VariableChange>
  /** In definition order: python, pip options, docker, spark, r, inferencing, then metadata. */
  readonly fields: ReadonlyArray<FieldChange>
}

/**
 * One line of canonical text for a spec, from its normalised fields only. pip:
 * `name[extra1,extra2]specifier ; marker` or `name[extras] @ url ; marker`; conda:
 * `channel::name version build` (version `*` when only a build is given).
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderSpec = (spec: PackageSpec): string => {
  if (spec.kind === "pip") {
    const extras = spec.extras.length === 0 ? "" : `[${[...new Set(spec.extras)].sort().join(",")}]`
    const target = spec.url !== undefined ? ` @ ${spec.url}` : spec.specifier
    const marker = spec.marker !== undefined && spec.marker !== "" ? ` ; ${spec.marker}` : ""
    return `${spec.name}${extras}${target}${marker}`
  }
  const channel = spec.channel !== undefined && spec.channel !== "" ? `${spec.channel}::` : ""
  const version = spec.version !== "" ? spec.version : spec.build !== "" ? "*" : ""
  return [`${channel}${spec.name}`, version, spec.build].filter((part) => part !== "").join(" ")
}

const renderValue = (value: unknown): string | undefined =>
  value === undefined ? undefined : typeof value === "string" ? value : JSON.stringify(value)

const packageChanges = (manager: PackageManager, from: ReadonlyArray<PackageSpec>, to: ReadonlyArray<PackageSpec>) => {
  const key = (spec: PackageSpec) => canonicalJson(canonicalSpec(spec))
  const before = new Map(from.map((s) => [s.name, s]))
  const after = new Map(to.map((s) => [s.name, s]))
  const names = [...new Set([...before.keys(), ...after.keys()])].sort(compareStrings)
  const changes: Array<PackageChange> = []
  for (const name of names) {
    const a = before.get(name)
    const b = after.get(name)
    if (a === undefined && b !== undefined) changes.push({ kind: "added", manager, name, to: renderSpec(b) })
    else if (a !== undefined && b === undefined) changes.push({ kind: "removed", manager, name, from: renderSpec(a) })
    else if (a !== undefined && b !== undefined && key(a) !== key(b)) {
      changes.push({ kind: "changed", manager, name, from: renderSpec(a), to: renderSpec(b) })
    }
  }
  return changes
}

const channelsChange = (from: ReadonlyArray<string>, to: ReadonlyArray<string>): ChannelsChange | undefined => {
  if (from.length === to.length && from.every((c, i) => c === to[i])) return undefined
  const shared = (list: ReadonlyArray<string>, other: ReadonlyArray<string>) => list.filter((c) => other.includes(c))
  const a = shared(from, to)
  const b = shared(to, from)
  return {
    from,
    to,
    added: to.filter((c) => !from.includes(c)),
    removed: from.filter((c) => !to.includes(c)),
    reordered: a.some((c, i) => c !== b[i])
  }
}

const variableChanges = (from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>) => {
  const names = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort(compareStrings)
  const changes: Array<VariableChange> = []
  for (const variable of names) {
    const a = Object.hasOwn(from, variable) ? from[variable] : undefined
    const b = Object.hasOwn(to, variable) ? to[variable] : undefined
    if (a === undefined && b !== undefined) changes.push({ kind: "added", variable, to: b })
    else if (a !== undefined && b === undefined) changes.push({ kind: "removed", variable, from: a })
    else if (a !== undefined && b !== undefined && a !== b) changes.push({ kind: "changed", variable, from: a, to: b })
  }
  return changes
}

/** Compares rendered values and records a change when they differ. */
class Fields {
  readonly changes: Array<FieldChange> = []
  add(field: string, from: unknown, to: unknown, buildRelevant = true): void {
    const a = renderValue(from)
    const b = renderValue(to)
    if (a === b) return
    this.changes.push({
      field,
      buildRelevant,
      ...(a === undefined ? {} : { from: a }),
      ...(b === undefined ? {} : { to: b })
    })
  }
  record(prefix: string, from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>): void {
    for (const key of [...new Set([...Object.keys(from), ...Object.keys(to)])].sort(compareStrings)) {
      this.add(`${prefix}.${key}`, Object.hasOwn(from, key) ? from[key] : undefined, Object.hasOwn(to, key) ? to[key] : undefined, false)
    }
  }
}

const asSet = (list: ReadonlyArray<string> | undefined) => (list === undefined ? undefined : [...new Set(list)].sort(compareStrings))

const baseFields = (base: DockerBase) =>
  base.kind === "image"
    ? { image: base.image }
    : { dockerfile: base.dockerfile, context: base.context, dockerfilePath: base.dockerfilePath, contextDigest: base.contextDigest }

/** `file digest` per constraints file, sorted; no digests and an empty map are the same (as in the hash). */
const constraintDigests = (options: PipOptions | undefined) => {
  const entries = Object.entries(options?.constraintDigests ?? {})
  return entries.length === 0 ? undefined : asSet(entries.map(([file, digest]) => `${file} ${digest}`))
}

const pipOptionFields = (fields: Fields, from: PipOptions | undefined, to: PipOptions | undefined) => {
  const p = "python.conda.pipOptions"
  fields.add(`${p}.indexUrl`, from?.indexUrl, to?.indexUrl)
  fields.add(`${p}.extraIndexUrls`, asSet(from?.extraIndexUrls), asSet(to?.extraIndexUrls))
  fields.add(`${p}.findLinks`, asSet(from?.findLinks), asSet(to?.findLinks))
  fields.add(`${p}.constraints`, asSet(from?.constraints), asSet(to?.constraints))
  fields.add(`${p}.constraintDigests`, constraintDigests(from), constraintDigests(to))
  fields.add(`${p}.flags`, from?.flags, to?.flags)
}

const rFields = (fields: Fields, from: RSection | undefined, to: RSection | undefined) => {
  fields.add("r", from === undefined ? undefined : "present", to === undefined ? undefined : "present")
  fields.add("r.rVersion", from?.rVersion, to?.rVersion)
  fields.add("r.userManaged", from?.userManaged, to?.userManaged)
  fields.add("r.rscriptPath", from?.rscriptPath, to?.rscriptPath)
  fields.add("r.snapshotDate", from?.snapshotDate, to?.snapshotDate)
  const cran = (r: RSection | undefined) =>
    asSet(r?.cranPackages.map((p) => (p.repository === undefined ? p.name : `${p.name} (${p.repository})`)))
  fields.add("r.cranPackages", cran(from), cran(to))
  const github = (r: RSection | undefined) =>
    asSet(r?.gitHubPackages.map((p) => (p.authToken === undefined ? p.repository : `${p.repository} (token ${p.authToken})`)))
  fields.add("r.gitHubPackages", github(from), github(to))
  fields.add("r.customUrlPackages", asSet(from?.customUrlPackages), asSet(to?.customUrlPackages))
  fields.add("r.bioConductorPackages", asSet(from?.bioConductorPackages), asSet(to?.bioConductorPackages))
}

/**
 * What changes from `from` to `to`.
 *
 * @since 0.1.0
 * @category diffing
 */
export const diff = (from: Definition, to: Definition): DefinitionDiff => {
  const fields = new Fields()
  const a = from.python
  const b = to.python
  fields.add("python.userManagedDependencies", a.userManagedDependencies, b.userManagedDependencies)
  fields.add("python.interpreterPath", a.interpreterPath, b.interpreterPath)
  fields.add("python.conda", a.conda === undefined ? undefined : "present", b.conda === undefined ? undefined : "present")
  fields.add("python.conda.name", a.conda?.name, b.conda?.name, false)
  pipOptionFields(fields, a.conda?.pipOptions, b.conda?.pipOptions)

  const da = from.docker
  const db = to.docker
  const ba: Record<string, string | undefined> = baseFields(da.base)
  const bb: Record<string, string | undefined> = baseFields(db.base)
  for (const key of ["image", "dockerfile", "context", "dockerfilePath", "contextDigest"]) {
    fields.add(`docker.base.${key}`, ba[key], bb[key])
  }
  fields.add("docker.baseImageRegistry.address", da.baseImageRegistry?.address, db.baseImageRegistry?.address)
  fields.add("docker.baseImageRegistry.username", da.baseImageRegistry?.username, db.baseImageRegistry?.username)
  fields.add("docker.baseImageRegistry.password", da.baseImageRegistry?.password, db.baseImageRegistry?.password)
  fields.add("docker.gpuSupport", da.gpuSupport, db.gpuSupport)
  fields.add("docker.shmSize", da.shmSize, db.shmSize)
  fields.add("docker.runArguments", da.runArguments, db.runArguments)
  fields.add("docker.platform", `${da.platform.os}/${da.platform.arch}`, `${db.platform.os}/${db.platform.arch}`)

  fields.add("spark.repositories", from.spark.repositories, to.spark.repositories)
  const spark = (d: Definition) => asSet(d.spark.packages.map((p) => `${p.group}:${p.artifact}:${p.version}`))
  fields.add("spark.packages", spark(from), spark(to))
  fields.add("spark.precachePackages", from.spark.precachePackages, to.spark.precachePackages)
  rFields(fields, from.r, to.r)
  fields.add("inferencingStackVersion", from.inferencingStackVersion, to.inferencingStackVersion)

  for (const route of ["livenessRoute", "readinessRoute", "scoringRoute"] as const) {
    const routeOf = (d: Definition) => {
      const r = d.inferenceConfig?.[route]
      return r === undefined ? undefined : `${r.path}:${r.port}`
    }
    // Hashed since algorithm version 2: a route changes what is served.
    fields.add(`inferenceConfig.${route}`, routeOf(from), routeOf(to))
  }
  fields.add("description", from.description, to.description, false)
  fields.record("tags", from.tags, to.tags)
  fields.record("properties", from.properties, to.properties)

  const channels = channelsChange(a.conda?.channels ?? [], b.conda?.channels ?? [])
  const packages = [
    ...packageChanges("conda", a.conda?.conda ?? [], b.conda?.conda ?? []),
    ...packageChanges("pip", a.conda?.pip ?? [], b.conda?.pip ?? [])
  ]
  return {
    packages,
    ...(channels === undefined ? {} : { channels }),
    variables: variableChanges(from.variables, to.variables),
    fields: fields.changes
  }
}

/**
 * True when nothing at all changed, metadata included.
 *
 * @since 0.1.0
 * @category diffing
 */
export const isEmpty = (d: DefinitionDiff): boolean =>
  d.packages.length === 0 && d.channels === undefined && d.variables.length === 0 && d.fields.length === 0

/**
 * True when some change can change the built image (the canonical hashes differ).
 *
 * @since 0.1.0
 * @category diffing
 */
export const isBuildRelevant = (d: DefinitionDiff): boolean =>
  d.packages.length > 0 || d.channels !== undefined || d.variables.length > 0 || d.fields.some((f) => f.buildRelevant)

const arrow = (from: string | undefined, to: string | undefined) => `${from ?? "(none)"} -> ${to ?? "(none)"}`

/**
 * The diff as text, one change a line: `+` added, `-` removed, `~` changed; metadata changes are
 * marked `(not build-relevant)`. Empty string for an empty diff.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (d: DefinitionDiff): string => {
  const lines: Array<string> = []
  if (d.channels !== undefined) {
    const notes = [
      ...(d.channels.added.length > 0 ? [`added ${d.channels.added.join(", ")}`] : []),
      ...(d.channels.removed.length > 0 ? [`removed ${d.channels.removed.join(", ")}`] : []),
      ...(d.channels.reordered ? ["priority order changed"] : [])
    ]
    lines.push(`~ channels: [${d.channels.from.join(", ")}] -> [${d.channels.to.join(", ")}] (${notes.join("; ")})`)
  }
  for (const p of d.packages) {
    if (p.kind === "added") lines.push(`+ ${p.manager} ${p.to}`)
    else if (p.kind === "removed") lines.push(`- ${p.manager} ${p.from}`)
    else lines.push(`~ ${p.manager} ${p.name}: ${p.from} -> ${p.to}`)
  }
  for (const v of d.variables) {
    if (v.kind === "added") lines.push(`+ variable ${v.variable}=${v.to}`)
    else if (v.kind === "removed") lines.push(`- variable ${v.variable}=${v.from}`)
    else lines.push(`~ variable ${v.variable}: ${v.from} -> ${v.to}`)
  }
  for (const f of d.fields) {
    lines.push(`~ ${f.field}: ${arrow(f.from, f.to)}${f.buildRelevant ? "" : " (not build-relevant)"}`)
  }
  return lines.join("\n")
}
