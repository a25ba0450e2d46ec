/**
 * How the image commands print: a build's answer, one image-cache row, the list, and the progress
 * of a running build (a line rewritten per step on a terminal, plain lines otherwise). Beside
 * `Render.ts` rather than in it: the image commands are the only readers.
 *
 * @since 0.2.0
 */
import { Build, type BuiltImageRow, type ImageBuildRow, type PushedImageRow } from "@terrarium/domain"
import type { BaseRefreshResult, BuildUpdate, CancelledBuild, ImageBuildResult, PastBuild, RefreshUpdate } from "../Terrarium.ts"
import { escapeControls, fields, table, time } from "./Output.ts"

const size = (bytes: number) =>
  bytes >= 1_048_576 ? `${(bytes / 1_048_576).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`

const builtFields = (b: BuiltImageRow): ReadonlyArray<readonly [string, string]> => [
  ["image id", b.imageId],
  ["size", size(b.sizeBytes)],
  ["base image", b.baseImageDigest ?? "(unknown)"],
  ["built", `${time(b.builtAt)} in ${(b.durationMs / 1000).toFixed(1)} s by ${b.builderVersion}, ${b.cachedSteps}/${b.totalSteps} steps cached`],
  ["packages", [...b.resolved.conda.map((p) => `conda ${p.name}=${p.version}`), ...b.resolved.pip.map((p) => `pip ${p.name}==${p.version}`)].join(", ") || "(none)"],
  ...(b.drift.length > 0 ? [["drift", b.drift.map(Build.describeDrift).join(", ")] as const] : [])
]

/** `registry/repository:tag@digest`, one push. @since 0.3.0 @category rendering */
export const pushedReference = (p: Pick<PushedImageRow, "reference" | "digest">): string => `${p.reference}@${p.digest}`

const OUTCOMES: Record<ImageBuildResult["outcome"], string> = {
  cached: "cached (nothing built)",
  joined: "built by another call, waited for",
  built: "built",
  pulled: "pulled by digest from its registry (nothing built)"
}

/** @since 0.2.0 @category rendering */
export const buildResult = (r: ImageBuildResult): string =>
  fields([
    ["image", r.image],
    ["version", `${r.workspace}/${r.name}:${r.version}`],
    ["hash", r.canonicalHash],
    ["outcome", OUTCOMES[r.outcome]],
    ...(r.pushed === undefined ? [] : [["pushed", `${pushedReference(r.pushed)}${r.pushed.recorded ? "" : " (recorded before)"}`] as const]),
    ...builtFields(r.built)
  ])

/** The pushes of the last image built, newest first (those of earlier builds are other images). */
const pushesOfBuilt = (row: ImageBuildRow | undefined): ReadonlyArray<PushedImageRow> =>
  row?.built == null ? [] : row.pushes.filter((p) => p.buildId === row.built!.buildId).reverse()

/** The one-word state of a hash's image, as `environment show` and `image list` say it. @since 0.2.0 @category rendering */
export const statusOf = (row: ImageBuildRow | undefined): string =>
  row === undefined
    ? "not built"
    : row.status === "building"
    ? `building (build ${row.buildId}, lease held by ${row.leaseHolder ?? "?"} until ${row.leaseExpiresAt === null ? "?" : time(row.leaseExpiresAt)})`
    : row.status === "failed"
    ? `failed: ${row.failure?.message ?? "?"}${row.built === null ? "" : ` (last built: ${row.built.image})`}`
    : `built: ${row.image}`

/** The image lines of `environment show`: its state, and the drift of its last rebuild. @since 0.2.0 @category rendering */
export const imageLines = (row: ImageBuildRow | undefined): string =>
  fields([
    ["image", statusOf(row)],
    ...pushesOfBuilt(row).map((p) => ["pushed", pushedReference(p)] as const),
    ...(row?.built != null && row.built.drift.length > 0 ? [["drift", row.built.drift.map(Build.describeDrift).join(", ")] as const] : [])
  ])

/** @since 0.2.0 @category rendering */
export const image = (row: ImageBuildRow): string =>
  fields([
    ["image", row.image],
    ["hash", row.canonicalHash],
    ["status", statusOf(row)],
    ["build", row.buildId],
    ...(row.failure === null ? [] : [
      ["failed step", row.failure.step ?? "(none)"] as const,
      ["log tail", row.failure.logTail.join(" / ") || "(none)"] as const
    ]),
    ...(row.built === null ? [] : builtFields(row.built)),
    ...[...row.pushes].reverse().map((p) =>
      ["pushed", `${pushedReference(p)}${p.buildId === row.built?.buildId ? "" : ` (build ${p.buildId}, an earlier image)`} at ${time(p.pushedAt)}`] as const)
  ])

/**
 * `image show`: the image-cache row, then the builds before its last one (a refresh keeps each
 * of those under a tag of its own; any of them answers to its image id while the engine has it).
 *
 * @since 0.3.0
 * @category rendering
 */
