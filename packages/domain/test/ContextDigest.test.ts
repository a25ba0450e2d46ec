import { assert, describe, it } from "@effect/vitest"
import canonicalize from "canonicalize"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { canonicalJson } from "../src/CanonicalHash.ts"
import { contextDigest, contextDocument, type ContextEntry } from "../src/ContextDigest.ts"

/** The build-context test vector of docs/canonical-hash.md: fenced blocks tagged `context-vector-*`. */
const vector = (() => {
  const doc = readFileSync(new URL("../../../docs/canonical-hash.md", import.meta.url), "utf8")
  const block = (part: string) => {
    const match = new RegExp(`^\`\`\`\\w+ context-vector-${part}\\n([\\s\\S]*?)\\n\`\`\`$`, "m").exec(doc)
    if (match?.[1] === undefined) throw new Error(`docs/canonical-hash.md has no context-vector-${part} block`)
    return match[1]
  }
  type File = { readonly text: string; readonly executable: boolean } | { readonly symlink: string }
  return {
    files: JSON.parse(block("files")) as Record<string, File>,
    canonical: block("canonical"),
    digest: block("digest")
  }
})()

/** The entries the vector's files give, as the importer would list them. */
const vectorEntries: ReadonlyArray<ContextEntry> = Object.entries(vector.files).map(([path, file]) =>
  "symlink" in file
    ? { type: "symlink", path, target: file.symlink }
    : { type: "file", path, sha256: createHash("sha256").update(file.text, "utf8").digest("hex"), executable: file.executable }
)

const file = (path: string, hexDigit = "a", executable = false): ContextEntry => ({
  type: "file",
  path,
  sha256: hexDigit.repeat(64),
  executable
})

describe("ContextDigest", () => {
  it.effect("reproduces the test vector in docs/canonical-hash.md", () =>
    Effect.gen(function*() {
      const document = contextDocument(vectorEntries)
      assert.strictEqual(canonicalJson(document), vector.canonical)
      assert.strictEqual(canonicalize(document), vector.canonical)
      assert.strictEqual(yield* contextDigest(vectorEntries), vector.digest)
    }))

  it.effect("does not depend on the order the entries were listed in", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* contextDigest([...vectorEntries].reverse()), vector.digest)
    }))

  it.effect("changes with a file's content, its execute bit, a link's target, a path, an added file", () =>
    Effect.gen(function*() {
      const base = [file("a.txt"), file("bin/run.sh", "b", true), { type: "symlink", path: "l", target: "a.txt" } as const]
      const variants: ReadonlyArray<ReadonlyArray<ContextEntry>> = [
        [file("a.txt", "c"), base[1]!, base[2]!],
        [base[0]!, file("bin/run.sh", "b", false), base[2]!],
        [base[0]!, base[1]!, { type: "symlink", path: "l", target: "./a.txt" }],
        [file("b.txt"), base[1]!, base[2]!],
        [...base, file("new.txt")]
      ]
      const digests = new Set([yield* contextDigest(base)])
      for (const entries of variants) digests.add(yield* contextDigest(entries))
      assert.strictEqual(digests.size, variants.length + 1)
    }))

  it.effect("gives an empty context the digest of []", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* contextDigest([]), `sha256:${createHash("sha256").update("[]").digest("hex")}`)
    }))

  it("refuses entries the walk should never produce", () => {
    for (const bad of [[file("/abs")], [file("a/../b")], [file("./a")], [file("a//b")], [file("")], [file("a"), file("a", "b")]]) {
      assert.throws(() => contextDocument(bad), TypeError)
    }
    assert.throws(() => contextDocument([{ type: "file", path: "a", sha256: "A".repeat(64), executable: false }]), TypeError)
  })
})
