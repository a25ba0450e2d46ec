/**
 * The read model port: queries over what the projector made of the event log (catalog, version
 * history, labels, audit trail, cache lookup). Answers are as current as the projector's
 * checkpoint (`Projections.checkpoint`); a caller that just appended and needs to read its own
 * write catches up first.
 *
 * @since 0.1.0
 */
import { Context, Schema } from "effect"
import { describeCause } from "../CauseText.ts"
import type { Effect } from "effect"
import type { PackageDrift, StartCause } from "../Build.ts"
import type { EnvironmentType } from "../Definition.ts"
import type { ResolvedLock } from "./ImageBuilder.ts"

/**
 * One registered version (the version history).
 *
 * @since 0.1.0
 * @category rows
 */
export interface VersionRow {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly hashAlgorithm: number
  readonly environmentType: EnvironmentType
  readonly description: string | null
  readonly tags: Readonly<Record<string, string>>
  readonly createdAt: Date
  readonly createdBy: string
  /** The log position of its `Registered` event: the order of versions. */
  readonly registeredPosition: number
  readonly archived: boolean
  readonly archivedAt: Date | null
}

/**
 * One environment of a workspace, registered or still a draft.
 *
 * @since 0.1.0
 * @category rows
 */
export interface EnvironmentSummary {
  readonly workspace: string
  readonly name: string
  readonly curated: boolean
  /** The type of the latest version, or of the draft when no version is active. */
  readonly environmentType: EnvironmentType
  /** The newest non-archived version (the `latest` label); null if none. */
  readonly latestVersion: string | null
  /** Non-archived versions. */
  readonly versionCount: number
  readonly archivedVersionCount: number
  /** True when it has versions and every one is archived. */
  readonly archived: boolean
  readonly createdAt: Date
  /** When its stream last got an event (draft edits, registrations, labels, builds). */
  readonly updatedAt: Date
  readonly updatedPosition: number
}

/**
 * A label, `latest` included (it is maintained by the projector).
 *
 * @since 0.1.0
 * @category rows
 */
export interface LabelRow {
  readonly workspace: string
  readonly name: string
  readonly label: string
  readonly version: string
  readonly movedAt: Date
  readonly movedBy: string
  readonly position: number
}

/** @since 0.1.0 @category rows */
export interface CuratedCatalogRow {
  readonly workspace: string
  readonly name: string
  readonly latestVersion: string
  readonly description: string | null
  readonly tags: Readonly<Record<string, string>>
  readonly canonicalHash: string
  readonly hashAlgorithm: number
  readonly latestCreatedAt: Date
}

/** The newest image built for a canonical hash. @since 0.1.0 @category rows */
export interface ImageRow {
  readonly registry: string
  readonly repository: string
  readonly tag: string
  readonly digest: string
  readonly builtAt: Date
  readonly buildId: string
}

/** A registered version with a given canonical hash. @since 0.1.0 @category rows */
export interface CacheEntryRow {
  readonly canonicalHash: string
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly registeredPosition: number
  /** Null until an image has been built for the hash. */
  readonly image: ImageRow | null
}

/**
 * The last image built for a hash, as its `ImageBuilt` recorded it (`Build.ts`), and when.
 *
 * @since 0.2.0
 * @category rows
 */
export interface BuiltImageRow {
  readonly buildId: string
  readonly image: string
  readonly imageId: string
  readonly sizeBytes: number
  readonly baseImageDigest: string | null
  readonly resolved: ResolvedLock
  readonly durationMs: number
  readonly logKey: string
  readonly builderVersion: string
  readonly cachedSteps: number
  readonly totalSteps: number
  readonly drift: ReadonlyArray<PackageDrift>
  readonly builtAt: Date
}

/** Why the last build of a hash failed (`BuildFailed`). @since 0.2.0 @category rows */
export interface BuildFailureRow {
  readonly buildId: string
  readonly reason: string
  readonly message: string
  readonly step: string | null
  readonly logKey: string
  readonly logTail: ReadonlyArray<string>
  readonly failedAt: Date
}

/**
 * One push of a hash's image (`ImagePushed`, migration 0012): `reference` (`registry/repository:tag`)
 * named the manifest `digest` when it was pushed; `buildId`/`imageId` say which build's image.
 *
 * @since 0.3.0
 * @category rows
 */
export interface PushedImageRow {
  readonly reference: string
  readonly registry: string
  readonly repository: string
  readonly tag: string
  readonly digest: string
  readonly buildId: string
  readonly imageId: string
  readonly pushedAt: Date
  readonly position: number
}

/**
 * The image cache's row of one canonical hash (migration 0010): what its build stream says now.
 * `leaseHolder`/`leaseExpiresAt` are set while `building`; `built` is the last image built,
 * kept through a later failure or rebuild; `failure` is set while `failed`.
 *
 * @since 0.2.0
 * @category rows
 */
export interface ImageBuildRow {
  readonly canonicalHash: string
  readonly image: string
  readonly status: "building" | "built" | "failed"
  /** The build running now, or the last one. */
  readonly buildId: string
  readonly leaseHolder: string | null
  readonly leaseExpiresAt: Date | null
  readonly failure: BuildFailureRow | null
  readonly built: BuiltImageRow | null
  /** Every push of the hash's images, oldest first (of earlier builds too: see `buildId`). */
  readonly pushes: ReadonlyArray<PushedImageRow>
  readonly updatedAt: Date
  readonly updatedPosition: number
}

/**
 * One build of a hash, whichever (migration 0016): why it started, its lease while it runs, and
 * how it ended. A hash's row in the image cache (`ImageBuildRow`) is only its last build; every
 * earlier one (failed, rebuilt since, taken over) keeps its own row here. A `building` row whose
 * lease ran out long ago is a build whose process died (a later build took it over, or will).
 *
 * @since 0.4.0
 * @category rows
 */
