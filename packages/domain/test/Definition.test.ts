/**
 * What the schemas refuse at decode: malformed hashes, and (in the checked schemas that commands
 * and importers use) specs not in normal form, URLs with credentials, Dockerfile bases with
 * nothing to build from. Each case starts from a value that decodes, changes one field, and
 * checks the error names that field.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { Create, Register } from "../src/Command.ts"
import { emptyDefinition, hasReservedPrefix, type PipOptions } from "../src/Definition.ts"
import { CheckedDefinition, CheckedDockerSection, CheckedPackageSpec } from "../src/DefinitionCheck.ts"
import { ImageBuilt, Registered } from "../src/Event.ts"
import type { CondaSpec, PipRequirement } from "../src/PackageSpec.ts"
import { hasUrlCredentials, redactUrlCredentials, urlCredentialsProblem } from "../src/UrlCredentials.ts"
import { conda, pip, rich } from "./fixtures.ts"

const goodHash = `sha256:${"0123456789abcdef".repeat(4)}`

/** The decode error message, or "" when the value decodes. */
const refusal = (schema: Schema.Codec<unknown, unknown>, value: unknown): string => {
  const result = Schema.decodeUnknownResult(schema)(value, { errors: "all" })
  return Result.isFailure(result) ? result.failure.message : ""
}

/** The default docker section with this base: Dockerfile bases are checked as part of their section. */
const withBase = (base: unknown): unknown => ({ ...emptyDefinition.docker, base })

const withPipOptions = (options: Partial<PipOptions>): unknown => ({
  ...rich,
  python: { ...rich.python, conda: { ...rich.python.conda!, pipOptions: { ...rich.python.conda!.pipOptions, ...options } } }
})

describe("canonical hashes are checked at decode", () => {
  const malformed = ["", "abc", `sha256:${"A".repeat(64)}`, `sha256:${"0".repeat(63)}`, `sha1:${"0".repeat(64)}`, ` ${goodHash}`]

  it("commands refuse a hash that is not sha256: and 64 lower-case hex digits", () => {
    assert.strictEqual(refusal(Register, { _tag: "Register", canonicalHash: goodHash }), "")
    for (const canonicalHash of malformed) {
      const message = refusal(Register, { _tag: "Register", canonicalHash })
      assert.include(message, "64 lower-case hex digits", canonicalHash)
      assert.include(message, `["canonicalHash"]`)
      assert.include(
        refusal(Create, { _tag: "Create", workspace: "w", name: "n", curated: false, definition: emptyDefinition, canonicalHash }),
        `["canonicalHash"]`
      )
    }
  })

  it("so do the events that carry one", () => {
    const registered = { _tag: "Registered", name: "n", version: "1", hashAlgorithm: 1, definition: emptyDefinition }
    assert.strictEqual(refusal(Registered, { ...registered, canonicalHash: goodHash }), "")
    assert.include(refusal(Registered, { ...registered, canonicalHash: "sha256:abc" }), `["canonicalHash"]`)
    const built = { _tag: "ImageBuilt", version: "1", buildId: "b", registry: "r", repository: "x", tag: "t", digest: "d", durationMs: 1 }
    assert.include(refusal(ImageBuilt, { ...built, canonicalHash: "h1" }), `["canonicalHash"]`)
  })

  it("constructing a command with a malformed hash throws", () => {
    assert.throws(() => new Register({ canonicalHash: "not-a-hash" }))
  })
})

