/**
 * The per-event projection logic, as a pure function: a decoded event and its envelope in, a
 * list of row operations out. No database, no clock, no randomness, so that replaying the log
 * from position 0 gives exactly the rows that following it did, and so that it can be unit tested
 * without SQL. Both adapters apply the operations: `sql/ProjectionSql.ts` to tables,
 * `memory/MemoryReadModel.ts` to maps.
 *
 * @since 0.1.0
 */
import {
  Build,
  CanonicalHash,
  Environment,
  EnvironmentEventJson,
  environmentType,
  EventCodec,
  ProjectionError,
  SCHEMA_VERSIONS,
  UndecodableEvent
} from "@terrarium/domain"
import type {
  AuditEntry,
  BuildFailureRow,
  BuiltImageRow,
  EnvironmentEvent,
  EnvironmentType,
  ImageBuildRow,
  PushedImageRow,
  RecordedEvent
} from "@terrarium/domain"
import { Cause, Exit, Result, Schema } from "effect"

/**
 * Where an event sits in the log and who caused it: the recorded event minus its payload, with
 * the environment name taken from the stream (`environment/<name>`).
 *
 * @since 0.1.0
 * @category model
 */
export interface Envelope {
  readonly position: number
  readonly workspace: string
  readonly name: string
  readonly occurredAt: Date
  readonly actor: string
  readonly correlationId: string
  readonly causationId: string | null
  /**
   * The stored payload when it was written under today's schema version of its type, and so is
   * already what encoding the decoded event would give; undefined when the row was upcast.
   */
  readonly currentData: unknown
}

/** @since 0.1.0 @category model */
export const ENVIRONMENT_STREAM_PREFIX = "environment/"

/**
 * The environment name of a stream, or undefined for a stream that is not an environment (the
 * log may hold other kinds of streams; the environment projections skip them).
 *
 * @since 0.1.0
 * @category model
 */
export const environmentNameOf = (stream: string): string | undefined =>
  stream.startsWith(ENVIRONMENT_STREAM_PREFIX) && stream.length > ENVIRONMENT_STREAM_PREFIX.length
    ? stream.slice(ENVIRONMENT_STREAM_PREFIX.length)
    : undefined

/**
 * The envelope of a recorded event, or undefined when its stream is not an environment.
 * `versions` are the schema versions the events are decoded to (today's, but for tests).
 *
 * @since 0.1.0
 * @category model
 */
export const envelopeOf = (
  recorded: RecordedEvent,
  versions: Readonly<Record<string, number>> = SCHEMA_VERSIONS
): Envelope | undefined => {
  const name = environmentNameOf(recorded.stream)
  if (name === undefined) return undefined
  return {
    position: recorded.position,
    workspace: recorded.workspace,
    name,
    occurredAt: recorded.occurredAt,
    actor: recorded.metadata.actor,
    correlationId: recorded.metadata.correlationId,
    causationId: recorded.metadata.causationId,
    currentData: Object.hasOwn(versions, recorded.type) && recorded.schemaVersion === versions[recorded.type]
      ? recorded.data
      : undefined
  }
}

/** A stream key. @since 0.1.0 @category row operations */
export interface EnvironmentKey {
  readonly workspace: string
  readonly name: string
}

/**
 * One change to the projection tables. Operations are applied in order; each names the rows it
 * touches by key, never by a value read earlier, so applying is a fold with no hidden state.
 *
 * @since 0.1.0
 * @category row operations
 */
