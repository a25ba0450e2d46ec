/**
 * The build-context store contract: what every `BuildContextStore` adapter must do, run by each
 * adapter's own test file (`buildContextStoreContract(name, layer)`). The context used is the
 * test vector of docs/canonical-hash.md, whose digest is written there.
 */
import { assert, layer } from "@effect/vitest"
import { type BuildContext, type BuildContextEntry, BuildContextStore, ContextDigest, MAX_BUILD_CONTEXT_ENTRIES } from "@terrarium/domain"
import { Effect, type Layer } from "effect"

const text = (s: string) => new TextEncoder().encode(s)

/** The files of the test vector in docs/canonical-hash.md, and its digest. */
export const vectorContext: BuildContext = {
  digest: "sha256:5c4f460bc653da7dcf68fa30e6881a87851691c429a70f01cf39e0679d22e559",
  // Not in path order: the store sorts them.
  entries: [
    { path: "bin/run.sh", executable: true, content: text("#!/bin/sh\nexec python /app/app/main.py\n") },
    { path: "Dockerfile", executable: false, content: text("FROM python:3.11-slim\nCOPY . /app\nCMD [\"/app/bin/run.sh\"]\n") },
    { path: ".dockerignore", executable: false, content: text("*.log\n") },
    { path: "app/main.py", executable: false, content: text("print(\"hello\")\n") },
    { path: "app/current.py", executable: false, content: new Uint8Array(0), linkTarget: "main.py" }
  ]
}

/** What a test compares of an entry: everything, the bytes as text. */
const shown = (entries: ReadonlyArray<BuildContextEntry>) =>
  entries.map((e) => ({
    path: e.path,
    executable: e.executable,
    content: new TextDecoder().decode(e.content),
    linkTarget: e.linkTarget
  }))

const sortedByPath = (entries: ReadonlyArray<BuildContextEntry>) =>
  [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))

/** The reason of a failure of the port (the error's `reason._tag`). */
const reasonOf = <A>(effect: Effect.Effect<A, { readonly reason: { readonly _tag: string } }>) =>
  effect.pipe(Effect.flip, Effect.map((e) => e.reason._tag))

const otherDigest = `sha256:${"0".repeat(64)}`

/**
 * Runs the contract against `storeLayer`, which must give an empty store.
 */