export const imageWithHistory = (row: ImageBuildRow, previous: ReadonlyArray<PastBuild>): string =>
  previous.length === 0 ? image(row) : [
    image(row),
    "previous builds:",
    ...previous.map((p) =>
      `  ${p.buildId}  ${time(p.builtAt)}  ${p.imageId}  ${p.keptAs === null ? "(not kept by tag)" : `kept as ${p.keptAs}`}  base ${p.baseImageDigest ?? "(unknown)"}`)
  ].join("\n")

/** @since 0.2.0 @category rendering */
export const images = (rows: ReadonlyArray<ImageBuildRow>): string =>
  table(rows, [
    { header: "image", value: (r) => r.image },
    { header: "status", value: (r) => r.status },
    { header: "size", value: (r) => (r.built === null ? "" : size(r.built.sizeBytes)) },
    { header: "built", value: (r) => (r.built === null ? "" : time(r.built.builtAt)) },
    { header: "pushed", value: (r) => pushesOfBuilt(r).map(pushedReference).join(", ") },
    { header: "hash", value: (r) => r.canonicalHash }
  ], "(no images)")

/**
 * The progress of a build as text for stderr: on a terminal one line per step, rewritten in
 * place (`\r`), else one plain line per step; log lines only when following. Returns what to
 * write (maybe nothing).
 *
 * @since 0.2.0
 * @category rendering
 */
export const progressText = (update: BuildUpdate, options: { readonly terminal: boolean; readonly follow: boolean }): string => {
  switch (update._tag) {
    case "Started":
      return `build ${update.buildId} started (${update.cause})\n`
    case "Queued":
      return update.queued
        ? `queued for a worker (${update.location}); start one with: terrarium worker\n`
        : `a build of this hash is queued already (${update.location}); following it\n`
    case "LogUnavailable":
      return `warning: the log of build ${update.buildId} could not be written (${escapeControls(update.message)}); the build goes on, its log misses lines from here\n`
    case "Waiting":
      return `waiting for build ${update.buildId} (held by ${escapeControls(update.holder)} until ${time(update.leaseExpiresAt)})\n`
    case "Progress": {
      const p = update.progress
      if (p._tag === "Log") return options.follow ? `${options.terminal ? "\r\x1b[K" : ""}${escapeControls(p.line)}\n` : ""
      const text = `[${p.index}/${p.total}]${p.cached ? " CACHED" : ""} ${escapeControls(p.name)}`
      return options.terminal ? `\r\x1b[K${text}${p.index === p.total ? "\n" : ""}` : `${text}\n`
    }
  }
}

const OUTCOME: Record<BaseRefreshResult["outcome"], string> = {
  "up-to-date": "up to date",
  "rebuilt": "rebuilt",
  "not-checkable": "not checkable",
  "failed": "FAILED"
}

const shortDigest = (digest: string | null) => (digest === null ? "?" : digest.replace(/^sha256:/, "").slice(0, 12))

/** One line of what `image refresh` found for an image. @since 0.3.0 @category rendering */
export const refreshLine = (r: BaseRefreshResult): string => {
  const head = `${r.image}  ${OUTCOME[r.outcome]}`
  switch (r.outcome) {
    case "up-to-date":
      return `${head}  (base ${escapeControls(r.base ?? "?")} @ ${shortDigest(r.currentDigest)})`
    case "rebuilt":
      return `${head}  (base ${escapeControls(r.base ?? "?")} moved ${shortDigest(r.recordedDigest)} → ${shortDigest(r.currentDigest)}; ` +
        `new image ${r.built?.imageId ?? "?"}; previous ${r.previous?.keptAs ?? r.previous?.imageId ?? "?"}` +
        `${r.built !== null && r.built.drift.length > 0 ? `; drift: ${r.built.drift.map(Build.describeDrift).join(", ")}` : "; no package moved"}` +
        `${r.detail === null ? "" : `; ${escapeControls(r.detail)}`})`
    case "not-checkable":
    case "failed":
      return `${head}: ${escapeControls(r.detail ?? "")}`
  }
}

/** What `image refresh` found, one line per image. @since 0.3.0 @category rendering */
export const refreshResults = (results: ReadonlyArray<BaseRefreshResult>): string =>
  results.length === 0 ? "(no built images to check)" : results.map(refreshLine).join("\n")

/**
 * The progress of a refresh for stderr: the image being checked, its rebuild's progress (as a
 * build's), and each result as it comes.
 *
 * @since 0.3.0
 * @category rendering
 */
export const refreshProgressText = (update: RefreshUpdate, options: { readonly terminal: boolean }): string => {
  switch (update._tag) {
    case "Checking":
      return `checking ${update.image}${update.base === null ? "" : ` (base ${escapeControls(update.base)})`}\n`
    case "Rebuilding":
      return progressText(update.update, { terminal: options.terminal, follow: false })
    case "Checked":
      return ""
  }
}

/**
 * What `environment build --cancel` did.
 *
 * @since 0.3.0
 * @category rendering
 */
export const cancelledBuild = (c: CancelledBuild): string =>
  [
    `cancelled the build of ${c.image}`,
    ...(c.cancelledBuildId === null ? [] : [`  running build: ${c.cancelledBuildId} (recorded as failed: Cancelled)`]),
    ...(c.cancelledJobs === 0 ? [] : [`  queued jobs:   ${c.cancelledJobs}`])
  ].join("\n")
