/**
 * Every error a caller of Terrarium can see, as one union (`TerrariumError`): the library's
 * promises reject with one of these, and the CLI renders each by its type
 * (`cli/Diagnostics.ts`). An adapter that brings a new error adds it here, once.
 *
 * @since 0.1.0
 */
import type { DatabaseError, ExportError, ImportError, SpecError } from "@terrarium/adapters"
import type {
  ApiKeyStoreError,
  BlobStoreError,
  BuildContextStoreError,
  Environment,
  EventStoreError,
  ImageBuilderError,
  LogStoreError,
  BuildQueueError,
  ProjectionError,
  ReadModelError,
  StorageError
} from "@terrarium/domain"
import { Duration, Schema } from "effect"
import type { InvalidReference } from "./EnvironmentRef.ts"
import type { BaseRefreshIncomplete } from "./BaseImageRefresh.ts"
import type { ImageBuildFailed, ImageNotFound, NothingToCancel, PushNotRecorded, QueuedBuildDropped } from "./ImageBuilds.ts"
import type { MissingName } from "./Input.ts"
import type { InvalidInput } from "./InvalidInput.ts"

/**
 * How long a command keeps retrying after losing optimistic-concurrency races before it fails
 * with `StreamContended`.
 *
 * @since 0.1.0
 * @category config
 */
export const CONFLICT_RETRY_BUDGET = Duration.seconds(30)

/**
 * An event of the log could not be decoded into a domain event (a row written by a newer
 * release, or damaged): the stream it belongs to cannot be folded. `message` names the
 * environment and the position and says what to do: upgrade, or, for a damaged (`malformed`)
 * row, void it with `environment repair`. The other fields say the same as data.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventDecodeFailure extends Schema.TaggedError<EventDecodeFailure>()("EventDecodeFailure", {
  message: Schema.String,
  workspace: Schema.optionalKey(Schema.String),
  stream: Schema.optionalKey(Schema.String),
  position: Schema.optionalKey(Schema.Number),
  malformed: Schema.optionalKey(Schema.Boolean)
}) {}

/**
 * Other writers appended to the stream before every attempt of a command, for as long as a
 * command retries (`CONFLICT_RETRY_BUDGET`). Nothing was appended; trying again later is safe.
 * `name` is what the stream holds (an environment's name), `kind` what kind of thing that is.
 *
 * @since 0.1.0
 * @category errors
 */
export class StreamContended extends Schema.TaggedError<StreamContended>()("StreamContended", {
  workspace: Schema.String,
  name: Schema.String,
  kind: Schema.String
}) {
  override get message() {
    return `${this.kind} '${this.workspace}/${this.name}' is contended: other writers changed it before every attempt ` +
      `for ${Duration.format(CONFLICT_RETRY_BUDGET)}; nothing was changed, try again`
  }
}

/**
 * Both a PostgreSQL URL and an embedded data directory were given: which one was meant?
 *
 * @since 0.1.0
 * @category errors
 */
export class ConflictingStorage extends Schema.TaggedError<ConflictingStorage>()("ConflictingStorage", {}) {
  override get message() {
    return "databaseUrl and dataDir: give a PostgreSQL URL or an embedded data directory, not both"
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type TerrariumError =
  // Opening the storage
  | DatabaseError
  // The caller's input
  | InvalidInput
  | InvalidReference
  | SpecError
  | ImportError
  | ExportError
  | MissingName
  | ConflictingStorage
  // Rules of the registry
  | Environment.EnvironmentErrorType
  | StreamContended
  // Images
  | ImageBuildFailed
  | ImageNotFound
  | NothingToCancel
  | QueuedBuildDropped
  | BaseRefreshIncomplete
  | PushNotRecorded
  // The ports
  | EventStoreError
  | EventDecodeFailure
  | ProjectionError
  | ReadModelError
  | StorageError
  | ImageBuilderError
  | LogStoreError
  | BuildQueueError
  | BuildContextStoreError
  | BlobStoreError
  | ApiKeyStoreError
