/**
 * What the schemas refuse at decode: malformed hashes, and (in the checked schemas that commands
 * and importers use) specs not in normal form, URLs with credentials, Dockerfile bases with
 * nothing to build from. Each case starts from a value that decodes, changes one field, and
 * checks the error names that field.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema, type SchemaAST } from "effect"
import {
  AddPackage, Archive, ConfigureDocker, Create, Define, MoveLabel, Register, RemoveLabel, RemovePackage, Restore, SetVariable,
  UnsetVariable
} from "../src/Command.ts"
import { canonicalJson } from "../src/CanonicalHash.ts"
import { type Definition, Definition as DefinitionShape, emptyDefinition, hasReservedPrefix, type PipOptions } from "../src/Definition.ts"
import { CheckedDefinition, CheckedDockerSection, CheckedPackageSpec } from "../src/DefinitionCheck.ts"
import { ImageBuilt, Registered } from "../src/Event.ts"
import type { CondaSpec, PipRequirement } from "../src/PackageSpec.ts"
import { MAX_DEFINITION_BYTES, MAX_DOCKERFILE_LENGTH, MAX_PACKAGES, MAX_TAGS, MAX_TEXT_LENGTH, MAX_VARIABLES } from "../src/Limits.ts"
import { jsonByteLength } from "../src/StoredText.ts"
import { hasImageCredentials, hasUrlCredentials, redactUrlCredentials, urlCredentialsProblem } from "../src/UrlCredentials.ts"
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
 * The string fields that cannot hold a URL, and why: each has a rule of its own (a pattern) that
 * refuses any URL before credentials are looked at. Every other string field of a definition,
 * free text included (the description, tags, variables, the Dockerfile text), refuses
 * credentials as such. A new string field refuses them until listed here.
 */
const NOT_URL_FIELDS: ReadonlyMap<Place, string> = new Map([
  ["python.conda.conda[].name", "a conda package name: lower-case letters, digits, '_', '.', '+', '-'"],
  ["python.conda.conda[].build", "a build string: letters, digits, '_', '.', '*', '+', '-'"],
  ["python.conda.pip[].name", "a PEP 503 name (one told from nothing but a URL is that URL, checked as the url field)"],
  ["python.conda.pip[].extras[]", "PEP 503 names"],
  ["python.conda.pip[].specifier", "operator-and-version clauses"],
  ["python.conda.pipOptions.constraintDigests{}", "a content digest (sha256: and 64 hex digits)"],
  ["docker.base.contextDigest", "a content digest (sha256: and 64 hex digits)"],
  ["docker.baseImageRegistry.username", "a secret reference (env:, file:, keyvault:); one naming a URL is checked as text"],
  ["docker.baseImageRegistry.password", "a secret reference (env:, file:, keyvault:); one naming a URL is checked as text"],
  ["r.gitHubPackages[].authToken", "a secret reference (env:, file:, keyvault:); one naming a URL is checked as text"]
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
        // Its own rule refuses the URL, at the field, without repeating it.
        assert.include(message, pathText(path), place)
        assert.notInclude(message, "s3cret", place)
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
      "r.customUrlPackages[]",
      // Free text and metadata: stored as well, so a URL in them is checked like any other.
      "description",
      "tags{}",
      "properties{}",
      "variables{}",
      "python.interpreterPath",
      "python.conda.name",
      "python.conda.pip[].marker",
      "docker.base.image",
      "docker.base.dockerfile",
      "docker.base.dockerfilePath",
      "docker.shmSize",
      "docker.runArguments[]",
      "spark.packages[].group",
      "r.bioConductorPackages[]",
      "inferenceConfig.scoringRoute.path"
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
    const secret = refusal(CheckedDefinition, withPipOptions({ constraintDigests: { "https://u:s3cret@host.example.org/c.txt": goodHash } }))
    assert.include(secret, `which is not one of the constraints files\n  at ["python"]["conda"]["pipOptions"]["constraintDigests"]`)
    assert.notInclude(secret, "s3cret")
  })
})

