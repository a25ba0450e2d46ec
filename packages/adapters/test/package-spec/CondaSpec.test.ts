import { assert, describe, it } from "@effect/vitest"
import { type CondaSpec, CheckedPackageSpec, isPinned } from "@terrarium/domain"
import { Result, Schema } from "effect"
import { parseCondaSpec } from "../../src/package-spec/index.ts"

const parse = (text: string): CondaSpec => {
  const result = parseCondaSpec(text)
  if (Result.isFailure(result)) assert.fail(`expected "${text}" to parse: ${result.failure.message}`)
  return result.success
}
const normal = ({ text: _text, ...rest }: CondaSpec) => rest
const error = (text: string) => {
  const result = parseCondaSpec(text)
  if (Result.isSuccess(result)) assert.fail(`expected "${text}" to be rejected`)
  return result.failure
}

describe("parseCondaSpec", () => {
  it("reads a bare name as unpinned", () => {
    assert.deepStrictEqual(parse("tqdm"), { kind: "conda", name: "tqdm", version: "", build: "", text: "tqdm" })
    assert.deepStrictEqual(normal(parse("tqdm *")), normal(parse("tqdm")))
  })

  it("name=1.2 is conda's prefix match: python=3.10 equals python 3.10.*", () => {
    assert.deepStrictEqual(normal(parse("python=3.10")), normal(parse("python 3.10.*")))
    assert.strictEqual(parse("python=3.10").version, "3.10.*")
    assert.isFalse(isPinned(parse("python=3.10")))
  })

  it("a bare version and == are exact", () => {
    assert.strictEqual(parse("numpy==1.2").version, "==1.2")
    assert.deepStrictEqual(normal(parse("numpy 1.2")), normal(parse("numpy==1.2")))
    assert.isTrue(isPinned(parse("numpy==1.2.3")))
  })

  it("normalises and sorts ranges", () => {
    assert.strictEqual(parse("numpy>=1.2,<2").version, "<2,>=1.2")
    assert.deepStrictEqual(normal(parse("numpy >=1.2, <2")), normal(parse("numpy<2,>=1.2")))
    assert.strictEqual(parse("pandas~=1.5.3").version, "~=1.5.3")
    assert.strictEqual(parse("x 1.2|1.3").version, "==1.2|==1.3")
  })

  it("treats | and , as the commutative operators they are: one set, one spelling", () => {
    // rattler prints the operands in the order written; the parser sorts them.
    assert.strictEqual(parse("x 1.3|1.2").version, "==1.2|==1.3")
    assert.deepStrictEqual(normal(parse("x 1.3|1.2")), normal(parse("x 1.2|1.3")))
    assert.deepStrictEqual(normal(parse("x 1.2|1.3|1.2")), normal(parse("x 1.2|1.3")))
    assert.deepStrictEqual(normal(parse("x >=1,<2|3")), normal(parse("x 3|<2,>=1")))
    assert.strictEqual(parse("x 3|<2,>=1").version, "<2,>=1|==3")
    // An or inside an and keeps its parentheses; nested ors are one or.
    assert.strictEqual(parse("x (1.3|1.2),>=1").version, "(==1.2|==1.3),>=1")
    assert.deepStrictEqual(normal(parse("x >=1,(1.2|1.3)")), normal(parse("x (1.3|1.2),>=1")))
    assert.strictEqual(parse("x 1.4|(1.3|1.2)").version, "==1.2|==1.3|==1.4")
    // Different sets stay different.
    assert.notStrictEqual(parse("x 1.2|1.3").version, parse("x 1.2|1.4").version)
  })

  it("reads build strings in both forms", () => {
    const eq = parse("numpy=1.2=py310_0")
    assert.strictEqual(eq.version, "==1.2")
    assert.strictEqual(eq.build, "py310_0")
    assert.deepStrictEqual(normal(eq), normal(parse("numpy 1.2 py310_0")))
  })

  it("reads channel and subdir prefixes", () => {
    const spec = parse("conda-forge::numpy=1.2")
    assert.strictEqual(spec.channel, "conda-forge")
    assert.strictEqual(spec.version, "1.2.*")
    assert.strictEqual(parse("conda-forge/linux-64::numpy").channel, "conda-forge/linux-64")
  })

  it("reads channel URLs", () => {
    const spec = parse("https://conda.example.org/conda-forge::numpy>=1.2")
    assert.strictEqual(spec.channel, "https://conda.example.org/conda-forge")
    assert.strictEqual(spec.name, "numpy")
    assert.strictEqual(spec.version, ">=1.2")
    assert.strictEqual(parse("https://conda.example.org:8443/forge/linux-64::numpy 1.2").channel, "https://conda.example.org:8443/forge/linux-64")
    assert.strictEqual(parse("numpy[channel='https://conda.example.org/forge']").channel, "https://conda.example.org/forge")
  })

  it("refuses a channel URL with credentials, without repeating them", () => {
    for (const text of ["https://user:s3cret@conda.example.org/forge::numpy", "numpy[channel='https://s3cret@conda.example.org/forge']"]) {
      const e = error(text)
      assert.include(e.message, "carries credentials", text)
      assert.include(e.message, "configure the credentials by reference", text)
      assert.notInclude(e.message, "s3cret")
      assert.notInclude(e.text, "s3cret")
    }
  })

  it("produces specs the domain schema accepts as normal form", () => {
    for (const text of ["tqdm", "python=3.10", "numpy >=1.2, <2", "x 1.3|1.2", "x (1.3|1.2),>=1", "https://h/forge::numpy=1.2=py_0", "tqdm *"]) {
      const result = Schema.decodeUnknownResult(CheckedPackageSpec)(parse(text))
      assert.isTrue(Result.isSuccess(result), `${text}: ${Result.isFailure(result) ? result.failure.message : ""}`)
    }
  })

  it("reads the bracket form", () => {
    assert.deepStrictEqual(normal(parse("numpy[version='>=1.0', build=py*]")), {
      kind: "conda",
      name: "numpy",
      version: ">=1.0",
      build: "py*"
    })
    assert.deepStrictEqual(normal(parse("numpy[channel=conda-forge, subdir=linux-64]")), {
      kind: "conda",
      channel: "conda-forge/linux-64",
      name: "numpy",
      version: "",
      build: ""
    })
  })

  it("lower-cases names", () => {
    assert.strictEqual(parse("PyYAML").name, "pyyaml")
  })

  it("rejects garbage with clear messages", () => {
    const e = error("numpy >>1")
    assert.strictEqual(e._tag, "SpecError")
    assert.strictEqual(e.text, "numpy >>1")
    assert.match(e.message, /invalid conda version spec ">>1" in "numpy >>1"/)
    assert.match(error("").message, /empty/)
    assert.match(error("numpy 1.2 b c").message, /expected "name \[version \[build\]\]"/)
    assert.match(error("num$py").message, /invalid conda/)
    assert.match(error("numpy[md5=abc]").message, /unsupported bracket option "md5"/)
    assert.match(error("numpy=1.2[version=1.3]").message, /version twice/)
  })

  it("refuses =>, =<, =! and =~ rather than reading them as a prefix match of the rest", () => {
    assert.strictEqual(error("numpy=>1").message, `invalid conda spec "numpy=>1": "=>" is not an operator (did you mean ">="?)`)
    assert.match(error("numpy =<2").message, /"=<" is not an operator \(did you mean "<="\?\)/)
    assert.match(error("numpy=!1.2").message, /"=!" is not an operator/)
    assert.strictEqual(parse("numpy>=1").version, ">=1")
    assert.strictEqual(parse("numpy==1.2").version, "==1.2")
  })
})