export type RowOp =
  | {
    /** A new environment stream (Defined). */
    readonly _tag: "InsertEnvironment"
    readonly key: EnvironmentKey
    readonly curated: boolean
    readonly draftType: EnvironmentType
    readonly at: Date
    readonly by: string
    readonly position: number
  }
  | {
    /** Any event of the stream: it was updated then; a new definition may change its type. */
    readonly _tag: "TouchEnvironment"
    readonly key: EnvironmentKey
    readonly at: Date
    readonly position: number
    readonly draftType?: EnvironmentType
  }
  | {
    readonly _tag: "InsertVersion"
    readonly key: EnvironmentKey
    readonly version: string
    readonly canonicalHash: string
    readonly hashAlgorithm: number
    readonly environmentType: EnvironmentType
    readonly description: string | null
    readonly tags: Readonly<Record<string, string>>
    readonly at: Date
    readonly by: string
    readonly position: number
  }
  | {
    /** Archive (archivedAt set) or restore (archivedAt null) one version. */
    readonly _tag: "SetArchived"
    readonly key: EnvironmentKey
    readonly version: string
    readonly archivedAt: Date | null
  }
  | {
    /** A version's description and tags as they are now (`MetadataUpdated`); its content is unchanged. */
    readonly _tag: "SetMetadata"
    readonly key: EnvironmentKey
    readonly version: string
    readonly description: string | null
    readonly tags: Readonly<Record<string, string>>
  }
  | {
    readonly _tag: "SetLabel"
    readonly key: EnvironmentKey
    readonly label: string
    readonly version: string
    readonly at: Date
    readonly by: string
    readonly position: number
  }
  | {
    readonly _tag: "RemoveLabel"
    readonly key: EnvironmentKey
    readonly label: string
  }
  | {
    /**
     * Point `latest` at the newest non-archived version (by registration position), or remove it
     * when there is none. The label only counts as moved (at, by, position) when its version
     * actually changes.
     */
    readonly _tag: "RecomputeLatest"
    readonly key: EnvironmentKey
    readonly at: Date
    readonly by: string
    readonly position: number
  }
  | {
    /** A registration enters the cache, inheriting any image already built for its hash. */
    readonly _tag: "InsertCacheEntry"
    readonly key: EnvironmentKey
    readonly version: string
    readonly canonicalHash: string
    readonly position: number
  }
  | {
    /** An image was built for a hash: every registration with that hash can use it. */
    readonly _tag: "SetImage"
    readonly canonicalHash: string
    readonly registry: string
    readonly repository: string
    readonly tag: string
    readonly digest: string
    readonly buildId: string
    readonly builtAt: Date
  }
  | {
    /**
     * A build event changed what its hash's row says (every build event but `BuildRequested`):
     * status, running build and lease, failure. The last image built is left as it is.
     */
    readonly _tag: "SetBuildStatus"
    readonly canonicalHash: string
    readonly image: string
    readonly status: ImageBuildRow["status"]
    readonly buildId: string
    readonly leaseHolder: string | null
    readonly leaseExpiresAt: Date | null
    readonly failure: BuildFailureRow | null
    readonly at: Date
    readonly position: number
  }
  | {
    /** An `ImageBuilt`: the hash's last image built; always after its `SetBuildStatus`. */
    readonly _tag: "SetBuiltImage"
    readonly canonicalHash: string
    readonly built: BuiltImageRow
  }
  | {
    /** A `BuildStarted`: a build of its own (`builds`, migration 0016), running. */
    readonly _tag: "InsertBuild"
    readonly buildId: string
    readonly canonicalHash: string
    readonly image: string
    readonly cause: Build.StartCause
    readonly noCache: boolean
    readonly leaseHolder: string
    readonly leaseExpiresAt: Date
    readonly at: Date
    readonly position: number
  }
  | {
    /** A `BuildLeaseRenewed`: the build's lease runs longer. */
    readonly _tag: "RenewBuildLease"
    readonly buildId: string
    readonly leaseExpiresAt: Date
    readonly position: number
  }
  | {
    /** An `ImageBuilt` or `BuildFailed`: how the build of `buildId` ended. */
    readonly _tag: "EndBuild"
    readonly buildId: string
    readonly status: "built" | "failed"
    readonly built: BuiltImageRow | null
    readonly failure: BuildFailureRow | null
    readonly at: Date
    readonly position: number
  }
  | {
    /** An `ImagePushed`: one more push of the hash's image (migration 0012). */
    readonly _tag: "InsertImagePush"
    readonly canonicalHash: string
    readonly push: PushedImageRow
  }
  | {
    /** An event whose row is damaged, set aside (see `quarantine`). */
    readonly _tag: "InsertQuarantine"
    readonly key: EnvironmentKey
    readonly stream: string
    readonly position: number
    readonly eventType: string
    readonly schemaVersion: number
    readonly error: string
    readonly at: Date
    readonly by: string
  }
  | {
    /** An `EventVoided` of the same stream resolves the quarantined event at `position`. */
    readonly _tag: "ResolveQuarantine"
    readonly key: EnvironmentKey
    readonly position: number
    readonly voidedPosition: number
    readonly at: Date
    readonly by: string
    readonly reason: string
  }
  | (
    // The audit trail's row as the read model returns it, with its name given as the key.
    & {
      readonly _tag: "InsertAudit"
      readonly key: EnvironmentKey
      /**
       * Whether `details` is the event's payload exactly as the log stores it (true unless it
       * was upcast, or the event is quarantined). The SQL adapter, whose tables sit beside the
       * log, then copies it from the event's row instead of sending it back (as it does the
       * envelope's fields, always).
       */
      readonly detailsAsStored: boolean
    }
    & Omit<AuditEntry, "workspace" | "name">
  )

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const describeBase = (docker: { readonly base: { readonly kind: string; readonly image?: string; readonly dockerfilePath?: string } }) =>
  docker.base.kind === "image" ? `base image ${docker.base.image ?? "?"}` : `Dockerfile${docker.base.dockerfilePath !== undefined ? ` ${docker.base.dockerfilePath}` : ""}`