export const buildContextStoreContract = <E>(name: string, storeLayer: Layer.Layer<BuildContextStore, E>) =>
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`BuildContextStore contract: ${name}`, (it) => {
    it.effect("gives back exactly the files it was given, sorted by path, under their digest", () =>
      Effect.gen(function*() {
        const store = yield* BuildContextStore
        assert.isFalse(yield* store.has(vectorContext.digest))
        yield* store.put(vectorContext)
        assert.isTrue(yield* store.has(vectorContext.digest))
        const got = yield* store.get(vectorContext.digest)
        assert.strictEqual(got.digest, vectorContext.digest)
        assert.deepStrictEqual(shown(got.entries), shown(sortedByPath(vectorContext.entries)))
        assert.isString(store.location)
      }))

    it.effect("storing a context again does nothing, and what it holds does not follow the caller's buffers", () =>
      Effect.gen(function*() {
        const store = yield* BuildContextStore
        const content = text("FROM scratch\n")
        const entries = [{ path: "Dockerfile", executable: false, content }]
        const context: BuildContext = { digest: yield* digestOfEntries(entries), entries }
        yield* store.put(context)
        yield* store.put(context)
        content[0] = "X".charCodeAt(0)
        const got = yield* store.get(context.digest)
        assert.strictEqual(new TextDecoder().decode(got.entries[0]!.content), "FROM scratch\n")
        // Neither is what it hands out shared: changing it changes no later answer.
        got.entries[0]!.content[0] = "Y".charCodeAt(0)
        assert.strictEqual(new TextDecoder().decode((yield* store.get(context.digest)).entries[0]!.content), "FROM scratch\n")
      }))

    it.effect("refuses files that do not digest to the digest given with them, and stores nothing", () =>
      Effect.gen(function*() {
        const store = yield* BuildContextStore
        const changed: BuildContext = {
          digest: otherDigest,
          entries: [{ path: "Dockerfile", executable: false, content: text("FROM changed\n") }]
        }
        assert.strictEqual(yield* reasonOf(store.put(changed)), "DigestMismatch")
        const error = yield* Effect.flip(store.put(changed))
        assert.include(error.message, otherDigest)
        assert.isFalse(error.isRetryable)
        assert.isFalse(yield* store.has(otherDigest))
        const actual = yield* digestOfEntries(changed.entries)
        assert.isFalse(yield* store.has(actual))
        // The execute bit is part of the digest: the same bytes with it set are another context.
        const executable = { digest: actual, entries: [{ ...changed.entries[0]!, executable: true }] }
        assert.strictEqual(yield* reasonOf(store.put(executable)), "DigestMismatch")
      }))

    it.effect("says ContextNotFound for a digest it does not hold", () =>
      Effect.gen(function*() {
        const store = yield* BuildContextStore
        assert.strictEqual(yield* reasonOf(store.get(otherDigest)), "ContextNotFound")
        assert.include((yield* Effect.flip(store.get(otherDigest))).message, otherDigest)
        assert.isFalse(yield* store.has(otherDigest))
      }))

    it.effect("refuses what is not a digest, before it is used as a name", () =>
      Effect.gen(function*() {
        const store = yield* BuildContextStore
        for (const digest of ["../../etc/passwd", "sha256:../../x", `sha256:${"A".repeat(64)}`, "", `sha256:${"0".repeat(63)}/`]) {
          assert.strictEqual(yield* reasonOf(store.get(digest)), "InvalidDigest", digest)
          assert.strictEqual(yield* reasonOf(store.has(digest)), "InvalidDigest", digest)
          assert.strictEqual(yield* reasonOf(store.put({ digest, entries: [] })), "InvalidDigest", digest)
        }
      }))

    it.effect("refuses entries no context can have: a path out of it, a path twice, a link with content", () =>
      Effect.gen(function*() {
        const store = yield* BuildContextStore
        const file = (path: string): BuildContextEntry => ({ path, executable: false, content: text("x") })
        const cases: ReadonlyArray<ReadonlyArray<BuildContextEntry>> = [
          [file("../outside")],
          [file("/etc/passwd")],
          [file("a//b")],
          [file("./a")],
          [file("a"), file("a")],
          [{ path: "link", executable: false, content: text("x"), linkTarget: "a" }],
          Array.from({ length: MAX_BUILD_CONTEXT_ENTRIES + 1 }, (_, i) => ({ path: `f${i}`, executable: false, content: new Uint8Array(0) }))
        ]
        for (const entries of cases) {
          const error = yield* Effect.flip(store.put({ digest: otherDigest, entries }))
          assert.strictEqual(error.reason._tag, "InvalidContext", entries[0]!.path)
        }
        assert.isFalse(yield* store.has(otherDigest))
      }))

    it.effect("stores an empty context (a Dockerfile may COPY nothing)", () =>
      Effect.gen(function*() {
        const store = yield* BuildContextStore
        const empty: BuildContext = { digest: yield* digestOfEntries([]), entries: [] }
        yield* store.put(empty)
        assert.deepStrictEqual((yield* store.get(empty.digest)).entries, [])
      }))
  })

/** The digest of entries as the importer's walk computes it (hex SHA-256 of the bytes). */
export const digestOfEntries = (entries: ReadonlyArray<BuildContextEntry>) =>
  Effect.gen(function*() {
    const digested: Array<ContextDigest.ContextEntry> = []
    for (const e of entries) {
      if (e.linkTarget !== undefined) {
        digested.push({ type: "symlink", path: e.path, target: e.linkTarget })
      } else {
        const buffer = yield* Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", e.content.slice()))
        const sha256 = [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("")
        digested.push({ type: "file", path: e.path, sha256, executable: e.executable })
      }
    }
    return yield* ContextDigest.contextDigest(digested)
  })
