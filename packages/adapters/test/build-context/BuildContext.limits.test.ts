/**
 * The build context walk has limits (entries, bytes, time), each a clear error naming the limit
 * and how to raise it, and can be interrupted at any point: `build.path: /usr` must end, and end
 * when asked. The ignore file is read like any other file a definition names: inside the context.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ByteSize, ConfigProvider, Effect, Exit, Fiber, FileSystem, Layer, Option, Path, PlatformError } from "effect"
import { TestClock } from "effect/testing"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { walkBuildContext } from "../../src/build-context/BuildContext.ts"

const localDisk = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const root = mkdtempSync(join(tmpdir(), "terrarium-context-limits-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let made = 0

const tree = (files: Record<string, string | { readonly symlink: string }>): string => {
  const dir = join(root, String(made++))
  mkdirSync(dir)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    if (typeof content === "string") writeFileSync(join(dir, path), content)
    else symlinkSync(content.symlink, join(dir, path))
  }
  return dir
}

const directoryInfo: FileSystem.File.Info = {
  type: "Directory",
  mtime: Option.none(),
  atime: Option.none(),
  birthtime: Option.none(),
  dev: 0n,
  ino: Option.none(),
  mode: 0o755,
  nlink: Option.none(),
  uid: Option.none(),
  gid: Option.none(),
  rdev: Option.none(),
  size: ByteSize.bytes(0),
  blksize: Option.none(),
  blocks: Option.none()
}

/**
 * A file system whose only file is the folder `/ctx`, listed by `list`: a context that never
 * answers, or one without end, which no real disk gives a test quickly.
 */
const synthetic = (list: (path: string) => Effect.Effect<ReadonlyArray<FileSystem.DirectoryEntry>>) =>
  Layer.mergeAll(
    FileSystem.layerNoop({
      stat: (path) =>
        path.startsWith("/ctx") && !path.endsWith("dockerignore")
          ? Effect.succeed(directoryInfo)
          : Effect.fail(PlatformError.systemError({ _tag: "NotFound", module: "FileSystem", method: "stat", pathOrDescriptor: path })),
      realPath: (path) =>
        path.endsWith("dockerignore")
          ? Effect.fail(PlatformError.systemError({ _tag: "NotFound", module: "FileSystem", method: "realPath", pathOrDescriptor: path }))
          : Effect.succeed(path),
      readDirectoryEntries: list
    }),
    Path.layer
  )

describe("build context limits", () => {
  it.effect("more entries than the limit: an error naming the limit and how to raise it", () =>
    Effect.gen(function*() {
      const dir = tree({ Dockerfile: "FROM scratch\n", "a.txt": "a", "b.txt": "b", "c/d.txt": "d", link: { symlink: "a.txt" } })
      const error = yield* walkBuildContext(dir, "Dockerfile", { maxFiles: 4 }).pipe(Effect.flip)
      assert.strictEqual(error.file, dir)
      assert.include(error.message, "has more entries than the limit of 4 files")
      assert.include(error.message, "TERRARIUM_MAX_CONTEXT_FILES")
      assert.strictEqual((yield* walkBuildContext(dir, "Dockerfile", { maxFiles: 5 }))?.entries.length, 5)
      const byVariable = yield* walkBuildContext(dir).pipe(
        Effect.flip,
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { TERRARIUM_MAX_CONTEXT_FILES: "2" } })))
      )
      assert.include(byVariable.message, "the limit of 2 files")
    }).pipe(Effect.provide(localDisk)))

  it.effect("more bytes than the limit: an error naming the limit and how to raise it", () =>
    Effect.gen(function*() {
      const dir = tree({ Dockerfile: "FROM scratch\n", "a.bin": "x".repeat(600), "b.bin": "y".repeat(600) })
      const error = yield* walkBuildContext(dir, "Dockerfile", { maxBytes: 1000 }).pipe(Effect.flip)
      assert.include(error.message, "is larger than the limit of 1000 bytes")
      assert.include(error.message, "TERRARIUM_MAX_CONTEXT_BYTES")
      assert.isDefined(yield* walkBuildContext(dir, "Dockerfile", { maxBytes: 2000 }))
    }).pipe(Effect.provide(localDisk)))

  it.effect("a walk that takes longer than the limit stops with an error naming it", () =>
    Effect.gen(function*() {
      const fiber = yield* walkBuildContext("/ctx", "Dockerfile", { timeoutSeconds: 30 }).pipe(
        Effect.provide(synthetic(() => Effect.never)),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("31 seconds")
      const error = yield* Fiber.join(fiber)
      assert.include(error.message, "took longer to read than the limit of 30 seconds")
      assert.include(error.message, "TERRARIUM_CONTEXT_TIMEOUT_SECONDS")
    }))

  it.effect("a walk without end can be interrupted", () =>
    Effect.gen(function*() {
      let listed = 0
      // Every folder holds one more folder, answered at once: a walk that would never end by itself.
      const endless = synthetic(() => Effect.sync(() => (listed++, [{ name: "d", type: "Directory" as const }])))
      const fiber = yield* walkBuildContext("/ctx", "Dockerfile", { maxFiles: 1 }).pipe(Effect.provide(endless), Effect.forkChild)
      while (listed < 1000) yield* Effect.yieldNow
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      assert.isTrue(Exit.hasInterrupts(exit))
    }))

  it.effect("a reporter is told how far the walk has got, every 256 entries", () =>
    Effect.gen(function*() {
      const dir = tree(Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`f/${i}.txt`, "ab"])))
      const seen: Array<readonly [number, number]> = []
      const context = yield* walkBuildContext(dir, "Dockerfile", {}, ({ files, bytes }) => Effect.sync(() => void seen.push([files, bytes])))
      assert.strictEqual(context?.entries.length, 600)
      assert.deepStrictEqual(seen, [[256, 512], [512, 1024]])
    }).pipe(Effect.provide(localDisk)))

  it.effect("a pseudo-file (size 0, content of its own) is refused, not digested as whatever it held", () =>
    Effect.gen(function*() {
      const error = yield* walkBuildContext("/proc/self/fdinfo").pipe(Effect.flip)
      assert.include(error.message, "does not hold the 0 bytes its size says")
    }).pipe(Effect.provide(localDisk)))

  it.effect("an ignore file that is a link out of the context is refused", () =>
    Effect.gen(function*() {
      const outside = tree({ ignore: "*.log\n" })
      const dir = tree({ Dockerfile: "FROM scratch\n", ".dockerignore": { symlink: join(outside, "ignore") } })
      const error = yield* walkBuildContext(dir).pipe(Effect.flip)
      assert.include(error.message, "outside the build context")
    }).pipe(Effect.provide(localDisk)))
})
