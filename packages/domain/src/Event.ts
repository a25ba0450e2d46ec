/**
 * The events of an environment stream. Each is a tagged Schema class; the log stores the
 * encoded form (`type` = the tag, `data` = the JSON encoding) beside an envelope of metadata.
 *
 * Every event type carries a schema version (`SCHEMA_VERSIONS`) stored with each row, so that an
 * old row can be upcast when a type changes shape. All types start at 1.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Sha256Digest } from "./CanonicalHash.ts"
import { Definition, DockerSection, EnvironmentName, LabelName, VersionString, WorkspaceName } from "./Definition.ts"
import { PackageManager, PackageSpec } from "./PackageSpec.ts"

/**
 * Where a cloned environment's definition came from (`environment clone SOURCE NEW`): the version
 * it was copied from, and that version's canonical hash (under its hash algorithm), so that the
 * copy can be traced to the exact content even after the source is archived.
 *
 * @since 0.1.0
 * @category events
 */
export const ClonedFrom = Schema.Struct({
  workspace: WorkspaceName,
  name: EnvironmentName,
  version: VersionString,
  canonicalHash: Sha256Digest,
  hashAlgorithm: Schema.Int
})
export type ClonedFrom = typeof ClonedFrom.Type

/**
 * A draft environment with its initial definition: the first event of every stream. `clonedFrom`
 * is set when the definition was copied from another environment's version (its provenance).
 *
 * @since 0.1.0
 * @category events
 */
export class Defined extends Schema.TaggedClass<Defined>()("Defined", {
  workspace: WorkspaceName,
  name: EnvironmentName,
  curated: Schema.Boolean,
  definition: Definition,
  clonedFrom: Schema.optionalKey(ClonedFrom)
}) {}

/**
 * The draft was replaced as a whole (e.g. `environment create --file` with changed content).
 *
 * @since 0.1.0
 * @category events
 */
export class Redefined extends Schema.TaggedClass<Redefined>()("Redefined", {
  definition: Definition
}) {}

/** @since 0.1.0 @category events */
export class PackageAdded extends Schema.TaggedClass<PackageAdded>()("PackageAdded", {
  spec: PackageSpec
}) {}

/** @since 0.1.0 @category events */
export class PackageRemoved extends Schema.TaggedClass<PackageRemoved>()("PackageRemoved", {
  manager: PackageManager,
  name: Schema.String
}) {}

/** @since 0.1.0 @category events */
export class VariableSet extends Schema.TaggedClass<VariableSet>()("VariableSet", {
  variable: Schema.String,
  value: Schema.String
}) {}

/** @since 0.1.0 @category events */
export class VariableUnset extends Schema.TaggedClass<VariableUnset>()("VariableUnset", {
  variable: Schema.String
}) {}

/** @since 0.1.0 @category events */
export class DockerConfigured extends Schema.TaggedClass<DockerConfigured>()("DockerConfigured", {
  docker: DockerSection
}) {}

/**
 * Where a shared version came from (`environment share`): its workspace, name, version and
 * canonical hash there.
 *
 * @since 0.2.0
 * @category events
 */
export const ShareSource = Schema.Struct({
  workspace: WorkspaceName,
  name: EnvironmentName,
  version: VersionString,
  canonicalHash: Sha256Digest
})
export type ShareSource = typeof ShareSource.Type

/**
 * Where a version was shared to: the workspace, and the name and version it has there.
 *
 * @since 0.2.0
 * @category events
 */
export const ShareTarget = Schema.Struct({ workspace: WorkspaceName, name: EnvironmentName, version: VersionString })
export type ShareTarget = typeof ShareTarget.Type

/**
 * A version was registered: the frozen definition, its canonical hash and the version of the
 * hash algorithm that produced it (so a later algorithm never reinterprets an old hash).
 * `sharedFrom` is set when it is a copy shared from another workspace (`environment share`).
 *
 * @since 0.1.0
 * @category events
 */
export class Registered extends Schema.TaggedClass<Registered>()("Registered", {
  name: EnvironmentName,
  version: VersionString,
  canonicalHash: Sha256Digest,
  hashAlgorithm: Schema.Int,
  definition: Definition,
  sharedFrom: Schema.optionalKey(ShareSource)
}) {}

/**
 * A version of this environment was shared to another workspace (`environment share`, as
 * `az ml environment share` promotes to a registry): the provenance on the source's side; the
 * copy's `Registered` names this version in `sharedFrom`.
 *
 * @since 0.2.0
 * @category events
 */
export class Shared extends Schema.TaggedClass<Shared>()("Shared", {
  version: VersionString,
  canonicalHash: Sha256Digest,
  to: ShareTarget
}) {}

/** @since 0.1.0 @category events */
export class Archived extends Schema.TaggedClass<Archived>()("Archived", { version: VersionString }) {}

/** @since 0.1.0 @category events */
export class Restored extends Schema.TaggedClass<Restored>()("Restored", { version: VersionString }) {}

/**
 * The whole environment was archived (`environment archive NAME`, as AzureML archives an
 * environment): the decider follows it with an `Archived` for every version that was not, and
 * archives every version registered until `EnvironmentRestored`. Exact versions still resolve.
 *
 * @since 0.1.0
 * @category events
 */
export class EnvironmentArchived extends Schema.TaggedClass<EnvironmentArchived>()("EnvironmentArchived", {}) {}