/**
 * A one-line, human description of an event, as shown by `audit`. Values of variables are left
 * out (they are in the details): a summary is meant to be skimmed in a terminal.
 *
 * @since 0.1.0
 * @category summaries
 */
export const summarize = (event: EnvironmentEvent): string => {
  switch (event._tag) {
    case "Defined": {
      const kind = event.curated ? "curated" : environmentType(event.name, event.definition)
      const from = event.clonedFrom
      return `defined ${kind} environment ${event.name}` +
        (from === undefined ? "" : ` as a clone of ${from.workspace}/${from.name}:${from.version} (${CanonicalHash.shortHash(from.canonicalHash)})`)
    }
    case "Redefined":
      return `replaced the draft definition (${environmentType("", event.definition)}, ${describeBase(event.definition.docker)})`
    case "PackageAdded":
      return `added ${event.spec.kind} package ${event.spec.text}`
    case "PackageRemoved":
      return `removed ${event.manager} package ${event.name}`
    case "VariableSet":
      return `set variable ${event.variable}`
    case "VariableUnset":
      return `unset variable ${event.variable}`
    case "DockerConfigured":
      return `configured docker: ${describeBase(event.docker)}${event.docker.gpuSupport ? ", GPU" : ""}, ${event.docker.platform.os}/${event.docker.platform.arch}`
    case "Registered": {
      const registered = `registered version ${event.version} (${CanonicalHash.shortHash(event.canonicalHash, "labelled")})`
      const from = event.sharedFrom
      return from === undefined ? registered : `${registered}, shared from workspace ${from.workspace} as ${from.name}:${from.version}`
    }
    case "Shared":
      return `shared version ${event.version} to workspace ${event.to.workspace} as ${event.to.name}:${event.to.version}`
    case "Archived":
      return `archived version ${event.version}`
    case "Restored":
      return `restored version ${event.version}`
    case "EnvironmentArchived":
      return "archived the environment (its versions follow, and new versions start archived)"
    case "EnvironmentRestored":
      return "restored the environment (the versions its archive covered follow)"
    case "MetadataUpdated":
      return `updated the description and tags of version ${event.version}`
    case "LabelMoved":
      return event.previous === undefined
        ? `set label ${event.label} → ${event.version}`
        : `moved label ${event.label} ${event.previous} → ${event.version}`
    case "LabelRemoved":
      return `removed label ${event.label} (was ${event.previous})`
    case "PackagesResolved":
      return `resolved ${plural(event.pip.length, "pip package")} and ${plural(event.conda.length, "conda package")} for version ${event.version}`
    case "ImageBuildRequested":
      return `requested image build ${event.buildId} for version ${event.version}${event.refreshPackages ? " (refreshing packages)" : ""}`
    case "ImageBuilt":
      return `built image ${event.registry}/${event.repository}:${event.tag} (${CanonicalHash.shortHash(event.digest, "labelled")}) for version ${event.version} in ${(event.durationMs / 1000).toFixed(1)} s`
    case "ImageBuildFailed":
      return `image build ${event.buildId} for version ${event.version} failed: ${event.reason}`
    case "EventVoided":
      return `voided the unreadable event at position ${event.position}: ${event.reason}`
  }
}

