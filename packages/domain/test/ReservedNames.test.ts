import { assert, describe, it } from "@effect/vitest"
import { RESERVED_PREFIXES, reservedPrefixOf, skeleton } from "../src/ReservedNames.ts"

describe("reserved prefixes", () => {
  it("are AzureML's two", () => {
    assert.deepStrictEqual([...RESERVED_PREFIXES], ["AzureML", "Microsoft"])
  })

  // Each row: a name, and the prefix it must be refused for (undefined: it is free).
  const cases: ReadonlyArray<readonly [string, string, string | undefined]> = [
    ["the prefix itself", "AzureML-sklearn", "AzureML"],
    ["any letter case", "aZUREml-x", "AzureML"],
    ["without a dash", "azuremlfoo", "AzureML"],
    ["an underscore", "Microsoft_x", "Microsoft"],
    ["no separator at all", "MICROSOFTtools", "Microsoft"],
    ["a separator inside the prefix", "Azure-ML.x", "AzureML"],
    ["a dot and a space inside the prefix", "Micro.soft x", "Microsoft"],
    ["a Cyrillic capital A", "\u0410zureML-x", "AzureML"],
    ["a Cyrillic small o and es", "Micr\u043e\u0455oft", "Microsoft"],
    ["a Greek capital Alpha and Mu", "\u0391zure\u039cL", "AzureML"],
    ["fullwidth letters", "\uFF21\uFF5A\uFF55\uFF52\uFF45\uFF2D\uFF2C-x", "AzureML"],
    ["a zero-width space", "Azure\u200BML-x", "AzureML"],
    ["a zero-width joiner and a soft hyphen", "Mi\u200Dcro\u00ADsoft", "Microsoft"],
    ["a byte-order mark in front", "\uFEFFazureml", "AzureML"],
    ["a combining accent", "A\u0301zureml", "AzureML"],
    ["a digit one for the i", "M1crosoft", "Microsoft"],
    ["a digit zero for the o", "Micr0soft", "Microsoft"],
    ["rn for m", "Azurerni-x", "AzureML"],
    ["a capital I for the l", "AzuremI", "AzureML"],
    ["mathematical bold letters (NFKC)", "\u{1D400}\u{1D433}\u{1D42E}\u{1D42B}\u{1D41E}\u{1D40C}\u{1D40B}", "AzureML"],
    ["the prefix later in the name", "my-AzureML-x", undefined],
    ["a shorter word", "azure", undefined],
    ["another word starting alike", "microscope", undefined],
    ["an ordinary name", "pydata", undefined],
    ["ms", "ms-tools", undefined]
  ]
  for (const [what, name, prefix] of cases) {
    it(`${what}: ${JSON.stringify(name)} → ${prefix ?? "free"}`, () => {
      assert.strictEqual(reservedPrefixOf(name), prefix)
    })
  }

  it("a skeleton is what a reader sees: look-alikes share one", () => {
    assert.strictEqual(skeleton("AzureML"), skeleton("\u0410zure\u041C\u04C0"))
    assert.strictEqual(skeleton("Microsoft"), skeleton("\uFF2D\uFF49\uFF43\uFF52\uFF4F\uFF53\uFF4F\uFF46\uFF54"))
    assert.notStrictEqual(skeleton("azure"), skeleton("azureml"))
  })
})