/**
 * The environment's archive was undone; the decider follows it with a `Restored` for every version
 * the archive covered (versions archived one by one before it stay archived).
 *
 * @since 0.1.0
 * @category events
 */
export class EnvironmentRestored extends Schema.TaggedClass<EnvironmentRestored>()("EnvironmentRestored", {}) {}

/**
 * The metadata of a registered version changed (`environment update`, as `az ml environment
 * update`): its description and tags as they are now. They are not hashed, so the version keeps
 * its content and its canonical hash; only what describes it changes.
 *
 * @since 0.1.0
 * @category events
 */
export class MetadataUpdated extends Schema.TaggedClass<MetadataUpdated>()("MetadataUpdated", {
  version: VersionString,
  description: Schema.optionalKey(Schema.String),
  tags: Schema.Record(Schema.String, Schema.String)
}) {}

/**
 * A label now points at `version` (it pointed at `previous`, if anything). `latest` is derived
 * and never moved by this event.
 *
 * @since 0.1.0
 * @category events
 */
export class LabelMoved extends Schema.TaggedClass<LabelMoved>()("LabelMoved", {
  label: LabelName,
  version: VersionString,
  previous: Schema.optionalKey(VersionString)
}) {}

/** @since 0.1.0 @category events */
export class LabelRemoved extends Schema.TaggedClass<LabelRemoved>()("LabelRemoved", {
  label: LabelName,
  previous: VersionString
}) {}

/**
 * An exact package set that an unpinned definition resolved to at its first build; later builds
 * reuse it until a refresh is asked for.
 *
 * @since 0.1.0
 * @category image events
 */
export class PackagesResolved extends Schema.TaggedClass<PackagesResolved>()("PackagesResolved", {
  version: VersionString,
  canonicalHash: Sha256Digest,
  pip: Schema.Array(Schema.Struct({ name: Schema.String, version: Schema.String })),
  conda: Schema.Array(Schema.Struct({ name: Schema.String, version: Schema.String, build: Schema.String, channel: Schema.String }))
}) {}

/** @since 0.1.0 @category image events */
export class ImageBuildRequested extends Schema.TaggedClass<ImageBuildRequested>()("ImageBuildRequested", {
  version: VersionString,
  canonicalHash: Sha256Digest,
  buildId: Schema.String,
  refreshPackages: Schema.Boolean
}) {}

/** @since 0.1.0 @category image events */
export class ImageBuilt extends Schema.TaggedClass<ImageBuilt>()("ImageBuilt", {
  version: VersionString,
  canonicalHash: Sha256Digest,
  buildId: Schema.String,
  registry: Schema.String,
  repository: Schema.String,
  tag: Schema.String,
  digest: Schema.String,
  durationMs: Schema.Int
}) {}

/** @since 0.1.0 @category image events */
export class ImageBuildFailed extends Schema.TaggedClass<ImageBuildFailed>()("ImageBuildFailed", {
  version: VersionString,
  canonicalHash: Sha256Digest,
  buildId: Schema.String,
  reason: Schema.String
}) {}

/**
 * The event at `position` of this stream could not be read (its row is malformed: quarantined by
 * the projector) and is set aside for good: every fold of the stream skips that position from
 * now on. The log is append-only, so this is how a damaged row is repaired, in the open: the
 * row stays, and who voided it, when and why is in the audit trail.
 *
 * @since 0.1.0
 * @category events
 */
export class EventVoided extends Schema.TaggedClass<EventVoided>()("EventVoided", {
  position: Schema.Int,
  reason: Schema.String
}) {}

/**
 * Every event an environment stream can hold.
 *
 * @since 0.1.0
 * @category events
 */
export const EnvironmentEvent = Schema.Union([
  Defined, Redefined, PackageAdded, PackageRemoved, VariableSet, VariableUnset, DockerConfigured,
  Registered, Archived, Restored, EnvironmentArchived, EnvironmentRestored, MetadataUpdated, LabelMoved, LabelRemoved,
  Shared, PackagesResolved, ImageBuildRequested, ImageBuilt, ImageBuildFailed, EventVoided
])
export type EnvironmentEvent = typeof EnvironmentEvent.Type

/** @since 0.1.0 @category events */
export type EnvironmentEventType = EnvironmentEvent["_tag"]

/**
 * The schema version of each event type as written today. Bump one when its shape changes and
 * add an upcaster in `EventCodec.ts` for the older rows.
 *
 * @since 0.1.0
 * @category events
 */
export const SCHEMA_VERSIONS: Record<EnvironmentEventType, number> = {
  Defined: 1, Redefined: 1, PackageAdded: 1, PackageRemoved: 1, VariableSet: 1, VariableUnset: 1,
  DockerConfigured: 1, Registered: 1, Archived: 1, Restored: 1, LabelMoved: 1, LabelRemoved: 1,
  PackagesResolved: 1, ImageBuildRequested: 1, ImageBuilt: 1, ImageBuildFailed: 1, EventVoided: 1,
  MetadataUpdated: 1, EnvironmentArchived: 1, EnvironmentRestored: 1, Shared: 1
}

/**
 * The JSON codec of an event payload: `{ _tag, ...fields }` <-> the class instance.
 *
 * @since 0.1.0
 * @category events
 */
export const EnvironmentEventJson = Schema.toCodecJson(EnvironmentEvent)
