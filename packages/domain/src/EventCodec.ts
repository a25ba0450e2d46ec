/**
 * Between environment events and the event store's payload-agnostic rows.
 *
 * `encode` writes `type` = the event's tag, `schemaVersion` = `SCHEMA_VERSIONS[tag]` and `data` =
 * the JSON encoding (`EnvironmentEventJson`, which includes `_tag`). `decode` reads a row back,
 * first upcasting `data` written under an older schema version.
 *
 * How to change an event's shape:
 * 1. change its class in `Event.ts` and bump its entry in `SCHEMA_VERSIONS` (say 1 → 2);
 * 2. add `"Type@1": (data) => …` to `UPCASTERS` below, turning the JSON `data` of a version-1 row
 *    into the JSON of version 2 (e.g. supply a default for a new field);
 * 3. keep the old upcasters: a row written at version 1 is taken through `@1`, `@2`, … in turn.
 * Rows are never rewritten; old data is only reinterpreted when read.
 *
 * @since 0.1.0
 */
import { Exit, Result, Schema } from "effect"
import { BUILD_SCHEMA_VERSIONS, BuildEventJson } from "./Build.ts"
import type { BuildEvent } from "./Build.ts"
import { EnvironmentEventJson, SCHEMA_VERSIONS } from "./Event.ts"
import type { EnvironmentEvent } from "./Event.ts"
import type { EventMetadata, NewEvent, RecordedEvent } from "./ports/EventStore.ts"

/**
 * Turns the JSON `data` of a row at schema version `n` into the JSON of version `n + 1`.
 *
 * @since 0.1.0
 * @category upcasting
 */
export type Upcaster = (data: unknown) => unknown

/**
 * Upcasters keyed by `"<type>@<schemaVersion they read>"`.
 *
 * @since 0.1.0
 * @category upcasting
 */
export type Upcasters = Readonly<Record<string, Upcaster>>

/**
 * The upcasters of today's events: none, every type is still at version 1.
 *
 * @since 0.1.0
 * @category upcasting
 */
export const UPCASTERS: Upcasters = {}

/**
 * Why a row cannot be read. `Malformed` is damage: a type and schema version this code knows,
 * with data that does not match it (a row written behind the application's back); such a row can
 * be quarantined and voided. The others mean this code is too old or incomplete for the row (a
 * newer Terrarium wrote it): nothing can be read past it until the code is upgraded.
 *
 * @since 0.1.0
 * @category errors
 */
export const DecodeProblem = Schema.Literals(["UnknownType", "NewerSchema", "NoUpcaster", "Malformed"])
export type DecodeProblem = typeof DecodeProblem.Type

/**
 * A stored row that cannot be read as an environment event: unknown type, a schema version with
 * no upcaster path, or data that does not match the schema (`problem` says which).
 *
 * @since 0.1.0
 * @category errors
 */
export class EventDecodeError extends Schema.TaggedError<EventDecodeError>()("EventDecodeError", {
  workspace: Schema.String,
  stream: Schema.String,
  position: Schema.Number,
  streamVersion: Schema.Number,
  type: Schema.String,
  schemaVersion: Schema.Number,
  problem: DecodeProblem,
  detail: Schema.String
}) {
  /** True when the row is damaged rather than too new: it may be quarantined and voided. */
  get isMalformed() { return this.problem === "Malformed" }

  override get message() {
    return `cannot decode event at position ${this.position} (${this.workspace}/${this.stream} #${this.streamVersion}, ` +
      `type ${this.type} v${this.schemaVersion}): ${this.detail}`
  }
}

/** An encoder of one kind of stream: its JSON codec and the current version of each type. */
const encoderOf = <A extends { readonly _tag: string }>(json: Schema.Codec<A, unknown>, versions: Readonly<Record<A["_tag"], number>>) => {
  const encodeData = Schema.encodeSync(json)
  return (event: A, metadata: EventMetadata, id: string): NewEvent => ({
    id,
    type: event._tag,
    schemaVersion: versions[event._tag as A["_tag"]],
    data: encodeData(event),
    metadata
  })
}

/**
 * An environment event as a row to append. `id` is the caller's UUID for the event.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: (event: EnvironmentEvent, metadata: EventMetadata, id: string) => NewEvent = encoderOf(
  EnvironmentEventJson as Schema.Codec<EnvironmentEvent, unknown>,
  SCHEMA_VERSIONS
)

/**
 * A decoder of one kind of stream: its JSON codec, its upcasters and the current version of
 * each type. The environment and the build streams each have one (`decode`, `decodeBuild`).
 */
