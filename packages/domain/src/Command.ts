/**
 * The commands of an environment stream: what a user (or an importer) asks for. The decider in
 * `Environment.ts` turns each into events or an `EnvironmentError`.
 *
 * Commands other than `Create` and `Define` carry no workspace or name: the handler has already
 * picked the stream. Commands that register (`Create`, `Register`) carry the canonical hash of
 * the definition they register, computed by the handler with `CanonicalHash.hash`, so that
 * `decide` stays pure and synchronous.
 *
 * What a command brings into the log is checked here, against today's rules
 * (`DefinitionCheck.ts`): a definition, a spec, a docker section or a text field (a variable's
 * value) that breaks one fails to decode or construct. The events decode with the bare shapes, so history written under older
 * rules still reads.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Sha256Digest } from "./CanonicalHash.ts"
import { EnvironmentName, LabelName, VersionString, WorkspaceName } from "./Definition.ts"
import { CheckedDefinition, CheckedDockerSection, CheckedPackageSpec, CheckedText } from "./DefinitionCheck.ts"
import { ClonedFrom, ShareSource, ShareTarget } from "./Event.ts"
import { PackageManager } from "./PackageSpec.ts"

/**
 * Define (or redefine) the draft and register it in one step, as `az ml environment create`.
 * `canonicalHash` is `CanonicalHash.hash(definition)`. Without `version` the next number is used;
 * content equal to an existing version registers nothing.
 *
 * @since 0.1.0
 * @category commands
 */
export class Create extends Schema.TaggedClass<Create>()("Create", {
  workspace: WorkspaceName,
  name: EnvironmentName,
  curated: Schema.Boolean,
  definition: CheckedDefinition,
  version: Schema.optionalKey(VersionString),
  canonicalHash: Sha256Digest
}) {}

/**
 * Start a draft without registering it: the first event of a stream. `environment clone` defines
 * the copy this way, with `clonedFrom` saying what it copied.
 *
 * @since 0.1.0
 * @category commands
 */
export class Define extends Schema.TaggedClass<Define>()("Define", {
  workspace: WorkspaceName,
  name: EnvironmentName,
  curated: Schema.Boolean,
  definition: CheckedDefinition,
  clonedFrom: Schema.optionalKey(ClonedFrom)
}) {}

/**
 * Add a package to the draft's conda section, or replace the spec of a package of that name.
 *
 * @since 0.1.0
 * @category commands
 */
export class AddPackage extends Schema.TaggedClass<AddPackage>()("AddPackage", {
  spec: CheckedPackageSpec
}) {}

/** @since 0.1.0 @category commands */
export class RemovePackage extends Schema.TaggedClass<RemovePackage>()("RemovePackage", {
  manager: PackageManager,
  name: CheckedText
}) {}

/** @since 0.1.0 @category commands */
export class SetVariable extends Schema.TaggedClass<SetVariable>()("SetVariable", {
  variable: CheckedText,
  value: CheckedText
}) {}

/** @since 0.1.0 @category commands */
export class UnsetVariable extends Schema.TaggedClass<UnsetVariable>()("UnsetVariable", {
  variable: CheckedText
}) {}

/** Replace the draft's docker section as a whole. @since 0.1.0 @category commands */
export class ConfigureDocker extends Schema.TaggedClass<ConfigureDocker>()("ConfigureDocker", {
  docker: CheckedDockerSection
}) {}

/**
 * Register the current draft. `canonicalHash` is `CanonicalHash.hash(draft)`, computed by the
 * handler from the state it decided on.
 *
 * @since 0.1.0
 * @category commands
 */
export class Register extends Schema.TaggedClass<Register>()("Register", {
  version: Schema.optionalKey(VersionString),
  canonicalHash: Sha256Digest
}) {}

/** @since 0.1.0 @category commands */
export class Archive extends Schema.TaggedClass<Archive>()("Archive", { version: VersionString }) {}

