/**
 * `create` checks a definition before it hashes it: a lone surrogate in a hashed field is an
 * `InvalidInput` naming the field (hashing it first was a defect, a TypeError from canonical
 * JSON), and a definition over the limits is refused before its text is hashed or anything is read.
 */
import { assert, describe, it } from "@effect/vitest"
import { BuildContextStore, emptyDefinition, EventStore, MAX_DOCKERFILE_LENGTH, Projections } from "@terrarium/domain"
import { Cause, Effect, Exit, Layer } from "effect"
import * as EnvironmentCommands from "../src/EnvironmentCommands.ts"

// Ports that fail the test if they are used at all: a refused definition never gets that far.
const untouched = Layer.mergeAll(
  Layer.succeed(EventStore, new Proxy({}, { get: () => assert.fail("the event store was used") }) as never),
  Layer.succeed(Projections, new Proxy({}, { get: () => assert.fail("the projections were used") }) as never),
  Layer.succeed(BuildContextStore, new Proxy({}, { get: () => assert.fail("the build-context store was used") }) as never)
)

const create = (definition: typeof emptyDefinition) =>
  Effect.runPromiseExit(
    Effect.gen(function*() {
      const commands = yield* EnvironmentCommands.make({ actor: "tester" })
      return yield* commands.create({ workspace: "w", name: "n", definition })
    }).pipe(Effect.provide(untouched))
  )

const failureOf = (exit: Exit.Exit<unknown, unknown>) => {
  assert.isTrue(Exit.isFailure(exit))
  if (Exit.isSuccess(exit)) throw new Error("unreachable")
  assert.isFalse(Cause.hasDies(exit.cause), `a defect, not a refusal: ${Cause.pretty(exit.cause)}`)
  return exit.cause.reasons.find((r) => r._tag === "Fail")?.error as { readonly _tag: string; readonly field: string; readonly message: string }
}

describe("create checks the definition before hashing it", () => {
  it("a lone surrogate in a hashed field is an InvalidInput naming it, not a defect", async () => {
    const error = failureOf(await create({ ...emptyDefinition, variables: { MODE: "a\uD800" } }))
    assert.strictEqual(error._tag, "InvalidInput")
    assert.strictEqual(error.field, "definition.variables.MODE")
    assert.include(error.message, "lone surrogate (U+D800)")
  })

  it("a Dockerfile over its limit is refused at once", async () => {
    const started = performance.now()
    const dockerfile = `FROM x\n${"#".repeat(50 * MAX_DOCKERFILE_LENGTH)}`
    const error = failureOf(await create({ ...emptyDefinition, docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", dockerfile } } }))
    assert.strictEqual(error.field, "definition.docker.base.dockerfile")
    assert.include(error.message, "(MAX_DOCKERFILE_LENGTH)")
    assert.isBelow(performance.now() - started, 2_000)
  })
})