const decoderOf = <A extends { readonly _tag: string }>(
  json: Schema.Codec<A, unknown>,
  options: { readonly upcasters: Upcasters; readonly versions: Readonly<Record<string, number>> }
) => {
  // Synchronous: a replay decodes every event of the log, and running an Effect per event cost
  // twice the decoding itself (bench/README.md, "Measurements behind code choices").
  const decodeData = Schema.decodeUnknownResult(json)
  return (recorded: RecordedEvent): Exit.Exit<A, EventDecodeError> => {
    const failure = (problem: DecodeProblem, detail: string) =>
      Exit.fail(new EventDecodeError({
        workspace: recorded.workspace,
        stream: recorded.stream,
        position: recorded.position,
        streamVersion: recorded.streamVersion,
        type: recorded.type,
        schemaVersion: recorded.schemaVersion,
        problem,
        detail
      }))
    const current = Object.hasOwn(options.versions, recorded.type) ? options.versions[recorded.type] : undefined
    if (current === undefined) return failure("UnknownType", "unknown event type")
    if (recorded.schemaVersion > current) {
      return failure("NewerSchema", `schema version ${recorded.schemaVersion} is newer than this code's ${current}; upgrade Terrarium`)
    }
    let data = recorded.data
    for (let version = recorded.schemaVersion; version < current; version++) {
      const upcaster = options.upcasters[`${recorded.type}@${version}`]
      if (upcaster === undefined) return failure("NoUpcaster", `no upcaster from schema version ${version} to ${version + 1}`)
      data = upcaster(data)
    }
    // The row's `type` is authoritative; `_tag` in `data` is redundant and may be missing.
    const tagged = typeof data === "object" && data !== null && !Array.isArray(data) ? { ...data, _tag: recorded.type } : data
    const decoded = decodeData(tagged)
    if (Result.isFailure(decoded)) return failure("Malformed", decoded.failure.message)
    const event = decoded.success
    return event._tag === recorded.type ? Exit.succeed(event) : failure("Malformed", `data is a ${event._tag}, not a ${recorded.type}`)
  }
}

/**
 * A decoder with its own upcaster table and current versions; `decode` is this with today's.
 * Exists so the upcasting path can be tested before any event has a second version.
 *
 * @since 0.1.0
 * @category decoding
 */
export const makeDecode = (options: {
  readonly upcasters: Upcasters
  readonly versions: Readonly<Record<string, number>>
}): (recorded: RecordedEvent) => Exit.Exit<EnvironmentEvent, EventDecodeError> =>
  decoderOf(EnvironmentEventJson as Schema.Codec<EnvironmentEvent, unknown>, options)

/**
 * A stored row as an environment event, upcast to today's schema first. The result is an `Exit`,
 * which is an Effect: callers that decode many rows check it synchronously.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode: (recorded: RecordedEvent) => Exit.Exit<EnvironmentEvent, EventDecodeError> = makeDecode({
  upcasters: UPCASTERS,
  versions: SCHEMA_VERSIONS
})

/**
 * The upcasters of the build stream's events (`Build.ts`): none yet.
 *
 * @since 0.2.0
 * @category upcasting
 */
export const BUILD_UPCASTERS: Upcasters = {}

/**
 * A build event as a row to append (a stream of `Build.streamOf(hash)`).
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeBuild: (event: BuildEvent, metadata: EventMetadata, id: string) => NewEvent = encoderOf(
  BuildEventJson as Schema.Codec<BuildEvent, unknown>,
  BUILD_SCHEMA_VERSIONS
)

/**
 * A stored row of a build stream as a build event. The type names are those of the build stream:
 * its `ImageBuilt` is not the environment stream's older `ImageBuilt`, and which decoder reads a
 * row is chosen by its stream, never by its type. Synchronous like `decode` (an `Exit`).
 *
 * @since 0.2.0
 * @category decoding
 */
export const decodeBuild: (recorded: RecordedEvent) => Exit.Exit<BuildEvent, EventDecodeError> = decoderOf(
  BuildEventJson as Schema.Codec<BuildEvent, unknown>,
  { upcasters: BUILD_UPCASTERS, versions: BUILD_SCHEMA_VERSIONS }
)
