/**
 * The file-system build-context store: the contract on a real directory, then what only a store on
 * disk meets: files changed, truncated or removed behind its back, a damaged index, a second
 * store on the same directory (another process), and no temporary file left behind.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { type BuildContext, BuildContextStore } from "@terrarium/domain"
import { Effect, Layer } from "effect"
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FileSystemBuildContextStore } from "../../src/build-context-store/file-system/FileSystemBuildContextStore.ts"
import { buildContextStoreContract, vectorContext } from "./BuildContextStoreContract.ts"

const root = mkdtempSync(join(tmpdir(), "terrarium-context-store-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let made = 0

const localDisk = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const storeIn = (directory: string) => FileSystemBuildContextStore.layerWith({ directory }).pipe(Layer.provide(localDisk))
const freshDirectory = () => join(root, `store-${made++}`)

buildContextStoreContract("file system", storeIn(freshDirectory()))

const hexOf = (digest: string) => digest.slice("sha256:".length)
const sha256Hex = (text: string) => Effect.promise(async () => {
  const buffer = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("")
})

/** A store in a fresh directory holding the test vector: its directory and the store. */
const stored = Effect.gen(function*() {
  const directory = freshDirectory()
  const store = yield* BuildContextStore.pipe(Effect.provide(storeIn(directory)))
  yield* store.put(vectorContext)
  return { directory, store }
})

const reasonOf = <A>(effect: Effect.Effect<A, { readonly reason: { readonly _tag: string } }>) =>
  effect.pipe(Effect.flip, Effect.map((e) => e.reason._tag))

describe("FileSystemBuildContextStore on disk", () => {
  it.effect("keeps each file once by its SHA-256, the index by the digest, and no temporary file", () =>
    Effect.gen(function*() {
      const { directory } = yield* stored
      assert.deepStrictEqual(readdirSync(join(directory, "contexts")), [`${hexOf(vectorContext.digest)}.json`])
      const files = readdirSync(join(directory, "files")).sort()
      assert.strictEqual(files.length, 4)
      assert.include(files, yield* sha256Hex("print(\"hello\")\n"))
      assert.notMatch(readdirSync(directory, { recursive: true }).join("\n"), /\.tmp/)
    }))

  it.effect("a second store on the same directory (another process) reads what the first stored", () =>
    Effect.gen(function*() {
      const { directory } = yield* stored
      const other = yield* BuildContextStore.pipe(Effect.provide(storeIn(directory)))
      assert.isTrue(yield* other.has(vectorContext.digest))
      assert.strictEqual((yield* other.get(vectorContext.digest)).entries.length, 5)
    }))

  it.effect("a file changed, truncated or removed behind its back is ContextCorrupted, never returned", () =>
    Effect.gen(function*() {
      const damages: ReadonlyArray<(file: string) => void> = [
        (file) => writeFileSync(file, "print(\"pwned\")\n"),
        (file) => appendFileSync(file, "import os\n"),
        (file) => truncateSync(file, 0),
        (file) => unlinkSync(file)
      ]
      for (const damage of damages) {
        const { directory, store } = yield* stored
        damage(join(directory, "files", yield* sha256Hex("print(\"hello\")\n")))
        const error = yield* Effect.flip(store.get(vectorContext.digest))
        assert.strictEqual(error.reason._tag, "ContextCorrupted")
        assert.include(error.message, "app/main.py")
        // Storing it again repairs it.
        yield* store.put(vectorContext)
        assert.strictEqual((yield* store.get(vectorContext.digest)).entries.length, 5)
      }
    }))

  it.effect("a damaged or edited index is ContextCorrupted", () =>
    Effect.gen(function*() {
      const edits: ReadonlyArray<(text: string) => string> = [
        () => "not json",
        (text) => text.replace("\"executable\":true", "\"executable\":false"),
        (text) => text.replace("\"target\":\"main.py\"", "\"target\":\"/etc/passwd\""),
        (text) => text.replace("app/main.py", "../main.py"),
        (text) => text.replace("\"format\":1", "\"format\":2")
      ]
      for (const edit of edits) {
        const { directory, store } = yield* stored
        const index = join(directory, "contexts", `${hexOf(vectorContext.digest)}.json`)
        writeFileSync(index, edit(readFileSync(index, "utf8")))
        assert.strictEqual(yield* reasonOf(store.get(vectorContext.digest)), "ContextCorrupted", edit.toString())
      }
    }))

  it.effect("an index under another context's digest is not that context", () =>
    Effect.gen(function*() {
      const { directory, store } = yield* stored
      const small: BuildContext = {
        digest: "sha256:" + "0".repeat(64),
        entries: []
      }
      const index = join(directory, "contexts", `${hexOf(vectorContext.digest)}.json`)
      writeFileSync(join(directory, "contexts", `${hexOf(small.digest)}.json`), readFileSync(index))
      assert.strictEqual(yield* reasonOf(store.get(small.digest)), "ContextCorrupted")
    }))

  it.effect("the directory is made when the first context is stored, not before", () =>
    Effect.gen(function*() {
      const directory = freshDirectory()
      const store = yield* BuildContextStore.pipe(Effect.provide(storeIn(directory)))
      assert.isFalse(yield* store.has(vectorContext.digest))
      assert.throws(() => readdirSync(directory))
      yield* store.put(vectorContext)
      assert.isTrue(yield* store.has(vectorContext.digest))
    }))
})
