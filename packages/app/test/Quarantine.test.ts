/**
 * One damaged row in the log, on PGlite and on PostgreSQL: a `Registered` row whose data does not
 * match its type, inserted with raw SQL at the next position by a role that may insert into the
 * log (the application's own role can). It used to stop every read of every workspace; now it is
 * quarantined: its stream's reads fail naming it, every other stream and workspace reads, status
 * and reads say so, and an appended `EventVoided` (`repair`) makes the stream read again.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Database, type DatabaseKind, MemoryBuildContextStore } from "@terrarium/adapters"
import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@terrarium/domain"
import { Effect, Layer, Logger } from "effect"
import { decodeDefinitionInput } from "../src/Input.ts"
import * as Setup from "../src/Setup.ts"
import { Terrarium, type TerrariumError } from "../src/Terrarium.ts"
import { layer as terrariumLayer } from "../src/Terrarium.ts"

const testDatabaseUrl = process.env["TERRARIUM_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

const definition = (pkg: string) =>
  decodeDefinitionInput({
    python: { userManagedDependencies: false, interpreterPath: "python", conda: { channels: ["conda-forge"], conda: [], pip: [pkg] } }
  })

/** A malformed `Registered` row at the next position of `workspace/environment/name`, written past the store. */
const insertMalformed = (workspace: string, name: string) =>
  Effect.gen(function*() {
    const database = yield* Database
    const store = yield* EventStore
    const stream = `environment/${name}`
    const position = (yield* store.head) + 1
    const streamVersion = (yield* store.readStream({ workspace, stream })).length + 1
    yield* database.execute(
      "bypass",
      `insert into events (position, workspace, stream, stream_version, event_id, event_type, schema_version, data, metadata)
       values ($1, $2, $3, $4, $5::uuid, 'Registered', 1, $6::jsonb, $7::jsonb)`,
      [position, workspace, stream, streamVersion, crypto.randomUUID(), JSON.stringify({ version: 4 }),
        JSON.stringify({ actor: "intruder", correlationId: crypto.randomUUID(), causationId: null })]
    )
    return position
  })

