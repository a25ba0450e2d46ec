/**
 * The implementations under test, behind one small interface so that the driver treats them
 * alike: the Terrarium `SqlEventStore`, the raw ceiling (plain SQL, one transaction per append)
 * and the Emmett PostgreSQL event store. Each `open*` call builds a fresh, empty store (its own
 * PostgreSQL schema or PGlite data directory) and `close` removes it again.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { PGlite } from "@electric-sql/pglite"
import { readMessagesBatch, getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql"
import { Database, SqlEventStore } from "@terrarium/adapters"
import { EventStore, type NewEvent } from "@terrarium/domain"
import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import type { BenchEvent } from "./workload.ts"

export type Engine = "postgres" | "pglite"
export type Impl = "raw" | "terrarium" | "emmett"

export interface Target {
  readonly engine: Engine
  readonly impl: Impl
  /** Append `event` to stream number `stream`, which must be at version `expected`, as writer `writer`. */
  append(writer: number, stream: number, expected: number, event: BenchEvent): Promise<void>
  /** Every event in global order (only positions <= `until` if given), streamed, page by page. */
  replay(onEvent: (id: string, position: number) => void, until?: number): Promise<void>
  /** All events of one stream; resolves to how many there were. */
  readStream(stream: number): Promise<number>
  close(): Promise<void>
}

/** Rows fetched per round trip when replaying, for every implementation. */
export const PAGE = 500

const WORKSPACE = "bench"
const metadata = (event: BenchEvent) => ({ actor: "bench", correlationId: event.id, causationId: null })

let schemaCounter = 0
const freshSchema = () => `bench_${process.pid}_${Date.now().toString(36)}_${schemaCounter++}`

/** `connectionString` with every connection's search_path set to `schema`. */
const withSearchPath = (connectionString: string, schema: string) => {
  const url = new URL(connectionString)
  url.searchParams.set("options", `-c search_path=${schema}`)
  return url.toString()
}

