/**
 * How a reference names a version: `NAME`, `NAME:VERSION`, `NAME@LABEL`, and the AzureML
 * spellings the README promises, `azureml:NAME:VERSION` and `azureml:NAME@LABEL`, which name the
 * same versions so that references copied from AzureML job files work unchanged.
 */
import { assert, describe, it } from "@effect/vitest"
import { formatRef, InvalidReference, parseRef } from "../src/EnvironmentRef.ts"

describe("environment references", () => {
  it("NAME is NAME@latest; NAME:VERSION names a version; NAME@LABEL a label", () => {
    assert.deepStrictEqual(parseRef("pydata"), { name: "pydata", label: "latest" })
    assert.deepStrictEqual(parseRef("pydata:3"), { name: "pydata", version: "3" })
    assert.deepStrictEqual(parseRef("pydata@prod"), { name: "pydata", label: "prod" })
  })

  it("azureml:NAME:VERSION and azureml:NAME@LABEL name what NAME:VERSION and NAME@LABEL name", () => {
    assert.deepStrictEqual(parseRef("azureml:pydata:3"), { name: "pydata", version: "3" })
    assert.deepStrictEqual(parseRef("azureml:pydata@prod"), { name: "pydata", label: "prod" })
    assert.deepStrictEqual(parseRef("azureml:AzureML-sklearn-1.5:12"), { name: "AzureML-sklearn-1.5", version: "12" })
    // Written back in Terrarium's own spelling.
    assert.strictEqual(formatRef(parseRef("azureml:pydata:3") as { name: string; version: string }), "pydata:3")
    assert.strictEqual(formatRef(parseRef("azureml:pydata@prod") as { name: string; label: string }), "pydata@prod")
  })

  it("an AzureML reference with nothing after its prefix, an empty version or an empty label is refused", () => {
    for (const [input, reason] of [
      ["azureml:", `"" is not a valid environment name`],
      ["azureml:pydata:", "the version after ':' is empty"],
      ["azureml:pydata@", "the label after '@' is empty"]
    ] as const) {
      const refused = parseRef(input)
      assert.instanceOf(refused, InvalidReference, input)
      assert.strictEqual((refused as InvalidReference).reason, reason, input)
      assert.strictEqual((refused as InvalidReference).input, input)
    }
  })

  it("a version or a label that breaks its rule is refused: no such one was ever stored", () => {
    for (const [input, reason] of [
      ["pydata:x y", `"x y" is not a valid version`],
      ["pydata:~1", `"~1" is not a valid version`],
      ["pydata@Prod", `"Prod" is not a valid label`],
      ["azureml:pydata@prod label", `"prod label" is not a valid label`]
    ] as const) {
      const refused = parseRef(input)
      assert.instanceOf(refused, InvalidReference, input)
      assert.strictEqual((refused as InvalidReference).reason, reason, input)
    }
    assert.deepStrictEqual(parseRef("pydata:1.2.0+cpu"), { name: "pydata", version: "1.2.0+cpu" })
    assert.deepStrictEqual(parseRef("pydata@staging_2"), { name: "pydata", label: "staging_2" })
  })
})
