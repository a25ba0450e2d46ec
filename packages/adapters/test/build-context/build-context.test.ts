/**
 * The build context's content reaches the canonical hash: an AzureML YAML with `build.path` is
 * imported from real directories, and the hash moves with the files the Dockerfile can COPY, and
 * only with them.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { CanonicalHash } from "@terrarium/domain"
import { Effect } from "effect"
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { digestBuildContextNode, importEnvironmentFile } from "../../src/importers/index.ts"

const root = mkdtempSync(join(tmpdir(), "terrarium-context-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let made = 0

/** Writes files (text, or `{ symlink }`) under a fresh directory and returns it. */
const tree = (files: Record<string, string | { readonly symlink: string }>): string => {
  const dir = join(root, String(made++))
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path)
    mkdirSync(dirname(file), { recursive: true })
    if (typeof content === "string") writeFileSync(file, content)
    else symlinkSync(content.symlink, file)
  }
  return dir
}

/** An AzureML environment whose Dockerfile COPYs its app, with logs and secrets ignored. */
const project = () =>
  tree({
    "env.yml": "name: app\nbuild:\n  path: ./docker\n",
    "docker/Dockerfile": "FROM python:3.11-slim\nCOPY . /app\n",
    "docker/.dockerignore": "*.log\nsecrets/\n",
    "docker/app/main.py": "print('hello')\n",
    "docker/app/util.py": "X = 1\n",
    "docker/debug.log": "started\n",
    "docker/secrets/token.txt": "not for the image\n"
  })

const imported = (dir: string) => importEnvironmentFile(join(dir, "env.yml"))
const hashOf = (dir: string) => imported(dir).pipe(Effect.flatMap((env) => CanonicalHash.hash(env.definition)))

