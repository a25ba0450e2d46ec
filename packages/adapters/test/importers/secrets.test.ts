/**
 * Errors that could leak what they read: every error path of every importer is run with a secret
 * planted in the input, next to what is wrong, and the secret must appear nowhere in the error
 * (its message, its detail, its fields). A line of a file that was read may be anything readable
 * (`-r /proc/self/environ` is the process environment on one line), so an error quotes at most a
 * short excerpt of the word it is about, never the line.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { walkBuildContext } from "../../src/build-context/BuildContext.ts"
import { excerpt, type ImportError, importEnvironmentFile, importError } from "../../src/importers/index.ts"
import * as MemoryFileSystem from "../support/MemoryFileSystem.ts"

const SECRET = "SECRET_TOKEN_abc123"

/** The error says nothing of the secret, in any of its parts. */
const assertSilent = (error: ImportError, what: string) => {
  for (const text of [error.message, error.detail, String(error), JSON.stringify(error), error.field ?? ""]) {
    assert.notInclude(text, SECRET, `${what}: ${text}`)
  }
}

const arm = (properties: Record<string, unknown>) =>
  JSON.stringify({
    resources: [{ type: "Microsoft.MachineLearningServices/workspaces/environments/versions", name: "ws/e/1", properties }]
  })

/**
 * Each case: the files, the one to import, and what the error is (so that each case is known to
 * take the path it names, not to fail earlier for another reason).
 */
const CASES: ReadonlyArray<readonly [string, Record<string, string>, string, RegExp]> = [
  // requirements.txt
  ["a bad requirement", { "r.txt": `numpy\nnumpy=>1 ${SECRET}\n` }, "r.txt", /^r\.txt:2: invalid pip requirement "numpy=>1 …": at column 6/],
  ["a bad marker", { "r.txt": `numpy==1.0 ; python_version >> '${SECRET}'\n` }, "r.txt", /invalid pip requirement "… >> …"/],
  ["a bad URL requirement", { "r.txt": `http://x y ${SECRET}\n` }, "r.txt", /invalid URL requirement "http:\/\/x …"/],
  ["an unknown option", { "r.txt": `--frobnicate ${SECRET}\n` }, "r.txt", /unknown pip option "--frobnicate" in "--frobnicate …"/],
  ["a flag given a value", { "r.txt": `--pre x ${SECRET}\n` }, "r.txt", /pip option --pre takes no value \(got "x …"\)/],
  ["an option quoted as a Python string", { "r.txt": `'--frobnicate ${SECRET}',\n` }, "r.txt", /unknown pip option/],
  ["an index URL with credentials", { "r.txt": `--extra-index-url https://user:${SECRET}@pypi.example.org/simple\n` }, "r.txt", /carries credentials/],
  ["an index URL with a token", { "r.txt": `-i https://${SECRET}@pypi.example.org/simple\n` }, "r.txt", /carries credentials/],
  ["credentials split by a continuation", { "r.txt": `--extra-index-url https://user:\\\n${SECRET}@pypi.example.org/simple\n` }, "r.txt", /carries credentials/],
  ["a requirement URL with credentials", { "r.txt": `pkg @ https://u:${SECRET}@files.example.org/pkg-1.0.tar.gz\n` }, "r.txt", /carries credentials/],
  ["an -r include that is the process environment", {
    "r.txt": "numpy\n-r environ\n",
    environ: `PATH=/usr/bin\u0000${SECRET}=1\u0000HOME=/root\u0000`
  }, "r.txt", /^environ:1: invalid pip requirement "PATH=\/usr\/bin …"/],
  ["an -r include that is a shadow file", {
    "r.txt": "-r shadow\n",
    shadow: `root:$6$${SECRET}$0123456789abcdef:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n`
  }, "r.txt", /^shadow:1: invalid pip requirement "root:\$6\$SECRET_T…"/],
  // conda environment files
  ["a bad conda spec", { "c.yml": `dependencies:\n  - numpy >>1 ${SECRET}\n` }, "c.yml", /invalid conda version spec ">>1" in "numpy …"/],
  ["a bad conda package name", { "c.yml": `dependencies:\n  - "numpy[x ${SECRET}"\n` }, "c.yml", /invalid conda/],
  ["a channel with credentials", { "c.yml": `channels: [https://u:${SECRET}@conda.example.org/c]\ndependencies: [numpy]\n` }, "c.yml", /carries credentials/],
  ["a bad pip line of a conda file", { "c.yml": `dependencies:\n  - pip\n  - pip:\n    - numpy=>1 ${SECRET}\n` }, "c.yml", /^c\.yml:4: invalid pip requirement "numpy=>1 …"/],
  ["a pip line continued into credentials", {
    "c.yml": `dependencies:\n  - pip\n  - pip:\n    - --extra-index-url https://user:\\\n    - ${SECRET}@pypi.example.org/simple\n`
  }, "c.yml", /^c\.yml:4: pip option --extra-index-url "https:\/\/\*\*\*@pypi\.example\.org\/simple" carries credentials/],
  ["an unsupported dependency section", { "c.yml": `dependencies:\n  - {"conda ${SECRET}": [a]}\n` }, "c.yml", /unsupported dependency section "conda …"/],
  ["invalid YAML", { "c.yml": `dependencies: [${SECRET}\n` }, "c.yml", /invalid YAML/],
  // AzureML v2 environment YAML
  ["an unknown field", { "e.yml": `name: e\nimage: python:3.11\n"extra ${SECRET}": 1\n` }, "e.yml", /field "extra …" is not part of/],
  ["a bad os_type", { "e.yml": `name: e\nimage: python:3.11\nos_type: linux ${SECRET}\n` }, "e.yml", /must be "linux" or "windows", not "linux …"/],
  ["a bad port", { "e.yml": `image: a\ninference_config:\n  scoring_route:\n    path: /\n    port: 80 ${SECRET}\n` }, "e.yml", /not "80 …"/],
  ["a conda_file URI with credentials", { "e.yml": `image: a\nconda_file: https://u:${SECRET}@example.org/c.yml\n` }, "e.yml", /must be a local file/],
  ["a build context URI with credentials", { "e.yml": `build:\n  path: https://u:${SECRET}@github.com/o/r.git\n` }, "e.yml", /carries credentials/],
  ["an unknown build field", { "e.yml": `build:\n  path: .\n  "dockerfile ${SECRET}": D\n` }, "e.yml", /field "build\.dockerfile …"/],
  // MLflow python_env.yaml
  ["a bad python version", { "python_env.yaml": `python: "3.x ${SECRET}"\ndependencies: [numpy]\n` }, "python_env.yaml", /invalid conda/],
  ["a bad MLflow dependency", { "python_env.yaml": `python: 3.11\ndependencies:\n  - numpy=>1 ${SECRET}\n` }, "python_env.yaml", /invalid pip requirement "numpy=>1 …"/],
  // ARM templates
  ["invalid JSON", { "t.json": `{"resources": [${SECRET}]}` }, "t.json", /^t\.json:1:\d+: invalid JSON|^t\.json: invalid JSON/],
  ["a bad osType", { "t.json": arm({ osType: `Linux ${SECRET}` }) }, "t.json", /osType must be Linux or Windows, not "linux …"/],
  ["a bad conda file inside a template", { "t.json": arm({ condaFile: `dependencies:\n  - numpy >>1 ${SECRET}\n` }) }, "t.json", /invalid conda version spec/],
  ["a context URI with credentials", { "t.json": arm({ build: { contextUri: `https://u:${SECRET}@github.com/o/r.git` } }) }, "t.json", /carries credentials/]
]

