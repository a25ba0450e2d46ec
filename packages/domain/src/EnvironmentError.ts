/**
 * The business errors of the environment decider: one `EnvironmentError` whose `reason` says
 * which rule was broken and carries the data (environment, version, label, package) a caller
 * needs to report it or react to it. Every reason has a human `message`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { CURATED_PREFIX } from "./Definition.ts"
import { RESERVED_PREFIXES, reservedPrefixOf } from "./ReservedNames.ts"
import { PackageManager } from "./PackageSpec.ts"

const env = (name: string | undefined, workspace?: string | undefined) =>
  name === undefined ? "this environment" : workspace === undefined ? `environment '${name}'` : `environment '${workspace}/${name}'`

/**
 * A command other than `Create`/`Define` reached a stream with no `Defined` event. The decider
 * does not know the stream's name; the handler may fill `workspace` and `name` in.
 *
 * @since 0.1.0
 * @category reasons
 */
export class EnvironmentNotFound extends Schema.TaggedError<EnvironmentNotFound>()("EnvironmentNotFound", {
  command: Schema.String,
  workspace: Schema.optionalKey(Schema.String),
  name: Schema.optionalKey(Schema.String)
}) {
  override get message() {
    // Without its own `name` field, `this.name` would be the Error's name ("EnvironmentNotFound").
    const what = Object.hasOwn(this, "name") ? `${env(this.name, this.workspace)} does not exist` : "the environment does not exist"
    return `${what}; define or create it before ${this.command}`
  }
}

/** `Define` on a stream that already has a definition. @since 0.1.0 @category reasons */
export class AlreadyDefined extends Schema.TaggedError<AlreadyDefined>()("AlreadyDefined", {
  workspace: Schema.String,
  name: Schema.String
}) {
  override get message() {
    return `${env(this.name, this.workspace)} is already defined; use create to replace its definition`
  }
}

/**
 * A reserved prefix (`AzureML`, `Microsoft`: any letter case, with or without a separator, or a
 * look-alike) on a name that is not a curated environment's. @since 0.1.0 @category reasons
 */
export class ReservedPrefix extends Schema.TaggedError<ReservedPrefix>()("ReservedPrefix", { name: Schema.String }) {
  override get message() {
    const prefix = reservedPrefixOf(this.name) ?? CURATED_PREFIX
    return `environment name '${this.name}' starts with (or imitates) '${prefix}': the prefixes ` +
      `${RESERVED_PREFIXES.map((p) => `'${p}'`).join(" and ")}, in any letter case, with or without a separator ` +
      `and in look-alike letters, are reserved for curated environments; choose another name`
  }
}

/**
 * A change to a curated environment by anyone but the catalog that ships with Terrarium: curated
 * environments are read-only. @since 0.1.0 @category reasons
 */
export class CuratedReadOnly extends Schema.TaggedError<CuratedReadOnly>()("CuratedReadOnly", {
  name: Schema.String,
  command: Schema.String
}) {
  override get message() {
    return `${env(this.name)} is curated (its prefix '${CURATED_PREFIX}' is reserved for the catalog that ships with ` +
      `Terrarium), so it is read-only and ${this.command} is refused; to customise it, clone it: ` +
      `terrarium environment clone ${this.name} NEW-NAME`
  }
}

/** A curated environment whose name lacks the `AzureML-` prefix. @since 0.1.0 @category reasons */
export class CuratedNameRequired extends Schema.TaggedError<CuratedNameRequired>()("CuratedNameRequired", {
  name: Schema.String
}) {
  override get message() {
    return `curated environment '${this.name}' must be named with the '${CURATED_PREFIX}' prefix`
  }
}

/**
 * An explicit version that exists already, with different content. Versions are immutable.
 *
 * @since 0.1.0
 * @category reasons
 */
export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  name: Schema.String,
  version: Schema.String,
  existingHash: Schema.String,
  requestedHash: Schema.String
}) {
  override get message() {
    return `${env(this.name)} version ${this.version} is already registered as ${this.existingHash}; ` +
      `versions are immutable and the new content hashes to ${this.requestedHash}`
  }
}

/**
 * An explicit new version whose content equals an existing version: the content has a version.
 *
 * @since 0.1.0
 * @category reasons
 */