/** @since 0.1.0 @category commands */
export class Restore extends Schema.TaggedClass<Restore>()("Restore", { version: VersionString }) {}

/**
 * Archive the whole environment (`environment archive NAME`): every version, and every version
 * registered while it stays archived. @since 0.1.0 @category commands
 */
export class ArchiveEnvironment extends Schema.TaggedClass<ArchiveEnvironment>()("ArchiveEnvironment", {}) {}

/** Undo `ArchiveEnvironment` (`environment restore NAME`). @since 0.1.0 @category commands */
export class RestoreEnvironment extends Schema.TaggedClass<RestoreEnvironment>()("RestoreEnvironment", {}) {}

/**
 * Change what describes a registered version: set its description, set tags and remove tags (the
 * only mutable properties, as in `az ml environment update`). Its content is not touched.
 *
 * @since 0.1.0
 * @category commands
 */
export class UpdateMetadata extends Schema.TaggedClass<UpdateMetadata>()("UpdateMetadata", {
  version: VersionString,
  description: Schema.optionalKey(CheckedText),
  setTags: Schema.Record(CheckedText, CheckedText),
  removeTags: Schema.Array(CheckedText)
}) {}

/**
 * Register a version shared from another workspace (`environment share`), on the stream it is
 * shared to: as `Create` with an explicit version, the registration naming where it came from.
 * Its version there must be free or already hold the same content; a copy is never curated.
 *
 * @since 0.2.0
 * @category commands
 */
export class RegisterShared extends Schema.TaggedClass<RegisterShared>()("RegisterShared", {
  workspace: WorkspaceName,
  name: EnvironmentName,
  definition: CheckedDefinition,
  version: VersionString,
  canonicalHash: Sha256Digest,
  from: ShareSource
}) {}

/**
 * Record, on the source's stream, that `version` was shared to `to` (once: recording the same
 * share again does nothing).
 *
 * @since 0.2.0
 * @category commands
 */
export class RecordShare extends Schema.TaggedClass<RecordShare>()("RecordShare", {
  version: VersionString,
  to: ShareTarget
}) {}

/** Point a label at a version (`latest` is reserved). @since 0.1.0 @category commands */
export class MoveLabel extends Schema.TaggedClass<MoveLabel>()("MoveLabel", {
  label: LabelName,
  version: VersionString
}) {}

/** @since 0.1.0 @category commands */
export class RemoveLabel extends Schema.TaggedClass<RemoveLabel>()("RemoveLabel", { label: LabelName }) {}

/**
 * Void the event at `position` of this stream, for `reason` (`environment repair`): the one way to
 * repair a row that cannot be read, by appending, never by changing the log. `unreadable` are the
 * positions of the stream that could not be decoded and are not voided yet, as the handler found
 * them when it read the stream (the decider never sees rows, only events): only one of those may
 * be voided, so a readable event can never be hidden this way.
 *
 * @since 0.1.0
 * @category commands
 */
export class VoidEvent extends Schema.TaggedClass<VoidEvent>()("VoidEvent", {
  position: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0))),
  reason: Schema.Trim.pipe(Schema.check(Schema.isNonEmpty())),
  unreadable: Schema.Array(Schema.Int)
}) {}

/**
 * Every command the environment decider accepts.
 *
 * @since 0.1.0
 * @category commands
 */
export const EnvironmentCommand = Schema.Union([
  Create, Define, AddPackage, RemovePackage, SetVariable, UnsetVariable, ConfigureDocker,
  Register, Archive, Restore, ArchiveEnvironment, RestoreEnvironment, UpdateMetadata, MoveLabel, RemoveLabel, VoidEvent,
  RegisterShared, RecordShare
])
export type EnvironmentCommand = typeof EnvironmentCommand.Type

/** @since 0.1.0 @category commands */
export type EnvironmentCommandType = EnvironmentCommand["_tag"]
