/**
 * How the image commands print: a build's answer, one image-cache row, the list, and the progress
 * of a running build (a line rewritten per step on a terminal, plain lines otherwise). Beside
 * `Render.ts` rather than in it: the image commands are the only readers.
 *
 * @since 0.2.0
 */
import { Build, type BuiltImageRow, type ImageBuildRow } from "@terrarium/domain"
import type { BuildUpdate, CancelledBuild, ImageBuildResult } from "../Terrarium.ts"
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

/** @since 0.2.0 @category rendering */
export const buildResult = (r: ImageBuildResult): string =>
  fields([
    ["image", r.image],
    ["version", `${r.workspace}/${r.name}:${r.version}`],
    ["hash", r.canonicalHash],
    ["outcome", r.outcome === "cached" ? "cached (nothing built)" : r.outcome === "joined" ? "built by another call, waited for" : "built"],
    ...builtFields(r.built)
  ])

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
    ...(row.built === null ? [] : builtFields(row.built))
  ])

/** @since 0.2.0 @category rendering */
export const images = (rows: ReadonlyArray<ImageBuildRow>): string =>
  table(rows, [
    { header: "image", value: (r) => r.image },
    { header: "status", value: (r) => r.status },
    { header: "size", value: (r) => (r.built === null ? "" : size(r.built.sizeBytes)) },
    { header: "built", value: (r) => (r.built === null ? "" : time(r.built.builtAt)) },
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
