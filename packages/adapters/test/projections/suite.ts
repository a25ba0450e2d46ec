/**
 * The projection suite, run against each engine by its own test file (`projectionSuite(name,
 * makeDatabase)`): a realistic history written through the event store, projected
 * incrementally, queried through the read model, and checked for exactly-once application under
 * failures and concurrency. Rebuilds are compared with the incremental result after damaging the
 * read model (a rebuild that only caught up would leave the damage) and with a rebuild of the
 * same log in an empty database, and watched by readers while they run.
 *
 * Each test gets a fresh database. Tests use the live clock (`excludeTestServices` style via
 * `it.live`) where the follower polls.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Archived, CanonicalHash, type Definition, Defined, DockerConfigured, emptyDefinition, emptyPipOptions,
  type EnvironmentEvent, environmentStream, EventCodec, EventStore, ImageBuildFailed, ImageBuildRequested,
  ImageBuilt, LabelMoved, LabelRemoved, PackageAdded, type PipRequirement, Redefined, Registered, Restored,
  VariableSet
} from "@terrarium/domain"
import { Context, Effect, Fiber, Layer, Ref, type Scope, Stream } from "effect"
import { type Kysely, type RawBuilder, sql } from "kysely"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { Projections, type ProjectionsOptions, ReadModel } from "../../src/projections/index.ts"
import { envelopeOf, project, type RowOp } from "../../src/projections/Projection.ts"
import { applyOps, clearProjections } from "../../src/projections/ProjectionSql.ts"
import { PROJECTION_TABLES, type ProjectionTables, shadowOf } from "../../src/projections/Tables.ts"
import { Database } from "../../src/sql/Database.ts"

// ---------------------------------------------------------------------------------------------
// The history

const pip = (name: string, specifier: string): PipRequirement =>
  ({ kind: "pip", name, extras: [], specifier, text: `${name}${specifier}` })

const withPip = (definition: Definition, ...packages: ReadonlyArray<PipRequirement>): Definition => ({
  ...definition,
  python: {
    ...definition.python,
    conda: {
      channels: ["conda-forge"], conda: [], pipOptions: emptyPipOptions,
      pip: [...(definition.python.conda?.pip ?? []), ...packages]
    }
  }
})

const numpy = pip("numpy", ">=1.2")
const torch = pip("torch", "==2.3.0")
const trainDraft: Definition = { ...emptyDefinition, description: "training", tags: { team: "vision" } }
const train1 = { ...withPip(trainDraft, numpy), variables: { OMP_NUM_THREADS: "4" } }
const train2 = withPip(train1, torch)
const train3 = { ...train2, variables: { ...train2.variables, CUDA: "12" } }
const baseCpu: Definition = {
  ...emptyDefinition,
  python: { ...emptyDefinition.python, userManagedDependencies: true },
  docker: { ...emptyDefinition.docker, base: { kind: "image", image: "ubuntu:24.04" } }
}
const sklearn1: Definition = {
  ...withPip(emptyDefinition, pip("scikit-learn", "==1.5.0")),
  description: "Scikit-learn 1.5", tags: { framework: "sklearn" }
}
const sklearn2: Definition = {
  ...withPip(emptyDefinition, pip("scikit-learn", "==1.5.2")),
  description: "Scikit-learn 1.5.2", tags: { framework: "sklearn", os: "ubuntu22.04" }
}

const CURATED = "AzureML-sklearn-1.5"

interface Hashes {
  readonly train1: string
  readonly train2: string
  readonly train3: string
  readonly baseCpu: string
  readonly sklearn1: string
  readonly sklearn2: string
}

const hashes: Effect.Effect<Hashes> = Effect.all({
  train1: CanonicalHash.hash(train1), train2: CanonicalHash.hash(train2), train3: CanonicalHash.hash(train3),
  baseCpu: CanonicalHash.hash(baseCpu), sklearn1: CanonicalHash.hash(sklearn1), sklearn2: CanonicalHash.hash(sklearn2)
})

const registered = (name: string, version: string, canonicalHash: string, definition: Definition) =>
  new Registered({ name, version, canonicalHash, hashAlgorithm: CanonicalHash.ALGORITHM_VERSION, definition })

const image = (version: string, canonicalHash: string, buildId: string) =>
  new ImageBuilt({
    version, canonicalHash, buildId, registry: "registry.local:5000", repository: "terrarium/train",
    tag: version, digest: `sha256:${"d1".repeat(32)}`, durationMs: 61_500
  })

type Append = readonly [workspace: string, name: string, events: ReadonlyArray<EnvironmentEvent>]

/** Three steps of history; the projector catches up after each. */
const history = (h: Hashes): ReadonlyArray<ReadonlyArray<Append>> => [
  [
    ["team-a", "train", [
      new Defined({ workspace: "team-a", name: "train", curated: false, definition: trainDraft }),
      new PackageAdded({ spec: numpy }),
      new VariableSet({ variable: "OMP_NUM_THREADS", value: "4" }),
      registered("train", "1", h.train1, train1),
      new LabelMoved({ label: "prod", version: "1" })
    ]],
    ["team-a", "base-cpu", [
      new Defined({ workspace: "team-a", name: "base-cpu", curated: false, definition: { ...baseCpu, docker: emptyDefinition.docker } }),
      new DockerConfigured({ docker: baseCpu.docker }),
      registered("base-cpu", "1", h.baseCpu, baseCpu)
    ]],
    ["azureml", CURATED, [
      new Defined({ workspace: "azureml", name: CURATED, curated: true, definition: sklearn1 }),
      registered(CURATED, "1", h.sklearn1, sklearn1)
    ]]
  ],
  [
    ["team-a", "train", [
      new PackageAdded({ spec: torch }),
      registered("train", "2", h.train2, train2),
      new LabelMoved({ label: "prod", version: "2", previous: "1" }),
      new LabelMoved({ label: "staging", version: "2" }),
      new ImageBuildRequested({ version: "2", canonicalHash: h.train2, buildId: "b-1", refreshPackages: false }),
      image("2", h.train2, "b-1")
    ]],
    // Same definition in another workspace: same hash, so it shares the image already built.
    ["team-b", "train", [
      new Defined({ workspace: "team-b", name: "train", curated: false, definition: train2 }),
      registered("train", "1", h.train2, train2)
    ]]
  ],
  [
    ["team-a", "train", [
      new VariableSet({ variable: "CUDA", value: "12" }),
      registered("train", "3", h.train3, train3),
      new Archived({ version: "3" }),
      new Archived({ version: "1" }),
      new Restored({ version: "3" }),
      new LabelRemoved({ label: "staging", previous: "2" })
    ]],
    ["azureml", CURATED, [
      new Redefined({ definition: sklearn2 }),
      registered(CURATED, "2", h.sklearn2, sklearn2),
      new ImageBuildRequested({ version: "2", canonicalHash: h.sklearn2, buildId: "b-2", refreshPackages: true }),
      new ImageBuildFailed({ version: "2", canonicalHash: h.sklearn2, buildId: "b-2", reason: "conda solve failed" })
    ]],
    ["team-a", "base-cpu", [new Archived({ version: "1" })]],
    ["team-a", "draft-only", [new Defined({ workspace: "team-a", name: "draft-only", curated: false, definition: emptyDefinition })]]
  ]
]