describe("the reserved prefixes", () => {
  it("are recognised in any letter case, with or without a separator (the cases of ReservedNames.test.ts are the rest)", () => {
    for (const name of ["AzureML-x", "azureml-x", "AZUREML-x", "Azureml-", "AzureML", "azure-ml-x", "azuremlx", "Microsoft_x", "microsoftfoo"]) {
      assert.isTrue(hasReservedPrefix(name), name)
    }
    for (const name of ["my-AzureML-x", "azure", "micro", "pydata", "ms-tools"]) assert.isFalse(hasReservedPrefix(name), name)
  })
})

/**
 * Every command with a value in each of its fields (a definition with every field, a spec of each
 * kind, a docker section of each base), to walk the same way as definitions.
 */
const everyCommand: ReadonlyArray<readonly [Schema.Codec<unknown, unknown>, Schema.Struct.Fields, Record<string, unknown>]> = (() => {
  const [full, dockerfile] = everyField
  const urlSpec = full!.python.conda!.pip.at(-1)!
  return [
    ...everyField.map((definition) => [Create, Create.fields, { _tag: "Create", workspace: "w", name: "n", curated: false, definition, version: "1", canonicalHash: goodHash }] as const),
    [Define, Define.fields, { _tag: "Define", workspace: "w", name: "n", curated: false, definition: full }],
    [AddPackage, AddPackage.fields, { _tag: "AddPackage", spec: urlSpec }],
    [AddPackage, AddPackage.fields, { _tag: "AddPackage", spec: conda("numpy", ">=1.26", { channel: "conda-forge" }) }],
    [RemovePackage, RemovePackage.fields, { _tag: "RemovePackage", manager: "pip", name: "numpy" }],
    [SetVariable, SetVariable.fields, { _tag: "SetVariable", variable: "PIP_INDEX_URL", value: "https://pypi.example.org/simple" }],
    [UnsetVariable, UnsetVariable.fields, { _tag: "UnsetVariable", variable: "MODE" }],
    [ConfigureDocker, ConfigureDocker.fields, { _tag: "ConfigureDocker", docker: full!.docker }],
    [ConfigureDocker, ConfigureDocker.fields, { _tag: "ConfigureDocker", docker: dockerfile!.docker }],
    [Register, Register.fields, { _tag: "Register", version: "2", canonicalHash: goodHash }],
    [Archive, Archive.fields, { _tag: "Archive", version: "1" }],
    [Restore, Restore.fields, { _tag: "Restore", version: "1" }],
    [MoveLabel, MoveLabel.fields, { _tag: "MoveLabel", label: "prod", version: "1" }],
    [RemoveLabel, RemoveLabel.fields, { _tag: "RemoveLabel", label: "prod" }]
  ] as const
})()

/** Fields of commands whose own pattern refuses any free text: names, versions, labels, hashes. */
const COMMAND_PATTERN_FIELDS: ReadonlySet<Place> = new Set(["workspace", "name", "version", "label", "canonicalHash"])

/**
 * The place of a command's field as a definition's field when it is one (`definition.tags{}` is
 * `tags{}`, `docker.base.image` is itself), so that `NOT_URL_FIELDS` speaks for both.
 */
const definitionPlace = (command: string, place: Place): Place =>
  place.startsWith("definition.") ? place.slice("definition.".length)
  : command === "AddPackage" && place.startsWith("spec.") ? `python.conda.${place.includes("channel") || place.includes("build") ? "conda[]" : "pip[]"}${place.slice("spec".length)}`
  : place

/** Every string field of every command, with the value to change and the place it stands for. */
const commandFields = everyCommand.flatMap(([schema, fields, value]) =>
  stringFields(Schema.Struct(fields).ast, value).map((field) => ({
    schema,
    value,
    path: field.path,
    command: String(value["_tag"]),
    place: definitionPlace(String(value["_tag"]), field.place),
    // A command's own pattern field (its name, version, label) is at its top level.
    patterned: field.path.length === 1 && COMMAND_PATTERN_FIELDS.has(field.place)
  })))