describe("build context digest", () => {
  it.effect("reproduces the test vector of docs/canonical-hash.md from real files", () =>
    Effect.gen(function*() {
      const doc = readFileSync(new URL("../../../../docs/canonical-hash.md", import.meta.url), "utf8")
      const block = (part: string) => new RegExp(`^\`\`\`\\w+ context-vector-${part}\\n([\\s\\S]*?)\\n\`\`\`$`, "m").exec(doc)?.[1] ?? ""
      type File = { readonly text: string; readonly executable: boolean } | { readonly symlink: string }
      const files = JSON.parse(block("files")) as Record<string, File>
      const dir = tree({
        ...Object.fromEntries(Object.entries(files).map(([path, f]) => [path, "symlink" in f ? f : f.text])),
        "debug.log": "excluded by the vector's .dockerignore\n"
      })
      for (const [path, f] of Object.entries(files)) if ("executable" in f && f.executable) chmodSync(join(dir, path), 0o755)
      assert.strictEqual(yield* digestBuildContextNode(dir, "Dockerfile"), block("digest"))
    }))

  it.effect("is stored in the definition, which still decodes", () =>
    Effect.gen(function*() {
      const env = yield* imported(project())
      const base = env.definition.docker.base
      assert.strictEqual(base.kind, "dockerfile")
      if (base.kind === "dockerfile") {
        assert.match(base.contextDigest ?? "", /^sha256:[0-9a-f]{64}$/)
        assert.strictEqual(base.dockerfile, "FROM python:3.11-slim\nCOPY . /app\n")
      }
      assert.deepStrictEqual(env.warnings, [])
    }))

  it.effect("same context, same hash: again, and copied elsewhere", () =>
    Effect.gen(function*() {
      const dir = project()
      const first = yield* hashOf(dir)
      assert.strictEqual(yield* hashOf(dir), first)
      const copy = join(root, "copy")
      cpSync(dir, copy, { recursive: true })
      assert.strictEqual(yield* hashOf(copy), first)
    }))

  it.effect("one byte changed in a COPY'd file: another hash", () =>
    Effect.gen(function*() {
      const dir = project()
      const before = yield* hashOf(dir)
      writeFileSync(join(dir, "docker/app/main.py"), "print('hellO')\n")
      assert.notStrictEqual(yield* hashOf(dir), before)
    }))

  it.effect("a file added, removed or made executable: another hash", () =>
    Effect.gen(function*() {
      const dir = project()
      const seen = new Set([yield* hashOf(dir)])
      writeFileSync(join(dir, "docker/app/new.py"), "")
      seen.add(yield* hashOf(dir))
      unlinkSync(join(dir, "docker/app/util.py"))
      seen.add(yield* hashOf(dir))
      chmodSync(join(dir, "docker/app/main.py"), 0o755)
      seen.add(yield* hashOf(dir))
      assert.strictEqual(seen.size, 4)
    }))

  it.effect("a change in an ignored file, or outside the context: the same hash", () =>
    Effect.gen(function*() {
      const dir = project()
      const before = yield* hashOf(dir)
      writeFileSync(join(dir, "docker/debug.log"), "started\nstopped\n")
      writeFileSync(join(dir, "docker/secrets/token.txt"), "rotated\n")
      writeFileSync(join(dir, "docker/secrets/new.txt"), "also ignored\n")
      writeFileSync(join(dir, "README.md"), "beside the context, not in it\n")
      assert.strictEqual(yield* hashOf(dir), before)
    }))

  it.effect("a symbolic link is its target string: never followed", () =>
    Effect.gen(function*() {
      const dir = tree({ "Dockerfile": "FROM scratch\n", "outside.txt": "a" })
      const context = join(dir, "ctx")
      mkdirSync(context)
      symlinkSync("../outside.txt", join(context, "link"))
      const before = yield* digestBuildContextNode(context, "Dockerfile")
      writeFileSync(join(dir, "outside.txt"), "b")
      assert.strictEqual(yield* digestBuildContextNode(context, "Dockerfile"), before)
      unlinkSync(join(context, "link"))
      symlinkSync("../elsewhere.txt", join(context, "link"))
      assert.notStrictEqual(yield* digestBuildContextNode(context, "Dockerfile"), before)
    }))

  it.effect("a Dockerfile-specific ignore file wins over .dockerignore", () =>
    Effect.gen(function*() {
      const dir = tree({ "gpu.Dockerfile": "FROM x\n", ".dockerignore": "", "gpu.Dockerfile.dockerignore": "data/\n", "data/big.bin": "1" })
      const before = yield* digestBuildContextNode(dir, "gpu.Dockerfile")
      writeFileSync(join(dir, "data/big.bin"), "2")
      assert.strictEqual(yield* digestBuildContextNode(dir, "gpu.Dockerfile"), before)
      // For another Dockerfile, only .dockerignore applies, so data/ is part of the context.
      const other = yield* digestBuildContextNode(dir, "Dockerfile")
      writeFileSync(join(dir, "data/big.bin"), "3")
      assert.notStrictEqual(yield* digestBuildContextNode(dir, "Dockerfile"), other)
    }))

  it.effect("an exception brings a file back from an ignored directory", () =>
    Effect.gen(function*() {
      const dir = tree({ ".dockerignore": "data\n!data/schema.json\n", "data/schema.json": "{}", "data/rows.csv": "1" })
      const before = yield* digestBuildContextNode(dir, "Dockerfile")
      writeFileSync(join(dir, "data/rows.csv"), "2")
      assert.strictEqual(yield* digestBuildContextNode(dir, "Dockerfile"), before)
      writeFileSync(join(dir, "data/schema.json"), "{\"v\":2}")
      assert.notStrictEqual(yield* digestBuildContextNode(dir, "Dockerfile"), before)
    }))

  it.effect("a malformed .dockerignore fails the import at its line", () =>
    Effect.gen(function*() {
      const dir = project()
      writeFileSync(join(dir, "docker/.dockerignore"), "*.log\n[oops\n")
      const error = yield* imported(dir).pipe(Effect.flip)
      assert.strictEqual(error.file, join(dir, "docker/.dockerignore"))
      assert.strictEqual(error.line, 2)
      assert.include(error.message, "malformed pattern \"[oops\"")
    }))

  it.effect("a missing context: no digest, and a warning that says what the hash covers", () =>
    Effect.gen(function*() {
      const dir = tree({ "env.yml": "name: app\nbuild:\n  path: ./nowhere\n" })
      const env = yield* imported(dir)
      assert.deepStrictEqual(env.definition.docker.base, { kind: "dockerfile", context: "./nowhere", dockerfilePath: "Dockerfile" })
      assert.isTrue(env.warnings.some((w) => w.line === 2 && w.message.includes("the hash covers only its path")))
    }))
})