export interface BuildRow {
  readonly buildId: string
  readonly canonicalHash: string
  readonly image: string
  readonly status: "building" | "built" | "failed"
  readonly cause: StartCause
  readonly noCache: boolean
  /** Who held the lease, and until when it last ran (kept after the build ended). */
  readonly leaseHolder: string
  readonly leaseExpiresAt: Date
  readonly startedAt: Date
  readonly startedPosition: number
  /** When its `ImageBuilt` or `BuildFailed` was recorded; null while it runs. */
  readonly endedAt: Date | null
  readonly failure: BuildFailureRow | null
  readonly built: BuiltImageRow | null
  /** The pushes of this build's image, oldest first. */
  readonly pushes: ReadonlyArray<PushedImageRow>
  readonly updatedPosition: number
}

/** @since 0.1.0 @category rows */
export interface AuditEntry {
  readonly position: number
  readonly workspace: string
  readonly name: string
  readonly eventType: string
  readonly version: string | null
  readonly actor: string
  readonly occurredAt: Date
  readonly correlationId: string
  readonly causationId: string | null
  /** One human line, e.g. "moved label prod 2 → 3". */
  readonly summary: string
  /** The event's payload as JSON in today's schema (upcast if it was stored under an older one). */
  readonly details: unknown
}

/**
 * An event of the log that the projector could not decode because its row is damaged (a type and
 * schema version this code knows, with data that does not match them), set aside so that the
 * rest of the log is still read. Its stream cannot be folded until it is voided
 * (`environment repair`, an appended `EventVoided`); `resolution` then says by whom and why.
 *
 * @since 0.1.0
 * @category rows
 */
export interface QuarantinedEvent {
  readonly position: number
  readonly workspace: string
  /** The environment, from the stream (`environment/<name>`). */
  readonly name: string
  readonly stream: string
  readonly eventType: string
  readonly schemaVersion: number
  /** What is wrong with it, as the decoder said. */
  readonly error: string
  readonly occurredAt: Date
  readonly actor: string
  /** The `EventVoided` that repaired it; null while it is unresolved. */
  readonly resolution: QuarantineResolution | null
}

/** @since 0.1.0 @category rows */
export interface QuarantineResolution {
  /** The position of the `EventVoided` event. */
  readonly position: number
  readonly voidedAt: Date
  readonly voidedBy: string
  readonly reason: string
}

/**
 * The storage behind the read model could not answer (connection lost, table missing).
 * `operation` names the query (`read versions`, `read audit trail`…). The message is worded as
 * the SQL layer's own errors were before this port had an error of its own, since users see it.
 *
 * @since 0.1.0
 * @category errors
 */
export class QueryFailed extends Schema.TaggedError<QueryFailed>()("QueryFailed", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  get isRetryable() { return false }
  override get message() { return `database ${this.operation} failed: ${describeCause(this.cause)}` }
}

/**
 * The one error of the port; `reason` says which.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReadModelError extends Schema.TaggedError<ReadModelError>()("ReadModelError", {
  reason: Schema.Union([QueryFailed])
}) {
  get isRetryable() { return this.reason.isRetryable }
  override get message() { return this.reason.message }
}

/**
 * The read side of the projections.
 *
 * @since 0.1.0
 * @category port
 */
export class ReadModel extends Context.Service<ReadModel, {
  /** Version history, oldest first (by registration); archived versions only if asked. */
  readonly versions: (query: { readonly workspace: string; readonly name?: string; readonly includeArchived: boolean }) => Effect.Effect<ReadonlyArray<VersionRow>, ReadModelError>
  /** One row per environment, by name; fully archived ones only if asked. */
  readonly environments: (query: { readonly workspace: string; readonly includeArchived: boolean }) => Effect.Effect<ReadonlyArray<EnvironmentSummary>, ReadModelError>
  /** The labels of one environment, by label name. */
  readonly labels: (query: { readonly workspace: string; readonly name: string }) => Effect.Effect<ReadonlyArray<LabelRow>, ReadModelError>
  /** Curated environments of every workspace at their latest version, by workspace and name. */
  readonly curatedCatalog: () => Effect.Effect<ReadonlyArray<CuratedCatalogRow>, ReadModelError>
  /** Every registered version with this canonical hash, oldest first, with its image if built. */
  readonly cacheLookup: (canonicalHash: string) => Effect.Effect<ReadonlyArray<CacheEntryRow>, ReadModelError>
  /** The image cache: the row of one hash, or of every hash (by hash) when none is given. */
  readonly imageBuilds: (query: { readonly canonicalHash?: string }) => Effect.Effect<ReadonlyArray<ImageBuildRow>, ReadModelError>
  /** Builds by id (migration 0016): the one of `buildId`, or every build of `canonicalHash`, newest first. */
  readonly builds: (query: { readonly buildId: string } | { readonly canonicalHash: string }) => Effect.Effect<ReadonlyArray<BuildRow>, ReadModelError>
  /** The audit trail of a workspace or one environment, by position, optionally up to a position. */
  readonly audit: (query: { readonly workspace: string; readonly name?: string; readonly untilPosition?: number }) => Effect.Effect<ReadonlyArray<AuditEntry>, ReadModelError>
  /** The quarantined events, resolved or not, by position: of one workspace, or of every one. */
  readonly quarantine: (query: { readonly workspace?: string }) => Effect.Effect<ReadonlyArray<QuarantinedEvent>, ReadModelError>
}>()("terrarium/ReadModel") {}