/** The version an event is about, if any. @since 0.1.0 @category summaries */
export const versionOf = (event: EnvironmentEvent): string | null => {
  switch (event._tag) {
    case "Registered": case "Archived": case "Restored": case "MetadataUpdated": case "LabelMoved": case "Shared":
    case "PackagesResolved": case "ImageBuildRequested": case "ImageBuilt": case "ImageBuildFailed":
      return event.version
    case "LabelRemoved":
      return event.previous
    default:
      return null
  }
}

const encodeEvent = Schema.encodeSync(EnvironmentEventJson)

/**
 * The row operations of one event, in the order they must be applied.
 *
 * The audit details are the event as today's schema writes it: a row written under an older
 * schema version reaches `project` upcast (`EventCodec.decode`) and is encoded again, so the audit
 * trail shows every event of a type in one shape, whenever it was written. A row already at
 * today's version keeps its stored payload, which is that same encoding, without re-encoding
 * every event of a catch-up or rebuild.
 *
 * @since 0.1.0
 * @category projection
 */
export const project = (event: EnvironmentEvent, envelope: Envelope): ReadonlyArray<RowOp> => {
  const key: EnvironmentKey = { workspace: envelope.workspace, name: envelope.name }
  const at = envelope.occurredAt
  const by = envelope.actor
  const position = envelope.position
  const audit: RowOp = {
    _tag: "InsertAudit", key, position, eventType: event._tag, version: versionOf(event), actor: by,
    occurredAt: at, correlationId: envelope.correlationId, causationId: envelope.causationId,
    summary: summarize(event), details: envelope.currentData ?? encodeEvent(event), detailsAsStored: envelope.currentData !== undefined
  }
  const touch: RowOp = { _tag: "TouchEnvironment", key, at, position }
  const latest: RowOp = { _tag: "RecomputeLatest", key, at, by, position }

  switch (event._tag) {
    case "Defined":
      return [{
        _tag: "InsertEnvironment", key, curated: event.curated,
        draftType: event.curated ? "curated" : environmentType(envelope.name, event.definition), at, by, position
      }, audit]
    case "Redefined":
      return [{ ...touch, draftType: environmentType(envelope.name, event.definition) }, audit]
    case "Registered": {
      const type = environmentType(envelope.name, event.definition)
      return [
        { ...touch, draftType: type },
        {
          _tag: "InsertVersion", key, version: event.version, canonicalHash: event.canonicalHash,
          hashAlgorithm: event.hashAlgorithm, environmentType: type,
          description: event.definition.description ?? null, tags: event.definition.tags, at, by, position
        },
        latest,
        { _tag: "InsertCacheEntry", key, version: event.version, canonicalHash: event.canonicalHash, position },
        audit
      ]
    }
    case "Archived":
      return [touch, { _tag: "SetArchived", key, version: event.version, archivedAt: at }, latest, audit]
    case "Restored":
      return [touch, { _tag: "SetArchived", key, version: event.version, archivedAt: null }, latest, audit]
    case "MetadataUpdated":
      return [touch, {
        _tag: "SetMetadata", key, version: event.version, description: event.description ?? null, tags: event.tags
      }, audit]
    case "LabelMoved":
      // `latest` belongs to the projection; the decider never moves it, and an event that did
      // would be overwritten by the next recompute anyway, so it only reaches the audit trail.
      return event.label === Environment.LATEST_LABEL
        ? [touch, audit]
        : [touch, { _tag: "SetLabel", key, label: event.label, version: event.version, at, by, position }, audit]
    case "LabelRemoved":
      return event.label === Environment.LATEST_LABEL
        ? [touch, audit]
        : [touch, { _tag: "RemoveLabel", key, label: event.label }, audit]
    case "ImageBuilt":
      return [touch, {
        _tag: "SetImage", canonicalHash: event.canonicalHash, registry: event.registry,
        repository: event.repository, tag: event.tag, digest: event.digest, buildId: event.buildId, builtAt: at
      }, audit]
    case "EventVoided":
      return [touch, {
        _tag: "ResolveQuarantine", key, position: event.position, voidedPosition: position, at, by, reason: event.reason
      }, audit]
    case "PackageAdded": case "PackageRemoved": case "VariableSet": case "VariableUnset":
    case "DockerConfigured": case "PackagesResolved": case "ImageBuildRequested": case "ImageBuildFailed":
    // What the environment's archive changes in the read model is in the `Archived`/`Restored`
    // events the decider appends after it.
    case "EnvironmentArchived": case "EnvironmentRestored":
    // The provenance of a share is in the audit trail; the copy's rows come from its `Registered`.
    case "Shared":
      return [touch, audit]
  }
}

