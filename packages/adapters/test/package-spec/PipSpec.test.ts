import { assert, describe, it } from "@effect/vitest"
import { CheckedPackageSpec, isPinned, type PipRequirement } from "@terrarium/domain"
import { Result, Schema } from "effect"
import { normalizePep440Version, parsePipRequirement, stripVersionPlaceholders } from "../../src/package-spec/index.ts"

const parse = (text: string): PipRequirement => {
  const result = parsePipRequirement(text)
  if (Result.isFailure(result)) assert.fail(`expected "${text}" to parse: ${result.failure.message}`)
  return result.success
}
/** The fields that identify a requirement (everything but the display text). */
const normal = ({ text: _text, ...rest }: PipRequirement) => rest
const error = (text: string) => {
  const result = parsePipRequirement(text)
  if (Result.isSuccess(result)) assert.fail(`expected "${text}" to be rejected`)
  return result.failure
}

describe("parsePipRequirement", () => {
  it("normalises spacing: numpy>=1.2 equals numpy >= 1.2", () => {
    assert.deepStrictEqual(normal(parse("numpy>=1.2")), normal(parse("numpy >= 1.2")))
    assert.deepStrictEqual(normal(parse("numpy>=1.2")), { kind: "pip", name: "numpy", extras: [], specifier: ">=1.2" })
  })

  it("keeps the trimmed original text", () => {
    assert.strictEqual(parse("  numpy >= 1.2  ").text, "numpy >= 1.2")
  })

  it("normalises names per PEP 503", () => {
    assert.strictEqual(parse("Scikit_Learn").name, "scikit-learn")
    assert.strictEqual(parse("zope.interface").name, "zope-interface")
    assert.strictEqual(parse("A__b-.-C").name, "a-b-c")
  })

  it("lower-cases, sorts and de-duplicates extras", () => {
    assert.deepStrictEqual(parse("azureml-metrics[Image,audio,image]").extras, ["audio", "image"])
  })

  it("sorts specifier clauses and drops spaces", () => {
    assert.strictEqual(parse("numpy >=1.2 , <2").specifier, "<2,>=1.2")
    assert.deepStrictEqual(normal(parse("numpy<2,>=1.2")), normal(parse("numpy (>=1.2, <2)")))
  })

  it("normalises versions per PEP 440 where valid, keeping significant zeros", () => {
    assert.strictEqual(parse("a==1.0.0").specifier, "==1.0.0")
    assert.strictEqual(parse("a>=1.2").specifier, ">=1.2")
    assert.strictEqual(parse("a==1.02").specifier, "==1.2")
    assert.strictEqual(parse("a==1.0RC1").specifier, "==1.0rc1")
    assert.strictEqual(parse("a==1.*").specifier, "==1.*")
    assert.strictEqual(parse("a==1.0+Local-AB").specifier, "==1.0+local.ab")
    assert.strictEqual(normalizePep440Version("not a version"), "not a version")
  })

  it("normalises markers: spacing, quotes, needed parentheses only", () => {
    const a = parse("x ; python_version<'3.8' and (os_name=='posix' or sys_platform == \"linux\")")
    assert.strictEqual(a.marker, "python_version < \"3.8\" and (os_name == \"posix\" or sys_platform == \"linux\")")
    const b = parse("x;python_version <   \"3.8\" and ( os_name == 'posix' or sys_platform=='linux' )")
    assert.strictEqual(b.marker, a.marker)
    assert.strictEqual(parse("x; (os_name=='a' and os_name=='b') or os_name=='c'").marker, "os_name == \"a\" and os_name == \"b\" or os_name == \"c\"")
  })

  it("reads name @ url, with and without a marker", () => {
    const plain = parse("trl @ git+https://github.com/huggingface/trl.git@eab175d434b9bb9badee20335c7945991a26dfac")
    assert.strictEqual(plain.name, "trl")
    assert.strictEqual(plain.url, "git+https://github.com/huggingface/trl.git@eab175d434b9bb9badee20335c7945991a26dfac")
    assert.strictEqual(plain.specifier, "")
    assert.isTrue(isPinned(plain))
    const marked = parse("pip @ https://example.org/pip-22.0.zip ; python_version > '3'")
    assert.strictEqual(marked.url, "https://example.org/pip-22.0.zip")
    assert.strictEqual(marked.marker, "python_version > \"3\"")
  })

  it("reads bare VCS and archive URLs as URL requirements", () => {
    const git = parse("git+https://github.com/sgl-project/SpecForge.git@34b58831caabdd8a4862258b380f9e49fbfe1b54")
    assert.strictEqual(git.url, git.text)
    assert.strictEqual(git.name, git.url, "without an egg fragment the URL itself is the name")
    assert.strictEqual(parse("git+https://github.com/a/b.git@v1#egg=My_Pkg").name, "my-pkg")
    assert.strictEqual(parse("https://example.org/p/raiwidgets_big_data-0.12.0-py3-none-any.whl").name, "raiwidgets-big-data")
    assert.strictEqual(parse("https://aka.ms/automl-resources/packages/en_core_web_sm-3.7.1.tar.gz").name, "en-core-web-sm")
  })

  it("gives no name that is not a project name: the URL stands for it then", () => {
    const url = "https://example.org/dist/weird+name-1.0.tar.gz"
    assert.strictEqual(parse(url).name, url)
    assert.strictEqual(parse("git+https://github.com/a/b.git#egg=pkg-").name, "git+https://github.com/a/b.git#egg=pkg-")
  })

  it("refuses a URL with credentials, without repeating them", () => {
    for (const text of [
      "pkg @ https://user:s3cret@pypi.example.org/pkg-1.0.tar.gz",
      "git+https://s3cret@github.com/org/repo.git@v1",
      "--extra-index-url https://user:s3cret@pypi.example.org/simple"
    ]) {
      const e = error(text)
      assert.include(e.message, "carries credentials", text)
      assert.notInclude(e.message, "s3cret")
      assert.notInclude(e.text, "s3cret")
    }
    assert.strictEqual(parse("pkg @ git+ssh://git@github.com/org/repo.git@v1").url, "git+ssh://git@github.com/org/repo.git@v1")
  })

  it("produces requirements the domain schema accepts as normal form", () => {
    for (const text of [
      "NumPy >= 1.2", "Scikit_Learn [AllDeps, alldeps] >= 1.2 , <2", "x ; python_version<'3.9' and os_name=='nt'",
      "trl @ git+https://github.com/huggingface/trl.git@eab175d", "git+https://github.com/a/b.git@v1", "requests ~= 2.0 , != 2.0.1"
    ]) {
      const result = Schema.decodeUnknownResult(CheckedPackageSpec)(parse(text))
      assert.isTrue(Result.isSuccess(result), `${text}: ${Result.isFailure(result) ? result.failure.message : ""}`)
    }
  })

  it("rejects garbage with the offending text in a clear message", () => {
    const e = error("numpy=>1.2")
    assert.strictEqual(e._tag, "SpecError")
    assert.strictEqual(e.text, "numpy=>1.2")
    assert.match(e.message, /^invalid pip requirement "numpy=>1.2": at column \d+/)
    assert.match(error("").message, /empty/)
    assert.match(error("-r other.txt").message, /pip option/)
    assert.match(error("numpy=={{latest-pypi-version}}").message, /invalid pip requirement/)
    assert.match(error("x ; python_version <").message, /marker|invalid/)
  })
})

describe("stripVersionPlaceholders", () => {
  it("drops the clause holding a placeholder and tidies commas", () => {
    assert.deepStrictEqual(stripVersionPlaceholders("azureml-core=={{latest-pypi-version}}"), {
      text: "azureml-core",
      placeholders: ["{{latest-pypi-version}}"]
    })
    assert.strictEqual(stripVersionPlaceholders("azureml-metrics[image]~={{latest-pypi-version}}").text, "azureml-metrics[image]")
    assert.strictEqual(stripVersionPlaceholders("a=={{x}},<2").text, "a<2")
    assert.strictEqual(stripVersionPlaceholders("a>=1,<{{x}}").text, "a>=1")
    assert.strictEqual(stripVersionPlaceholders("mldesigner=={{latest-pypi-version:pre}}").text, "mldesigner")
    assert.deepStrictEqual(stripVersionPlaceholders("numpy==1.0"), { text: "numpy==1.0", placeholders: [] })
  })
})
