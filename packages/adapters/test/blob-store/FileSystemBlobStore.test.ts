import { assert, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { BlobStore } from "@terrarium/domain"
import { Effect, Layer, Stream } from "effect"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FileSystemBlobStore } from "../../src/blob-store/file-system/FileSystemBlobStore.ts"
import { blobStoreContract } from "./BlobStoreContract.ts"

const storeAt = (root: string) =>
  FileSystemBlobStore.layerWith({ root }).pipe(Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)))

blobStoreContract("file system", storeAt(join(mkdtempSync(join(tmpdir(), "terrarium-blobs-")), "blobs")))

it.effect("file system: a failed put leaves no temporary file, and list never shows one", () =>
  Effect.gen(function*() {
    const root = join(mkdtempSync(join(tmpdir(), "terrarium-blobs-")), "blobs")
    yield* Effect.gen(function*() {
      const blobs = yield* BlobStore
      yield* blobs.put("dir/kept", new Uint8Array([1]))
      yield* Effect.flip(blobs.put("dir/failed", Stream.concat(Stream.make(new Uint8Array(5)), Stream.fail("boom"))))
      yield* Effect.flip(blobs.put("dir/kept", new Uint8Array(20), { maxBytes: 10 }))
      assert.deepStrictEqual(readdirSync(join(root, "dir")), ["kept"])
      assert.deepStrictEqual((yield* Stream.runCollect(blobs.list(""))).map((i) => i.name), ["dir/kept"])
    }).pipe(Effect.provide(storeAt(root)))
  }))

it.effect("file system: a blob named like another's folder is BlobConflict, not a crash", () =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    yield* blobs.put("a/b", new Uint8Array([1]))
    assert.strictEqual((yield* Effect.flip(blobs.put("a", new Uint8Array([2])))).reason._tag, "BlobConflict")
    assert.strictEqual((yield* Effect.flip(blobs.put("a/b/c", new Uint8Array([2])))).reason._tag, "BlobConflict")
  }).pipe(Effect.provide(storeAt(join(mkdtempSync(join(tmpdir(), "terrarium-blobs-")), "blobs")))))