export class AlreadyRegistered extends Schema.TaggedError<AlreadyRegistered>()("AlreadyRegistered", {
  name: Schema.String,
  requestedVersion: Schema.String,
  existingVersion: Schema.String,
  canonicalHash: Schema.String
}) {
  override get message() {
    return `cannot register ${env(this.name)} as version ${this.requestedVersion}: ` +
      `this content is already registered as version ${this.existingVersion} (${this.canonicalHash})`
  }
}

/**
 * A shared version cannot be registered where it is shared to: its version there holds other
 * content (versions are immutable), or its content is there already as another version.
 *
 * @since 0.2.0
 * @category reasons
 */
export class ShareConflict extends Schema.TaggedError<ShareConflict>()("ShareConflict", {
  workspace: Schema.String,
  name: Schema.String,
  version: Schema.String,
  canonicalHash: Schema.String,
  existingVersion: Schema.String,
  existingHash: Schema.String
}) {
  override get message() {
    const there = `cannot share into workspace '${this.workspace}' as ${env(this.name)} version ${this.version}`
    return this.existingVersion === this.version
      ? `${there}: that version is already registered there with other content (${this.existingHash}; the shared ` +
        `version hashes to ${this.canonicalHash}); versions are immutable, so share it as another version (--share-with-version)`
      : `${there}: this content (${this.canonicalHash}) is already registered there as version ${this.existingVersion}; ` +
        `share it as version ${this.existingVersion}`
  }
}

/** Packages cannot be added to a user-managed definition. @since 0.1.0 @category reasons */
export class UserManagedDependencies extends Schema.TaggedError<UserManagedDependencies>()("UserManagedDependencies", {
  name: Schema.String,
  package: Schema.String
}) {
  override get message() {
    return `cannot add package '${this.package}' to ${env(this.name)}: its Python dependencies are user-managed, ` +
      `so Terrarium installs nothing into it`
  }
}

/** @since 0.1.0 @category reasons */
export class PackageNotFound extends Schema.TaggedError<PackageNotFound>()("PackageNotFound", {
  name: Schema.String,
  manager: PackageManager,
  package: Schema.String
}) {
  override get message() {
    return `${env(this.name)} has no ${this.manager} package '${this.package}'`
  }
}

/** @since 0.1.0 @category reasons */
export class VariableNotFound extends Schema.TaggedError<VariableNotFound>()("VariableNotFound", {
  name: Schema.String,
  variable: Schema.String
}) {
  override get message() {
    return `${env(this.name)} has no variable '${this.variable}'`
  }
}

/** @since 0.1.0 @category reasons */
export class VersionNotFound extends Schema.TaggedError<VersionNotFound>()("VersionNotFound", {
  name: Schema.String,
  version: Schema.String
}) {
  override get message() {
    return `${env(this.name)} has no version ${this.version}`
  }
}

/** @since 0.1.0 @category reasons */
export class AlreadyArchived extends Schema.TaggedError<AlreadyArchived>()("AlreadyArchived", {
  name: Schema.String,
  version: Schema.String
}) {
  override get message() {
    return `${env(this.name)} version ${this.version} is already archived`
  }
}

/** @since 0.1.0 @category reasons */
export class NotArchived extends Schema.TaggedError<NotArchived>()("NotArchived", {
  name: Schema.String,
  version: Schema.String
}) {
  override get message() {
    return `${env(this.name)} version ${this.version} is not archived, so there is nothing to restore`
  }
}

/** `environment archive NAME` of an environment that is archived already. @since 0.1.0 @category reasons */
export class EnvironmentAlreadyArchived extends Schema.TaggedError<EnvironmentAlreadyArchived>()("EnvironmentAlreadyArchived", {
  name: Schema.String
}) {
  override get message() {
    return `${env(this.name)} is already archived`
  }
}

/**
 * `environment archive NAME` of an environment with no registered version: the read model lists
 * an environment as archived when it has versions and all are, so a draft alone could not be
 * hidden; refused rather than appended for nothing. @since 0.1.0 @category reasons
 */
export class NoVersionToArchive extends Schema.TaggedError<NoVersionToArchive>()("NoVersionToArchive", {
  name: Schema.String
}) {
  override get message() {
    return `${env(this.name)} has no registered version, so there is nothing to archive (register it first)`
  }
}

/** `environment restore NAME` of an environment that is not archived. @since 0.1.0 @category reasons */
export class EnvironmentNotArchived extends Schema.TaggedError<EnvironmentNotArchived>()("EnvironmentNotArchived", {
  name: Schema.String
}) {
  override get message() {
    return `${env(this.name)} is not archived, so there is nothing to restore (restore one version with NAME:VERSION)`
  }
}

