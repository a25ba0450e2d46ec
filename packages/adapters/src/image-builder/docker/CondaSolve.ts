/**
 * The conda part solved to an explicit lock with rattler (no conda binary is needed): the exact
 * packages, with their URLs and sha256, that the image then installs and the `ImageBuilt` event
 * records.
 *
 * @since 0.2.0
 */
import { CondaUnsolvable, type CondaSpec, type Platform, type ResolvedCondaPackage, UnbuildableRequest } from "@terrarium/domain"
import { Effect } from "effect"
import { loadRattler } from "../../package-spec/CondaSpec.ts"

/** The conda subdirectories of a platform: its own and `noarch`. */
const condaPlatforms = (platform: Platform): Array<"linux-64" | "linux-aarch64" | "noarch"> | undefined => {
  if (platform.os !== "linux") return undefined
  if (platform.arch === "amd64" || platform.arch === "x86_64") return ["linux-64", "noarch"]
  if (platform.arch === "arm64" || platform.arch === "aarch64") return ["linux-aarch64", "noarch"]
  return undefined
}

/** The MatchSpec text of a parsed spec, from its fields (the ones the hash covers). */
export const matchSpecText = (spec: CondaSpec): string =>
  [`${spec.channel !== undefined ? `${spec.channel}::` : ""}${spec.name}`, spec.version, spec.build]
    .filter((part) => part !== "")
    .join(" ")

/** The channel a package came from: its URL without `/<subdir>/<file>`. */
const channelOf = (url: string): string => url.replace(/\/[^/]+\/[^/]+$/, "")

/**
 * Solves `specs` against `channels` (in priority order) for `platform`. No spec: an empty lock,
 * with no network used.
 */
export const solveConda = (
  specs: ReadonlyArray<CondaSpec>,
  channels: ReadonlyArray<string>,
  platform: Platform
): Effect.Effect<ReadonlyArray<ResolvedCondaPackage>, CondaUnsolvable | UnbuildableRequest> =>
  Effect.gen(function* () {
    if (specs.length === 0) return []
    const platforms = condaPlatforms(platform)
    if (platforms === undefined) {
      return yield* new UnbuildableRequest({ detail: `conda packages cannot be solved for platform ${platform.os}/${platform.arch}` })
    }
    const texts = specs.map(matchSpecText)
    const solved = yield* Effect.tryPromise({
      try: () => loadRattler().simpleSolve(texts, [...channels], platforms, []),
      catch: (cause) =>
        new CondaUnsolvable({
          specs: texts,
          channels: [...channels],
          detail: (cause instanceof Error ? cause.message : String(cause)).slice(0, 2000)
        })
    })
    return solved.map((p): ResolvedCondaPackage => {
      const sha256 = p.sha256
      const record = {
        name: p.packageName,
        version: p.version,
        build: p.build,
        channel: channelOf(p.url),
        url: p.url
      }
      p.free()
      return sha256 !== undefined ? { ...record, sha256 } : record
    }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  })
