/**
 * The blob store contract: what every `BlobStore` adapter must do, run by each adapter's own
 * test file (`blobStoreContract(name, layer)`). Each test uses names of its own, so one store
 * serves all.
 */
import { assert, layer } from "@effect/vitest"
import { BlobStore, getBlobBytes, MAX_BLOB_NAME_LENGTH, MAX_BLOB_SEGMENT_BYTES } from "@terrarium/domain"
import { Data, Effect, type Layer, Option, Redacted, Stream } from "effect"

const reasonOf = <A, E extends { reason: { _tag: string } }>(effect: Effect.Effect<A, E>) =>
  Effect.flip(effect).pipe(Effect.map((e) => e.reason._tag))

const bytesOf = (text: string) => new TextEncoder().encode(text)
const textOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

/** Every byte value, several times, so that no adapter may treat the body as text. */
const binary = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + (i >> 8)) % 256)

class BodyFailed extends Data.TaggedError("BodyFailed")<{}> {}

export const blobStoreContract = <E>(name: string, storeLayer: Layer.Layer<BlobStore, E>) =>
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`BlobStore contract: ${name}`, (it) => {
    it.effect("put then get gives the same bytes; put replaces; head tells the size", () =>
      Effect.gen(function*() {
        const blobs = yield* BlobStore
        const body = binary(70_000)
        yield* blobs.put("put/a/binary.bin", body)
        assert.deepStrictEqual(yield* getBlobBytes(blobs, "put/a/binary.bin"), body)
        assert.deepStrictEqual(yield* blobs.head("put/a/binary.bin"), Option.some({ name: "put/a/binary.bin", size: 70_000 }))
        yield* blobs.put("put/a/binary.bin", bytesOf("ünïcode ✓"))
        assert.strictEqual(textOf(yield* getBlobBytes(blobs, "put/a/binary.bin")), "ünïcode ✓")
        yield* blobs.put("put/a/empty", new Uint8Array(0))
        assert.deepStrictEqual(yield* blobs.head("put/a/empty"), Option.some({ name: "put/a/empty", size: 0 }))
        assert.strictEqual((yield* getBlobBytes(blobs, "put/a/empty")).length, 0)
      }))

    it.effect("put takes a stream of chunks larger than one upload block", () =>
      Effect.gen(function*() {
        const blobs = yield* BlobStore
        const chunk = binary(1_048_576 + 13)
        const chunks = Array.from({ length: 6 }, (_, i) => chunk.map((b) => (b + i) % 256))
        yield* blobs.put("stream/big.bin", Stream.fromIterable(chunks))
        const read = yield* getBlobBytes(blobs, "stream/big.bin")
        assert.strictEqual(read.length, chunk.length * 6)
        for (let i = 0; i < 6; i++) {
          assert.deepStrictEqual(read.subarray(i * chunk.length, (i + 1) * chunk.length), chunks[i], `chunk ${i}`)
        }
      }))

    it.effect("a body past maxBytes is BlobTooLarge and stores nothing; a failing stream stores nothing", () =>
      Effect.gen(function*() {
        const blobs = yield* BlobStore
        yield* blobs.put("bound/kept", bytesOf("old"))
        assert.strictEqual(yield* reasonOf(blobs.put("bound/kept", binary(101), { maxBytes: 100 })), "BlobTooLarge")
        assert.strictEqual(
          yield* reasonOf(blobs.put("bound/kept", Stream.fromIterable([binary(60), binary(60)]), { maxBytes: 100 })),
          "BlobTooLarge"
        )
        assert.strictEqual(textOf(yield* getBlobBytes(blobs, "bound/kept")), "old")
        const failing = Stream.concat(Stream.fromIterable([binary(10)]), Stream.fail(new BodyFailed()))
        const error = yield* Effect.flip(blobs.put("bound/failing", failing))
        assert.strictEqual(error._tag, "BodyFailed")
        assert.isTrue(Option.isNone(yield* blobs.head("bound/failing")))
        assert.deepStrictEqual(yield* Stream.runCollect(blobs.list("bound/")), [{ name: "bound/kept", size: 3 }])
        yield* blobs.put("bound/exact", binary(100), { maxBytes: 100 })
      }))

    it.effect("a blob never written is BlobNotFound on get, none on head, false on delete", () =>
      Effect.gen(function*() {
        const blobs = yield* BlobStore
        assert.strictEqual(yield* reasonOf(Stream.runCollect(blobs.get("none/x"))), "BlobNotFound")
        assert.isTrue(Option.isNone(yield* blobs.head("none/x")))
        assert.isFalse(yield* blobs.delete("none/x"))
        assert.deepStrictEqual(yield* Stream.runCollect(blobs.list("none/")), [])
      }))

    it.effect("a name that is not one is InvalidBlobName on every operation, before anything is touched", () =>
      Effect.gen(function*() {
        const blobs = yield* BlobStore
        const bad = ["", "..", "../escape", "a/../../b", "/abs", "a//b", "a/", "./a", "a/.hidden", "a\\b", "a\u0000b",
          "line\nbreak", "esc\u001b[31m", "x".repeat(MAX_BLOB_NAME_LENGTH + 1), "y".repeat(MAX_BLOB_SEGMENT_BYTES + 1), "ü".repeat(128)]
        for (const key of bad) {
          assert.strictEqual(yield* reasonOf(blobs.put(key, bytesOf("x"))), "InvalidBlobName", JSON.stringify(key))
          assert.strictEqual(yield* reasonOf(blobs.append(key, bytesOf("x"))), "InvalidBlobName", JSON.stringify(key))
          assert.strictEqual(yield* reasonOf(Stream.runCollect(blobs.get(key))), "InvalidBlobName", JSON.stringify(key))
          assert.strictEqual(yield* reasonOf(blobs.head(key)), "InvalidBlobName", JSON.stringify(key))
          assert.strictEqual(yield* reasonOf(blobs.delete(key)), "InvalidBlobName", JSON.stringify(key))
        }
        for (const prefix of ["../", "/", "a//", "a/../"]) {
          assert.strictEqual(yield* reasonOf(Stream.runCollect(blobs.list(prefix))), "InvalidBlobName", prefix)
        }
        // Names may hold what Azure and file systems both take: spaces, unicode, `:`, `@`, `=`.
        yield* blobs.put("names/sha256:ab/wheel 1.0 ✓@x=y.whl", bytesOf("ok"))
        assert.strictEqual(textOf(yield* getBlobBytes(blobs, "names/sha256:ab/wheel 1.0 ✓@x=y.whl")), "ok")
        const longest = ["a", "b", "c", "d"].map((c) => c.repeat(MAX_BLOB_SEGMENT_BYTES)).join("/")
        yield* blobs.put(longest, bytesOf("long"))
        assert.strictEqual(textOf(yield* getBlobBytes(blobs, longest)), "long")
      }))

    it.effect("list gives the blobs under a prefix, sorted by name, with sizes", () =>
      Effect.gen(function*() {
        const blobs = yield* BlobStore
        for (const key of ["list/b/2", "list/a", "list/b/1", "list/ab", "listing/other", "list/c/deep/er/x"]) {
          yield* blobs.put(key, bytesOf(key))
        }
        const names = (prefix: string) => Stream.runCollect(blobs.list(prefix)).pipe(Effect.map((infos) => infos.map((i) => i.name)))
        assert.deepStrictEqual(yield* names("list/"), ["list/a", "list/ab", "list/b/1", "list/b/2", "list/c/deep/er/x"])
        assert.deepStrictEqual(yield* names("list/a"), ["list/a", "list/ab"])
        assert.deepStrictEqual(yield* names("list/b/"), ["list/b/1", "list/b/2"])
        assert.deepStrictEqual(yield* names("list"), ["list/a", "list/ab", "list/b/1", "list/b/2", "list/c/deep/er/x", "listing/other"])
        assert.deepStrictEqual(yield* Stream.runCollect(blobs.list("list/b/1")), [{ name: "list/b/1", size: 8 }])
        assert.isTrue((yield* names("")).includes("listing/other"))
      }))

    it.effect("delete removes a blob, once", () =>
      Effect.gen(function*() {
        const blobs = yield* BlobStore
        yield* blobs.put("delete/a", bytesOf("a"))
        yield* blobs.put("delete/b", bytesOf("b"))
        assert.isTrue(yield* blobs.delete("delete/a"))
        assert.isFalse(yield* blobs.delete("delete/a"))
        assert.strictEqual(yield* reasonOf(Stream.runCollect(blobs.get("delete/a"))), "BlobNotFound")
        assert.deepStrictEqual(yield* Stream.runCollect(blobs.list("delete/")), [{ name: "delete/b", size: 1 }])
      }))

    it.effect("append creates the blob and adds at its end; readers see what is there so far", () =>
      Effect.gen(function*() {
        const blobs = yield* BlobStore
        yield* blobs.append("append/log", new Uint8Array(0))
        assert.deepStrictEqual(yield* blobs.head("append/log"), Option.some({ name: "append/log", size: 0 }))
        yield* blobs.append("append/log", bytesOf("line 1\n"))
        assert.strictEqual(textOf(yield* getBlobBytes(blobs, "append/log")), "line 1\n")
        yield* blobs.append("append/log", bytesOf("line 2 ✓\n"))
        const big = binary(5 * 1_048_576)
        yield* blobs.append("append/log", big)
        const read = yield* getBlobBytes(blobs, "append/log")
        assert.strictEqual(textOf(read.subarray(0, 18)), "line 1\nline 2 ✓\n")
        assert.deepStrictEqual(read.subarray(18), big)
        assert.strictEqual(yield* reasonOf(blobs.append("append/log", binary(10), { maxBytes: read.length + 9 })), "BlobTooLarge")
        assert.deepStrictEqual(yield* blobs.head("append/log"), Option.some({ name: "append/log", size: read.length }))
      }))

    it.effect("readUrl: a redacted URL a plain GET reads the blob's bytes with, for this blob only; none for a missing blob", () =>
      Effect.gen(function*() {
        const blobs = yield* BlobStore
        const body = binary(300_000)
        yield* blobs.put("read-url/pkg/demo-1.0-py3-none-any.whl", body)
        yield* blobs.put("read-url/pkg/other.whl", bytesOf("other"))
        const url = yield* blobs.readUrl("read-url/pkg/demo-1.0-py3-none-any.whl", { lifetimeSeconds: 60 })
        assert.strictEqual(String(url), "<redacted>")
        const text = Redacted.value(url)
        assert.match(text, /^https?:\/\/127\.0\.0\.1:\d+\//)
        // The file name is the URL path's last segment, so that an installer can tell what it is.
        assert.include(new URL(text).pathname, "demo-1.0-py3-none-any.whl")
        const answer = yield* Effect.promise(() => fetch(text))
        assert.strictEqual(answer.status, 200)
        assert.deepStrictEqual(new Uint8Array(yield* Effect.promise(() => answer.arrayBuffer())), body)
        // The credential is for this blob: the same URL with another blob's name is refused.
        const other = new URL(text)
        other.pathname = other.pathname.replace("demo-1.0-py3-none-any.whl", "other.whl")
        const refused = yield* Effect.promise(() => fetch(other))
        assert.isAtLeast(refused.status, 400)
        yield* Effect.promise(() => refused.arrayBuffer())
        assert.strictEqual(yield* reasonOf(Effect.scoped(blobs.readUrl("read-url/pkg/missing.whl", { lifetimeSeconds: 60 }))), "BlobNotFound")
        assert.strictEqual(yield* reasonOf(Effect.scoped(blobs.readUrl("read-url/../x", { lifetimeSeconds: 60 }))), "InvalidBlobName")
      }).pipe(Effect.scoped))
  })
