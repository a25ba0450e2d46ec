/**
 * `Database.listen` on both engines: `Listening` first, then the payload of each notification
 * sent on the channel after it (and none of another channel's).
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { Database, type DatabaseError } from "../../src/sql/Database.ts"
import { TestDatabase } from "../support/TestDatabase.ts"
import type { Layer } from "effect"

const listenSuite = (name: string, databaseLayer: Layer.Layer<Database, DatabaseError>) =>
  layer(databaseLayer, { excludeTestServices: true })(`Database.listen: ${name}`, (it) => {
    it.effect("gives Listening, then each notification's payload sent on its channel", () =>
      Effect.gen(function* () {
        const database = yield* Database
        const channel = `listen_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`
        const listening = yield* Deferred.make<void>()
        const heard = yield* database.listen(channel).pipe(
          Stream.tap((n) => n._tag === "Listening" ? Deferred.succeed(listening, undefined) : Effect.void),
          Stream.take(3),
          Stream.runCollect,
          Effect.forkChild
        )
        yield* Deferred.await(listening).pipe(Effect.timeout("10 seconds"))
        for (const [c, payload] of [[channel, "1"], [`${channel}_other`, "x"], [channel, "2"]] as const) {
          yield* database.execute("notify", "select pg_notify($1, $2)", [c, payload])
        }
        const seen = yield* Fiber.join(heard).pipe(Effect.timeout("10 seconds"))
        assert.deepStrictEqual(seen, [{ _tag: "Listening" }, { _tag: "Notified", payload: "1" }, { _tag: "Notified", payload: "2" }])
      }))
  })

listenSuite("PGlite", TestDatabase.pglite())
listenSuite("PostgreSQL", TestDatabase.postgres() as Layer.Layer<Database, DatabaseError>)