const appendAll = (appends: ReadonlyArray<Append>) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    for (const [workspace, name, events] of appends) {
      const correlationId = crypto.randomUUID()
      yield* store.append(environmentStream(workspace, name), "any", events.map((event) =>
        EventCodec.encode(event, { actor: `${workspace}-admin`, correlationId, causationId: null }, crypto.randomUUID())
      ))
    }
  })

/** An event of some other kind of stream, which the environment projections must step over. */
const appendForeign = EventStore.use((store) =>
  store.append({ workspace: "team-a", stream: "import/run-1" }, "any", [{
    id: crypto.randomUUID(), type: "ImportStarted", schemaVersion: 1, data: { source: "azureml" },
    metadata: { actor: "importer", correlationId: crypto.randomUUID(), causationId: null }
  }])
)

// ---------------------------------------------------------------------------------------------
// Observing the tables

/**
 * The named tables as sorted JSON rows: equal iff same content. One statement, so one MVCC
 * snapshot on PostgreSQL: every table as of the same instant, even while a rebuild commits.
 */
const snapshotOf = (tables: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const database = yield* Database
    const { rows } = yield* database.use("snapshot", (db) =>
      sql<{ name: string; rows: ReadonlyArray<unknown> }>`${sql.join(tables.map((table) =>
        sql`select ${table}::text as name, coalesce((select json_agg(r) from ${sql.table(table)} r), '[]'::json) as rows`
      ), sql` union all `)}`.execute(db))
    const result: Record<string, ReadonlyArray<string>> = {}
    for (const { name, rows: tableRows } of rows) result[name] = tableRows.map((row) => JSON.stringify(row)).sort()
    return result
  })

/** Every live projection table and the catalog view. */
const snapshot = snapshotOf([...PROJECTION_TABLES, "curated_catalog"])

const projectionTables = (db: Kysely<any>) => db as Kysely<ProjectionTables>

const tableSizes = (s: Record<string, ReadonlyArray<string>>) =>
  Object.fromEntries(Object.entries(s).map(([table, rows]) => [table, rows.length]))

const countEnvironmentEvents = (h: Hashes, steps: number) =>
  history(h).slice(0, steps).flat().reduce((n, [, , events]) => n + events.length, 0)

/** The positions of the environment events in the log: the audit trail must hold each once. */
const environmentEventPositions = EventStore.use((store) => Stream.runCollect(store.readAll({ after: 0 }))).pipe(
  Effect.map((events) => events.flatMap((event) => envelopeOf(event) === undefined ? [] : [event.position]))
)

