/**
 * `image refresh`: for each built image, ask its base image's registry which manifest digest the
 * base's tag names now; where it is not the one the build recorded, keep the old image under a
 * tag of its own (`Build.keptImageNameOf`) and build the hash again (cause `base-moved`), which
 * records a new `ImageBuilt` with the new base digest and the packages that moved (`drift`).
 *
 * Each image is checked on its own: a registry that cannot be reached, or refuses the
 * definition's credentials, fails that image alone (nothing is appended for it) and the others
 * are still checked. Which images: the ones a caller names (versions or hashes), else every
 * built image that a version of the workspace's environments (archived ones aside) uses.
 * docs/images.md.
 *
 * @since 0.3.0
 */
import {
  BaseImage,
  Build,
  type BuiltImageRow,
  type Definition,
  EventStore,
  ImageBuilder,
  ImageRegistry,
  Projections,
  ReadModel,
  type RecordedEvent
} from "@terrarium/domain"
import { Effect, Option, Schema } from "effect"
import { type EnvironmentRef, formatRef } from "./EnvironmentRef.ts"
import { workspaceOf } from "./EnvironmentViews.ts"
import type { TerrariumError } from "./Errors.ts"
import type { BuildUpdate, ImageBuildResult, ImageTarget } from "./ImageBuilds.ts"
import type { CallContext, Scope } from "./Results.ts"

/**
 * What refresh found for one image. `outcome`: `up-to-date` (the tag names the recorded digest),
 * `rebuilt` (it did not: built again, `built` is the new image, `previous` the old one and the
 * tag that keeps it), `not-checkable` (`detail` says why), `failed` (`detail` says what; for a
 * registry failure nothing was recorded).
 *
 * @since 0.3.0
 * @category model
 */
export interface BaseRefreshResult {
  readonly canonicalHash: string
  readonly image: string
  /** The versions (`workspace/name:version`) this refresh looked at that use the image. */
  readonly usedBy: ReadonlyArray<string>
  readonly base: string | null
  readonly outcome: "up-to-date" | "rebuilt" | "not-checkable" | "failed"
  readonly recordedDigest: string | null
  readonly currentDigest: string | null
  readonly detail: string | null
  readonly previous: { readonly buildId: string; readonly imageId: string; readonly keptAs: string | null } | null
  readonly built: BuiltImageRow | null
}

/**
 * What a refresh reports as it goes: an image it starts checking, the progress of its rebuild,
 * an image done.
 *
 * @since 0.3.0
 * @category model
 */
export type RefreshUpdate =
  | { readonly _tag: "Checking"; readonly image: string; readonly base: string | null }
  | { readonly _tag: "Rebuilding"; readonly image: string; readonly update: BuildUpdate }
  | { readonly _tag: "Checked"; readonly result: BaseRefreshResult }

/**
 * An earlier build of a hash, as `image show` lists it: its image id (which names it on the
 * engine as long as the image is there), the base it was built on, and the tag that keeps it
 * when a refresh built the hash again (`keptAs`; null for one a `--no-cache` build replaced).
 *
 * @since 0.3.0
 * @category model
 */
export interface PastBuild {
  readonly buildId: string
  readonly imageId: string
  readonly baseImageDigest: string | null
  readonly builtAt: Date
  readonly keptAs: string | null
}

/** @since 0.3.0 @category use cases */
export interface BaseImageRefresh {
  /** Checks the base of each image (the named ones, or every built one the workspace uses) and rebuilds where it moved. */
  readonly refresh: (input: Scope & CallContext & {
    readonly targets?: ReadonlyArray<ImageTarget> | undefined
    readonly onUpdate?: ((update: RefreshUpdate) => Effect.Effect<void>) | undefined
  }) => Effect.Effect<ReadonlyArray<BaseRefreshResult>, TerrariumError>
  /** The builds of a hash before its last one, oldest first. */
  readonly previousBuilds: (canonicalHash: string) => Effect.Effect<ReadonlyArray<PastBuild>, TerrariumError>
}

/** A version the refresh works on: where it is, and its definition. */
interface Subject {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly definition: Definition
}

/**
 * Some images could not be refreshed (their registry failed, or their rebuild): the CLI's exit
 * code after it has printed every image's result. The library returns the results instead.
 *
 * @since 0.3.0
 * @category errors
 */
export class BaseRefreshIncomplete extends Schema.TaggedError<BaseRefreshIncomplete>()("BaseRefreshIncomplete", {
  failed: Schema.Array(Schema.String),
  checked: Schema.Int
}) {
  override get message() {
    return `${this.failed.length} of ${this.checked} image${this.checked === 1 ? "" : "s"} could not be refreshed: ${this.failed.join(", ")}`
  }
}

