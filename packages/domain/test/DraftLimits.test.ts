/**
 * The decider holds a draft to the limits on a definition's counts and size after each change:
 * every change is checked on its own when its command is made, but only the draft sees their sum.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { AddPackage, ConfigureDocker, SetVariable } from "../src/Command.ts"
import type { Definition } from "../src/Definition.ts"
import { emptyDefinition } from "../src/Definition.ts"
import { decide, decider } from "../src/Environment.ts"
import { Defined, DockerConfigured, PackageAdded, VariableSet } from "../src/Event.ts"
import { MAX_DEFINITION_BYTES, MAX_PACKAGES, MAX_TEXT_LENGTH, MAX_VARIABLES } from "../src/Limits.ts"
import { DeciderSpecification } from "../src/testing/index.ts"
import { conda, pip } from "./fixtures.ts"

const spec = DeciderSpecification.for(decider)
const name = "big"
const defined = (definition: Definition) => new Defined({ workspace: "w", name, curated: false, definition })

const withPackages = (count: number): Definition => ({
  ...emptyDefinition,
  python: {
    userManagedDependencies: false,
    interpreterPath: "python",
    conda: {
      channels: [],
      conda: [conda("python", "3.11.*")],
      pip: Array.from({ length: count - 1 }, (_, i) => pip(`p${i}`)),
      pipOptions: { extraIndexUrls: [], findLinks: [], constraints: [], flags: [] }
    }
  }
})

const withVariables = (count: number, value = "v"): Definition => ({
  ...emptyDefinition,
  variables: Object.fromEntries(Array.from({ length: count }, (_, i) => [`V${i}`, value]))
})

const overLimit = (words: string) => (e: { readonly reason: { readonly _tag: string }; readonly message: string }) =>
  e.reason._tag === "DraftOverLimit" && e.message.includes(words) && e.message.includes(`environment '${name}'`)

describe("a draft stays within the limits", () => {
  it("a package past MAX_PACKAGES is refused; one that replaces a package is not", () => {
    const full = withPackages(MAX_PACKAGES)
    spec.given([defined(full)]).when(new AddPackage({ spec: pip("one-more") }))
      .thenFails(overLimit(`${MAX_PACKAGES + 1} packages (conda and pip together); the limit is ${MAX_PACKAGES} (MAX_PACKAGES)`))
    spec.given([defined(full)]).when(new AddPackage({ spec: pip("p0", "==1") })).then([new PackageAdded({ spec: pip("p0", "==1") })])
    spec.given([defined(withPackages(MAX_PACKAGES - 1))]).when(new AddPackage({ spec: conda("numpy") }))
      .then([new PackageAdded({ spec: conda("numpy") })])
  })

  it("a variable past MAX_VARIABLES is refused; one already set may change", () => {
    const full = withVariables(MAX_VARIABLES)
    spec.given([defined(full)]).when(new SetVariable({ variable: "NEW", value: "x" }))
      .thenFails(overLimit(`${MAX_VARIABLES + 1} variables; the limit is ${MAX_VARIABLES} (MAX_VARIABLES)`))
    spec.given([defined(full)]).when(new SetVariable({ variable: "V0", value: "x" })).then([new VariableSet({ variable: "V0", value: "x" })])
  })

  it("a change that takes the draft past MAX_DEFINITION_BYTES is refused, whichever change it is", () => {
    const value = "é".repeat(MAX_TEXT_LENGTH) // two bytes a character
    const perValue = 2 * MAX_TEXT_LENGTH
    const nearlyFull = withVariables(Math.floor(MAX_DEFINITION_BYTES / perValue) - 1, value)
    const words = `the limit is ${MAX_DEFINITION_BYTES} (MAX_DEFINITION_BYTES)`
    spec.given([defined(nearlyFull)]).when(new SetVariable({ variable: "SMALL", value: "x" })).then([new VariableSet({ variable: "SMALL", value: "x" })])
    spec.given([defined(nearlyFull)]).when(new SetVariable({ variable: "MORE", value })).thenFails(overLimit(words))
    spec.given([defined(nearlyFull)]).when(new SetVariable({ variable: "MORE", value: "x".repeat(MAX_TEXT_LENGTH) })).then([
      new VariableSet({ variable: "MORE", value: "x".repeat(MAX_TEXT_LENGTH) })
    ])
    const dockerfile = { ...emptyDefinition.docker, base: { kind: "dockerfile" as const, dockerfile: `FROM x\n${"#".repeat(4 * MAX_TEXT_LENGTH)}` } }
    spec.given([defined(nearlyFull)]).when(new ConfigureDocker({ docker: dockerfile })).thenFails(overLimit(words))
    spec.given([defined(emptyDefinition)]).when(new ConfigureDocker({ docker: dockerfile })).then([new DockerConfigured({ docker: dockerfile })])
    const added = decide(new AddPackage({ spec: pip("x", "", { text: `x ${"#".repeat(MAX_TEXT_LENGTH - 2)}` }) }), decider.evolve(decider.initialState, defined(nearlyFull)))
    assert.isTrue(Result.isSuccess(added), "a package with a long text, within the size left, still fits")
  })
})