/** Copies the log of one database into another, as stored (positions, times, ids). */
const copyLog = (from: Database["Service"], to: Database["Service"]) =>
  Effect.gen(function* () {
    const { rows } = yield* from.use("read the log", (db) =>
      sql<{ events: unknown }>`select coalesce(json_agg(e order by position), '[]'::json) as events from events e`.execute(db))
    yield* to.use("copy the log", (db) =>
      sql`insert into events select * from jsonb_populate_recordset(null::events, ${JSON.stringify(rows[0]!.events)}::jsonb)`
        .execute(db))
  })

/** Another projector over the same database and log, with its own batch size. */
const projectorWith = (options: ProjectionsOptions) =>
  Layer.build(Projections.layerWith(options)).pipe(Effect.map((context) => Context.get(context, Projections)))

/** Runs statements that change the read model behind the projector's back. */
const tamper = (statements: ReadonlyArray<RawBuilder<unknown>>) =>
  Effect.gen(function* () {
    const database = yield* Database
    yield* database.transaction("tamper with the read model", async (trx) => {
      for (const statement of statements) await statement.execute(trx)
    })
  })

/**
 * Ways the live read model can be wrong: rows lost, changed or invented, the checkpoint reset,
 * moved back or lost. A catch-up repairs none of them: it does nothing, or fails on a key.
 */
const damages: ReadonlyArray<readonly [what: string, statements: (head: number) => ReadonlyArray<RawBuilder<unknown>>]> = [
  ["a row lost from every table", () => [
    sql`delete from audit_trail where position = (select max(position) from audit_trail)`,
    sql`delete from cache_lookup where workspace = 'team-b'`,
    sql`delete from environment_labels where label = 'prod'`,
    sql`delete from environment_versions where name = 'base-cpu'`,
    sql`delete from environments where name = 'draft-only'`
  ]],
  ["rows of every table changed", () => [
    sql`update audit_trail set summary = 'tampered' where position = (select min(position) from audit_trail)`,
    sql`update cache_lookup set registry = null, repository = null, tag = null, digest = null`,
    sql`update environment_labels set version = '1' where label = 'latest'`,
    sql`update environment_versions set archived = not archived, archived_at = null`,
    sql`update environments set draft_type = 'curated'`
  ]],
  ["a row invented", () => [
    sql`insert into environments (workspace, name, curated, draft_type, created_at, created_by, updated_at, updated_position)
      values ('team-a', 'ghost', false, 'user-managed', now(), 'nobody', now(), 1)`
  ]],
  ["every table emptied, the checkpoint left at the head", () =>
    PROJECTION_TABLES.map((table) => sql`delete from ${sql.table(table)}`)],
  ["the checkpoint reset to 0, every row left", () => [
    sql`update projection_checkpoints set position = 0 where name = 'environments'`
  ]],
  ["the checkpoint moved back to the middle of the log", (head) => [
    sql`update projection_checkpoints set position = ${Math.floor(head / 2)} where name = 'environments'`
  ]],
  ["every checkpoint row lost", () => [sql`delete from projection_checkpoints`]]
]

/**
 * An event store whose `head` first runs `meddle` (after reading the head, so the caller does
 * not see what `meddle` appends): a rebuild over it finds, at each round, that the live read
 * model got past what it just built.
 */
const meddlingEventStore = (meddle: Effect.Effect<void>) =>
  Layer.effect(EventStore, Effect.gen(function* () {
    const store = yield* EventStore
    return EventStore.of({ ...store, head: Effect.tap(store.head, () => meddle) })
  }))

// ---------------------------------------------------------------------------------------------
// The suite

type Services = Database | EventStore | Projections | ReadModel | Scope.Scope

