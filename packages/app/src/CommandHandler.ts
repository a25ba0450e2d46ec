/**
 * The one command handler: read a stream, fold it with the decider's `evolve`, `decide`, append
 * the new events at the stream version that was read; on a lost optimistic-concurrency race
 * (another writer appended first) read and decide again. It works with any decider and any event
 * codec, and knows the `EventStore` port and nothing else (Emmett's `handleCommandWithDecider`).
 *
 * The command is derived from the state inside the retried loop (`toCommand`), so whatever it
 * depends on — a draft's hash, the version `@latest` points at — is derived again after a lost
 * race.
 *
 * @since 0.1.0
 */
import { type Decider, EventStore, EventStoreError, type EventMetadata, isWrongExpectedVersion, type NewEvent, type RecordedEvent, type StreamRef } from "@terrarium/domain"
import { Duration, Effect, Schedule } from "effect"
// Event ids are UUIDv7 (RFC 9562): time-ordered, so the unique event_id index grows at its right
// edge like the position key instead of taking random inserts all over a large log, and ids sort
// by when they were made.
import { v7 as uuidv7 } from "uuid"
import { CONFLICT_RETRY_BUDGET, StreamContended } from "./Errors.ts"

/**
 * How a stream's events are stored: domain events to the store's rows and back.
 *
 * @since 0.1.0
 * @category model
 */
export interface StreamCodec<Event, DecodeError> {
  readonly decode: (recorded: RecordedEvent) => Effect.Effect<Event, DecodeError>
  readonly encode: (event: Event, metadata: EventMetadata, id: string) => NewEvent
  /**
   * A stream's rows as the events to fold, for a codec where a later event changes how an earlier
   * row reads (a row voided by a later event is skipped). Without it each row is decoded alone.
   */
  readonly decodeStream?: (recorded: ReadonlyArray<RecordedEvent>) => Effect.Effect<ReadonlyArray<Event>, DecodeError>
}

/**
 * The stream a command goes to, and who writes under which correlation id.
 *
 * @since 0.1.0
 * @category model
 */
export interface CommandTarget {
  readonly stream: StreamRef
  /** What the stream holds, as errors name it: `{ kind: "environment", name: "pydata" }`. */
  readonly subject: { readonly kind: string; readonly name: string }
  readonly actor: string
  readonly correlationId: string
}

/**
 * The outcome of a handled command: the state after the appended events, what was appended
 * (nothing when the decider decided nothing needed to change), and the command that was decided.
 *
 * @since 0.1.0
 * @category model
 */
export interface Handled<State, Command, Event> {
  readonly state: State
  readonly appended: ReadonlyArray<Event>
  readonly command: Command
}

/**
 * The waits between attempts of a command that lost a race: 5 ms growing 1.5x, each capped at
 * 250 ms and then jittered (±20%, so at most 300 ms), for at most `CONFLICT_RETRY_BUDGET` in all.
 * The cap keeps a writer that lost many races from sleeping for seconds while the stream is free
 * again; the jitter comes after it so that writers that all reached the cap do not retry in
 * lockstep and collide again.
 */
const conflictRetrySchedule = Schedule.exponential("5 millis", 1.5).pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.millis(250)))),
  Schedule.jittered,
  Schedule.upTo({ duration: CONFLICT_RETRY_BUDGET })
)

const isConflict = (error: unknown): boolean => error instanceof EventStoreError && isWrongExpectedVersion(error)

/**
 * Reads a stream (up to a log position, for as-of reads) and folds it.
 *
 * @since 0.1.0
 * @category handling
 */
export const loadStream = <State, Event, DecodeError>(
  decider: Pick<Decider<State, unknown, Event, unknown>, "initialState" | "evolve">,
  codec: StreamCodec<Event, DecodeError>
) =>
(stream: StreamRef, untilPosition?: number): Effect.Effect<
  { readonly state: State; readonly streamVersion: number },
  EventStoreError | DecodeError,
  EventStore
> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const recorded = yield* store.readStream(stream, untilPosition === undefined ? undefined : { untilPosition })
    const events = yield* (codec.decodeStream === undefined ? Effect.forEach(recorded, codec.decode) : codec.decodeStream(recorded))
    const state = events.reduce(decider.evolve, decider.initialState)
    const streamVersion = recorded.length === 0 ? 0 : recorded[recorded.length - 1]!.streamVersion
    return { state, streamVersion }
  })

/**
 * The rows of one command's events. They share the call's correlation id; each event after the
 * first is caused by the one before it (the `Registered` that follows a `Defined`).
 */
const toNewEvents = <Event>(
  encode: StreamCodec<Event, unknown>["encode"],
  events: ReadonlyArray<Event>,
  target: CommandTarget
): ReadonlyArray<NewEvent> => {
  let causationId: string | null = null
  return events.map((event) => {
    const id = uuidv7()
    const row = encode(event, { actor: target.actor, correlationId: target.correlationId, causationId }, id)
    causationId = id
    return row
  })
}

/**
 * A handler for one decider: `handle(target, toCommand)` runs one command against one stream.
 * A stream that keeps changing under it for `CONFLICT_RETRY_BUDGET` fails with `StreamContended`.
 *
 * @since 0.1.0
 * @category handling
 */
export const commandHandler = <State, Command, Event, DecideError, DecodeError>(
  decider: Decider<State, Command, Event, DecideError>,
  codec: StreamCodec<Event, DecodeError>
) => {
  const load = loadStream(decider, codec)
  return <C extends Command, E, R>(
    target: CommandTarget,
    toCommand: (state: State) => Effect.Effect<C, E, R>
  ): Effect.Effect<
    Handled<State, C, Event>,
    E | DecideError | DecodeError | EventStoreError | StreamContended,
    R | EventStore
  > =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const { state, streamVersion } = yield* load(target.stream)
      const command = yield* toCommand(state)
      const events = yield* Effect.fromResult(decider.decide(command, state))
      if (events.length > 0) yield* store.append(target.stream, streamVersion, toNewEvents(codec.encode, events, target))
      return { state: events.reduce(decider.evolve, state), appended: events, command }
    }).pipe(
      Effect.retry({ schedule: conflictRetrySchedule, while: isConflict }),
      Effect.catchIf(isConflict, () =>
        Effect.fail(new StreamContended({ workspace: target.stream.workspace, ...target.subject })))
    )
}