const scenario = (kind: DatabaseKind, database: Layer.Layer<Database, unknown>) =>
  it.effect(`${kind}: a malformed row fails only its own stream, until it is voided`, () =>
    Effect.gen(function*() {
      const warnings: Array<string> = []
      const collect = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push((Array.isArray(message) ? message : [message]).join(" "))
      })
      const withWarnings = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(Logger.layer([collect])))
      const t = yield* Terrarium
      yield* t.create({ workspace: "team-a", name: "train", definition: yield* definition("numpy") })
      yield* t.create({ workspace: "team-a", name: "serve", definition: yield* definition("flask") })
      yield* t.create({ workspace: "team-b", name: "train", definition: yield* definition("torch") })
      const bad = yield* insertMalformed("team-a", "train")

      // Every other workspace and stream reads.
      assert.deepStrictEqual((yield* withWarnings(t.environments({ workspace: "team-b" }))).map((e) => e.name), ["train"])
      assert.deepStrictEqual(warnings, [], "team-b is not told about team-a")
      assert.deepStrictEqual((yield* withWarnings(t.environments({ workspace: "team-a" }))).map((e) => e.name), ["serve", "train"])
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0]!, `the Registered event at position ${bad} of environment 'team-a/train' cannot be read and is quarantined`)
      assert.include(warnings[0]!, `terrarium environment repair train --workspace team-a --void-position ${bad} --reason`)
      assert.strictEqual((yield* t.show({ workspace: "team-a", ref: { name: "serve", label: "latest" } })).version, "1")
      assert.strictEqual((yield* t.show({ workspace: "team-b", ref: { name: "train", label: "latest" } })).version, "1")

      // The damaged stream's reads and writes fail, naming it.
      const attempts: ReadonlyArray<Effect.Effect<unknown, TerrariumError>> = [
        t.show({ workspace: "team-a", ref: { name: "train", label: "latest" } }),
        t.diff({ workspace: "team-a", from: { name: "train", version: "1" }, to: { name: "serve", version: "1" } }),
        t.register({ workspace: "team-a", name: "train" })
      ]
      for (const attempt of attempts) {
        const error = yield* Effect.flip(attempt)
        assert.strictEqual(error._tag, "EventDecodeFailure")
        if (error._tag !== "EventDecodeFailure") continue
        assert.deepInclude(error, { workspace: "team-a", stream: "environment/train", position: bad, malformed: true })
        assert.match(error.message, new RegExp(`^environment 'team-a/train' cannot be read: its event at position ${bad} \\(Registered, schema version 1, #3 of the stream\\) is malformed: Missing key`))
        assert.include(error.message, `repair it by voiding it with an audited event: terrarium environment repair train --workspace team-a --void-position ${bad} --reason "…"`)
        assert.notInclude(error.message, "\n")
      }

      const status = yield* t.status
      assert.deepStrictEqual(status.quarantined, { count: 1, positions: [bad] })
      const [entry] = yield* t.quarantine({ workspace: "team-a" })
      assert.deepInclude(entry, { position: bad, name: "train", eventType: "Registered", actor: "intruder", resolution: null })

      // Only an unreadable event of the stream can be voided.
      const readable = yield* Effect.flip(t.repair({ workspace: "team-a", name: "train", position: bad - 1, reason: "no" }))
      assert.strictEqual(readable._tag === "EnvironmentError" ? readable.reason._tag : readable._tag, "NotQuarantined")
      assert.match(readable.message, new RegExp(`^the event at position ${bad - 1} is not an unreadable event of environment 'team-a/train', so it cannot be voided; its unreadable position is ${bad}$`))
      const elsewhere = yield* Effect.flip(t.repair({ workspace: "team-a", name: "serve", position: bad, reason: "no" }))
      assert.include(elsewhere.message, "it has none")

      const repaired = yield* t.repair({ workspace: "team-a", name: "train", position: bad, reason: "written by hand, not by Terrarium", actor: "ops" })
      assert.deepStrictEqual(repaired, {
        workspace: "team-a", name: "train", voidedPosition: bad, reason: "written by hand, not by Terrarium", unreadable: []
      })
      const shown = yield* t.show({ workspace: "team-a", ref: { name: "train", label: "latest" } })
      assert.deepStrictEqual([shown.version, shown.definition.python.conda?.pip.map((p) => p.name)], ["1", ["numpy"]])
      const again = yield* Effect.flip(t.repair({ workspace: "team-a", name: "train", position: bad, reason: "twice" }))
      assert.include(again.message, "it has none")

      warnings.length = 0
      const trail = yield* withWarnings(t.audit({ workspace: "team-a", name: "train" }))
      assert.deepStrictEqual(warnings, [], "a repaired event is no longer warned about")
      const [quarantined, voided] = trail.slice(-2)
      assert.deepStrictEqual([quarantined!.position, quarantined!.eventType, quarantined!.actor], [bad, "Registered", "intruder"])
      assert.deepStrictEqual([voided!.eventType, voided!.actor, voided!.summary],
        ["EventVoided", "ops", `voided the unreadable event at position ${bad}: written by hand, not by Terrarium`])
      assert.deepStrictEqual((yield* t.status).quarantined, { count: 0, positions: [] })
      const [resolved] = yield* t.quarantine({})
      assert.deepInclude(resolved!.resolution, { position: voided!.position, voidedBy: "ops", reason: "written by hand, not by Terrarium" })

      // Writes go on; a rebuild from the log reaches the same state.
      yield* t.register({ workspace: "team-a", name: "train" })
      const before = {
        quarantine: yield* t.quarantine({}),
        audit: yield* t.audit({ workspace: "team-a", name: "train" }),
        lists: [yield* t.environments({ workspace: "team-a" }), yield* t.environments({ workspace: "team-b" })]
      }
      yield* t.rebuildProjections
      assert.deepStrictEqual({
        quarantine: yield* t.quarantine({}),
        audit: yield* t.audit({ workspace: "team-a", name: "train" }),
        lists: [yield* t.environments({ workspace: "team-a" }), yield* t.environments({ workspace: "team-b" })]
      }, before)
    }).pipe(
      Effect.provide(terrariumLayer({ actor: "alice" }).pipe(Layer.provideMerge(Layer.merge(Setup.layerPorts(database).pipe(Layer.provide(NodeServices.layer)), MemoryBuildContextStore.layer)))),
      Effect.scoped
    ), { timeout: 120_000 })

describe("a damaged row in the log", () => {
  scenario("pglite", Database.layerPglite().pipe(Layer.provide(NodeServices.layer)))
  const schema = `test_quarantine_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  scenario("postgres", Layer.effect(Database, Effect.gen(function*() {
    const database = yield* Database
    yield* Effect.addFinalizer(() => database.execute("drop schema", `drop schema if exists "${schema}" cascade`, []).pipe(Effect.ignore))
    return database
  })).pipe(Layer.provide(Database.layerPostgres({ connectionString: testDatabaseUrl, schema }).pipe(Layer.provide(NodeServices.layer)))))
})
