/**
 * The Promise facade (`createTerrarium`), on the embedded database and on PostgreSQL, including
 * many independent clients (separate pools, as separate processes would have) racing to create.
 */
import { createTerrarium, type InvalidInput, make as makeTerrarium, Setup, type TerrariumClient } from "@terrarium/app"
import { Projections } from "@terrarium/domain"
import { emptyDefinition, type Definition } from "@terrarium/domain"
import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { ConfigProvider, Effect, Layer, Result } from "effect"
import pg from "pg"
import { testDatabaseUrl } from "./support/postgres.ts"
import { repoRoot, tempDir } from "./support/cli.ts"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const rejects = (promise: Promise<unknown>, message: RegExp) => expect(promise).rejects.toThrow(message)

const withPip = (...specs: Array<string>): Definition => ({
  ...emptyDefinition,
  python: {
    userManagedDependencies: false,
    interpreterPath: "python",
    conda: {
      channels: ["conda-forge"],
      conda: [],
      pip: specs.map((s) => {
        const [name, specifier = ""] = s.split("==")
        return { kind: "pip" as const, name: name!, extras: [], specifier: specifier === "" ? "" : `==${specifier}`, text: s }
      }),
      pipOptions: { extraIndexUrls: [], findLinks: [], constraints: [], flags: [] }
    }
  }
})

