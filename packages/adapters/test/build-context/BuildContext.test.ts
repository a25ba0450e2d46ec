/**
 * The build context's content reaches the canonical hash: an AzureML YAML with `build.path` is
 * imported from real directories, and the hash moves with the files the Dockerfile can COPY, and
 * only with them. The walk lists exactly the entries it digests, so what an image builder sends
 * is what the cache key covers.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, layer } from "@effect/vitest"
import { CanonicalHash, ContextDigest, verifyBuildContext } from "@terrarium/domain"
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { digestBuildContext, readBuildContext, walkBuildContext } from "../../src/build-context/BuildContext.ts"
import { importEnvironmentFile } from "../../src/importers/index.ts"

const localDisk = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

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

layer(localDisk)("build context digest", (it) => {
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
      assert.strictEqual(yield* digestBuildContext(dir, "Dockerfile"), block("digest"))
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
      const before = yield* digestBuildContext(context, "Dockerfile")
      writeFileSync(join(dir, "outside.txt"), "b")
      assert.strictEqual(yield* digestBuildContext(context, "Dockerfile"), before)
      unlinkSync(join(context, "link"))
      symlinkSync("../elsewhere.txt", join(context, "link"))
      assert.notStrictEqual(yield* digestBuildContext(context, "Dockerfile"), before)
    }))

  it.effect("a Dockerfile-specific ignore file wins over .dockerignore", () =>
    Effect.gen(function*() {
      const dir = tree({ "gpu.Dockerfile": "FROM x\n", ".dockerignore": "", "gpu.Dockerfile.dockerignore": "data/\n", "data/big.bin": "1" })
      const before = yield* digestBuildContext(dir, "gpu.Dockerfile")
      writeFileSync(join(dir, "data/big.bin"), "2")
      assert.strictEqual(yield* digestBuildContext(dir, "gpu.Dockerfile"), before)
      // For another Dockerfile, only .dockerignore applies, so data/ is part of the context.
      const other = yield* digestBuildContext(dir, "Dockerfile")
      writeFileSync(join(dir, "data/big.bin"), "3")
      assert.notStrictEqual(yield* digestBuildContext(dir, "Dockerfile"), other)
    }))

  it.effect("an exception brings a file back from an ignored directory", () =>
    Effect.gen(function*() {
      const dir = tree({ ".dockerignore": "data\n!data/schema.json\n", "data/schema.json": "{}", "data/rows.csv": "1" })
      const before = yield* digestBuildContext(dir, "Dockerfile")
      writeFileSync(join(dir, "data/rows.csv"), "2")
      assert.strictEqual(yield* digestBuildContext(dir, "Dockerfile"), before)
      writeFileSync(join(dir, "data/schema.json"), "{\"v\":2}")
      assert.notStrictEqual(yield* digestBuildContext(dir, "Dockerfile"), before)
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

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex")

layer(localDisk)("build context walk", (it) => {
  it.effect("lists exactly the entries it digests, each as it is on disk", () =>
    Effect.gen(function*() {
      const dir = project()
      chmodSync(join(dir, "docker/app/main.py"), 0o755)
      symlinkSync("app/main.py", join(dir, "docker/entry.py"))
      const context = yield* walkBuildContext(join(dir, "docker"))
      assert.isDefined(context)
      if (context === undefined) return
      assert.deepStrictEqual(context.entries.map((e) => e.path).sort(), [
        ".dockerignore",
        "Dockerfile",
        "app/main.py",
        "app/util.py",
        "entry.py"
      ])
      for (const entry of context.entries) {
        const absolute = join(dir, "docker", entry.path)
        if (entry.type === "symlink") {
          assert.strictEqual(entry.target, "app/main.py")
          continue
        }
        assert.strictEqual(entry.sha256, sha256(absolute), entry.path)
        assert.strictEqual(entry.size, readFileSync(absolute).length, entry.path)
        assert.strictEqual(entry.mode & 0o777, entry.path === "app/main.py" ? 0o755 : 0o644, entry.path)
        assert.strictEqual(entry.executable, entry.path === "app/main.py", entry.path)
      }
      // The digest is that of the list, and the one the importer records.
      const listed = context.entries.map((e) =>
        e.type === "file"
          ? { type: "file" as const, path: e.path, sha256: e.sha256, executable: e.executable }
          : { type: "symlink" as const, path: e.path, target: e.target }
      )
      assert.strictEqual(context.digest, yield* ContextDigest.contextDigest(listed))
      assert.strictEqual(yield* digestBuildContext(join(dir, "docker")), context.digest)
      const env = yield* imported(dir)
      const base = env.definition.docker.base
      assert.strictEqual(base.kind === "dockerfile" ? base.contextDigest : undefined, context.digest)
    }))

  it.effect("a change to any listed file changes the digest; a change to an excluded one does not", () =>
    Effect.gen(function*() {
      const dir = project()
      const docker = join(dir, "docker")
      const context = yield* walkBuildContext(docker)
      assert.isDefined(context)
      if (context === undefined) return
      for (const entry of context.entries) {
        const file = join(docker, entry.path)
        const before = readFileSync(file)
        writeFileSync(file, Buffer.concat([before, Buffer.from("#")]))
        assert.notStrictEqual(yield* digestBuildContext(docker), context.digest, entry.path)
        writeFileSync(file, before)
      }
      assert.strictEqual(yield* digestBuildContext(docker), context.digest)
      const excluded = ["debug.log", "secrets/token.txt"]
      for (const path of excluded) {
        assert.notInclude(context.entries.map((e) => e.path), path)
        writeFileSync(join(docker, path), "changed\n")
      }
      assert.strictEqual(yield* digestBuildContext(docker), context.digest)
    }))

  it.effect("an exception brings back exactly the file it names from an excluded directory", () =>
    Effect.gen(function*() {
      const dir = tree({ ".dockerignore": "data\n!data/schema.json\n", "data/schema.json": "{}", "data/rows.csv": "1" })
      const context = yield* walkBuildContext(dir)
      assert.deepStrictEqual(context?.entries.map((e) => e.path).sort(), [".dockerignore", "data/schema.json"])
    }))

  it.effect("no directory: no context; a file: an error naming it", () =>
    Effect.gen(function*() {
      const dir = tree({ "Dockerfile": "FROM scratch\n" })
      assert.isUndefined(yield* walkBuildContext(join(dir, "nowhere")))
      const error = yield* walkBuildContext(join(dir, "Dockerfile")).pipe(Effect.flip)
      assert.strictEqual(error.message, `${join(dir, "Dockerfile")}: the build context must be a directory`)
    }))
})

layer(localDisk)("build context read to be stored", (it) => {
  it.effect("holds the bytes of exactly the entries the walk digests, and verifies as stored", () =>
    Effect.gen(function*() {
      const docker = join(project(), "docker")
      symlinkSync("app/main.py", join(docker, "main.py"))
      chmodSync(join(docker, "app/util.py"), 0o755)
      const walked = yield* walkBuildContext(docker)
      const read = yield* readBuildContext(docker)
      assert.strictEqual(read?.digest, walked?.digest)
      const shown = read?.entries.map((e) => [e.path, e.executable, e.linkTarget ?? new TextDecoder().decode(e.content)]).sort()
      assert.deepStrictEqual(shown, [
        [".dockerignore", false, "*.log\nsecrets/\n"],
        ["Dockerfile", false, "FROM python:3.11-slim\nCOPY . /app\n"],
        ["app/main.py", false, "print('hello')\n"],
        ["app/util.py", true, "X = 1\n"],
        ["main.py", false, "app/main.py"]
      ])
      yield* verifyBuildContext(read!)
    }))

  it.effect("a file larger than one chunk of the stream is kept whole", () =>
    Effect.gen(function*() {
      const big = "0123456789abcdef".repeat(64 * 1024 + 3)
      const dir = tree({ "Dockerfile": "FROM scratch\n", "data.bin": big })
      const read = yield* readBuildContext(dir)
      assert.strictEqual(new TextDecoder().decode(read?.entries.find((e) => e.path === "data.bin")?.content), big)
      yield* verifyBuildContext(read!)
    }))

  it.effect("no directory: no context", () =>
    Effect.gen(function*() {
      assert.isUndefined(yield* readBuildContext(join(root, "nowhere")))
    }))
})