/** A label cannot be moved to an archived version. @since 0.1.0 @category reasons */
export class VersionArchived extends Schema.TaggedError<VersionArchived>()("VersionArchived", {
  name: Schema.String,
  version: Schema.String,
  label: Schema.String
}) {
  override get message() {
    return `cannot point label '${this.label}' of ${env(this.name)} at version ${this.version}: it is archived (restore it first)`
  }
}

/** `latest` is maintained by Terrarium and cannot be moved or removed. @since 0.1.0 @category reasons */
export class ReservedLabel extends Schema.TaggedError<ReservedLabel>()("ReservedLabel", {
  name: Schema.String,
  label: Schema.String
}) {
  override get message() {
    return `label '${this.label}' of ${env(this.name)} is reserved: it always points at the newest non-archived version`
  }
}

/** @since 0.1.0 @category reasons */
export class LabelNotFound extends Schema.TaggedError<LabelNotFound>()("LabelNotFound", {
  name: Schema.String,
  label: Schema.String
}) {
  override get message() {
    return `${env(this.name)} has no label '${this.label}'`
  }
}

/** Resolving `latest` when every version is archived (or none is registered). @since 0.1.0 @category reasons */
export class NoActiveVersion extends Schema.TaggedError<NoActiveVersion>()("NoActiveVersion", { name: Schema.String }) {
  override get message() {
    return `${env(this.name)} has no registered version that is not archived`
  }
}

/**
 * A change of the draft (a package added, a variable set, a docker section configured) would
 * leave it over one of the limits of `Limits.ts`: each change is within the limits on its own,
 * but together they would make a definition the registry refuses. `problem` says which limit.
 *
 * @since 0.1.0
 * @category reasons
 */
export class DraftOverLimit extends Schema.TaggedError<DraftOverLimit>()("DraftOverLimit", {
  name: Schema.String,
  problem: Schema.String
}) {
  override get message() {
    return `${env(this.name)}: this change would leave the draft over a limit: ${this.problem}`
  }
}

/**
 * `VoidEvent` for a position that is not an unreadable, not yet voided event of this stream: only
 * damage may be voided, never a readable event. `unreadable` lists what could be.
 *
 * @since 0.1.0
 * @category reasons
 */
export class NotQuarantined extends Schema.TaggedError<NotQuarantined>()("NotQuarantined", {
  position: Schema.Number,
  unreadable: Schema.Array(Schema.Number),
  workspace: Schema.optionalKey(Schema.String),
  name: Schema.optionalKey(Schema.String)
}) {
  override get message() {
    const which = Object.hasOwn(this, "name") ? env(this.name, this.workspace) : "this environment"
    const options = this.unreadable.length === 0
      ? "it has none"
      : `its unreadable position${this.unreadable.length === 1 ? " is" : "s are"} ${this.unreadable.join(", ")}`
    return `the event at position ${this.position} is not an unreadable event of ${which}, so it cannot be voided; ${options}`
  }
}

/**
 * Every reason an environment command can be refused.
 *
 * @since 0.1.0
 * @category errors
 */
export const EnvironmentErrorReason = Schema.Union([
  EnvironmentNotFound, AlreadyDefined, ReservedPrefix, CuratedNameRequired, CuratedReadOnly, VersionConflict, AlreadyRegistered, ShareConflict,
  UserManagedDependencies, PackageNotFound, VariableNotFound, VersionNotFound, AlreadyArchived, NotArchived,
  EnvironmentAlreadyArchived, EnvironmentNotArchived, NoVersionToArchive, VersionArchived, ReservedLabel, LabelNotFound, NoActiveVersion, DraftOverLimit, NotQuarantined
])
export type EnvironmentErrorReason = typeof EnvironmentErrorReason.Type

/** @since 0.1.0 @category errors */
export type EnvironmentErrorReasonTag = EnvironmentErrorReason["_tag"]

/**
 * The one error of the environment decider; recover with `Effect.catchTag("EnvironmentError", …)`
 * and switch on `error.reason._tag`.
 *
 * @since 0.1.0
 * @category errors
 */
export class EnvironmentError extends Schema.TaggedError<EnvironmentError>()("EnvironmentError", {
  reason: EnvironmentErrorReason
}) {
  override get message() {
    return this.reason.message
  }
}

/**
 * Wraps a reason in an `EnvironmentError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const environmentError = (reason: EnvironmentErrorReason): EnvironmentError => new EnvironmentError({ reason })