/** Every string field of every command and definition, with how a replacement decodes. */
const everyStringField = commandFields.map((field) => ({
  ...field,
  // Conda specs and pip requirements share `name`, `text`; a conda spec's name is patterned like a pip one's.
  patterned: field.patterned || NOT_URL_FIELDS.has(field.place) || (field.command === "AddPackage" && /^spec\.(name|build|extras|specifier)/.test(field.path.join(".")))
}))

describe("every field a command stores is checked, free text and metadata included", () => {
  it("the walk reaches every command and every string field of every command's definition", () => {
    const commands = new Set(commandFields.map((field) => field.command))
    assert.deepStrictEqual([...commands].sort(), ["AddPackage", "Archive", "ConfigureDocker", "Create", "Define", "MoveLabel", "Register", "RemoveLabel", "RemovePackage", "Restore", "SetVariable", "UnsetVariable"])
    const reached = new Set(commandFields.filter((field) => field.command === "Create").map((field) => field.place))
    assert.deepStrictEqual([...new Set(stringPlaces(DefinitionShape.ast))].filter((place) => !reached.has(place)), [])
    for (const [schema, , value] of everyCommand) assert.strictEqual(refusal(schema, value), "", String(value["_tag"]))
  })

  it("a URL with credentials is refused in every field, naming the field and not the secret", () => {
    const secret = "https://user:s3cret@private.example.org/simple"
    for (const { schema, value, path, place, command, patterned } of everyStringField) {
      const message = refusal(schema, replaceAt(value, path, secret))
      const where = `${command} ${place}`
      assert.include(message, pathText(path), where)
      assert.notInclude(message, "s3cret", where)
      if (!patterned) assert.include(message, "must not carry credentials", where)
    }
  })

  it("a URL with credentials inside free text is refused, quoting neither the secret nor the text around it", () => {
    const text = "See https://user:s3cret@private.example.org/simple?token=nearby-secret for the wheels"
    const cases: ReadonlyArray<readonly [Schema.Codec<unknown, unknown>, unknown, string]> = [
      [CheckedDefinition, { ...rich, description: text }, `["description"]`],
      [CheckedDefinition, { ...rich, tags: { note: text } }, `["tags"]["note"]`],
      [CheckedDefinition, { ...rich, variables: { PIP_INDEX_URL: "https://u:s3cret@pypi.example.org/simple" } }, `["variables"]["PIP_INDEX_URL"]`],
      [CheckedDefinition, { ...rich, docker: { ...rich.docker, base: { kind: "dockerfile", dockerfile: `FROM python:3.11\nRUN pip install --index-url ${text}\n` } } }, `["docker"]["base"]["dockerfile"]`],
      [CheckedDefinition, { ...rich, docker: { ...rich.docker, runArguments: ["-e", `PIP_INDEX_URL=${text}`] } }, `["docker"]["runArguments"][1]`],
      [SetVariable, { _tag: "SetVariable", variable: "PIP_INDEX_URL", value: "https://u:s3cret@pypi.example.org/simple" }, `["value"]`]
    ]
    for (const [schema, value, path] of cases) {
      const message = refusal(schema, value)
      assert.include(message, "carries credentials", path)
      assert.include(message, path)
      assert.include(message, "https://***@", path)
      for (const hidden of ["s3cret", "nearby-secret", "See ", "wheels", "FROM python"]) assert.notInclude(message, hidden, path)
    }
  })

  it("a key with credentials (a tag's, a variable's name) is refused at its record, without quoting the key", () => {
    for (const record of ["tags", "properties", "variables"] as const) {
      // The entry's value breaks a rule too: reported at a path under the key, it would quote the key.
      const message = refusal(CheckedDefinition, { ...rich, [record]: { "https://u:s3cret@host.example.org/x": "a\u0000b" } })
      assert.include(message, "a key carries credentials", record)
      assert.include(message, `at ["${record}"]`, record)
      assert.notInclude(message, "s3cret", record)
      assert.notInclude(message, "NUL", record)
    }
  })

  it("an image reference with credentials is refused, with or without a scheme; digests and ports are no credentials", () => {
    for (const image of ["user:s3cret@registry.example.org/team/image:1", "s3cret@registry.example.org:5000/image", "docker://user:s3cret@registry.example.org/image"]) {
      assert.isTrue(hasImageCredentials(image), image)
      const message = refusal(CheckedDockerSection, withBase({ kind: "image", image }))
      assert.include(message, "must not carry credentials", image)
      assert.include(message, `["base"]["image"]`, image)
      assert.notInclude(message, "s3cret", image)
    }
    const sha = "0".repeat(64)
    for (const image of ["ubuntu:22.04", `ubuntu:22.04@sha256:${sha}`, `ubuntu@sha256:${sha}`, `registry.example.org:5000/team/image:1@sha256:${sha}`, "localhost:5000/image"]) {
      assert.isFalse(hasImageCredentials(image), image)
      assert.strictEqual(refusal(CheckedDockerSection, withBase({ kind: "image", image })), "", image)
    }
  })
})

