/**
 * An append as the adapters of the event store take it: checked, and each event's `data` and
 * `metadata` serialised to JSON text, once, in the caller's fiber.
 *
 * **Checked before queueing.** The SQL store checks and serialises an append before it can lead
 * or queue (GroupCommit.ts): a value JSON cannot hold (a BigInt, a cycle, a throwing `toJSON`, a
 * function) fails that caller alone (`StorageFailure` caused by `InvalidAppend`), and a batch
 * never serialises anything, so one caller's unserialisable event can never fail the batch it
 * would share, or the leader writing it. What PostgreSQL cannot store (NUL, half a surrogate
 * pair, an integer past 32 bits) is refused here too, before anything is sent. The in-memory
 * store takes the same check, so it refuses exactly what the SQL store refuses.
 *
 * Shared by the adapters (`sql/`, `memory/`), like the read model's pure projection.
 *
 * @since 0.1.0
 */
import { describeCause, type EventStoreError, type ExpectedVersion, type NewEvent, storageFailure, type StreamRef } from "@terrarium/domain"
import { Schema } from "effect"

/**
 * Why an append was refused before anything was sent: the `cause` of its `StorageFailure`. It
 * names the stream, the event (`id (type)`) when one is at fault, and the field.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAppend extends Schema.TaggedError<InvalidAppend>()("InvalidAppend", {
  workspace: Schema.String,
  stream: Schema.String,
  /** The offending event as `id (type)`; absent when the fault is the append's own (`expected`). */
  event: Schema.optional(Schema.String),
  /** `expected`, `workspace`, `stream`, `id`, `type`, `schemaVersion`, `data` or `metadata`. */
  field: Schema.String,
  problem: Schema.String,
  /** What `JSON.stringify` threw, if that was the problem. */
  cause: Schema.optional(Schema.Defect())
}) {
  override get message() {
    const stream = `${this.workspace}/${this.stream}`
    return `${this.event === undefined ? `append to ${stream}` : `event ${this.event} in ${stream}`}: ${this.field} ${this.problem}`
  }
}

/**
 * One event of an append, its `data` and `metadata` already JSON text.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodedEvent {
  readonly id: string
  readonly type: string
  readonly schemaVersion: number
  readonly data: string
  readonly metadata: string
}

/**
 * An append checked and encoded by `encodeAppend`: writing it, alone or in a batch, serialises
 * nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface Append {
  readonly stream: StreamRef
  readonly expected: ExpectedVersion
  readonly events: ReadonlyArray<EncodedEvent>
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const metadataOf = (e: NewEvent) => ({
  actor: e.metadata.actor,
  correlationId: e.metadata.correlationId,
  causationId: e.metadata.causationId
})

/** `value` as JSON text, or what keeps it from being JSON (a BigInt, a cycle, a throwing `toJSON`, a function). */
const jsonTextOf = (value: unknown): string | { readonly problem: string; readonly cause?: unknown } => {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (cause) {
    return { problem: `is not JSON: ${describeCause(cause)}`, cause }
  }
  // undefined, a function or a symbol (or a toJSON returning one) has no JSON text at all.
  return text ?? { problem: `is not JSON: ${value === undefined ? "undefined" : `a ${typeof value}`} has no JSON form` }
}

/** Why one event cannot be appended: the field, and what is wrong with it. */
interface EventProblem {
  readonly field: string
  readonly problem: string
  readonly cause?: unknown
}

const INT32_MAX = 2_147_483_647
const INT32_MIN = -2_147_483_648

/**
 * A JSON text's escape of a character PostgreSQL's `jsonb` cannot hold: NUL, or half of a
 * surrogate pair (`JSON.stringify` writes a lone surrogate as `\udXXX` and a whole pair as the
 * character itself). The escape must not itself be escaped: an even run of backslashes before it.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(0000|d[89a-f][0-9a-f]{2})/i

/** Why PostgreSQL could not store this JSON text or plain text, if it could not. */
const unstorable = (text: string, json: boolean): string | undefined => {
  if (json) {
    const escape = UNSTORABLE_ESCAPE.exec(text)
    if (escape === null) return undefined
    return escape[1] === "0000" ? "holds the NUL character (\\u0000), which PostgreSQL cannot store" : "holds half of a surrogate pair, which is not Unicode text"
  }
  return text.includes("\u0000") ? "holds the NUL character (\\u0000), which PostgreSQL cannot store" : undefined
}

/** One event checked and encoded, or its problem. */
const encodeEvent = (e: NewEvent): EncodedEvent | EventProblem => {
  if (typeof e.id !== "string" || !uuid.test(e.id)) return { field: "id", problem: "is not a UUID" }
  if (typeof e.type !== "string") return { field: "type", problem: "is not a string" }
  const badType = unstorable(e.type, false)
  if (badType !== undefined) return { field: "type", problem: badType }
  if (!Number.isSafeInteger(e.schemaVersion) || e.schemaVersion > INT32_MAX || e.schemaVersion < INT32_MIN) {
    return { field: "schemaVersion", problem: `must be an integer of 32 bits, got ${String(e.schemaVersion)}` }
  }
  const data = jsonTextOf(e.data)
  if (typeof data !== "string") return { field: "data", ...data }
  const badData = unstorable(data, true)
  if (badData !== undefined) return { field: "data", problem: badData }
  const metadata = jsonTextOf(metadataOf(e))
  if (typeof metadata !== "string") return { field: "metadata", ...metadata }
  const badMetadata = unstorable(metadata, true)
  if (badMetadata !== undefined) return { field: "metadata", problem: badMetadata }
  return { id: e.id, type: e.type, schemaVersion: e.schemaVersion, data, metadata }
}

/**
 * Check one append and encode each event's `data` and `metadata` as JSON text, once, in the
 * caller's fiber and before it can take leadership or queue: a bad append fails its own caller
 * and reaches nobody else.
 *
 * @since 0.1.0
 * @category constructors
 */
export const encodeAppend = (stream: StreamRef, expected: ExpectedVersion, events: ReadonlyArray<NewEvent>): Append | InvalidAppend => {
  if (expected !== "any" && !(Number.isSafeInteger(expected) && expected >= 0 && expected <= INT32_MAX)) {
    return new InvalidAppend({
      workspace: stream.workspace, stream: stream.stream, field: "expected",
      problem: `version must be "any" or an integer from 0 to ${INT32_MAX}, got ${String(expected)}`
    })
  }
  for (const [field, text] of [["workspace", stream.workspace], ["stream", stream.stream]] as const) {
    const bad = unstorable(text, false)
    if (bad !== undefined) return new InvalidAppend({ workspace: stream.workspace, stream: stream.stream, field, problem: bad })
  }
  const encoded: Array<EncodedEvent> = []
  for (const e of events) {
    const event = encodeEvent(e)
    if ("problem" in event) {
      return new InvalidAppend({ workspace: stream.workspace, stream: stream.stream, event: `${String(e.id)} (${String(e.type)})`, ...event })
    }
    encoded.push(event)
  }
  return { stream, expected, events: encoded }
}

/**
 * The port's error for an append refused before anything was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export const refusedAppend = (invalid: InvalidAppend): EventStoreError =>
  storageFailure("append", invalid)
