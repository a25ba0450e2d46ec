/**
 * End to end: the build context of a Dockerfile-based version is stored when it is registered
 * (under `$TERRARIUM_HOME/build-contexts`, by content digest), so its files outlive the folder;
 * and `environment share` copies a version into another workspace with the provenance in both
 * audit trails. Bad input: a clear error, a non-zero exit, nothing appended.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { FileSystemBuildContextStore } from "@terrarium/adapters"
import { BuildContextStore } from "@terrarium/domain"
import { Effect, Layer } from "effect"
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { json, runCli, tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-cli-share-")
afterAll(() => home.remove())
const env = { TERRARIUM_HOME: home.path }
const cli = (...args: Array<string>) => runCli(args, env)
const head = () => json<{ headPosition: number }>(cli("db", "status", "-o", "json")).headPosition

/** Writes `files` under a fresh folder of the test's home and returns the folder. */
let made = 0
const project = (files: Record<string, string>): string => {
  const dir = join(home.path, `project-${made++}`)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

/** The files the store holds under `digest`, read by a store of its own on the same directory. */
const storedFiles = (digest: string) =>
  Effect.runPromise(
    BuildContextStore.use((store) => store.get(digest)).pipe(
      Effect.map((context) => ({
        digest: context.digest,
        files: Object.fromEntries(context.entries.map((e) => [e.path, e.linkTarget ?? new TextDecoder().decode(e.content)])),
        executable: context.entries.filter((e) => e.executable).map((e) => e.path)
      })),
      Effect.provide(FileSystemBuildContextStore.layerWith({ directory: join(home.path, "build-contexts") }).pipe(
        Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
      ))
    )
  )

const contextDigestOf = (ref: string, ...args: Array<string>): string => {
  const base = json(cli("environment", "show", ref, ...args, "-o", "json")).definition.docker.base
  assert.strictEqual(base.kind, "dockerfile")
  return base.contextDigest
}

describe("build contexts stored at registration", () => {
  it("create --file: the folder deleted, the store still has exactly the files its digest covers", { timeout: 300_000 }, async () => {
    const files = {
      "docker/Dockerfile": "FROM scratch\nCOPY . /app\n",
      "docker/.dockerignore": "*.log\n",
      "docker/app/main.py": "print('kept')\n",
      "docker/bin/run.sh": "#!/bin/sh\nexec python /app/app/main.py\n",
      "docker/debug.log": "ignored\n"
    }
    const dir = project({ ...files, "env.yml": "name: from-folder\nbuild:\n  path: ./docker\n" })
    chmodSync(join(dir, "docker/bin/run.sh"), 0o755)
    const created = cli("environment", "create", "--file", join(dir, "env.yml"), "-o", "json")
    assert.strictEqual(created.status, 0, created.stderr)
    rmSync(dir, { recursive: true })

    const digest = contextDigestOf("from-folder:1")
    const stored = await storedFiles(digest)
    assert.strictEqual(stored.digest, digest)
    assert.deepStrictEqual(stored.files, {
      ".dockerignore": files["docker/.dockerignore"],
      "Dockerfile": files["docker/Dockerfile"],
      "app/main.py": files["docker/app/main.py"],
      "bin/run.sh": files["docker/bin/run.sh"]
    })
    assert.deepStrictEqual(stored.executable, ["bin/run.sh"])
  })

  it("create --dockerfile: the context of the flag is stored too", { timeout: 300_000 }, async () => {
    const dir = project({ "Dockerfile": "FROM scratch\nCOPY app.py /\n", "app.py": "print('flag')\n" })
    const created = cli("environment", "create", "--name", "from-flag", "--dockerfile", join(dir, "Dockerfile"))
    assert.strictEqual(created.status, 0, created.stderr)
    rmSync(dir, { recursive: true })
    assert.deepStrictEqual((await storedFiles(contextDigestOf("from-flag:1"))).files, {
      "Dockerfile": "FROM scratch\nCOPY app.py /\n",
      "app.py": "print('flag')\n"
    })
  })

  it("when the context cannot be stored, the command fails saying why and appends nothing", { timeout: 300_000 }, () => {
    const own = tempDir("terrarium-cli-share-unstorable-")
    try {
      const run = (...args: Array<string>) => runCli(args, { TERRARIUM_HOME: own.path })
      assert.strictEqual(run("environment", "create", "--name", "first", "--image", "python:3.11").status, 0)
      // A file where the store's directory should be: nothing can be stored under it.
      writeFileSync(join(own.path, "build-contexts"), "not a directory\n")
      const dir = project({ "Dockerfile": "FROM scratch\n" })
      const failed = run("environment", "create", "--name", "unstorable", "--dockerfile", join(dir, "Dockerfile"))
      assert.strictEqual(failed.status, 1)
      assert.match(failed.stderr, /build context store .* failed/)
      assert.strictEqual(failed.stdout, "")
      assert.deepStrictEqual(json<Array<{ name: string }>>(run("environment", "list", "-o", "json")).map((e) => e.name), ["first"])
      assert.strictEqual(readFileSync(join(own.path, "build-contexts"), "utf8"), "not a directory\n")
    } finally {
      own.remove()
    }
  })
})

describe("environment share", () => {
  it("copies a version into another workspace with the same hash; both audit trails record it", { timeout: 300_000 }, () => {
    assert.strictEqual(cli("environment", "create", "--name", "pydata", "--image", "python:3.11").status, 0)
    const v2 = json(cli("environment", "create", "--name", "pydata", "--image", "python:3.12", "-o", "json"))
    const shared = json(cli("environment", "share", "pydata:2", "--to-workspace", "team-b", "-o", "json"))
    assert.deepStrictEqual(shared.from, { workspace: "default", name: "pydata", version: "2", canonicalHash: v2.canonicalHash })
    assert.deepStrictEqual([shared.to.workspace, shared.to.name, shared.to.version, shared.to.canonicalHash, shared.to.created], [
      "team-b", "pydata", "2", v2.canonicalHash, true
    ])
    const copy = json(cli("environment", "show", "pydata:2", "--workspace", "team-b", "-o", "json"))
    assert.strictEqual(copy.canonicalHash, v2.canonicalHash)
    assert.strictEqual(copy.definition.docker.base.image, "python:3.12")

    const source = json<Array<{ eventType: string; summary: string; correlationId: string }>>(cli("audit", "pydata", "-o", "json"))
    const target = json<Array<{ eventType: string; summary: string; correlationId: string; details: { sharedFrom?: unknown } }>>(
      cli("audit", "pydata", "--workspace", "team-b", "-o", "json")
    )
    assert.deepStrictEqual(source.at(-1)?.eventType, "Shared")
    assert.strictEqual(source.at(-1)?.summary, "shared version 2 to workspace team-b as pydata:2")
    assert.deepStrictEqual(target.map((e) => e.eventType), ["Defined", "Registered"])
    assert.deepStrictEqual(target[1]?.details.sharedFrom, shared.from)
    assert.strictEqual(target[1]?.correlationId, source.at(-1)?.correlationId)

    // Again: nothing to do, and it says so.
    const before = head()
    const again = cli("environment", "share", "pydata:2", "--to-workspace", "team-b")
    assert.strictEqual(again.status, 0)
    assert.match(again.stdout, /^Already shared: pydata:2/)
    assert.strictEqual(head(), before)
  })

  it("takes the source as az ml does (-n/-v) and the copy's name and version as --share-with-name/--share-with-version", { timeout: 300_000 }, () => {
    assert.strictEqual(cli("environment", "create", "--name", "torch", "--image", "python:3.10").status, 0)
    const shared = cli("environment", "share", "-n", "torch", "-v", "1", "--to-workspace", "prod", "--share-with-name", "torch-prod",
      "--share-with-version", "2024.1")
    assert.strictEqual(shared.status, 0, shared.stderr)
    assert.strictEqual(shared.stdout.trim(), `Shared torch:1 (workspace default) as torch-prod:2024.1 in workspace prod (${
      json(cli("environment", "show", "torch:1", "-o", "json")).canonicalHash.slice(7, 19)
    })`)
    assert.strictEqual(json(cli("environment", "show", "torch-prod:2024.1", "-w", "prod", "-o", "json")).version, "2024.1")
  })

  it("the build context stays available to the copy after the folder is gone", { timeout: 300_000 }, async () => {
    const dir = project({ "Dockerfile": "FROM scratch\nCOPY model.txt /\n", "model.txt": "weights\n" })
    assert.strictEqual(cli("environment", "create", "--name", "served", "--dockerfile", join(dir, "Dockerfile")).status, 0)
    rmSync(dir, { recursive: true })
    const shared = json(cli("environment", "share", "served:1", "--to-workspace", "serving", "-o", "json"))
    assert.strictEqual(shared.buildContext, "stored")
    assert.deepStrictEqual((await storedFiles(contextDigestOf("served:1", "-w", "serving"))).files, {
      "Dockerfile": "FROM scratch\nCOPY model.txt /\n",
      "model.txt": "weights\n"
    })
  })

  it("bad input: a clear error, a non-zero exit and nothing appended in either workspace", { timeout: 300_000 }, () => {
    assert.strictEqual(cli("environment", "create", "--name", "src", "--image", "python:3.11").status, 0)
    assert.strictEqual(cli("environment", "create", "--name", "src", "--image", "python:3.9", "-w", "taken").status, 0)
    const before = head()
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, number, RegExp]> = [
      [["src:1", "--to-workspace", "Team B"], 2, /^terrarium: --to-workspace "Team B": a workspace name is 1-63 lower-case/],
      [["src:1", "--to-workspace", "default"], 2, /--to-workspace "default": is the workspace the environment is in/],
      [["src:1"], 2, /to-workspace/],
      [["src:1", "--to-workspace", "other", "--share-with-name", "bad name"], 2, /^terrarium: --share-with-name "bad name": an environment name/],
      [["src:1", "--to-workspace", "other", "--share-with-version", "-x"], 2, /--share-with-version/],
      [["nothing:1", "--to-workspace", "other"], 1, /environment 'nothing' does not exist/],
      [["src:7", "--to-workspace", "other"], 1, /version 7/],
      [["src:1", "--to-workspace", "taken"], 1,
        /cannot share into workspace 'taken' as environment 'src' version 1: that version is already registered there with other content/],
      [["src:1", "--name", "src", "--to-workspace", "other"], 2, /give the reference once/]
    ]
    for (const [args, status, message] of cases) {
      const r = cli("environment", "share", ...args)
      assert.strictEqual(r.status, status, `${args.join(" ")}: ${r.stderr}`)
      assert.match(r.stderr, message, args.join(" "))
      assert.strictEqual(r.stdout, "", args.join(" "))
    }
    assert.strictEqual(head(), before)
    assert.deepStrictEqual(json(cli("environment", "list", "-w", "other", "-o", "json")), [])
  })
})