/** What the image use cases lend the refresh. */
export interface RefreshDependencies {
  readonly resolveVersion: (workspace: string, ref: EnvironmentRef) => Effect.Effect<Subject, TerrariumError>
  readonly loadBuilds: (canonicalHash: string) => Effect.Effect<Build.BuildState, TerrariumError>
  readonly decodeBuild: (row: RecordedEvent) => Effect.Effect<Build.BuildEvent, TerrariumError>
  readonly rebuild: (input: Scope & CallContext & {
    readonly ref: { readonly name: string; readonly version: string }
    readonly baseMovedTo: string
    readonly onUpdate: (update: BuildUpdate) => Effect.Effect<void>
  }) => Effect.Effect<ImageBuildResult, TerrariumError>
}

/** A message without the layers of wrapping an error's message may have (one line). */
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, "; ")

/**
 * The refresh over the ports of the context and the image use cases' build.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (deps: RefreshDependencies) => Effect.gen(function*() {
  const store = yield* EventStore
  const projections = yield* Projections
  const readModel = yield* ReadModel
  const builder = yield* ImageBuilder
  const registry = Option.getOrUndefined(yield* Effect.serviceOption(ImageRegistry))

  /** The versions to look at, one per hash (the first that uses it), and every version per hash. */
  const subjectsOf = (input: Parameters<BaseImageRefresh["refresh"]>[0]) =>
    Effect.gen(function*() {
      const byHash = new Map<string, { subject: Subject | undefined; usedBy: Array<string> }>()
      const add = (subject: Subject) => {
        const label = `${subject.workspace}/${subject.name}:${subject.version}`
        const seen = byHash.get(subject.canonicalHash)
        if (seen === undefined) byHash.set(subject.canonicalHash, { subject, usedBy: [label] })
        else if (!seen.usedBy.includes(label)) seen.usedBy.push(label)
      }
      if (input.targets !== undefined && input.targets.length > 0) {
        for (const target of input.targets) {
          if ("ref" in target) {
            add(yield* deps.resolveVersion(input.workspace, target.ref))
            continue
          }
          // A hash: the version that last asked for its build gives the definition.
          const rows = yield* store.readStream(Build.streamOf(target.canonicalHash))
          let requester: Build.BuildRequester | undefined
          for (const row of rows.filter((r) => r.type === "BuildRequested")) {
            const event = yield* deps.decodeBuild(row)
            if (event._tag === "BuildRequested") requester = event.requestedBy
          }
          if (requester === undefined) {
            // Never asked for: reported as such (refreshOne).
            if (!byHash.has(target.canonicalHash)) byHash.set(target.canonicalHash, { subject: undefined, usedBy: [] })
            continue
          }
          add(yield* deps.resolveVersion(requester.workspace, { name: requester.name, version: requester.version }))
        }
      } else {
        // Caught up first: versions registered by another process are in the read model.
        const workspace = yield* workspaceOf(input.workspace)
        const versions = yield* Effect.andThen(projections.catchUp, readModel.versions({ workspace, includeArchived: false }))
        for (const v of versions) {
          if (byHash.has(v.canonicalHash)) {
            add({ ...byHash.get(v.canonicalHash)!.subject!, name: v.name, version: v.version })
            continue
          }
          // Only built hashes: one never built has no base to compare with.
          const state = yield* deps.loadBuilds(v.canonicalHash)
          if (state.built === null) continue
          add(yield* deps.resolveVersion(v.workspace, { name: v.name, version: v.version }))
        }
      }
      return [...byHash.entries()]
    })

  const refreshOne = (
    input: Parameters<BaseImageRefresh["refresh"]>[0],
    hash: string,
    subject: Subject | undefined,
    usedBy: ReadonlyArray<string>
  ): Effect.Effect<BaseRefreshResult, never> =>
    Effect.gen(function*() {
      const image = Build.imageNameOf(hash)
      const report = (update: RefreshUpdate) => input.onUpdate?.(update) ?? Effect.void
      const result = (fields: Partial<BaseRefreshResult> & Pick<BaseRefreshResult, "outcome">): BaseRefreshResult => ({
        canonicalHash: hash, image, usedBy, base: null, recordedDigest: null, currentDigest: null, detail: null, previous: null, built: null, ...fields
      })
      const state = yield* deps.loadBuilds(hash)
      const built = state.built
      if (subject === undefined || built === null) {
        const target = subject === undefined ? hash : formatRef({ name: subject.name, version: subject.version })
        return result({ outcome: "failed", detail: `no image has been built for ${target}; build it with: terrarium environment build ${target}` })
      }
      const check = BaseImage.baseCheckOf(subject.definition, built.baseImageDigest)
      yield* report({ _tag: "Checking", image, base: check.base })
      if (check._tag === "NotCheckable") return result({ outcome: "not-checkable", base: check.base, recordedDigest: built.baseImageDigest, detail: check.why })
      const known = { base: check.base, recordedDigest: check.recordedDigest }
      if (registry === undefined) return result({ ...known, outcome: "failed", detail: "no image registry client is configured" })
      const current = yield* Effect.result(registry.resolve(
        { registry: check.registry, repository: check.repository, credentials: check.credentials },
        check.tag
      ))
      if (current._tag === "Failure") {
        return result({ ...known, outcome: "failed", detail: `base image ${check.base}: ${oneLine(current.failure.message)}` })
      }
      const currentDigest = current.success
      if (currentDigest === check.recordedDigest) return result({ ...known, currentDigest, outcome: "up-to-date" })

      // The base moved: keep the old image under a tag of its own, then build the hash again.
      const keptAs = Build.keptImageNameOf(hash, built.buildId)
      const kept = yield* builder.inspect(built.image).pipe(
        Effect.flatMap((info) => builder.tag(info?.imageId === built.imageId ? built.image : built.imageId, keptAs)),
        Effect.as(keptAs),
        // An old image already pruned is not there to keep; the rebuild goes on.
        Effect.orElseSucceed(() => null)
      )
      const previous = { buildId: built.buildId, imageId: built.imageId, keptAs: kept }
      const rebuilt = yield* Effect.result(deps.rebuild({
        workspace: subject.workspace, actor: input.actor, correlationId: input.correlationId,
        ref: { name: subject.name, version: subject.version }, baseMovedTo: currentDigest,
        onUpdate: (update) => report({ _tag: "Rebuilding", image, update })
      }))
      if (rebuilt._tag === "Failure") {
        return result({ ...known, currentDigest, previous, outcome: "failed", detail: `the rebuild failed: ${oneLine(rebuilt.failure.message)}` })
      }
      // Another refresh was first: the image answers from the cache, already on the new base.
      if (rebuilt.success.outcome === "cached") return result({ ...known, currentDigest, outcome: "up-to-date" })
      const builtOn = Build.registryDigestOf(rebuilt.success.built.baseImageDigest)
      return result({
        ...known, currentDigest, previous, outcome: "rebuilt", built: rebuilt.success.built,
        // The tag moved again between the check and the pull: the next refresh will see it.
        detail: builtOn === currentDigest ? null : `the engine built on ${builtOn ?? rebuilt.success.built.baseImageDigest ?? "an unknown base"}, not ${currentDigest}`
      })
    }).pipe(Effect.catch((error: TerrariumError) =>
      Effect.succeed<BaseRefreshResult>({
        canonicalHash: hash, image: Build.imageNameOf(hash), usedBy, base: null, recordedDigest: null, currentDigest: null,
        detail: oneLine(error.message), previous: null, built: null, outcome: "failed"
      })
    ))

  const refresh: BaseImageRefresh["refresh"] = (input) =>
    Effect.gen(function*() {
      const subjects = yield* subjectsOf(input)
      const results: Array<BaseRefreshResult> = []
      // One at a time: a rebuild takes the engine's cores, and progress reads in order.
      for (const [hash, { subject, usedBy }] of subjects) {
        const result = yield* refreshOne(input, hash, subject, usedBy)
        yield* input.onUpdate?.({ _tag: "Checked", result }) ?? Effect.void
        results.push(result)
      }
      return results
    })

  const previousBuilds: BaseImageRefresh["previousBuilds"] = (hash) =>
    Effect.gen(function*() {
      const rows = yield* store.readStream(Build.streamOf(hash))
      const builds: Array<{ event: Build.ImageBuilt; at: Date }> = []
      const keptAfter = new Set<string>()
      for (const row of rows.filter((r) => r.type === "ImageBuilt" || r.type === "BuildStarted")) {
        const event = yield* deps.decodeBuild(row)
        if (event._tag === "ImageBuilt") builds.push({ event, at: row.occurredAt })
        // A refresh keeps the image built before it (BaseImageRefresh.refreshOne).
        else if (event._tag === "BuildStarted" && event.cause === "base-moved" && builds.length > 0) keptAfter.add(builds.at(-1)!.event.buildId)
      }
      return builds.slice(0, -1).map(({ event, at }): PastBuild => ({
        buildId: event.buildId, imageId: event.imageId, baseImageDigest: event.baseImageDigest, builtAt: at,
        keptAs: keptAfter.has(event.buildId) ? Build.keptImageNameOf(hash, event.buildId) : null
      }))
    })

  return { refresh, previousBuilds } satisfies BaseImageRefresh
})