/**
 * The row operations of one event of a build stream (`Build.ts`): the image cache's row of its
 * hash. A `BuildRequested` changes nothing there (its `BuildStarted` follows it at once); the
 * image name is taken from the state the row already has, or from the event that carries it.
 *
 * @since 0.2.0
 * @category projection
 */
export const projectBuild = (
  event: Build.BuildEvent,
  canonicalHash: string,
  image: string,
  recorded: Pick<RecordedEvent, "occurredAt" | "position">
): ReadonlyArray<RowOp> => {
  const at = recorded.occurredAt
  const status = (
    fields: Pick<Extract<RowOp, { _tag: "SetBuildStatus" }>, "status" | "buildId" | "leaseHolder" | "leaseExpiresAt" | "failure">
  ): RowOp => ({ _tag: "SetBuildStatus", canonicalHash, image, ...fields, at, position: recorded.position })
  switch (event._tag) {
    case "BuildRequested":
      return []
    case "BuildStarted":
    case "BuildLeaseRenewed": {
      const lease = new Date(event.leaseExpiresAt)
      return [
        status({ status: "building", buildId: event.buildId, leaseHolder: event.holder, leaseExpiresAt: lease, failure: null }),
        event._tag === "BuildStarted"
          ? {
            _tag: "InsertBuild", buildId: event.buildId, canonicalHash, image, cause: event.cause, noCache: event.noCache,
            leaseHolder: event.holder, leaseExpiresAt: lease, at, position: recorded.position
          }
          : { _tag: "RenewBuildLease", buildId: event.buildId, leaseExpiresAt: lease, position: recorded.position }
      ]
    }
    case "ImageBuilt": {
      const { _tag, ...fields } = event
      const built = { ...fields, builtAt: at }
      return [
        status({ status: "built", buildId: event.buildId, leaseHolder: null, leaseExpiresAt: null, failure: null }),
        { _tag: "SetBuiltImage", canonicalHash, built },
        { _tag: "EndBuild", buildId: event.buildId, status: "built", built, failure: null, at, position: recorded.position }
      ]
    }
    case "BuildFailed": {
      const { _tag, ...fields } = event
      const failure = { ...fields, failedAt: at }
      return [
        status({ status: "failed", buildId: event.buildId, leaseHolder: null, leaseExpiresAt: null, failure }),
        { _tag: "EndBuild", buildId: event.buildId, status: "failed", built: null, failure, at, position: recorded.position }
      ]
    }
    case "ImagePushed": {
      const { _tag, ...push } = event
      return [{ _tag: "InsertImagePush", canonicalHash, push: { ...push, pushedAt: at, position: recorded.position } }]
    }
  }
}

/** A decoder's complaint can quote a large payload; the quarantine keeps the start of it. */
const MAX_ERROR_LENGTH = 2000

const clip = (text: string) => (text.length <= MAX_ERROR_LENGTH ? text : `${text.slice(0, MAX_ERROR_LENGTH)}…`)

/**
 * The row operations of an event whose row is damaged: it is recorded as quarantined (with the
 * decoder's complaint) and gets an audit entry, so that nothing is skipped silently while every
 * other stream goes on being projected. Its own stream's reads fail until it is voided.
 *
 * @since 0.1.0
 * @category projection
 */
export const quarantine = (recorded: RecordedEvent, envelope: Envelope, error: EventCodec.EventDecodeError): ReadonlyArray<RowOp> => {
  const key: EnvironmentKey = { workspace: envelope.workspace, name: envelope.name }
  const detail = clip(error.detail)
  return [
    {
      _tag: "InsertQuarantine", key, stream: recorded.stream, position: envelope.position, eventType: recorded.type,
      schemaVersion: recorded.schemaVersion, error: detail, at: envelope.occurredAt, by: envelope.actor
    },
    {
      _tag: "InsertAudit", key, position: envelope.position, eventType: recorded.type, version: null,
      actor: envelope.actor, occurredAt: envelope.occurredAt, correlationId: envelope.correlationId,
      causationId: envelope.causationId,
      summary: `quarantined: this ${recorded.type} event cannot be read; void it with environment repair`,
      details: { quarantined: detail }, detailsAsStored: false
    }
  ]
}

