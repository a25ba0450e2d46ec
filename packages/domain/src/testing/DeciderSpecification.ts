/**
 * Given/when/then specifications for deciders, after Emmett's `DeciderSpecification`:
 *
 * ```ts
 * const spec = DeciderSpecification.for(Environment.decider)
 * it.effect("archives a version", () =>
 *   spec.given([defined, registered]).when(new Archive({ version: "1" })).then([new Archived({ version: "1" })]))
 * ```
 *
 * The assertion runs when `then…` is called and throws on a mismatch, so it works in a plain
 * `it(…)`; it also returns `Effect.void`, so it can be returned from `it.effect(…)` or yielded.
 * Events are compared structurally (`Equal.equals`), so tagged classes and plain data both work.
 * Only `effect` is imported, so the package stays free of any test framework.
 *
 * @since 0.1.0
 */
import { Effect, Equal, Result } from "effect"
import type { Decider } from "../Decider.ts"

/**
 * What `thenFails` checks: nothing (any error), an error `_tag` (or the `_tag` of its `reason`),
 * or a predicate.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorCheck<Err> = string | ((error: Err) => boolean)

/** @since 0.1.0 @category models */
export interface Then<Event, Err> {
  /** The decision is exactly these events, in this order. */
  readonly then: (expected: ReadonlyArray<Event>) => Effect.Effect<void>
  /** The decision is a failure (matching `check`, when given). */
  readonly thenFails: (check?: ErrorCheck<Err>) => Effect.Effect<void>
  /** The decision succeeds with no events. */
  readonly thenNothingHappened: () => Effect.Effect<void>
}

/** @since 0.1.0 @category models */
export interface When<Command, Event, Err> {
  readonly when: (command: Command) => Then<Event, Err>
}

/** @since 0.1.0 @category models */
export interface Given<Command, Event, Err> {
  readonly given: (events: ReadonlyArray<Event>) => When<Command, Event, Err>
}

/**
 * The error thrown when a specification does not hold.
 *
 * @since 0.1.0
 * @category errors
 */
export class SpecificationFailed extends Error {
  override readonly name = "SpecificationFailed"
}

const show = (value: unknown): string => {
  try {
    return JSON.stringify(value, null, 2) ?? String(value)
  } catch {
    return String(value)
  }
}

const describeError = (error: unknown): string => {
  const tag = (error as { _tag?: unknown })?._tag
  const reason = (error as { reason?: { _tag?: unknown } })?.reason?._tag
  const message = error instanceof Error ? error.message : show(error)
  return `${String(tag ?? "error")}${reason === undefined ? "" : `(${String(reason)})`}: ${message}`
}

const matches = <Err>(error: Err, check: ErrorCheck<Err>): boolean => {
  if (typeof check === "function") return check(error)
  const e = error as { _tag?: unknown; reason?: { _tag?: unknown } }
  return e?._tag === check || e?.reason?._tag === check
}

const assert = (ok: boolean, message: () => string): Effect.Effect<void> => {
  if (!ok) throw new SpecificationFailed(message())
  return Effect.void
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const DeciderSpecification = {
  for: <State, Command, Event, Err>(decider: Decider<State, Command, Event, Err>): Given<Command, Event, Err> => ({
    given: (events) => ({
      when: (command) => {
        let state = decider.initialState
        for (const event of events) state = decider.evolve(state, event)
        const decision = decider.decide(command, state)
        const got = (): string =>
          Result.isSuccess(decision) ? `events ${show(decision.success)}` : `failure ${describeError(decision.failure)}`
        return {
          then: (expected) =>
            assert(
              Result.isSuccess(decision) && decision.success.length === expected.length &&
                decision.success.every((event, i) => Equal.equals(event, expected[i])),
              () => `expected events ${show(expected)}\nbut got ${got()}`
            ),
          thenFails: (check) =>
            assert(
              Result.isFailure(decision) && (check === undefined || matches(decision.failure, check)),
              () => `expected a failure${typeof check === "string" ? ` ${check}` : check ? " matching the predicate" : ""}\nbut got ${got()}`
            ),
          thenNothingHappened: () =>
            assert(Result.isSuccess(decision) && decision.success.length === 0, () => `expected no events\nbut got ${got()}`)
        }
      }
    })
  })
}