describe("no importer error repeats a secret it read", () => {
  for (const [what, files, file, expected] of CASES) {
    it.effect(what, () =>
      Effect.gen(function*() {
        const error = yield* importEnvironmentFile(file).pipe(Effect.provide(MemoryFileSystem.layer(files)), Effect.flip)
        assert.match(error.message, expected, `${what}: this case must take the path it names`)
        assertSilent(error, what)
      }))
  }

  describe("on the disk", () => {
    const root = mkdtempSync(join(tmpdir(), "terrarium-secrets-"))
    afterAll(() => rmSync(root, { recursive: true, force: true }))
    const write = (files: Record<string, string>) => {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, path)), { recursive: true })
        writeFileSync(join(root, path), text)
      }
    }
    const disk = Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))

    it.effect("a malformed .dockerignore pattern", () =>
      Effect.gen(function*() {
        write({ "ctx/Dockerfile": "FROM scratch\n", "ctx/.dockerignore": `*.log\n[ ${SECRET}\n` })
        const error = yield* walkBuildContext(join(root, "ctx")).pipe(disk, Effect.flip)
        assert.match(error.message, /\.dockerignore:2: malformed pattern "\[ …"/)
        assertSilent(error, "dockerignore")
      }))

    it.effect("a file outside the folder tree is refused before anything of it is read", () =>
      Effect.gen(function*() {
        write({ "outside/secret": `${SECRET}\n`, "project/r.txt": "-r ../outside/secret\n" })
        const error = yield* importEnvironmentFile(join(root, "project/r.txt")).pipe(disk, Effect.flip)
        assert.include(error.message, "outside the environment file's folder")
        assertSilent(error, "outside")
      }))
  })
})

describe("excerpt", () => {
  it("quotes the word at the column, cut short, a URL without credentials or query", () => {
    assert.strictEqual(excerpt("pandas=>2.0"), "pandas=>2.0")
    assert.strictEqual(excerpt("numpy=>1 SECRET", 6), "numpy=>1 …")
    assert.strictEqual(excerpt("a b c", 3), "… b …")
    assert.strictEqual(excerpt("a b c", 99), "… c")
    assert.strictEqual(excerpt("x".repeat(41)), `${"x".repeat(16)}…`)
    assert.strictEqual(excerpt("x".repeat(40)), "x".repeat(40))
    assert.strictEqual(excerpt("https://u:t@host/simple?token=abc#frag"), "https://***@host/simple?…")
    assert.strictEqual(excerpt("A=1\u0000B=2"), "A=1 …")
    assert.strictEqual(excerpt("a\u202eb"), "a …")
    assert.strictEqual(excerpt(""), "")
  })

  it("an error keeps a short quoted text as it is, and cuts a longer one to its excerpt", () => {
    assert.strictEqual(importError({ file: "f" }, `name "my env": no spaces`).message, `f: name "my env": no spaces`)
    assert.strictEqual(importError({ file: "f" }, `"ftp://u:p@h"`).detail, `"ftp://***@h"`)
    assert.strictEqual(importError({ file: "f" }, `bad "numpy >>1 ${SECRET}"`).detail, `bad "numpy …"`)
    assert.strictEqual(importError({ file: "f", field: `tags.a ${SECRET}` }, "x").field, "tags.a …")
  })
})
