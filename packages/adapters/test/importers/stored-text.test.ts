/**
 * What the domain refuses in any stored field (StoredText.ts, Limits.ts) reaches a user of the
 * importers as an `ImportError` naming the file and the field, without the secret: a NUL in a
 * description, credentials in conda `variables:` or in an `image:`. pip's `${NAME}` references
 * are no credentials and import as written. Each refusal names the line too: a NUL or a lone
 * surrogate is refused as the file is decoded (every YAML string, every requirements line), the
 * domain's other refusals at the line of the field they are about.
 */
import { assert, describe, it } from "@effect/vitest"
import { MAX_TEXT_LENGTH } from "@terrarium/domain"
import { Effect } from "effect"
import { importEnvironmentFile } from "../../src/importers/index.ts"
import * as MemoryFileSystem from "../support/MemoryFileSystem.ts"

const importing = (file: string, map: Record<string, string>) =>
  importEnvironmentFile(file).pipe(Effect.provide(MemoryFileSystem.layer(map)))

const refusal = (file: string, map: Record<string, string>) => importing(file, map).pipe(Effect.flip)

describe("what the domain refuses in a stored field, through an importer", () => {
  it.effect("a NUL in a description names the file and the field, not the text", () =>
    Effect.gen(function*() {
      const error = yield* refusal("/w/env.yml", {
        "/w/env.yml": "name: nul\nimage: python:3.11\ndescription: \"before\\0after\"\n"
      })
      assert.strictEqual(error._tag, "ImportError")
      assert.strictEqual(error.file, "/w/env.yml")
      assert.strictEqual(error.line, 3)
      assert.isTrue(error.message.startsWith(`/w/env.yml:3: field ["description"] holds a NUL character (U+0000)`), error.message)
      assert.include(error.message, "NUL character (U+0000)")
      assert.include(error.message, `["description"]`)
      assert.notInclude(error.message, "before")
      assert.notInclude(error.message, "\u0000")
    }))

  it.effect("a lone surrogate in a tag names the file and the field", () =>
    Effect.gen(function*() {
      const error = yield* refusal("/w/env.yml", {
        "/w/env.yml": "name: s\nimage: python:3.11\ntags:\n  team: \"a\\uD800b\"\n"
      })
      assert.strictEqual(error.file, "/w/env.yml")
      assert.strictEqual(error.line, 4)
      assert.isTrue(error.message.startsWith(`/w/env.yml:4: field ["tags"]["team"] holds a lone surrogate`), error.message)
      assert.include(error.message, "lone surrogate (U+D800)")
      assert.include(error.message, `["tags"]["team"]`)
    }))

  it.effect("credentials in a conda file's variables, or in an image reference, are refused without the secret", () =>
    Effect.gen(function*() {
      const conda = yield* refusal("/w/conda.yml", {
        "/w/conda.yml": "name: v\ndependencies:\n  - python=3.11\nvariables:\n  PIP_INDEX_URL: https://u:s3cret@pypi.example.org/simple\n"
      })
      assert.strictEqual(conda.file, "/w/conda.yml")
      assert.strictEqual(conda.line, 5)
      assert.isTrue(conda.message.startsWith("/w/conda.yml:5: "), conda.message)
      assert.include(conda.message, "carries credentials")
      assert.include(conda.message, `["variables"]["PIP_INDEX_URL"]`)
      assert.notInclude(conda.message, "s3cret")
      const image = yield* refusal("/w/env.yml", {
        "/w/env.yml": "name: i\nimage: deploy:s3cret@registry.example.org/team/base:1\n"
      })
      assert.strictEqual(image.file, "/w/env.yml")
      assert.strictEqual(image.line, 2)
      assert.isTrue(image.message.startsWith("/w/env.yml:2: "), image.message)
      assert.include(image.message, "must not carry credentials")
      assert.include(image.message, `["docker"]["base"]["image"]`)
      assert.notInclude(image.message, "s3cret")
    }))

  it.effect("a description over MAX_TEXT_LENGTH names the limit", () =>
    Effect.gen(function*() {
      const error = yield* refusal("/w/env.yml", {
        "/w/env.yml": `name: long\nimage: python:3.11\ndescription: ${"x".repeat(MAX_TEXT_LENGTH + 1)}\n`
      })
      assert.strictEqual(error.file, "/w/env.yml")
      assert.strictEqual(error.line, 3)
      assert.include(error.message, `the limit is ${MAX_TEXT_LENGTH} characters (MAX_TEXT_LENGTH)`)
      assert.isBelow(error.message.length, 1_000)
    }))

  it.effect("a NUL or a lone surrogate anywhere in a YAML file is refused at its line and path, a key at its mapping's", () =>
    Effect.gen(function*() {
      const key = yield* refusal("/w/env.yml", { "/w/env.yml": "name: k\nimage: python:3.11\ntags:\n  ok: 1\n  \"sec\\0ret\": x\n" })
      assert.strictEqual(key.file, "/w/env.yml")
      assert.strictEqual(key.line, 5)
      assert.strictEqual(key.field, `["tags"]`)
      assert.isTrue(key.message.startsWith(`/w/env.yml:5: a key of field ["tags"] holds a NUL character (U+0000)`), key.message)
      assert.notInclude(key.message, "sec")
      // A raw NUL byte in a plain scalar, in a conda file's pip: list.
      const pip = yield* refusal("/w/environment.yml", {
        "/w/environment.yml": "dependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - numpy\n    - pan\u0000das\n"
      })
      assert.strictEqual(pip.file, "/w/environment.yml")
      assert.strictEqual(pip.line, 6)
      assert.strictEqual(pip.field, `["dependencies"][2]["pip"][1]`)
      assert.include(pip.message, "NUL character (U+0000) at character 4")
      // Even in a section conda ignores: nothing in the file may be a string the log cannot hold.
      const ignored = yield* refusal("/w/environment.yml", {
        "/w/environment.yml": "dependencies:\n  - python=3.11\nextra:\n  - \"\\uDC00\"\n"
      })
      assert.strictEqual(ignored.line, 4)
      assert.include(ignored.message, `field ["extra"][0] holds a lone surrogate (U+DC00)`)
    }))

  it.effect("a NUL or a lone surrogate in an ARM template is refused at its line and path; an escaped backslash or a whole pair is text", () =>
    Effect.gen(function*() {
      const template = (description: string, extra = "") => [
        "{",
        `  "parameters": { "d": { "type": "string", "defaultValue": "${description}" }${extra} },`,
        '  "resources": [{',
        '    "type": "Microsoft.MachineLearningServices/workspaces/environments/versions",',
        '    "name": "w/e/1",',
        '    "properties": { "image": "python:3.11", "description": "[parameters(\'d\')]" }',
        "  }]",
        "}"
      ].join("\n")
      const nul = yield* refusal("/w/env.json", { "/w/env.json": template("sec\\u0000ret") })
      assert.deepStrictEqual([nul.file, nul.line, nul.field], ["/w/env.json", 2, `["parameters"]["d"]["defaultValue"]`])
      assert.include(nul.message, "holds a NUL character (U+0000) at character 4")
      assert.notInclude(nul.message, "ret")
      const lone = yield* refusal("/w/env.json", { "/w/env.json": template("ok", `, "e": { "type": "string", "defaultValue": "\\udc00" }`) })
      assert.deepStrictEqual([lone.line, lone.field], [2, `["parameters"]["e"]["defaultValue"]`])
      assert.include(lone.message, "holds a lone surrogate (U+DC00)")
      // A backslash before u0000, and a surrogate pair written as two escapes, are ordinary text.
      const kept = yield* importing("/w/env.json", { "/w/env.json": template("C:\\\\u0000 \\ud83d\\ude00") })
      assert.strictEqual(kept.definition.description, "C:\\u0000 😀")
    }))

  it.effect("a NUL in a requirements line is refused at its file and line, an option's with its field, in an included file too", () =>
    Effect.gen(function*() {
      const requirement = yield* refusal("/w/requirements.txt", { "/w/requirements.txt": "numpy\n# a comment\npan\u0000das\n" })
      // No requirement syntax allows a NUL: the parser refuses it at its line, before anything is kept.
      assert.strictEqual(requirement.file, "/w/requirements.txt")
      assert.strictEqual(requirement.line, 3)
      assert.isTrue(requirement.message.startsWith("/w/requirements.txt:3: invalid pip requirement"), requirement.message)
      assert.notInclude(requirement.message, "\u0000")
      const option = yield* refusal("/w/requirements.txt", {
        "/w/requirements.txt": "numpy\n-r more.txt\n",
        "/w/more.txt": "pandas\n--trusted-host \\\n  pypi.example\u0000.org\n"
      })
      assert.strictEqual(option.file, "/w/more.txt")
      assert.strictEqual(option.line, 2)
      assert.strictEqual(option.field, "--trusted-host")
      assert.include(option.message, "/w/more.txt:2: pip option --trusted-host holds a NUL character (U+0000)")
    }))

  it.effect("the domain's refusals name the line of the field they are about, in the file that holds it", () =>
    Effect.gen(function*() {
      // A conda file named by an AzureML YAML: the refusal is the conda file's, at its line.
      const variables = yield* refusal("/w/env.yml", {
        "/w/env.yml": "name: c\nimage: python:3.11\nconda_file: conda.yml\n",
        "/w/conda.yml": "dependencies:\n  - python=3.11\nvariables:\n  A: b\n  TOKEN_URL: https://u:s3cret@host.example.org/x\n"
      })
      assert.strictEqual(variables.file, "/w/conda.yml")
      assert.strictEqual(variables.line, 5)
      assert.notInclude(variables.message, "s3cret")
      // A tag over MAX_TEXT_LENGTH, at its key's line.
      const tag = yield* refusal("/w/env.yml", {
        "/w/env.yml": `name: t\nimage: python:3.11\ntags:\n  short: x\n  long: ${"x".repeat(MAX_TEXT_LENGTH + 1)}\n`
      })
      assert.strictEqual(tag.line, 5)
      assert.include(tag.message, `["tags"]["long"]`)
      // Credentials in the Dockerfile's text, at the line naming the Dockerfile.
      const dockerfile = yield* refusal("/w/env.yml", {
        "/w/env.yml": "name: d\nbuild:\n  path: ctx\n  dockerfile_path: Dockerfile\n",
        "/w/ctx/Dockerfile": "FROM python:3.11\nRUN pip install --index-url https://u:s3cret@pypi.example.org/simple numpy\n"
      })
      assert.strictEqual(dockerfile.file, "/w/env.yml")
      assert.strictEqual(dockerfile.line, 4)
      assert.notInclude(dockerfile.message, "s3cret")
    }))

  it.effect("pip's ${NAME} references in an index URL import as written", () =>
    Effect.gen(function*() {
      const url = "https://${PIP_USER}:${PIP_TOKEN}@pypi.example.org/simple"
      const imported = yield* importing("/w/conda.yml", {
        "/w/conda.yml": `name: refs\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - --index-url ${url}\n    - numpy\nvariables:\n  PIP_INDEX_URL: ${url}\n`
      })
      assert.strictEqual(imported.definition.python.conda?.pipOptions.indexUrl, url)
      assert.strictEqual(imported.definition.variables["PIP_INDEX_URL"], url)
    }))
})
