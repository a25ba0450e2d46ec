/**
 * What the schemas refuse at decode: malformed hashes, and (in the checked schemas that commands
 * and importers use) specs not in normal form, URLs with credentials, Dockerfile bases with
 * nothing to build from. Each case starts from a value that decodes, changes one field, and
 * checks the error names that field.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema, type SchemaAST } from "effect"
import { Create, Register } from "../src/Command.ts"
import { type Definition, Definition as DefinitionShape, emptyDefinition, hasReservedPrefix, type PipOptions } from "../src/Definition.ts"
import { CheckedDefinition, CheckedDockerSection, CheckedPackageSpec } from "../src/DefinitionCheck.ts"
import { ImageBuilt, Registered } from "../src/Event.ts"
import type { CondaSpec, PipRequirement } from "../src/PackageSpec.ts"
import { hasUrlCredentials, redactUrlCredentials, urlCredentialsProblem } from "../src/UrlCredentials.ts"
import { conda, digest, pip, rich } from "./fixtures.ts"

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

  it("refuses them whatever shape the URL takes (a token alone, git+, a file under the host), naming the field and not the secret", () => {
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

/**
 * The string fields of a definition, found by walking the `Definition` schema, so that a field
 * added to it later is walked too. A place is written as a path with `[]` for any array element
 * and `{}` for any record entry (`python.conda.pip[].url`).
 */
type Place = string

const placeOf = (steps: ReadonlyArray<string>): Place => steps.reduce((place, step) => step.startsWith("[") || step.startsWith("{") ? `${place}${step}` : place === "" ? step : `${place}.${step}`, "")

/** Every place of a string field in the schema. */
const stringPlaces = (ast: SchemaAST.AST, steps: ReadonlyArray<string> = []): Array<Place> => {
  switch (ast._tag) {
    case "String":
      return [placeOf(steps)]
    case "Objects":
      return [
        ...ast.propertySignatures.flatMap((p) => stringPlaces(p.type, [...steps, String(p.name)])),
        ...ast.indexSignatures.flatMap((i) => stringPlaces(i.type, [...steps, "{}"]))
      ]
    case "Arrays":
      return [...ast.elements, ...ast.rest].flatMap((element) => stringPlaces(element, [...steps, "[]"]))
    case "Union":
      return ast.types.flatMap((member) => stringPlaces(member, steps))
    case "Suspend":
      return stringPlaces(ast.thunk(), steps)
    default:
      return []
  }
}

/** A string field of one value: where it is (keys and indexes), and its place in the schema. */
interface StringField {
  readonly path: ReadonlyArray<string | number>
  readonly place: Place
}

/** Every string field a value has, walked along the schema (a union's members each where they fit). */
const stringFields = (ast: SchemaAST.AST, value: unknown, path: ReadonlyArray<string | number> = [], steps: ReadonlyArray<string> = []): Array<StringField> => {
  switch (ast._tag) {
    case "String":
      return typeof value === "string" ? [{ path, place: placeOf(steps) }] : []
    case "Objects": {
      if (typeof value !== "object" || value === null) return []
      const record = value as Record<string, unknown>
      const named = new Set(ast.propertySignatures.map((p) => String(p.name)))
      return [
        ...ast.propertySignatures.flatMap((p) =>
          Object.hasOwn(record, p.name) ? stringFields(p.type, record[String(p.name)], [...path, String(p.name)], [...steps, String(p.name)]) : []),
        ...ast.indexSignatures.flatMap((i) =>
          Object.keys(record).filter((key) => !named.has(key)).flatMap((key) => stringFields(i.type, record[key], [...path, key], [...steps, "{}"])))
      ]
    }
    case "Arrays":
      return Array.isArray(value)
        ? value.flatMap((element, index) => stringFields(ast.rest[0] ?? ast.elements[index]!, element, [...path, index], [...steps, "[]"]))
        : []
    case "Union": {
      const fields = ast.types.flatMap((member) => stringFields(member, value, path, steps))
      return fields.filter((field, i) => fields.findIndex((other) => other.place === field.place && other.path.join("\0") === field.path.join("\0")) === i)
    }
    case "Suspend":
      return stringFields(ast.thunk(), value, path, steps)
    default:
      return []
  }
}

/** `value` with the string at `path` replaced. */
const replaceAt = (value: unknown, path: ReadonlyArray<string | number>, replacement: string): unknown => {
  if (path.length === 0) return replacement
  const [step, ...rest] = path
  if (Array.isArray(value)) return value.map((element, i) => (i === step ? replaceAt(element, rest, replacement) : element))
  const record = value as Record<string, unknown>
  return { ...record, [step!]: replaceAt(record[step!], rest, replacement) }
}

/** How a decode error names a path: `["python"]["conda"]["pip"][0]["url"]`. */
const pathText = (path: ReadonlyArray<string | number>) => path.map((step) => `[${JSON.stringify(step)}]`).join("")

/**
 * Definitions between them holding every string field of the schema: `rich` with the optional
 * fields it leaves out (a URL requirement, constraints digests, a GitHub token reference, every
 * inference route), and the same with a Dockerfile base. The walk below checks that they do.
 */