describe("package specs are checked for normal form", () => {
  it("accepts what the parsers produce", () => {
    for (const spec of rich.python.conda!.pip) assert.strictEqual(refusal(CheckedPackageSpec, spec), "")
    for (const spec of rich.python.conda!.conda) assert.strictEqual(refusal(CheckedPackageSpec, spec), "")
    assert.strictEqual(refusal(CheckedPackageSpec, pip("git+https://github.com/org/repo.git@abc", "", { url: "git+https://github.com/org/repo.git@abc" })), "")
  })

  it("refuses a pip requirement that is not normalised, naming the field", () => {
    const cases: ReadonlyArray<readonly [PipRequirement, string, string]> = [
      [pip("NumPy", ">=1.2"), "name", "PEP 503"],
      [pip("scikit_learn"), "name", "PEP 503"],
      [pip("a--b"), "name", "PEP 503"],
      [pip("numpy", ">= 1.2"), "specifier", "without spaces"],
      [pip("numpy", ">=1.2, <2"), "specifier", "without spaces"],
      [pip("numpy", ">=1.2,<2"), "specifier", "sorted"],
      [pip("numpy", "<2,<2"), "specifier", "sorted"],
      [pip("numpy", "1.2"), "specifier", "operator"],
      [pip("numpy", "", { extras: ["Security"] }), "extras", "PEP 503"],
      [pip("numpy", "", { marker: " python_version < \"3.9\"" }), "marker", "trimmed"],
      [pip("torch", "==2", { url: "https://example.org/torch.whl" }), "specifier", "URL requirement"],
      [pip("https://example.org/x", "", { url: "https://example.org/y" }), "name", "PEP 503"]
    ]
    for (const [spec, field, words] of cases) {
      const message = refusal(CheckedPackageSpec, spec)
      assert.include(message, words, JSON.stringify(spec))
      assert.include(message, `["${field}"]`, JSON.stringify(spec))
    }
  })

  it("refuses a conda spec that is not normalised, naming the field", () => {
    const cases: ReadonlyArray<readonly [CondaSpec, string, string]> = [
      [conda("NumPy", ">=1.2"), "name", "lower case"],
      [conda("numpy", ">=1.2, <2"), "version", "without spaces"],
      [conda("numpy", "*"), "version", "not \"*\""],
      [conda("numpy", "1.2", { build: "py 3" }), "build", "build string"],
      [conda("numpy", "", { channel: "conda forge" }), "channel", "without whitespace"]
    ]
    for (const [spec, field, words] of cases) {
      const message = refusal(CheckedPackageSpec, spec)
      assert.include(message, words, JSON.stringify(spec))
      assert.include(message, `["${field}"]`, JSON.stringify(spec))
    }
    assert.strictEqual(refusal(CheckedPackageSpec, conda("numpy", "", { channel: "https://conda.example.org/forge" })), "")
  })
})

describe("URLs with credentials never enter a definition", () => {
  it("tells credentials from user names", () => {
    for (const url of ["https://u:t@pypi.example.org/simple", "https://ghp_token@github.com/o/r.git", "--editable git+https://tok@github.com/o/r.git", "git+ssh://git:pw@host/r.git"]) {
      assert.isTrue(hasUrlCredentials(url), url)
    }
    for (const url of ["https://pypi.example.org/simple", "git+ssh://git@github.com/o/r.git", "git+https://github.com/o/r.git@v1.0", "user@example.org", "https://host/p@x"]) {
      assert.isFalse(hasUrlCredentials(url), url)
    }
    assert.strictEqual(redactUrlCredentials("--extra-index-url https://u:secret@host/simple"), "--extra-index-url https://***@host/simple")
  })

  it("refuses them in every URL field, naming the field and not the secret", () => {
    const secret = "https://user:s3cret@private.example.org/simple"
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [withPipOptions({ indexUrl: secret }), `["pipOptions"]["indexUrl"]`],
      [withPipOptions({ extraIndexUrls: [secret] }), `["pipOptions"]["extraIndexUrls"][0]`],
      [withPipOptions({ findLinks: [secret] }), `["pipOptions"]["findLinks"][0]`],
      [withPipOptions({ flags: [`--editable git+${secret}`] }), `["pipOptions"]["flags"][0]`],
      [{ ...rich, python: { ...rich.python, conda: { ...rich.python.conda!, channels: ["conda-forge", secret] } } }, `["channels"][1]`],
      [
        { ...rich, python: { ...rich.python, conda: { ...rich.python.conda!, conda: [conda("numpy", "", { channel: secret })] } } },
        `["conda"][0]["channel"]`
      ],
      [
        { ...rich, python: { ...rich.python, conda: { ...rich.python.conda!, pip: [pip("pkg", "", { url: `${secret}/pkg-1.0.tar.gz` })] } } },
        `["pip"][0]["url"]`
      ],
      [{ ...rich, docker: { ...rich.docker, base: { kind: "dockerfile", context: "https://tok@github.com/o/r.git#main" } } }, `["base"]["context"]`],
      [{ ...rich, spark: { ...rich.spark, repositories: [secret] } }, `["spark"]["repositories"][0]`]
    ]
    for (const [definition, path] of cases) {
      const message = refusal(CheckedDefinition, definition)
      assert.include(message, "must not carry credentials", path)
      assert.include(message, path)
      assert.notInclude(message, "s3cret")
    }
  })
})