/** One statement on a connection of its own (creating and dropping schemas). */
export const adminQuery = async (connectionString: string, text: string) => {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

const tempDir = () => mkdtemp(join(tmpdir(), "terrarium-bench-"))

// ---------------------------------------------------------------------------------------------
// Raw ceiling: one table, UNIQUE(stream, version), BEGIN; INSERT; COMMIT per append.

const RAW_TABLE = `
  CREATE TABLE raw_events (
    position   bigserial   PRIMARY KEY,
    stream     text        NOT NULL,
    version    integer     NOT NULL,
    event_id   uuid        NOT NULL,
    event_type text        NOT NULL,
    data       jsonb       NOT NULL,
    metadata   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream, version)
  )`
const RAW_INSERT = "INSERT INTO raw_events (stream, version, event_id, event_type, data, metadata) VALUES ($1, $2, $3, $4, $5, $6)"
const RAW_PAGE = "SELECT position, stream, version, event_id, event_type, data, metadata, created_at FROM raw_events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3"
const RAW_STREAM = "SELECT position, stream, version, event_id, event_type, data, metadata, created_at FROM raw_events WHERE stream = $1 ORDER BY version"
const rawParams = (stream: number, expected: number, event: BenchEvent) =>
  [`${WORKSPACE}/env-${stream}`, expected + 1, event.id, event.type, JSON.stringify(event.data), JSON.stringify(metadata(event))]

interface RawRow { readonly position: string | number; readonly event_id: string }

/** Keyset pagination shared by both raw engines. */
const rawReplay = async (
  page: (after: number, until: number) => Promise<ReadonlyArray<RawRow>>,
  onEvent: (id: string, position: number) => void,
  until: number
) => {
  let after = 0
  for (;;) {
    const rows = await page(after, until)
    for (const row of rows) {
      after = Number(row.position)
      onEvent(row.event_id, after)
    }
    if (rows.length < PAGE) return
  }
}

/** Plain `pg`: one connection per writer, one for reading. */
export const openRawPostgres = async (connectionString: string, writers: number): Promise<Target> => {
  const schema = freshSchema()
  await adminQuery(connectionString, `CREATE SCHEMA ${schema}`)
  const clients: Array<pg.Client> = []
  try {
    const url = withSearchPath(connectionString, schema)
    for (let i = 0; i <= writers; i++) {
      const client = new pg.Client({ connectionString: url })
      clients.push(client)
      await client.connect()
    }
    await clients[0]!.query(RAW_TABLE)
  } catch (e) {
    await Promise.allSettled(clients.map((c) => c.end()))
    await adminQuery(connectionString, `DROP SCHEMA ${schema} CASCADE`)
    throw e
  }
  const reader = clients[writers]!
  return {
    engine: "postgres",
    impl: "raw",
    append: async (writer, stream, expected, event) => {
      const client = clients[writer]!
      await client.query("BEGIN")
      try {
        await client.query(RAW_INSERT, rawParams(stream, expected, event))
        await client.query("COMMIT")
      } catch (e) {
        await client.query("ROLLBACK")
        throw e
      }
    },
    replay: (onEvent, until = Number.MAX_SAFE_INTEGER) =>
      rawReplay(async (after, u) => (await reader.query<RawRow>(RAW_PAGE, [after, u, PAGE])).rows, onEvent, until),
    readStream: async (stream) => (await reader.query(RAW_STREAM, [`${WORKSPACE}/env-${stream}`])).rows.length,
    close: async () => {
      await Promise.allSettled(clients.map((c) => c.end()))
      await adminQuery(connectionString, `DROP SCHEMA ${schema} CASCADE`)
    }
  }
}

/**
 * The same SQL on a raw PGlite instance. PGlite has one connection: `transaction` serialises
 * the concurrent writers (each still gets its own BEGIN; INSERT; COMMIT).
 */
export const openRawPglite = async (): Promise<Target> => {
  const dir = await tempDir()
  let db: PGlite
  try {
    db = await PGlite.create({ dataDir: dir })
    await db.exec(RAW_TABLE)
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw e
  }
  return {
    engine: "pglite",
    impl: "raw",
    append: async (_writer, stream, expected, event) => {
      await db.transaction((tx) => tx.query(RAW_INSERT, rawParams(stream, expected, event)))
    },
    replay: (onEvent, until = Number.MAX_SAFE_INTEGER) =>
      rawReplay(async (after, u) => (await db.query<RawRow>(RAW_PAGE, [after, u, PAGE])).rows, onEvent, until),
    readStream: async (stream) => (await db.query(RAW_STREAM, [`${WORKSPACE}/env-${stream}`])).rows.length,
    close: async () => {
      await db.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Terrarium: SqlEventStore over Database.layerPostgres / Database.layerPglite.

const openTerrariumWith = async (
  engine: Engine,
  database: Layer.Layer<Database, unknown>,
  cleanup: () => Promise<void>
): Promise<Target> => {
  const runtime = ManagedRuntime.make(SqlEventStore.layer.pipe(Layer.provide(database)))
  let store: EventStore["Service"]
  try {
    store = await runtime.runPromise(Effect.service(EventStore))
  } catch (e) {
    await runtime.dispose()
    await cleanup()
    throw e
  }
  const ref = (stream: number) => ({ workspace: WORKSPACE, stream: `env-${stream}` })
  return {
    engine,
    impl: "terrarium",
    append: async (_writer, stream, expected, event) => {
      const e: NewEvent = { id: event.id, type: event.type, schemaVersion: 1, data: event.data, metadata: metadata(event) }
      await runtime.runPromise(store.append(ref(stream), expected, [e]))
    },
    replay: (onEvent, until) =>
      runtime.runPromise(
        store.readAll({ after: 0, batchSize: PAGE, ...(until !== undefined ? { until } : {}) }).pipe(
          Stream.runForEach((e) => Effect.sync(() => onEvent(e.id, e.position)))
        )
      ),
    readStream: async (stream) => (await runtime.runPromise(store.readStream(ref(stream)))).length,
    close: async () => {
      await runtime.dispose()
      await cleanup()
    }
  }
}

export const openTerrariumPostgres = async (connectionString: string): Promise<Target> => {
  const schema = freshSchema()
  return openTerrariumWith(
    "postgres",
    Database.layerPostgres({ connectionString, schema }).pipe(Layer.provide(NodeServices.layer)),
    () => adminQuery(connectionString, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  )
}

export const openTerrariumPglite = async (): Promise<Target> => {
  const dir = await tempDir()
  return openTerrariumWith("pglite", Database.layerPglite({ dataDir: dir }).pipe(Layer.provide(NodeServices.layer)), () => rm(dir, { recursive: true, force: true }))
}

// ---------------------------------------------------------------------------------------------
// Emmett: getPostgreSQLEventStore, appendToStream with expectedStreamVersion, replay with its
// own readMessagesBatch (the query its consumers poll with), readStream for one stream.

export const openEmmett = async (connectionString: string): Promise<Target> => {
  const schema = freshSchema()
  await adminQuery(connectionString, `CREATE SCHEMA ${schema}`)
  const url = withSearchPath(connectionString, schema)
  const store = getPostgreSQLEventStore(url)
  const reader = new pg.Pool({ connectionString: url, max: 1 })
  const cleanup = async () => {
    await Promise.allSettled([store.close(), reader.end()])
    await adminQuery(connectionString, `DROP SCHEMA ${schema} CASCADE`)
  }
  try {
    // Create its tables and functions now, outside the timed appends.
    await store.schema.migrate()
  } catch (e) {
    await cleanup()
    throw e
  }
  // readMessagesBatch only calls `execute.query(sql)` and reads `.rows`.
  const execute = { query: (text: string) => reader.query(text) } as unknown as Parameters<typeof readMessagesBatch>[0]
  return {
    engine: "postgres",
    impl: "emmett",
    append: async (_writer, stream, expected, event) => {
      await store.appendToStream(
        `environment-${stream}`,
        [{ type: event.type, data: event.data, metadata: { messageId: event.id, ...metadata(event) } }],
        { expectedStreamVersion: BigInt(expected) }
      )
    },
    replay: async (onEvent, until) => {
      let after = 0n
      for (;;) {
        const options = { after, batchSize: PAGE, ...(until !== undefined ? { to: BigInt(until) } : {}) }
        const batch = await readMessagesBatch(execute, options)
        for (const m of batch.messages) onEvent(String(m.metadata.messageId), Number(m.metadata.globalPosition))
        after = batch.currentGlobalPosition
        if (!batch.areMessagesLeft) return
      }
    },
    readStream: async (stream) => (await store.readStream(`environment-${stream}`)).events.length,
    close: cleanup
  }
}
