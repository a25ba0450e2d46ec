import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import type { Decider } from "../src/Decider.ts"
import { DeciderSpecification, SpecificationFailed } from "../src/testing/index.ts"

// A counter that refuses to go above 2: small enough to see every branch of the specification.
type Event = { readonly _tag: "Added"; readonly n: number }
type Command = { readonly _tag: "Add"; readonly n: number }
class TooBig extends Error {
  readonly _tag = "TooBig"
}
const counter: Decider<number, Command, Event, TooBig> = {
  initialState: 0,
  decide: (command, total) =>
    total + command.n > 2 ? Result.fail(new TooBig("too big")) : Result.succeed(command.n === 0 ? [] : [{ _tag: "Added", n: command.n }]),
  evolve: (total, event) => total + event.n
}
const spec = DeciderSpecification.for(counter)
const add = (n: number): Command => ({ _tag: "Add", n })
const added = (n: number): Event => ({ _tag: "Added", n })

describe("DeciderSpecification", () => {
  it.effect("then passes on the expected events and can be returned from it.effect", () =>
    spec.given([added(1)]).when(add(1)).then([added(1)]))

  it("works in a plain it", () => {
    spec.given([]).when(add(0)).thenNothingHappened()
    spec.given([added(2)]).when(add(1)).thenFails("TooBig")
  })

  it.effect("can be yielded", () =>
    Effect.gen(function*() {
      yield* spec.given([]).when(add(2)).then([added(2)])
      yield* spec.given([added(1), added(1)]).when(add(1)).thenFails((e) => e.message === "too big")
    }))

  it("then fails on other events, on no events and on a failure", () => {
    assert.throws(() => spec.given([]).when(add(1)).then([added(2)]), SpecificationFailed, /expected events/)
    assert.throws(() => spec.given([]).when(add(0)).then([added(1)]), SpecificationFailed)
    assert.throws(() => spec.given([added(2)]).when(add(1)).then([]), SpecificationFailed, /but got failure TooBig/)
  })

  it("thenFails fails on success and on a different error", () => {
    assert.throws(() => spec.given([]).when(add(1)).thenFails(), SpecificationFailed, /expected a failure/)
    assert.throws(() => spec.given([added(2)]).when(add(1)).thenFails("Other"), SpecificationFailed)
    assert.throws(() => spec.given([added(2)]).when(add(1)).thenFails(() => false), SpecificationFailed)
  })

  it("thenNothingHappened fails on events and on a failure", () => {
    assert.throws(() => spec.given([]).when(add(1)).thenNothingHappened(), SpecificationFailed, /expected no events/)
    assert.throws(() => spec.given([added(2)]).when(add(1)).thenNothingHappened(), SpecificationFailed)
  })

  it("given folds the events with evolve", () => {
    // With 2 already added, adding 1 is refused; from scratch it is not.
    spec.given([added(1), added(1)]).when(add(1)).thenFails("TooBig")
    spec.given([]).when(add(1)).then([added(1)])
  })
})