describe("URLs with credentials in a spec's text", () => {
  it("are refused too, although the text is never hashed: it is stored", () => {
    const secret = "https://u:s3cret@files.example.org/x-1.0.tar.gz"
    const cases: ReadonlyArray<PipRequirement | CondaSpec> = [
      pip("x", "", { text: `x @ ${secret}` }),
      conda("numpy", "", { text: "https://u:s3cret@conda.example.org/forge::numpy" })
    ]
    for (const spec of cases) {
      const message = refusal(CheckedPackageSpec, spec)
      assert.include(message, "carries credentials", spec.text)
      assert.include(message, `["text"]`, spec.text)
      assert.notInclude(message, "s3cret")
    }
  })

  it("are worded the same wherever they are refused, the secret redacted", () => {
    assert.isUndefined(urlCredentialsProblem("the index URL", "https://pypi.example.org/simple"))
    const problem = urlCredentialsProblem("the index URL", "https://u:s3cret@pypi.example.org/simple")
    assert.isTrue(problem?.startsWith(`the index URL "https://***@pypi.example.org/simple" carries credentials; a URL must not`), problem)
  })
})

describe("Dockerfile bases", () => {
  it("need the Dockerfile text or a build context", () => {
    assert.include(refusal(CheckedDockerSection, withBase({ kind: "dockerfile" })), "needs the Dockerfile text")
    assert.include(refusal(CheckedDockerSection, withBase({ kind: "dockerfile", dockerfilePath: "Dockerfile" })), "needs the Dockerfile text")
    assert.strictEqual(refusal(CheckedDockerSection, withBase({ kind: "dockerfile", dockerfile: "FROM x\n" })), "")
    assert.strictEqual(refusal(CheckedDockerSection, withBase({ kind: "dockerfile", context: "./ctx" })), "")
  })

  it("carry a context digest only with a context, and only a well-formed one", () => {
    assert.strictEqual(refusal(CheckedDockerSection, withBase({ kind: "dockerfile", context: "./ctx", contextDigest: goodHash })), "")
    assert.include(refusal(CheckedDockerSection, withBase({ kind: "dockerfile", dockerfile: "FROM x\n", contextDigest: goodHash })), `["contextDigest"]`)
    assert.include(refusal(CheckedDockerSection, withBase({ kind: "dockerfile", context: "./ctx", contextDigest: "sha256:x" })), `["contextDigest"]`)
  })
})

describe("constraints digests", () => {
  it("are keyed by a listed constraints file", () => {
    assert.strictEqual(refusal(CheckedDefinition, withPipOptions({ constraintDigests: { "constraints.txt": goodHash } })), "")
    const message = refusal(CheckedDefinition, withPipOptions({ constraintDigests: { "other.txt": goodHash } }))
    assert.include(message, `"other.txt", which is not one of the constraints files`)
    assert.include(refusal(CheckedDefinition, withPipOptions({ constraintDigests: { "constraints.txt": "md5:x" } })), `["constraintDigests"]["constraints.txt"]`)
  })
})

describe("the reserved prefix", () => {
  it("is recognised in any letter case", () => {
    for (const name of ["AzureML-x", "azureml-x", "AZUREML-x", "Azureml-"]) assert.isTrue(hasReservedPrefix(name), name)
    for (const name of ["AzureML", "azure-ml-x", "my-AzureML-x", "azuremlx"]) assert.isFalse(hasReservedPrefix(name), name)
  })
})
