/**
 * A decider, Emmett-style: three plain functions and no classes. `decide` turns a command and the
 * current state into new events (or a business error); `evolve` folds one event into the state.
 * The current state of a stream is `events.reduce(evolve, initialState)`.
 *
 * `decide` returns a `Result` rather than an `Effect`: it is pure and synchronous, so the handler
 * can read, decide and append in one retry loop, and specs can check it without a runtime.
 *
 * @since 0.1.0
 */
import type { Result } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Decider<State, Command, Event, Error> {
  readonly initialState: State
  readonly decide: (command: Command, state: State) => Result.Result<ReadonlyArray<Event>, Error>
  readonly evolve: (state: State, event: Event) => State
}

/**
 * The state after `events`, starting from the decider's initial state.
 *
 * @since 0.1.0
 * @category folding
 */
export const fold = <State, Event>(
  decider: Pick<Decider<State, unknown, Event, unknown>, "initialState" | "evolve">,
  events: Iterable<Event>
): State => {
  let state = decider.initialState
  for (const event of events) state = decider.evolve(state, event)
  return state
}