describe("credentials given by reference to environment variables (pip's ${NAME})", () => {
  const byReference = [
    "https://${PIP_USER}:${PIP_TOKEN}@pypi.example.org/simple",
    "https://${PIP_TOKEN}@pypi.example.org/simple",
    "git+https://${GITHUB_TOKEN}@github.com/org/repo.git"
  ]

  it("hold no secret and are accepted in every field that takes a URL", () => {
    for (const url of byReference) {
      assert.isFalse(hasUrlCredentials(url), url)
      assert.strictEqual(redactUrlCredentials(url), url)
      for (const definition of [
        withPipOptions({ indexUrl: url, extraIndexUrls: [url], findLinks: [url], flags: [`--extra-index-url ${url}`] }),
        { ...rich, variables: { PIP_INDEX_URL: url }, description: `index: ${url}` },
        { ...rich, python: { ...rich.python, conda: { ...rich.python.conda!, channels: [url] } } }
      ]) assert.strictEqual(refusal(CheckedDefinition, definition), "", url)
      assert.strictEqual(refusal(SetVariable, { _tag: "SetVariable", variable: "PIP_INDEX_URL", value: url }), "", url)
    }
  })

  it("are no excuse for a secret beside them, nor for another spelling", () => {
    for (const url of [
      "https://user:${PIP_TOKEN}@pypi.example.org/simple",
      "https://${PIP_USER}:s3cret@pypi.example.org/simple",
      "https://${pip_token}@pypi.example.org/simple",
      "https://$PIP_TOKEN@pypi.example.org/simple",
      "https://${PIP_USER}:${PIP_TOKEN}:x@pypi.example.org/simple"
    ]) {
      assert.isTrue(hasUrlCredentials(url), url)
      assert.include(refusal(CheckedDefinition, withPipOptions({ indexUrl: url })), "must not carry credentials", url)
    }
  })
})

describe("text the store cannot keep (NUL, lone surrogates)", () => {
  const unstorable: ReadonlyArray<readonly [string, string]> = [
    ["a\u0000b", "NUL character (U+0000) at character 2"],
    ["a\uD800b", "lone surrogate (U+D800) at character 2"],
    ["\uDC00", "lone surrogate (U+DC00) at character 1"],
    ["ab\uD83D", "lone surrogate (U+D83D) at character 3"]
  ]

  it("is refused in every field of every command, naming the field and the character", () => {
    for (const [text, words] of unstorable) {
      for (const { schema, value, path, place, command, patterned } of everyStringField) {
        const message = refusal(schema, replaceAt(value, path, text))
        const where = `${command} ${place} ${JSON.stringify(text)}`
        assert.include(message, pathText(path), where)
        if (!patterned) assert.include(message, words, where)
      }
    }
  })

  it("is refused in a key, at its record", () => {
    const message = refusal(CheckedDefinition, { ...rich, tags: { "a\u0000b": "v" } })
    assert.include(message, "a key holds a NUL character")
    assert.include(message, `at ["tags"]`)
  })

  it("whole surrogate pairs (an emoji) and other characters are text like any other", () => {
    assert.strictEqual(refusal(CheckedDefinition, { ...rich, description: "ok \uD83D\uDE00 é 中", tags: { "\uD83D\uDE00": "x" } }), "")
  })
})

