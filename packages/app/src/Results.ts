/**
 * What the use cases take as scope and return: plain data, the same through the library, the
 * CLI's `--output json` and (later) HTTP.
 *
 * @since 0.1.0
 */
import type { ClonedFrom, Definition, Diff, EnvironmentSummary, EnvironmentType, ImageBuildRow, ProjectionVersion, StorageKind, VersionRow } from "@terrarium/domain"

/**
 * The defaults of every call: who is acting (the CLI: the OS user, or `--actor`).
 *
 * @since 0.1.0
 * @category config
 */
export interface Caller {
  readonly actor: string
}

/**
 * Per-call overrides for a write. Every call gets its own correlation id (a fresh UUIDv7 unless
 * given), shared by the events it appends, so an embedding service can pass its request id.
 *
 * @since 0.1.0
 * @category config
 */
export interface CallContext {
  readonly actor?: string | undefined
  readonly correlationId?: string | undefined
}

/** @since 0.1.0 @category model */
export interface Scope {
  readonly workspace: string
}

/** A write: where, and who under which correlation id. @since 0.1.0 @category model */
export type WriteScope = Scope & CallContext

/** @since 0.1.0 @category model */
export interface Registration {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly environmentType: EnvironmentType
  /** False when the definition was already registered and nothing was appended. */
  readonly created: boolean
  readonly archived: boolean
  /**
   * Only when the definition was already registered with another description or tags: the ones
   * given, which were not applied (metadata is not content; `update` changes it on the version).
   */
  readonly metadataNotApplied?: VersionMetadata
}

/**
 * What `curated sync` (and the check on start) did: which release this Terrarium ships, which was
 * published before, whether the catalog was read and published by this call, and the versions
 * it added, left unchanged and refused (a version registered with other content: never rewritten).
 *
 * @since 0.1.0
 * @category model
 */
export interface CatalogSync {
  readonly release: string
  readonly previousRelease: string | null
  readonly published: boolean
  readonly versions: number
  readonly added: ReadonlyArray<{ readonly name: string; readonly version: string }>
  readonly unchanged: number
  readonly refused: ReadonlyArray<{ readonly name: string; readonly version: string; readonly reason: string }>
}

/**
 * What `clone` returns: the new environment's draft, and the version it was copied from.
 *
 * @since 0.1.0
 * @category model
 */
export interface Clone extends Draft {
  readonly clonedFrom: ClonedFrom
}

/**
 * What describes a version without being its content: not hashed, changed by `update`.
 *
 * @since 0.1.0
 * @category models
 */
export interface VersionMetadata {
  readonly description?: string
  readonly tags: Readonly<Record<string, string>>
}

/** A version as `show` returns it: the frozen definition and where it stands. @since 0.1.0 @category model */
export interface EnvironmentVersion {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly hashAlgorithm: number
  readonly environmentType: EnvironmentType
  readonly archived: boolean
  readonly labels: ReadonlyArray<string>
  readonly definition: Definition
  /** The log position the answer was computed at (the head, or the as-of position). */
  readonly asOfPosition: number
}

/**
 * A workspace's registry (or one environment of it) as the read model had it at a point of the
 * log (`registryAsOf`): the rows its queries gave then.
 *
 * @since 0.4.0
 * @category model
 */
export interface PastRegistry {
  readonly workspace: string
  /** The log position it stands at. */
  readonly asOfPosition: number
  /** Every environment there was then, archived ones too, by name (as `environments`). */
  readonly environments: ReadonlyArray<EnvironmentSummary>
  /** Every version of those then, archived ones too, oldest first, with its description and tags then. */
  readonly versions: ReadonlyArray<VersionRow>
  /** The image cache's row then of each of their hashes that had one, by hash. */
  readonly images: ReadonlyArray<ImageBuildRow>
}

/**
 * What `environment archive NAME` / `restore NAME` did to a whole environment: whether it is
 * archived now, and the versions archived or restored with it.
 *
 * @since 0.1.0
 * @category model
 */
export interface EnvironmentArchive {
  readonly workspace: string
  readonly name: string
  readonly archived: boolean
  readonly versions: ReadonlyArray<string>
}

/**
 * What `share` did: the version shared, the copy it has in the other workspace (`created: false`
 * when that copy was there already), and whether the build context of a Dockerfile-based version
 * is in the store for the copy to be built from: `stored`; `missing` for a version registered
 * before build contexts were stored (register it again from its folder); `none` when it has no
 * local build context.
 *
 * @since 0.2.0
 * @category model
 */
export interface Share {
  readonly from: {
    readonly workspace: string
    readonly name: string
    readonly version: string
    readonly canonicalHash: string
  }
  readonly to: Registration
  readonly buildContext: "stored" | "missing" | "none"
}

/** The draft (what `register` would register next) and whether it differs from latest. @since 0.1.0 @category model */
export interface Draft {
  readonly workspace: string
  readonly name: string
  readonly definition: Definition
  readonly canonicalHash: string
  /** The registered version with the same content, if any. */
  readonly registeredAs: string | undefined
  readonly changed: boolean
}

/** @since 0.1.0 @category model */
export interface VersionDiff {
  readonly from: EnvironmentVersion
  readonly to: EnvironmentVersion
  readonly diff: Diff.DefinitionDiff
}

/**
 * What `repair` did: the position it voided and why, and the rows of the stream that still
 * cannot be read (empty when the environment reads again).
 *
 * @since 0.1.0
 * @category model
 */
export interface Repair {
  readonly workspace: string
  readonly name: string
  readonly voidedPosition: number
  readonly reason: string
  readonly unreadable: ReadonlyArray<number>
}

/** @since 0.1.0 @category model */
export interface Status {
  readonly database: StorageKind
  readonly schema: string
  readonly headPosition: number
  readonly projectionCheckpoint: number
  /**
   * The projection version of the stored read model (null while nothing was projected) and of
   * this Terrarium; when they differ, the next read rebuilds the read model first.
   */
  readonly projectionVersion: ProjectionVersion
  readonly migrations: ReadonlyArray<string>
  /**
   * Events set aside because their rows are damaged and not yet voided (as far as the read models
   * have got): their streams cannot be read until `environment repair` voids them.
   */
  readonly quarantined: {
    readonly count: number
    readonly positions: ReadonlyArray<number>
  }
}
