/**
 * The API key store contract: what every `ApiKeyStore` adapter must do, run by each adapter's
 * own test file (`apiKeyStoreContract(name, layer)`). Each test uses workspaces of its own, so
 * one store serves all. `stored`, where the adapter has rows to look at, gives everything the
 * store holds, to show that no key is among it.
 */
import { assert, layer } from "@effect/vitest"
import { type ApiKeyInfo, ApiKeyStore, hashApiKey } from "@terrarium/domain"
import { Effect, type Layer, Option, Redacted } from "effect"

/** A workspace name of this test alone. */
const workspaceOf = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}`

/** The key's secret part (it may hold `_` itself). */
const secretOf = (key: Redacted.Redacted<string>) => Redacted.value(key).replace(/^trm_[0-9a-f]+_/, "")

const grantOf = (key: Redacted.Redacted<string>) =>
  Effect.flatMap(Effect.all([ApiKeyStore, hashApiKey(key)]), ([store, hash]) => store.lookup(hash))

export const apiKeyStoreContract = <E, R>(
  name: string,
  storeLayer: Layer.Layer<ApiKeyStore | R, E>,
  options: { readonly stored?: Effect.Effect<ReadonlyArray<unknown>, unknown, R> } = {}
) =>
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`ApiKeyStore contract: ${name}`, (it) => {
    it.effect("create shows the key once, redacted, and the store keeps only its hash", () =>
      Effect.gen(function*() {
        const store = yield* ApiKeyStore
        const workspace = workspaceOf("made")
        const made = yield* store.create({ workspace, description: "ci", createdBy: "alice" })
        const key = Redacted.value(made.key)
        assert.match(key, /^trm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/)
        assert.isTrue(key.startsWith(`trm_${made.id}_`))
        assert.deepStrictEqual(
          { workspace: made.workspace, description: made.description, createdBy: made.createdBy, revokedAt: made.revokedAt },
          { workspace, description: "ci", createdBy: "alice", revokedAt: null }
        )
        assert.instanceOf(made.createdAt, Date)
        // Printed or serialised by mistake, the answer does not give the key away.
        assert.notInclude(String(made.key), key)
        assert.notInclude(JSON.stringify(made), key)
        // The key's text is not what the store looks keys up by: only its hash is.
        assert.isTrue(Option.isNone(yield* store.lookup(key)))
        assert.isTrue(Option.isSome(yield* grantOf(made.key)))
        if (options.stored !== undefined) {
          const stored = JSON.stringify(yield* options.stored)
          assert.notInclude(stored, secretOf(made.key))
          assert.include(stored, yield* hashApiKey(made.key))
        }
      }))

    it.effect("a key's hash finds its workspace and its id, and no other", () =>
      Effect.gen(function*() {
        const store = yield* ApiKeyStore
        const [a, b] = [workspaceOf("team-a"), workspaceOf("team-b")]
        const keyA = yield* store.create({ workspace: a, createdBy: "t" })
        const keyB = yield* store.create({ workspace: b, createdBy: "t" })
        assert.deepStrictEqual(yield* grantOf(keyA.key), Option.some({ keyId: keyA.id, workspace: a }))
        assert.deepStrictEqual(yield* grantOf(keyB.key), Option.some({ keyId: keyB.id, workspace: b }))
        assert.notStrictEqual(keyA.id, keyB.id)
      }))

    it.effect("revoke stops a key at once and keeps it listed; a second revoke is false; other keys go on", () =>
      Effect.gen(function*() {
        const store = yield* ApiKeyStore
        const workspace = workspaceOf("revoked")
        const gone = yield* store.create({ workspace, createdBy: "t" })
        const kept = yield* store.create({ workspace, createdBy: "t" })
        assert.isTrue(yield* store.revoke(gone.id))
        assert.isTrue(Option.isNone(yield* grantOf(gone.key)))
        assert.isFalse(yield* store.revoke(gone.id))
        assert.isTrue(Option.isNone(yield* grantOf(gone.key)))
        assert.deepStrictEqual(yield* grantOf(kept.key), Option.some({ keyId: kept.id, workspace }))
        const listed = yield* store.list({ workspace })
        const revoked = listed.find((k) => k.id === gone.id)
        assert.isDefined(revoked)
        assert.instanceOf(revoked!.revokedAt, Date)
        assert.isAtLeast(revoked!.revokedAt!.getTime(), revoked!.createdAt.getTime())
        assert.isNull(listed.find((k) => k.id === kept.id)?.revokedAt)
      }))

    it.effect("unknown keys and ids are refused: nothing found, nothing revoked", () =>
      Effect.gen(function*() {
        const store = yield* ApiKeyStore
        assert.isTrue(Option.isNone(yield* store.lookup(yield* hashApiKey(Redacted.make("trm_000000000000_unknown")))))
        assert.isTrue(Option.isNone(yield* store.lookup("")))
        assert.isFalse(yield* store.revoke("000000000000"))
        assert.isFalse(yield* store.revoke(""))
      }))

    it.effect("list shows a workspace's keys oldest first, or every workspace's, and never a key or its hash", () =>
      Effect.gen(function*() {
        const store = yield* ApiKeyStore
        const [a, b] = [workspaceOf("list-a"), workspaceOf("list-b")]
        const first = yield* store.create({ workspace: a, createdBy: "t", description: "first" })
        const second = yield* store.create({ workspace: a, createdBy: "t" })
        const other = yield* store.create({ workspace: b, createdBy: "t" })
        const listedA = yield* store.list({ workspace: a })
        assert.deepStrictEqual(new Set(listedA.map((k) => k.id)), new Set([first.id, second.id]))
        const infoOf = ({ key: _key, ...info }: ApiKeyInfo & { readonly key: unknown }): ApiKeyInfo => info
        assert.deepStrictEqual(listedA.find((k) => k.id === first.id), infoOf(first))
        const times = listedA.map((k) => k.createdAt.getTime())
        assert.deepStrictEqual(times, [...times].sort((x, y) => x - y))
        const all = yield* store.list({})
        for (const made of [first, second, other]) assert.include(all.map((k) => k.id), made.id)
        for (const info of all) assert.deepStrictEqual(Object.keys(info).sort(), ["createdAt", "createdBy", "description", "id", "revokedAt", "workspace"])
        const text = JSON.stringify(all)
        for (const made of [first, second, other]) {
          assert.notInclude(text, secretOf(made.key))
          assert.notInclude(text, yield* hashApiKey(made.key))
        }
      }))

    it.effect("concurrent creates: every key distinct, each opening its own workspace", () =>
      Effect.gen(function*() {
        const store = yield* ApiKeyStore
        const workspaces = [workspaceOf("many-a"), workspaceOf("many-b"), workspaceOf("many-c")]
        const made = yield* Effect.forEach(
          Array.from({ length: 24 }, (_, i) => workspaces[i % 3]!),
          (workspace) => store.create({ workspace, createdBy: "t" }),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(new Set(made.map((k) => k.id)).size, 24)
        assert.strictEqual(new Set(made.map((k) => Redacted.value(k.key))).size, 24)
        const grants = yield* Effect.forEach(made, (k) => grantOf(k.key), { concurrency: "unbounded" })
        assert.deepStrictEqual(grants, made.map((k) => Option.some({ keyId: k.id, workspace: k.workspace })))
        for (const workspace of workspaces) assert.strictEqual((yield* store.list({ workspace })).length, 8)
      }))
  })