describe("the limits on what is stored", () => {
  const over = "x".repeat(MAX_TEXT_LENGTH + 1)

  it("no string of any command is longer than MAX_TEXT_LENGTH, the Dockerfile text than MAX_DOCKERFILE_LENGTH", () => {
    for (const { schema, value, path, place, command, patterned } of everyStringField) {
      const message = refusal(schema, replaceAt(value, path, place === "docker.base.dockerfile" ? "x".repeat(MAX_DOCKERFILE_LENGTH + 1) : over))
      const where = `${command} ${place}`
      assert.include(message, pathText(path), where)
      assert.isBelow(message.length, 4_000, where)
      if (!patterned) {
        assert.include(message, place === "docker.base.dockerfile" ? `limit is ${MAX_DOCKERFILE_LENGTH} characters (MAX_DOCKERFILE_LENGTH)` : `limit is ${MAX_TEXT_LENGTH} characters (MAX_TEXT_LENGTH)`, where)
      }
    }
    assert.strictEqual(refusal(CheckedDefinition, { ...rich, description: "x".repeat(MAX_TEXT_LENGTH) }), "")
    const dockerfile = (text: string) => ({ ...rich, docker: { ...rich.docker, base: { kind: "dockerfile", dockerfile: text } } })
    assert.strictEqual(refusal(CheckedDefinition, dockerfile(`FROM x\n${"#".repeat(MAX_TEXT_LENGTH)}`)), "")
    assert.include(refusal(CheckedDefinition, { ...rich, tags: { [over]: "v" } }), "a key is 65537 characters long")
  })

  it("a 50 MB description is refused at once, without scanning or repeating it", () => {
    const huge = `${"x".repeat(50 * 1_048_576)}\u0000https://u:s3cret@host/`
    const started = performance.now()
    const message = refusal(CheckedDefinition, { ...rich, description: huge })
    const elapsed = performance.now() - started
    assert.include(message, `is ${huge.length} characters long; the limit is ${MAX_TEXT_LENGTH} characters (MAX_TEXT_LENGTH)`)
    assert.include(message, `["description"]`)
    // Only the limit is reported: the text was measured, not scanned (no NUL, no credentials found).
    assert.notInclude(message, "NUL")
    assert.notInclude(message, "credentials")
    assert.isBelow(message.length, 1_000)
    assert.isBelow(elapsed, 1_000)
  })

  it("counts packages, variables, tags and properties", () => {
    const pips = Array.from({ length: MAX_PACKAGES - 1 }, (_, i) => pip(`p${i}`))
    const withPackages = (extra: number) => ({ ...rich, python: { ...rich.python, conda: { ...rich.python.conda!, conda: [conda("python", "3.11.*")], pip: [...pips, ...Array.from({ length: extra }, (_, i) => pip(`q${i}`))] } } })
    assert.strictEqual(refusal(CheckedDefinition, withPackages(0)), "")
    const packages = refusal(CheckedDefinition, withPackages(1))
    assert.include(packages, `${MAX_PACKAGES + 1} packages (conda and pip together); the limit is ${MAX_PACKAGES} (MAX_PACKAGES)`)
    assert.include(packages, `at ["python"]["conda"]`)
    const entries = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`K${i}`, "v"]))
    for (const [field, limit, name] of [["variables", MAX_VARIABLES, "MAX_VARIABLES"], ["tags", MAX_TAGS, "MAX_TAGS"], ["properties", MAX_TAGS, "MAX_TAGS"]] as const) {
      assert.strictEqual(refusal(CheckedDefinition, { ...rich, [field]: entries(limit) }), "", field)
      const message = refusal(CheckedDefinition, { ...rich, [field]: entries(limit + 1) })
      assert.include(message, `${limit + 1} ${field}; the limit is ${limit} (${name})`, field)
      assert.include(message, `at ["${field}"]`, field)
    }
  })

  it("a definition is at most MAX_DEFINITION_BYTES of canonical JSON", () => {
    const values = (n: number, length: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, "é".repeat(length)]))
    // Each value is within MAX_TEXT_LENGTH characters, but takes two bytes a character.
    const big = { ...rich, variables: values(Math.ceil(MAX_DEFINITION_BYTES / (2 * MAX_TEXT_LENGTH)) + 1, MAX_TEXT_LENGTH) }
    const message = refusal(CheckedDefinition, big)
    assert.include(message, `the limit is ${MAX_DEFINITION_BYTES} (MAX_DEFINITION_BYTES)`)
    assert.strictEqual(refusal(CheckedDefinition, { ...rich, variables: values(Math.floor(MAX_DEFINITION_BYTES / (2 * MAX_TEXT_LENGTH)) - 1, MAX_TEXT_LENGTH) }), "")
  })

  it("the size is counted as canonicalJson writes it, in UTF-8", () => {
    const escapes = { ...rich, description: "quote \" back \\ nl \n tab \t ctl \u0001 é 中 \uD83D\uDE00", tags: { "k\"": "\u007f\u0080" } }
    for (const definition of [...everyField, emptyDefinition, escapes]) {
      assert.strictEqual(jsonByteLength(definition), new TextEncoder().encode(canonicalJson(definition)).length)
    }
    assert.isAbove(jsonByteLength({ a: "x".repeat(1_000) }, 10), 10)
  })
})

