/**
 * The Promise facade (`createTerrarium`), on the embedded database and on PostgreSQL, including
 * many independent clients (separate pools, as separate processes would have) racing to create.
 */
import { createTerrarium, Setup, type TerrariumClient } from "@terrarium/app"
import { emptyDefinition, type Definition } from "@terrarium/domain"
import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { testDatabaseUrl } from "./support/postgres.ts"
import { repoRoot, tempDir } from "./support/cli.ts"
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

describe("storage options", () => {
  it("TERRARIUM_DATABASE_PREPARED_STATEMENTS=false turns prepared statements off; an explicit option wins", () => {
    const saved = process.env["TERRARIUM_DATABASE_PREPARED_STATEMENTS"]
    try {
      const url = "postgres://someone@127.0.0.1:5432/db"
      delete process.env["TERRARIUM_DATABASE_PREPARED_STATEMENTS"]
      assert.strictEqual(Setup.resolveStorage({ databaseUrl: url }).preparedStatements, undefined)
      for (const off of ["false", "0", "OFF", " no "]) {
        process.env["TERRARIUM_DATABASE_PREPARED_STATEMENTS"] = off
        assert.strictEqual(Setup.resolveStorage({ databaseUrl: url }).preparedStatements, false, off)
      }
      assert.strictEqual(Setup.resolveStorage({ databaseUrl: url, preparedStatements: true }).preparedStatements, true)
      process.env["TERRARIUM_DATABASE_PREPARED_STATEMENTS"] = "true"
      assert.strictEqual(Setup.resolveStorage({ databaseUrl: url }).preparedStatements, undefined)
    } finally {
      if (saved === undefined) delete process.env["TERRARIUM_DATABASE_PREPARED_STATEMENTS"]
      else process.env["TERRARIUM_DATABASE_PREPARED_STATEMENTS"] = saved
    }
  })

  it("a client with preparedStatements: false creates and reads on PostgreSQL (Database prepares nothing then: see PreparedStatements.test.ts)", { timeout: 60_000 }, async () => {
    const schema = `lib_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
    const admin = new pg.Client({ connectionString: testDatabaseUrl })
    await admin.connect()
    try {
      const client = await createTerrarium({ databaseUrl: testDatabaseUrl, databaseSchema: schema, preparedStatements: false })
      try {
        const v = await client.create({ name: "plain", definition: emptyDefinition })
        assert.strictEqual(v.version, "1")
        assert.strictEqual((await client.show("plain")).version, "1")
      } finally {
        await client.close()
      }
    } finally {
      await admin.query(`drop schema if exists ${schema} cascade`)
      await admin.end()
    }
  })
})
