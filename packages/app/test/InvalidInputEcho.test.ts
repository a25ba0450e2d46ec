/**
 * An `InvalidInput` repeats the value it refuses only when that is short plain text: a refused
 * description of 50 MB, with a NUL, or with other secrets around a URL's credentials is named by
 * its field, never repeated.
 */
import { assert, describe, it } from "@effect/vitest"
import { emptyDefinition, Environment, MAX_TEXT_LENGTH, URL_CREDENTIALS_MESSAGE } from "@terrarium/domain"
import { Effect, Exit } from "effect"
import { build } from "../src/InvalidInput.ts"

const hash = `sha256:${"0".repeat(64)}`
const refusedCreate = (description: string) =>
  Effect.runSyncExit(build(Environment.Create, { workspace: "w", name: "n", curated: false, definition: { ...emptyDefinition, description }, canonicalHash: hash }))

const messageOf = <A, E extends { readonly message: string; readonly field: string }>(exit: Exit.Exit<A, E>) => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
  assert.isDefined(error)
  return error!
}

describe("what an InvalidInput repeats", () => {
  it("a long description is named, not repeated", () => {
    const started = performance.now()
    const error = messageOf(refusedCreate("x".repeat(50 * 1_048_576)))
    assert.strictEqual(error.field, "definition.description")
    assert.include(error.message, `(MAX_TEXT_LENGTH)`)
    assert.isBelow(error.message.length, 500)
    assert.isBelow(performance.now() - started, 2_000)
    assert.include(messageOf(refusedCreate("y".repeat(MAX_TEXT_LENGTH + 1))).message, `the limit is ${MAX_TEXT_LENGTH} characters`)
  })

  it("a NUL is named by its place, not sent on", () => {
    const error = messageOf(refusedCreate("before\u0000after"))
    assert.strictEqual(error.field, "definition.description")
    assert.include(error.message, "NUL character (U+0000) at character 7")
    assert.notInclude(error.message, "\u0000")
    assert.notInclude(error.message, "before")
  })

  it("credentials in free text are refused without the secret or what surrounds it", () => {
    const error = messageOf(refusedCreate("wheels at https://u:s3cret@pypi.example.org/simple?key=nearby-secret"))
    assert.include(error.message, "carries credentials")
    for (const hidden of ["s3cret", "nearby-secret", "wheels at"]) assert.notInclude(error.message, hidden)
    const variable = messageOf(Effect.runSyncExit(build(Environment.SetVariable, { variable: "PIP_INDEX_URL", value: "https://u:s3cret@pypi.example.org/simple" })))
    assert.strictEqual(variable.field, "value")
    assert.include(variable.message, "carries credentials")
    assert.notInclude(variable.message, "s3cret")
  })

  it("a URL's credentials are quoted redacted by the reason alone; a short plain value is still repeated", () => {
    const error = messageOf(Effect.runSyncExit(build(Environment.SetVariable, { variable: "PIP_INDEX_URL", value: "https://u:s3cret@pypi.example.org/simple" })))
    assert.strictEqual(error.message, `value: this text carries credentials in a URL ("https://***@pypi.example.org/…"); ${URL_CREDENTIALS_MESSAGE}`)
    const named = (name: string) =>
      messageOf(Effect.runSyncExit(build(Environment.Create, { workspace: "w", name, curated: false, definition: emptyDefinition, canonicalHash: hash })))
    assert.isTrue(named("bad name").message.startsWith(`name "bad name": `))
    const escape = named("x\u001b]0;title\u0007")
    assert.strictEqual(escape.field, "name")
    assert.notInclude(escape.message, "\u001b")
  })
})