export const projectionSuite = <E>(name: string, makeDatabase: () => Layer.Layer<Database, E>) => {
  const stack = (options: { readonly batchSize: number }) =>
    Layer.mergeAll(Projections.layerWith({ ...options, pollInterval: "20 millis" }), ReadModel.layer).pipe(
      Layer.provideMerge(SqlEventStore.layer),
      Layer.provideMerge(makeDatabase())
    )
  const run = <A, E2>(effect: Effect.Effect<A, E2, Services>, batchSize = 4) =>
    effect.pipe(Effect.scoped, Effect.provide(stack({ batchSize })))

  /**
   * The read model a rebuild gives in another, empty database (a new schema, or a new PGlite)
   * after copying this database's log into it.
   */
  const rebuiltElsewhere = Effect.gen(function* () {
    const head = yield* EventStore.use((s) => s.head)
    // Fresh: not the memoised layers (the same schema) of the test's own stack.
    const elsewhere = yield* Layer.build(Layer.fresh(stack({ batchSize: 1000 })))
    yield* copyLog(yield* Database, Context.get(elsewhere, Database))
    assert.strictEqual(yield* Context.get(elsewhere, Projections).rebuild, head)
    return yield* snapshot.pipe(Effect.provide(elsewhere))
  })

  /** All three steps, catching up after each; returns the hashes and the final snapshot. */
  const writeAndCatchUp = Effect.gen(function* () {
    const h = yield* hashes
    const projections = yield* Projections
    const store = yield* EventStore
    const steps = history(h)
    for (const [i, step] of steps.entries()) {
      yield* appendAll(step)
      if (i === 1) yield* appendForeign
      const checkpoint = yield* projections.catchUp
      assert.strictEqual(checkpoint, yield* store.head, `after step ${i + 1} the checkpoint is the head`)
    }
    return h
  })

  describe(`projections: ${name}`, () => {
    it.effect("a rebuild restores the incremental read model, whatever was damaged", () =>
      run(Effect.gen(function* () {
        const h = yield* writeAndCatchUp
        const projections = yield* Projections
        const head = yield* EventStore.use((s) => s.head)
        const incremental = yield* snapshot
        assert.deepStrictEqual(tableSizes(incremental), {
          audit_trail: countEnvironmentEvents(h, 3),
          cache_lookup: 7,
          environment_labels: 4, // team-a/train latest + prod, team-b/train latest, curated latest
          environment_versions: 7,
          environments: 5,
          curated_catalog: 1
        })
        // Other transaction boundaries than the incremental catch-up's (batches of 4) too.
        const wholeLog = yield* projectorWith({ batchSize: 1000 })
        for (const [i, [what, statements]] of damages.entries()) {
          yield* tamper(statements(head))
          const damaged = { tables: yield* snapshot, checkpoint: yield* projections.checkpoint }
          assert.notDeepEqual(damaged, { tables: incremental, checkpoint: head }, `${what}: something is damaged`)
          assert.strictEqual(yield* (i % 2 === 0 ? projections : wholeLog).rebuild, head, what)
          assert.deepStrictEqual(yield* snapshot, incremental, what)
          assert.strictEqual(yield* projections.checkpoint, head, what)
          assert.strictEqual(yield* projections.catchUp, head, `${what}: nothing left to catch up`)
        }
        // A rebuild leaves its shadow tables empty.
        const shadows = PROJECTION_TABLES.map(shadowOf)
        assert.deepStrictEqual(tableSizes(yield* snapshotOf(shadows)), Object.fromEntries(shadows.map((table) => [table, 0])))
      })))

    it.effect("a rebuild in a fresh database from the same log equals the incremental read model", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        assert.deepStrictEqual(yield* rebuiltElsewhere, yield* snapshot)
      })))

    it.live("readers see the old read model or the rebuilt one, never a partial one", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const projections = yield* Projections
        const head = yield* projections.checkpoint
        const incremental = yield* snapshot
        yield* tamper(damages[0]![1](head))
        const damaged = yield* snapshot
        // Batches of one: the rebuild commits dozens of times before it swaps.
        const rebuilder = yield* projectorWith({ batchSize: 1 })
        const done = yield* Ref.make(false)
        const rebuilding = yield* Effect.forkChild(rebuilder.rebuild.pipe(Effect.ensuring(Ref.set(done, true))))
        const seen: Array<"old" | "rebuilt"> = []
        while (!(yield* Ref.get(done))) {
          const tables = yield* snapshot
          const checkpoint = yield* projections.checkpoint
          assert.strictEqual(checkpoint, head, "the live checkpoint stays at the head")
          if (JSON.stringify(tables) === JSON.stringify(damaged)) seen.push("old")
          else {
            assert.deepStrictEqual(tables, incremental, `read ${seen.length + 1} during the rebuild`)
            seen.push("rebuilt")
          }
          // Let the rebuild have the connection: on PGlite a reader that takes it back at once
          // would starve it.
          yield* Effect.sleep("1 millis")
        }
        assert.strictEqual(yield* Fiber.join(rebuilding), head)
        assert.deepStrictEqual(yield* snapshot, incremental)
        assert.include(seen, "old", "readers read while the rebuild ran")
        assert.deepStrictEqual(seen, [...seen].sort(), "once rebuilt, never old again")
      })))

    it.effect("catching up twice applies nothing twice", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const projections = yield* Projections
        const before = yield* snapshot
        const checkpoint = yield* projections.checkpoint
        assert.strictEqual(yield* projections.catchUp, checkpoint)
        assert.strictEqual(yield* projections.catchUp, checkpoint)
        assert.deepStrictEqual(yield* snapshot, before)
      })))

    it.effect("a batch that fails leaves the tables and the checkpoint as they were", () =>
      run(Effect.gen(function* () {
        const h = yield* hashes
        const projections = yield* Projections
        const database = yield* Database
        const steps = history(h)
        yield* appendAll(steps[0]!)
        const checkpoint = yield* projections.catchUp
        yield* appendAll(steps[1]!)
        const before = yield* snapshot
        // A row in the way of the third event of the next batch: the batch's INSERT fails
        // after its first two events were applied inside the transaction.
        const poison = checkpoint + 3
        const insertPoison = database.use("poison", (db) => sql`
          insert into audit_trail (position, workspace, name, event_type, actor, occurred_at, correlation_id, summary, details)
          values (${poison}, 'x', 'x', 'x', 'x', now(), 'x', 'x', '{}'::jsonb)`.execute(db))
        yield* insertPoison
        const error = yield* projections.catchUp.pipe(Effect.flip)
        assert.strictEqual(error._tag, "ProjectionError")
        assert.strictEqual(error.operation, "apply")
        assert.strictEqual(yield* projections.checkpoint, checkpoint)
        yield* database.use("unpoison", (db) => sql`delete from audit_trail where position = ${poison}`.execute(db))
        assert.deepStrictEqual(yield* snapshot, before)
        // Recovered: the batch is applied once, as if nothing had happened.
        const head = yield* EventStore.use((s) => s.head)
        assert.strictEqual(yield* projections.catchUp, head)
        assert.deepStrictEqual(yield* snapshot, yield* rebuiltElsewhere)
      })))

    it.live("catch-ups, a follower and rebuilds racing while the log grows apply every event once", () =>
      run(Effect.gen(function* () {
        const h = yield* hashes
        const steps = history(h)
        const projections = yield* Projections
        yield* appendAll(steps[0]!)
        yield* projections.catchUp
        // Independent projectors (on PostgreSQL they use different pooled connections).
        const projectors = [projections]
        for (const batchSize of [1, 3, 7]) projectors.push(yield* projectorWith({ batchSize }))
        const follower = yield* Effect.forkChild(projectors[3]!.run)
        // The live checkpoint only ever moves forward, rebuilds included.
        const stop = yield* Ref.make(false)
        const watcher = yield* Effect.forkChild(Effect.gen(function* () {
          let last = 0
          while (!(yield* Ref.get(stop))) {
            const checkpoint = yield* projections.checkpoint
            assert.isAtLeast(checkpoint, last, "the live checkpoint moved back")
            last = checkpoint
            yield* Effect.sleep("2 millis")
          }
        }))
        const writer = Effect.gen(function* () {
          for (const step of steps.slice(1)) yield* appendAll(step)
          for (let i = 0; i < 20; i++) {
            yield* appendAll([["team-c", `load-${i}`, [
              new Defined({ workspace: "team-c", name: `load-${i}`, curated: false, definition: trainDraft }),
              new PackageAdded({ spec: numpy })
            ]]])
          }
        })
        yield* Effect.all([
          writer,
          projectors[1]!.rebuild,
          projectors[0]!.catchUp,
          projectors[2]!.rebuild,
          projectors[2]!.catchUp,
          projectors[1]!.catchUp
        ], { concurrency: "unbounded" })
        const head = yield* EventStore.use((s) => s.head)
        assert.strictEqual(yield* projections.catchUp, head)
        yield* Fiber.interrupt(follower)
        yield* Ref.set(stop, true)
        yield* Fiber.join(watcher)

        const raced = yield* snapshot
        const positions = yield* environmentEventPositions
        assert.strictEqual(raced["audit_trail"]!.length, positions.length, "one audit row per environment event")
        assert.deepStrictEqual(yield* rebuiltElsewhere, raced, "the same log rebuilt in an empty database")
      }), 2))

    it.effect("a rebuild never moves the live read model back: it catches up again until it is not behind", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const projections = yield* Projections
        const store = yield* EventStore
        let meddled = 0
        let appended = 0
        const meddle = (rounds: number) =>
          Effect.gen(function* () {
            if (meddled >= rounds) return
            meddled++
            const name = `late-${++appended}`
            yield* appendAll([["team-c", name, [new Defined({ workspace: "team-c", name, curated: false, definition: trainDraft })]]])
            yield* projections.catchUp
          }).pipe(Effect.provideService(EventStore, store), Effect.orDie)
        const rebuilderWith = (rounds: number) =>
          Layer.build(Projections.layerWith({ batchSize: 5 }).pipe(Layer.provide(meddlingEventStore(meddle(rounds))))).pipe(
            Effect.map((context) => Context.get(context, Projections))
          )

        // Three rounds find the live model ahead; the fourth swaps.
        const rebuilt = yield* (yield* rebuilderWith(3)).rebuild
        const head = yield* EventStore.use((s) => s.head)
        assert.strictEqual(meddled, 3)
        assert.strictEqual(rebuilt, head, "the swap waited for the shadow to reach the live checkpoint")
        assert.deepStrictEqual(yield* snapshot, yield* rebuiltElsewhere)

        // A live model that never stops moving: the rebuild gives up and leaves it alone.
        yield* tamper([sql`update audit_trail set summary = 'left alone' where position = 1`])
        meddled = 0
        const error = yield* (yield* rebuilderWith(Number.POSITIVE_INFINITY)).rebuild.pipe(Effect.flip)
        assert.strictEqual(error.operation, "rebuild")
        assert.match(error.message, /moved past the rebuilt one 20 times/)
        assert.strictEqual(meddled, 20)
        assert.strictEqual(yield* projections.checkpoint, yield* EventStore.use((s) => s.head))
        const trail = yield* (yield* ReadModel).audit({ workspace: "team-a" })
        assert.strictEqual(trail[0]!.summary, "left alone")
      })))

    it.effect("every projection table has a shadow of the same shape", () =>
      run(Effect.gen(function* () {
        const database = yield* Database
        const shape = (table: string) =>
          database.use("describe", (db) =>
            sql<{ columns: unknown; indexes: unknown; checks: unknown }>`
              select
                (select json_agg(json_build_array(column_name, data_type, is_nullable, column_default) order by ordinal_position)
                  from information_schema.columns where table_schema = current_schema() and table_name = ${table}) as columns,
                (select json_agg(regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+', 'CREATE \\1INDEX') order by indexdef)
                  from pg_indexes where schemaname = current_schema() and tablename = ${table}) as indexes,
                (select json_agg(pg_get_constraintdef(c.oid) order by pg_get_constraintdef(c.oid))
                  from pg_constraint c where c.conrelid = ${table}::regclass and c.contype = 'c') as checks`.execute(db)
          ).pipe(Effect.map(({ rows }) => rows[0]!))
        for (const table of PROJECTION_TABLES) {
          const live = yield* shape(table)
          assert.isNotNull(live.columns, table)
          assert.deepStrictEqual(yield* shape(shadowOf(table)), live, `${shadowOf(table)} is shaped like ${table}`)
        }
      })))

    it.effect("an insert applied twice fails, across batches and within one batch", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const database = yield* Database
        const recorded = yield* EventStore.use((s) => Stream.runCollect(s.readAll({ after: 0 })))
        const ops: Array<RowOp> = []
        for (const event of recorded) {
          const envelope = envelopeOf(event)
          if (envelope !== undefined) ops.push(...project(yield* EventCodec.decode(event), envelope))
        }
        const before = yield* snapshot
        const apply = (batch: ReadonlyArray<RowOp>, clearFirst: boolean) =>
          database.transaction("apply twice", async (trx) => {
            if (clearFirst) await clearProjections(projectionTables(trx))
            await applyOps(projectionTables(trx), batch)
          }).pipe(Effect.flip)
        for (const tag of ["InsertEnvironment", "InsertVersion", "InsertCacheEntry", "InsertAudit"] as const) {
          const inserts = ops.filter((op) => op._tag === tag)
          assert.isAbove(inserts.length, 0)
          // Every row already exists (an earlier batch wrote it).
          const again = yield* apply(inserts, false)
          assert.strictEqual(again._tag, "DatabaseError", `${tag} across batches`)
          // Twice in one batch: the fold must not merge the copies.
          const twice = yield* apply([...inserts, ...inserts], true)
          assert.strictEqual(twice._tag, "DatabaseError", `${tag} within one batch`)
        }
        // The whole history twice in one batch fails too, and every failure rolled back.
        assert.strictEqual((yield* apply([...ops, ...ops], true))._tag, "DatabaseError")
        assert.deepStrictEqual(yield* snapshot, before)
        // Once is fine: the one batch gives what the incremental catch-up gave.
        yield* database.transaction("apply once", async (trx) => {
          await clearProjections(projectionTables(trx))
          await applyOps(projectionTables(trx), ops)
        })
        assert.deepStrictEqual(yield* snapshot, before)
      })))

    it.live("run follows the log as it grows", () =>
      run(Effect.gen(function* () {
        const h = yield* hashes
        const projections = yield* Projections
        const store = yield* EventStore
        const steps = history(h)
        yield* appendAll(steps[0]!)
        const follower = yield* Effect.forkChild(projections.run)
        for (const step of steps.slice(1)) yield* appendAll(step)
        const head = yield* store.head
        const reached = yield* projections.checkpoint.pipe(
          Effect.repeat({ until: (p) => p >= head }),
          Effect.timeout("20 seconds")
        )
        assert.strictEqual(reached, head)
        yield* Fiber.interrupt(follower)
        assert.deepStrictEqual(yield* snapshot, yield* rebuiltElsewhere)
      })))

    it.effect("an undecodable event stops the projector before it", () =>
      run(Effect.gen(function* () {
        const projections = yield* Projections
        const store = yield* EventStore
        yield* appendAll(history(yield* hashes)[0]!)
        const good = yield* store.head
        yield* store.append(environmentStream("team-a", "train"), "any", [{
          id: crypto.randomUUID(), type: "Registered", schemaVersion: 1, data: { version: 4 },
          metadata: { actor: "x", correlationId: crypto.randomUUID(), causationId: null }
        }])
        const error = yield* projections.catchUp.pipe(Effect.flip)
        assert.strictEqual(error.operation, "decode")
        assert.strictEqual(error.position, good + 1)
        // Batches before the bad one were committed; the bad one was not.
        assert.isAtMost(yield* projections.checkpoint, good)
        assert.isAtLeast(yield* projections.checkpoint, good - 4)
      })))

    it.effect("a definition stored before today's rules projects, incrementally and in a rebuild", () =>
      run(Effect.gen(function* () {
        const projections = yield* Projections
        const store = yield* EventStore
        // Rows as an older Terrarium wrote them, which today's commands would refuse: a spec name
        // not in normal form, a URL with credentials. The log must still read them.
        const legacy = withPip(
          { ...emptyDefinition, spark: { ...emptyDefinition.spark, repositories: ["https://u:tok@maven.example.org/"] } },
          pip("NumPy", ">= 1.2")
        )
        const canonicalHash = yield* CanonicalHash.hash(legacy)
        const metadata = { actor: "legacy", correlationId: crypto.randomUUID(), causationId: null }
        yield* store.append(environmentStream("team-a", "legacy"), "any", [
          {
            id: crypto.randomUUID(), type: "Defined", schemaVersion: 1, metadata,
            data: { workspace: "team-a", name: "legacy", curated: false, definition: legacy }
          },
          {
            id: crypto.randomUUID(), type: "Registered", schemaVersion: 1, metadata,
            data: { name: "legacy", version: "1", canonicalHash, hashAlgorithm: 1, definition: legacy }
          }
        ])
        const head = yield* store.head
        assert.strictEqual(yield* projections.catchUp, head)
        const versions = yield* (yield* ReadModel).versions({ workspace: "team-a", name: "legacy", includeArchived: true })
        assert.deepStrictEqual(versions.map((v) => [v.version, v.canonicalHash]), [["1", canonicalHash]])
        const incremental = yield* snapshot
        assert.strictEqual(yield* projections.rebuild, head)
        assert.deepStrictEqual(yield* snapshot, incremental)
      })))

    it.effect("an event type this version does not know stops catch-ups and rebuilds before it, changing nothing", () =>
      run(Effect.gen(function* () {
        yield* writeAndCatchUp
        const projections = yield* Projections
        const store = yield* EventStore
        const before = yield* snapshot
        const known = yield* store.head
        // Say, written by a newer Terrarium sharing the database.
        yield* store.append(environmentStream("team-a", "train"), "any", [{
          id: crypto.randomUUID(), type: "EnvironmentRenamed", schemaVersion: 1, data: { to: "training" },
          metadata: { actor: "x", correlationId: crypto.randomUUID(), causationId: null }
        }])
        for (const attempt of [projections.catchUp, projections.rebuild]) {
          const error = yield* attempt.pipe(Effect.flip)
          assert.strictEqual(error.operation, "decode")
          assert.strictEqual(error.position, known + 1)
          assert.match(error.message, /type EnvironmentRenamed v1\): unknown event type/)
          assert.strictEqual(yield* projections.checkpoint, known)
          assert.deepStrictEqual(yield* snapshot, before)
        }
      })))

    it.effect("read model queries", () =>
      run(Effect.gen(function* () {
        const h = yield* writeAndCatchUp
        const read = yield* ReadModel

        // versions: history in registration order, archived only when asked
        const active = yield* read.versions({ workspace: "team-a", includeArchived: false })
        assert.deepStrictEqual(active.map((v) => `${v.name}/${v.version}`), ["train/2", "train/3"])
        const all = yield* read.versions({ workspace: "team-a", includeArchived: true })
        assert.deepStrictEqual(all.map((v) => `${v.name}/${v.version}:${v.archived}`),
          ["train/1:true", "base-cpu/1:true", "train/2:false", "train/3:false"])
        const train = yield* read.versions({ workspace: "team-a", name: "train", includeArchived: true })
        assert.deepStrictEqual(train.map((v) => v.canonicalHash), [h.train1, h.train2, h.train3])
        const [v1, v2, v3] = train
        assert.instanceOf(v1!.archivedAt, Date)
        assert.strictEqual(v3!.archivedAt, null)
        assert.strictEqual(v2!.environmentType, "system-managed")
        assert.strictEqual(v2!.description, "training")
        assert.deepStrictEqual(v2!.tags, { team: "vision" })
        assert.strictEqual(v2!.createdBy, "team-a-admin")
        assert.strictEqual(v2!.hashAlgorithm, CanonicalHash.ALGORITHM_VERSION)
        assert.instanceOf(v2!.createdAt, Date)
        assert.isBelow(v1!.registeredPosition, v2!.registeredPosition)
        const baseCpuVersions = yield* read.versions({ workspace: "team-a", name: "base-cpu", includeArchived: true })
        assert.strictEqual(baseCpuVersions[0]!.environmentType, "user-managed")

        // environments: one row per name; a fully archived one only when asked
        const envs = yield* read.environments({ workspace: "team-a", includeArchived: false })
        assert.deepStrictEqual(envs.map((e) => [e.name, e.latestVersion, e.versionCount, e.archivedVersionCount, e.environmentType]), [
          ["draft-only", null, 0, 0, "system-managed"],
          ["train", "3", 2, 1, "system-managed"]
        ])
        const withArchived = yield* read.environments({ workspace: "team-a", includeArchived: true })
        assert.deepStrictEqual(withArchived.map((e) => [e.name, e.archived, e.environmentType]), [
          ["base-cpu", true, "user-managed"], ["draft-only", false, "system-managed"], ["train", false, "system-managed"]
        ])
        const trainSummary = withArchived.find((e) => e.name === "train")!
        const trainAudit = yield* read.audit({ workspace: "team-a", name: "train" })
        assert.strictEqual(trainSummary.updatedPosition, trainAudit.at(-1)!.position)
        assert.deepStrictEqual(trainSummary.updatedAt, trainAudit.at(-1)!.occurredAt)
        assert.isFalse(trainSummary.curated)
        const curatedEnvs = yield* read.environments({ workspace: "azureml", includeArchived: false })
        assert.deepStrictEqual(curatedEnvs.map((e) => [e.name, e.curated, e.environmentType, e.latestVersion]), [[CURATED, true, "curated", "2"]])

        // labels: latest follows archive/restore; removed labels are gone
        const labels = yield* read.labels({ workspace: "team-a", name: "train" })
        assert.deepStrictEqual(labels.map((l) => [l.label, l.version]), [["latest", "3"], ["prod", "2"]])
        const latest = labels[0]!
        const restoredAt = trainAudit.find((a) => a.eventType === "Restored")!
        assert.strictEqual(latest.position, restoredAt.position, "latest last moved when version 3 was restored")
        assert.deepStrictEqual(latest.movedAt, restoredAt.occurredAt)
        assert.deepStrictEqual(yield* read.labels({ workspace: "team-a", name: "base-cpu" }), [])
        assert.deepStrictEqual((yield* read.labels({ workspace: "team-b", name: "train" })).map((l) => [l.label, l.version]), [["latest", "1"]])

        // curated catalog: latest version of each curated environment
        const catalog = yield* read.curatedCatalog()
        assert.deepStrictEqual(catalog.map((c) => ({ ...c, latestCreatedAt: c.latestCreatedAt instanceof Date })), [{
          workspace: "azureml", name: CURATED, latestVersion: "2", description: "Scikit-learn 1.5.2",
          tags: { framework: "sklearn", os: "ubuntu22.04" }, canonicalHash: h.sklearn2,
          hashAlgorithm: CanonicalHash.ALGORITHM_VERSION, latestCreatedAt: true
        }])

        // cache lookup: every registration of a hash, sharing its image
        const shared = yield* read.cacheLookup(h.train2)
        assert.deepStrictEqual(shared.map((c) => `${c.workspace}/${c.name}/${c.version}`), ["team-a/train/2", "team-b/train/1"])
        for (const entry of shared) {
          assert.deepStrictEqual({ ...entry.image!, builtAt: entry.image!.builtAt instanceof Date }, {
            registry: "registry.local:5000", repository: "terrarium/train", tag: "2",
            digest: `sha256:${"d1".repeat(32)}`, buildId: "b-1", builtAt: true
          })
        }
        assert.deepStrictEqual((yield* read.cacheLookup(h.train1)).map((c) => c.image), [null])
        assert.deepStrictEqual((yield* read.cacheLookup(h.sklearn2)).map((c) => c.image), [null], "a failed build leaves no image")
        assert.deepStrictEqual(yield* read.cacheLookup("sha256:unknown"), [])

        // audit: by position, human lines, up to a position
        assert.deepStrictEqual(trainAudit.map((a) => a.summary), [
          "defined system-managed environment train",
          "added pip package numpy>=1.2",
          "set variable OMP_NUM_THREADS",
          `registered version 1 (${h.train1.slice(0, 19)}…)`,
          "set label prod → 1",
          "added pip package torch==2.3.0",
          `registered version 2 (${h.train2.slice(0, 19)}…)`,
          "moved label prod 1 → 2",
          "set label staging → 2",
          "requested image build b-1 for version 2",
          `built image registry.local:5000/terrarium/train:2 (sha256:d1d1d1d1d1d1…) for version 2 in 61.5 s`,
          "set variable CUDA",
          `registered version 3 (${h.train3.slice(0, 19)}…)`,
          "archived version 3",
          "archived version 1",
          "restored version 3",
          "removed label staging (was 2)"
        ])
        const positions = trainAudit.map((a) => a.position)
        assert.deepStrictEqual(positions, [...positions].sort((a, b) => a - b))
        const firstStepEnd = trainAudit[4]!.position
        const asOf = yield* read.audit({ workspace: "team-a", name: "train", untilPosition: firstStepEnd })
        assert.strictEqual(asOf.length, 5)
        const registeredEntry = trainAudit[3]!
        assert.strictEqual(registeredEntry.version, "1")
        assert.strictEqual(registeredEntry.actor, "team-a-admin")
        assert.strictEqual(registeredEntry.causationId, null)
        assert.strictEqual(registeredEntry.correlationId, trainAudit[0]!.correlationId, "one append, one correlation id")
        assert.strictEqual((registeredEntry.details as { canonicalHash: string }).canonicalHash, h.train1)
        // Every event is at today's schema version, so its details are what was stored.
        const database = yield* Database
        const { rows: differing } = yield* database.use("compare details", (db) =>
          sql`select a.position from audit_trail a join events e on e.position = a.position where a.details <> e.data`.execute(db))
        assert.deepStrictEqual(differing, [])
        const workspaceAudit = yield* read.audit({ workspace: "team-a" })
        assert.deepStrictEqual([...new Set(workspaceAudit.map((a) => a.name))].sort(), ["base-cpu", "draft-only", "train"])
      })))
  })
}