describe("createTerrarium on the embedded database", () => {
  const dir = tempDir("terrarium-lib-")
  let t: TerrariumClient
  beforeAll(async () => {
    t = await createTerrarium({ dataDir: join(dir.path, "data"), actor: "lib-test" })
  })
  afterAll(async () => {
    await t.close()
    dir.remove()
  })

  it("creates from a file and from an object, registers changes, reads history and audit", { timeout: 120_000 }, async () => {
    const v1 = await t.createFromFile(join(repoRoot, "examples/pydata/environment.yml"))
    assert.deepStrictEqual([v1.name, v1.version, v1.created], ["pydata", "1", true])
    // A renamed copy has the same canonical hash: it would share the image.
    const copy = await t.createFromFile(join(repoRoot, "examples/pydata/environment.yml"), { name: "pydata-copy" })
    assert.strictEqual(copy.canonicalHash, v1.canonicalHash)

    const draft = await t.addPackage("pydata", { conda: "conda-forge::numpy>=1.26" })
    assert.strictEqual(draft.changed, true)
    const v2 = await t.register("pydata")
    assert.strictEqual(v2.version, "2")
    const again = await t.register("pydata")
    assert.deepStrictEqual([again.version, again.created], ["2", false])

    const explicit = await t.create({ name: "tiny", definition: withPip("requests==2.32.3"), version: "2024.1" })
    assert.strictEqual(explicit.version, "2024.1")
    await rejects(
      t.create({ name: "tiny", definition: withPip("requests==2.32.4"), version: "2024.1" }),
      /2024\.1/
    )

    const versions = await t.versions("pydata")
    assert.deepStrictEqual(versions.map((v) => v.version), ["1", "2"])
    assert.ok(versions.every((v) => v.createdBy === "lib-test"))
    const envs = await t.environments()
    assert.deepStrictEqual(envs.map((e) => e.name), ["pydata", "pydata-copy", "tiny"])

    const d = await t.diff("pydata:1", "pydata:2")
    assert.deepStrictEqual(d.diff.packages.map((p) => [p.manager, p.name, p.kind]), [["conda", "numpy", "added"]])
    const audit = await t.audit("pydata")
    assert.deepStrictEqual(audit.map((a) => a.eventType), ["Defined", "Registered", "PackageAdded", "Registered"])
    const asOf = await t.show("pydata", { asOf: audit[1]!.position })
    assert.strictEqual(asOf.version, "1")
    await rejects(t.show("pydata:7"), /no version 7/)
  })

  it("rejects input that breaks a naming rule with a typed error naming the field, appending nothing", { timeout: 60_000 }, async () => {
    const before = (await t.environments()).length
    const cases: ReadonlyArray<readonly [() => Promise<unknown>, string, string]> = [
      [() => t.create({ name: "my env" }), "name",
        `name "my env": an environment name starts with a letter or digit and has up to 255 letters, digits, '-', '_' or '.'`],
      [() => t.create({ name: "fine", workspace: "Team" }), "workspace",
        `workspace "Team": a workspace name is 1-63 lower-case letters, digits, '-' or '_'`],
      [() => t.create({ name: "fine", version: "v 2" }), "version",
        `version "v 2": a version is 1-100 letters, digits, '.', '_', '+' or '-', starting with a letter or digit`],
      [() => t.label("pydata:1", "Prod"), "label", `label "Prod": a label is 1-63 lower-case letters, digits, '-' or '_', starting with a letter`],
      [() => t.show("pydata", { asOf: "last Tuesday" }), "asOf",
        `asOf "last Tuesday": give a log position (e.g. 42), a date (2026-03-03: the end of that day in UTC) or an ISO 8601 date-time with a zone (2026-03-03T12:00:00Z)`]
    ]
    for (const [attempt, field, message] of cases) {
      const error = await attempt().then(() => assert.fail(`${field}: expected a rejection`), (e: unknown) => e as InvalidInput)
      assert.deepStrictEqual([error._tag, error.field, error.message], ["InvalidInput", field, message])
    }
    assert.strictEqual((await t.environments()).length, before)
  })

  it("rejects an asOf that names no point of the log: a negative, fractional, huge or NaN position, an invalid Date", { timeout: 60_000 }, async () => {
    const position = `a log position is a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`
    const cases: ReadonlyArray<readonly [number | Date | string, string]> = [
      [-1, `asOf "-1": ${position}`],
      [1.5, `asOf "1.5": ${position}`],
      [Number.NaN, `asOf "NaN": ${position}`],
      [2 ** 53, `asOf "9007199254740992": ${position}`],
      ["99999999999999999999", `asOf "99999999999999999999": ${position}`],
      [new Date(Number.NaN), `asOf "Invalid Date": a time is a valid Date`]
    ]
    for (const [asOf, message] of cases) {
      for (const attempt of [() => t.show("pydata", { asOf }), () => t.audit("pydata", { asOf })]) {
        const error = await attempt().then(() => assert.fail(`${String(asOf)}: expected a rejection`), (e: unknown) => e as InvalidInput)
        assert.deepStrictEqual([error._tag, error.field, error.message], ["InvalidInput", "asOf", message])
      }
    }
  })

  it("creates from a definition whose specs are text, parsed and normalised as the CLI does", { timeout: 60_000 }, async () => {
    const python = (pip: ReadonlyArray<string>) => ({
      userManagedDependencies: false,
      interpreterPath: "python",
      conda: { channels: ["conda-forge"], conda: ["python=3.11"], pip }
    })
    const spaced = await t.create({ name: "specs-a", definition: { python: python(["NumPy >= 1.26", "requests"]) } })
    const tight = await t.create({ name: "specs-b", definition: { python: python(["requests", "numpy>=1.26"]) } })
    assert.strictEqual(spaced.canonicalHash, tight.canonicalHash)
    const shown = await t.show("specs-a")
    assert.deepStrictEqual(shown.definition.python.conda?.pip.map((p) => [p.name, p.specifier]), [["numpy", ">=1.26"], ["requests", ""]])
    assert.deepStrictEqual(shown.definition.python.conda?.conda.map((c) => c.name), ["python"])

    const bad = await t.create({ name: "specs-c", definition: { python: python(["requests", "numpy>=>1"]) } })
      .then(() => assert.fail("expected a rejection"), (e: unknown) => e as InvalidInput)
    assert.deepStrictEqual([bad._tag, bad.field], ["InvalidInput", "definition.python.conda.pip[1]"])
    assert.match(bad.message, /^definition\.python\.conda\.pip\[1\]: invalid pip requirement "numpy>=>1"/)
  })

  it("a refused URL with credentials is not echoed in the error", { timeout: 60_000 }, async () => {
    const error = await t.create({
      name: "secret-repo",
      definition: { spark: { repositories: ["https://user:s3cret@maven.example/repo"], packages: [], precachePackages: false } }
    }).then(() => assert.fail("expected a rejection"), (e: unknown) => e as InvalidInput)
    assert.strictEqual(error._tag, "InvalidInput")
    assert.strictEqual(error.field, "definition.spark.repositories[0]")
    assert.notInclude(error.message, "s3cret")
    assert.notInclude(JSON.stringify(error), "s3cret")
  })

  it("sets and unsets a variable in the draft, then registers it", { timeout: 60_000 }, async () => {
    const set = await t.setVariable("pydata", "OMP_NUM_THREADS", "4")
    assert.deepStrictEqual([set.definition.variables["OMP_NUM_THREADS"], set.changed], ["4", true])
    const registered = await t.register("pydata")
    assert.strictEqual((await t.show(`pydata:${registered.version}`)).definition.variables["OMP_NUM_THREADS"], "4")
    const unset = await t.unsetVariable("pydata", "OMP_NUM_THREADS")
    assert.strictEqual(unset.definition.variables["OMP_NUM_THREADS"], undefined)
    await rejects(t.unsetVariable("pydata", "OMP_NUM_THREADS"), /has no variable 'OMP_NUM_THREADS'/)
  })
})