describe("the scan for credentials", () => {
  /** The pattern the scan stands for, used as the reference here only: it backtracks quadratically. */
  const PATTERN = /([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\s/?#@]+)@/g
  const referenceRedact = (text: string) =>
    text.replace(PATTERN, (whole, scheme: string, userInfo: string) =>
      /ssh$/i.test(scheme) && !userInfo.includes(":") || /^\$\{[A-Z0-9_]+\}(?::\$\{[A-Z0-9_]+\})?$/.test(userInfo) ? whole : `${scheme}://***@`)

  it("finds what the pattern finds", () => {
    // A fixed seed: the same strings on every run, built from the characters that matter to the pattern.
    let seed = 42
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648)
    const alphabet = ["a", "Z", "1", "+", ".", "-", ":", "/", "@", "?", "#", " ", "\n", "\u00a0", "${", "}", "T", "ssh", "://", "_", "https://", "u:t@", "${T}@", "${T}:${U}@", "git+ssh://", "x@"]
    let found = 0
    for (let n = 0; n < 5_000; n++) {
      const text = Array.from({ length: next() % 24 }, () => alphabet[next() % alphabet.length]).join("")
      assert.strictEqual(redactUrlCredentials(text), referenceRedact(text), JSON.stringify(text))
      assert.strictEqual(hasUrlCredentials(text), referenceRedact(text) !== text, JSON.stringify(text))
      if (hasUrlCredentials(text)) found++
    }
    assert.isAbove(found, 100, "the strings hold credentials often enough to compare")
  })

  it("takes time in proportion to the text, however it is made", () => {
    for (const text of ["a".repeat(MAX_DOCKERFILE_LENGTH - 1), "a://".repeat(MAX_DOCKERFILE_LENGTH / 4 - 1), `a://${"b".repeat(MAX_DOCKERFILE_LENGTH - 10)}`]) {
      const started = performance.now()
      assert.strictEqual(refusal(CheckedDefinition, { ...rich, docker: { ...rich.docker, base: { kind: "dockerfile", dockerfile: text } } }), "")
      assert.isBelow(performance.now() - started, 1_000)
    }
  })
})
