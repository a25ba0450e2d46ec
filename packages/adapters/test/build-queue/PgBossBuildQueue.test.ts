/** The pg-boss build queue on the test PostgreSQL, in a schema of its own, dropped afterwards. */
import { Effect, Layer } from "effect"
import pg from "pg"
import { PgBossBuildQueue } from "../../src/build-queue/pg-boss/PgBossBuildQueue.ts"
import { testConnectionString } from "../support/TestDatabase.ts"
import { buildQueueContract } from "./BuildQueueContract.ts"

const schema = `boss_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`

const dropSchema = Layer.effectDiscard(Effect.addFinalizer(() =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: testConnectionString })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end())
  })
))

buildQueueContract(
  "pg-boss",
  // The schema is dropped after pg-boss has stopped.
  PgBossBuildQueue.layerWith({ connectionString: testConnectionString, schema, location: "test", heartbeatSeconds: 10, superviseSeconds: 1 })
    .pipe(Layer.provideMerge(dropSchema))
)