describe("createTerrarium on PostgreSQL: independent clients racing", () => {
  const schema = `test_race_${Math.random().toString(36).slice(2, 10)}`
  const clients: Array<TerrariumClient> = []
  beforeAll(async () => {
    for (let i = 0; i < 8; i++) {
      clients.push(await createTerrarium({ databaseUrl: testDatabaseUrl, databaseSchema: schema, actor: `writer-${i}` }))
    }
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    const client = new pg.Client({ connectionString: testDatabaseUrl })
    await client.connect()
    await client.query(`drop schema if exists "${schema}" cascade`)
    await client.end()
  })

  it("different definitions get distinct versions; one definition shares one", { timeout: 120_000 }, async () => {
    for (let round = 0; round < 3; round++) {
      const name = `race-${round}`
      // Writers 0-3 each create a different definition; writers 4-7 all create the same one.
      const results = await Promise.all(clients.map((c, i) =>
        c.create({ name, definition: i < 4 ? withPip(`pkg-${i}==1.0`) : withPip("shared==1.0") })))
      const distinct = results.slice(0, 4).map((r) => r.version)
      const shared = results.slice(4).map((r) => r.version)
      assert.strictEqual(new Set(shared).size, 1, `one definition, one version: ${shared}`)
      assert.strictEqual(new Set([...distinct, shared[0]]).size, 5, `five definitions, five versions: ${distinct} ${shared}`)
      assert.strictEqual(results.filter((r) => r.created).length, 5)
      const history = await clients[0]!.versions(name)
      assert.deepStrictEqual(history.map((v) => v.version), ["1", "2", "3", "4", "5"])
    }
  })

  it("event ids are time-ordered UUIDv7s", { timeout: 60_000 }, async () => {
    const client = new pg.Client({ connectionString: testDatabaseUrl })
    await client.connect()
    try {
      const rows = (await client.query<{ event_id: string; occurred_at: Date }>(
        `select event_id, occurred_at from "${schema}".events order by position`
      )).rows
      assert.isAbove(rows.length, 0)
      for (const row of rows) {
        assert.match(row.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        // The first 48 bits are the Unix time in ms when the id was made: before the append.
        const madeAt = Number.parseInt(row.event_id.replace(/-/g, "").slice(0, 12), 16)
        assert.isAtMost(madeAt, row.occurred_at.getTime())
        assert.isAbove(madeAt, row.occurred_at.getTime() - 60_000)
      }
    } finally {
      await client.end()
    }
  })
})

describe("createTerrarium on PostgreSQL: what other processes wrote, and who", () => {
  const schema = `test_lib_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  const storage = { databaseUrl: testDatabaseUrl, databaseSchema: schema }
  let reader: TerrariumClient
  const admin = new pg.Client({ connectionString: testDatabaseUrl })
  beforeAll(async () => {
    await admin.connect()
    reader = await createTerrarium({ ...storage, actor: "reader" })
  })
  afterAll(async () => {
    await reader.close()
    await admin.query(`drop schema if exists "${schema}" cascade`)
    await admin.end()
  })

  it("a client's list, versions and audit show what another process appended without projecting it", { timeout: 60_000 }, async () => {
    // Another process that appended and then died (or failed to project): nothing but the log moved.
    const writeElsewhere = Effect.gen(function*() {
      const real = yield* Projections
      const other = yield* makeTerrarium({ actor: "other-process" }).pipe(
        Effect.provideService(Projections, Projections.of({ ...real, catchUp: Effect.succeed(0) }))
      )
      yield* other.create({ workspace: "default", name: "elsewhere", definition: emptyDefinition })
    })
    await Effect.runPromise(writeElsewhere.pipe(
      Effect.provide(
        // The definition has no build context: the store is there, never written.
        Layer.merge(Setup.layerPorts(Setup.layerDatabase(storage)), Setup.layerBuildContextStore({ buildContextDir: "unused" }))
          .pipe(Layer.provide(NodeServices.layer))
      )
    ))

    assert.deepStrictEqual((await reader.environments()).map((e) => [e.name, e.latestVersion]), [["elsewhere", "1"]])
    assert.deepStrictEqual((await reader.versions("elsewhere")).map((v) => [v.version, v.createdBy]), [["1", "other-process"]])
    assert.deepStrictEqual((await reader.audit("elsewhere")).map((a) => a.eventType), ["Defined", "Registered"])
  })

  it("events carry the call's actor and correlation id; Registered is caused by the Defined before it", { timeout: 60_000 }, async () => {
    await reader.create({ name: "traced", definition: emptyDefinition })
    await reader.create({ name: "traced", definition: withPip("x==1"), actor: "alice", correlationId: "req-7" })
    await reader.setVariable("traced", "MODE", "fast")
    const audit = await reader.audit("traced")
    assert.deepStrictEqual(audit.map((a) => a.eventType), ["Defined", "Registered", "Redefined", "Registered", "VariableSet"])
    const ids = new Map((await admin.query<{ position: string; event_id: string }>(
      `select position, event_id from "${schema}".events where position = any($1)`, [audit.map((a) => a.position)]
    )).rows.map((r) => [Number(r.position), r.event_id]))
    const idAt = (i: number) => ids.get(audit[i]!.position)
    assert.deepStrictEqual(audit.map((a) => [a.actor, a.causationId]), [
      ["reader", null], ["reader", idAt(0)], ["alice", null], ["alice", idAt(2)], ["reader", null]
    ])
    assert.strictEqual(audit[0]!.correlationId, audit[1]!.correlationId)
    assert.deepStrictEqual([audit[2]!.correlationId, audit[3]!.correlationId], ["req-7", "req-7"])
    assert.strictEqual(new Set([audit[0]!.correlationId, "req-7", audit[4]!.correlationId]).size, 3, "one correlation id per call")
  })
})

describe("storage options", () => {
  /**
   * Resolves the storage for `options` with exactly these environment variables (undefined:
   * unset) as what `Config` reads, and nothing else of this process's environment.
   */
  const resolveWith = (vars: Record<string, string | undefined>, options: Setup.StorageOptions) =>
    Effect.runSync(Effect.result(Setup.resolveStorage(options).pipe(
      Effect.provide(NodePath.layer),
      Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({
        env: Object.fromEntries(Object.entries(vars).filter((entry): entry is [string, string] => entry[1] !== undefined))
      })))
    )))
  /** Runs `f` with these environment variables as the configuration (undefined: unset). */
  const withEnv = <A>(vars: Record<string, string | undefined>, f: (resolve: (options: Setup.StorageOptions) => ReturnType<typeof resolveWith>) => A): A =>
    f((options) => resolveWith(vars, options))
  const resolved = (resolve: (options: Setup.StorageOptions) => Result.Result<Setup.ResolvedStorage, unknown>) =>
    (options: Setup.StorageOptions) => Result.getOrThrow(resolve(options))
  const url = "postgres://someone@127.0.0.1:5432/db"

  it("TERRARIUM_DATABASE_PREPARED_STATEMENTS=false turns prepared statements off; an explicit option wins", () => {
    const preparedStatements = (resolve: (options: Setup.StorageOptions) => Result.Result<Setup.ResolvedStorage, unknown>) =>
    (options: Setup.StorageOptions) => {
      const storage = resolved(resolve)(options)
      return storage.kind === "postgres" ? storage.preparedStatements : "not postgres"
    }
    withEnv({ TERRARIUM_DATABASE_PREPARED_STATEMENTS: undefined }, (resolve) =>
      assert.strictEqual(preparedStatements(resolve)({ databaseUrl: url }), undefined))
    for (const off of ["false", "0", "OFF", " no "]) {
      withEnv({ TERRARIUM_DATABASE_PREPARED_STATEMENTS: off }, (resolve) => {
        assert.strictEqual(preparedStatements(resolve)({ databaseUrl: url }), false, off)
        assert.strictEqual(preparedStatements(resolve)({ databaseUrl: url, preparedStatements: true }), true)
      })
    }
    withEnv({ TERRARIUM_DATABASE_PREPARED_STATEMENTS: "true" }, (resolve) =>
      assert.strictEqual(preparedStatements(resolve)({ databaseUrl: url }), undefined))
  })

  it("an explicit dataDir wins over TERRARIUM_DATABASE_URL; databaseUrl and dataDir together are refused", () => {
    withEnv({ TERRARIUM_DATABASE_URL: url }, (resolve) => {
      assert.deepStrictEqual(resolved(resolve)({ dataDir: "/somewhere/data" }), {
        kind: "pglite", dataDir: "/somewhere/data", onDataDirectoryBusy: undefined
      })
      assert.strictEqual(resolved(resolve)({}).kind, "postgres")
    })
    const both = resolveWith({}, { databaseUrl: url, dataDir: "/somewhere/data" })
    assert.ok(Result.isFailure(both))
    assert.strictEqual(both.failure._tag, "ConflictingStorage")
    assert.match(both.failure.message, /^databaseUrl and dataDir: give a PostgreSQL URL or an embedded data directory, not both$/)
  })

  it("a database URL that is not a postgres:// URL is refused without echoing it (it may hold a password)", () => {
    for (const [options, env, field] of [
      [{ databaseUrl: "host=127.0.0.1 dbname=test password=hunter2" }, undefined, "databaseUrl"],
      [{}, "host=127.0.0.1 dbname=test password=hunter2", "TERRARIUM_DATABASE_URL"],
      [{ databaseUrl: "mysql://root:hunter2@127.0.0.1/db" }, undefined, "databaseUrl"]
    ] as const) {
      const r = resolveWith({ TERRARIUM_DATABASE_URL: env }, options)
      assert.ok(Result.isFailure(r), field)
      assert.deepStrictEqual([r.failure._tag, (r.failure as InvalidInput).field], ["InvalidInput", field])
      assert.match(r.failure.message, /not a PostgreSQL URL \(postgres:\/\/USER@HOST:PORT\/DATABASE\)/)
      assert.notInclude(r.failure.message, "hunter2")
    }
  })

  it("createTerrarium refuses databaseUrl with dataDir, and a failed open leaves the data directory free", { timeout: 60_000 }, async () => {
    await expect(createTerrarium({ databaseUrl: url, dataDir: "memory://" })).rejects.toMatchObject({ _tag: "ConflictingStorage" })
    const dir = tempDir("terrarium-lib-broken-")
    try {
      // A data directory PGlite cannot open: the open fails after the directory lock was taken.
      const dataDir = join(dir.path, "data")
      mkdirSync(dataDir)
      writeFileSync(join(dataDir, "PG_VERSION"), "99\n")
      await expect(createTerrarium({ dataDir })).rejects.toMatchObject({ _tag: "DatabaseError" })
      assert.isFalse(existsSync(`${dataDir}.lock`), "the lock of a failed open is released")
    } finally {
      dir.remove()
    }
  })

  /**
   * What a client's own database sessions hold in `pg_prepared_statements` (a per-session view)
   * after it has created and read an environment. The sessions are the `pg` connections that ran
   * a query meanwhile, noted by wrapping `pg.Client.prototype.query`, and each is asked on itself
   * before the client closes them.
   */
  const preparedInOwnSessions = async (options: { readonly preparedStatements?: boolean }) => {
    const schema = `lib_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
    const admin = new pg.Client({ connectionString: testDatabaseUrl })
    await admin.connect()
    const query = pg.Client.prototype.query
    const sessions = new Set<pg.Client>()
    try {
      pg.Client.prototype.query = function(this: pg.Client, ...args: Array<unknown>) {
        sessions.add(this)
        return (query as (...args: Array<unknown>) => unknown).apply(this, args)
      } as typeof query
      const client = await createTerrarium({ databaseUrl: testDatabaseUrl, databaseSchema: schema, ...options })
      try {
        const v = await client.create({ name: "plain", definition: emptyDefinition })
        assert.strictEqual(v.version, "1")
        assert.strictEqual((await client.show("plain")).version, "1")
        pg.Client.prototype.query = query
        sessions.delete(admin)
        assert.isAbove(sessions.size, 0, "the client's connections were seen")
        const names: Array<string> = []
        for (const session of sessions) {
          const prepared = await session.query<{ name: string }>("select name from pg_prepared_statements")
          names.push(...prepared.rows.map((row) => row.name))
        }
        return names
      } finally {
        await client.close()
      }
    } finally {
      pg.Client.prototype.query = query
      await admin.query(`drop schema if exists ${schema} cascade`)
      await admin.end()
    }
  }

  it("a client with preparedStatements: false creates and reads on PostgreSQL, and prepares nothing in its sessions (the default client does)", { timeout: 60_000 }, async () => {
    const byDefault = await preparedInOwnSessions({})
    assert.isAbove(byDefault.length, 0, "the default client executes named statements")
    for (const name of byDefault) assert.match(name, /^terrarium_\d+_\d+$/)
    assert.deepStrictEqual(await preparedInOwnSessions({ preparedStatements: false }), [])
  })
})