const everyField: ReadonlyArray<Definition> = (() => {
  const full: Definition = {
    ...rich,
    python: {
      ...rich.python,
      conda: {
        ...rich.python.conda!,
        pip: [...rich.python.conda!.pip, pip("pkg", "", { url: "https://files.example.org/pkg-1.0.tar.gz", text: "pkg @ https://files.example.org/pkg-1.0.tar.gz" })],
        pipOptions: { ...rich.python.conda!.pipOptions, constraintDigests: { "constraints.txt": digest("c") } }
      }
    },
    r: { ...rich.r!, gitHubPackages: [{ repository: "example/pkg", authToken: "env:GITHUB_TOKEN" }] },
    inferenceConfig: {
      livenessRoute: { path: "/live", port: 5001 },
      readinessRoute: { path: "/ready", port: 5001 },
      scoringRoute: { path: "/score", port: 5001 }
    }
  }
  const dockerfile: Definition = {
    ...full,
    docker: { ...full.docker, base: { kind: "dockerfile", dockerfile: "FROM ubuntu:22.04\n", context: "./ctx", dockerfilePath: "Dockerfile", contextDigest: digest("a") } }
  }
  return [full, dockerfile]
})()

/**
 * The string fields that hold no URL, and why; every other string field of a definition is a URL
 * field and must refuse credentials. A new string field is a URL field until listed here.
 */
const NOT_URL_FIELDS: ReadonlyMap<Place, string> = new Map([
  ["description", "free text"],
  ["tags{}", "free text"],
  ["properties{}", "free text"],
  ["variables{}", "environment variable values"],
  ["python.interpreterPath", "a path in the image"],
  ["python.conda.name", "the name written in the conda file"],
  ["python.conda.conda[].name", "a package name"],
  ["python.conda.conda[].version", "a version spec"],
  ["python.conda.conda[].build", "a build string"],
  ["python.conda.pip[].name", "a package name (one told from nothing but a URL is that URL, checked as the url field)"],
  ["python.conda.pip[].extras[]", "extra names"],
  ["python.conda.pip[].specifier", "a version specifier"],
  ["python.conda.pip[].marker", "an environment marker"],
  ["python.conda.pipOptions.constraintDigests{}", "a content digest"],
  ["docker.base.image", "an image reference; its registry's credentials are baseImageRegistry's secret references"],
  ["docker.base.dockerfile", "the Dockerfile text"],
  ["docker.base.dockerfilePath", "a path inside the build context"],
  ["docker.base.contextDigest", "a content digest"],
  ["docker.baseImageRegistry.username", "a secret reference (env:, file:, keyvault:)"],
  ["docker.baseImageRegistry.password", "a secret reference (env:, file:, keyvault:)"],
  ["docker.shmSize", "a size"],
  ["docker.runArguments[]", "docker run arguments"],
  ["docker.platform.arch", "a CPU architecture"],
  ["spark.packages[].group", "Maven coordinates"],
  ["spark.packages[].artifact", "Maven coordinates"],
  ["spark.packages[].version", "Maven coordinates"],
  ["r.rVersion", "a version"],
  ["r.rscriptPath", "a path in the image"],
  ["r.snapshotDate", "a date"],
  ["r.cranPackages[].name", "a package name"],
  ["r.gitHubPackages[].authToken", "a secret reference (env:, file:, keyvault:)"],
  ["r.bioConductorPackages[]", "package names"],
  ["inferencingStackVersion", "a version"],
  ["inferenceConfig.livenessRoute.path", "an HTTP path"],
  ["inferenceConfig.readinessRoute.path", "an HTTP path"],
  ["inferenceConfig.scoringRoute.path", "an HTTP path"]
])

describe("URLs with credentials, in every string field of a definition", () => {
  const schemaPlaces = [...new Set(stringPlaces(DefinitionShape.ast))]
  const fields = everyField.flatMap((definition) => stringFields(DefinitionShape.ast, definition).map((field) => ({ definition, ...field })))

  it("the walk reaches every string field of the schema, and lists as no URL field only fields the schema has", () => {
    assert.isAbove(schemaPlaces.length, NOT_URL_FIELDS.size)
    const reached = new Set(fields.map((field) => field.place))
    assert.deepStrictEqual(schemaPlaces.filter((place) => !reached.has(place)), [], "give everyField a value for these")
    assert.deepStrictEqual([...NOT_URL_FIELDS.keys()].filter((place) => !schemaPlaces.includes(place)), [])
    for (const definition of everyField) assert.strictEqual(refusal(CheckedDefinition, definition), "")
  })

  it("are refused in every URL field, naming the field and not the secret; other fields are no URL fields", () => {
    const secret = "https://user:s3cret@private.example.org/simple"
    const urlPlaces = new Set<Place>()
    for (const { definition, path, place } of fields) {
      const message = refusal(CheckedDefinition, replaceAt(definition, path, secret))
      const refusedHere = message.split("\n").some((line, i, lines) =>
        line.includes("carries credentials") && lines.slice(i + 1).find((l) => l.trimStart().startsWith("at "))?.trim() === `at ${pathText(path)}`)
      if (NOT_URL_FIELDS.has(place)) {
        assert.isFalse(refusedHere, `${place} is listed as no URL field, yet refuses credentials:\n${message}`)
      } else {
        urlPlaces.add(place)
        assert.isTrue(refusedHere, `${place} (${pathText(path)}) takes a URL with credentials:\n${message}`)
        assert.include(message, "must not carry credentials", place)
        assert.notInclude(message, "s3cret", place)
      }
    }
    // What the walk found to be URL fields; a field joins this list by being added to the schema.
    assert.includeMembers([...urlPlaces], [
      "python.conda.channels[]",
      "python.conda.conda[].channel",
      "python.conda.conda[].text",
      "python.conda.pip[].url",
      "python.conda.pip[].text",
      "python.conda.pipOptions.indexUrl",
      "python.conda.pipOptions.extraIndexUrls[]",
      "python.conda.pipOptions.findLinks[]",
      "python.conda.pipOptions.constraints[]",
      "python.conda.pipOptions.flags[]",
      "docker.base.context",
      "docker.baseImageRegistry.address",
      "spark.repositories[]",
      "r.cranPackages[].repository",
      "r.gitHubPackages[].repository",
      "r.customUrlPackages[]"
    ])
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