/**
 * The row operations of one recorded event, as both projectors apply them: none for a stream
 * that is not an environment, `project` for an event that decodes, `quarantine` for a damaged
 * row. A row this code is too old to read (an unknown type, a newer schema version) stops the
 * projector before it instead: skipping it would lose what a newer Terrarium meant.
 *
 * @since 0.1.0
 * @category projection
 */
export const rowOpsOf = (recorded: RecordedEvent): Exit.Exit<ReadonlyArray<RowOp>, ProjectionError> => {
  const hash = Build.hashOfStream(recorded.workspace, recorded.stream)
  if (hash !== undefined) {
    // A build row this code cannot read stops the projector, as an unreadable environment row
    // does: the image cache must not answer from a log it skipped.
    const decoded = EventCodec.decodeBuild(recorded)
    if (Exit.isSuccess(decoded)) return Exit.succeed(projectBuild(decoded.value, hash, imageOf(decoded.value, hash), recorded))
    return Exit.fail(new ProjectionError({ reason: new UndecodableEvent({ position: recorded.position, cause: decodeErrorOf(decoded) }) }))
  }
  const envelope = envelopeOf(recorded)
  if (envelope === undefined) return Exit.succeed([])
  const decoded = EventCodec.decode(recorded)
  if (Exit.isSuccess(decoded)) return Exit.succeed(project(decoded.value, envelope))
  const cause = decodeErrorOf(decoded)
  return cause.isMalformed
    ? Exit.succeed(quarantine(recorded, envelope, cause))
    : Exit.fail(new ProjectionError({ reason: new UndecodableEvent({ position: recorded.position, cause }) }))
}

// The decoders fail with their error only, never a defect or an interruption.
const decodeErrorOf = (failed: Exit.Failure<unknown, EventCodec.EventDecodeError>): EventCodec.EventDecodeError =>
  Result.getOrThrow(Cause.findError(failed.cause))

/**
 * The image of a build event: every event but `BuildRequested`/`ImageBuilt` leaves it to the
 * row, so this is only the fallback for a row that does not exist yet (the image name the app
 * derives from the hash: docs/images.md).
 */
const imageOf = (event: Build.BuildEvent, hash: string): string =>
  event._tag === "BuildRequested" || event._tag === "ImageBuilt" ? event.image : Build.imageNameOf(hash)

/**
 * The row operations of a batch of recorded events, in order. Synchronous (an `Exit`): it runs
 * for every event of a replay.
 *
 * @since 0.1.0
 * @category projection
 */
export const rowOpsOfBatch = (events: ReadonlyArray<RecordedEvent>): Exit.Exit<ReadonlyArray<RowOp>, ProjectionError> => {
  const ops: Array<RowOp> = []
  for (const event of events) {
    const exit = rowOpsOf(event)
    if (Exit.isFailure(exit)) return exit
    for (const op of exit.value) ops.push(op)
  }
  return Exit.succeed(ops)
}

/**
 * How many times a rebuild tries to swap its read model in before giving up (`RebuildOvertaken`),
 * in both adapters: each round after the first only replays what was appended during the one
 * before, so failing this often means the log grows without pause under a live follower.
 *
 * @since 0.1.0
 * @category projection
 */
export const SWAP_ROUNDS = 20

/**
 * The version of what `project` (and `quarantine`) produce from the log, stored with each read
 * model it builds (SQL: `projection_checkpoints.projection_version`, migration 0009). Bump it in
 * a release that changes the rows `project` produces for some event, or that adds an upcaster
 * (the same stored row then projects differently): a projector that finds a read model of
 * another version rebuilds it from the log before it serves, so an upgrade never serves rows the
 * old code built.
 *
 * Version 2 (0.4.0): builds by id (`InsertBuild`, `RenewBuildLease`, `EndBuild`; migration 0016).
 *
 * @since 0.1.0
 * @category projection
 */
export const PROJECTION_VERSION = 2
