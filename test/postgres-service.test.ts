/**
 * scripts/services/postgres.sh, which `pnpm test` runs first: with the server up, it makes sure
 * the test database exists, and fails when it cannot.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import pg from "pg"
import { repoRoot } from "./support/cli.ts"
import { testDatabaseUrl } from "./support/postgres.ts"

const ensure = (url: string) => {
  const r = spawnSync("bash", [join(repoRoot, "scripts/services/postgres.sh"), "ensure"], {
    env: { ...process.env, TERRARIUM_TEST_DATABASE_URL: url },
    encoding: "utf8",
    timeout: 60_000
  })
  return { status: r.status, stderr: r.stderr }
}

/** The test server's URL with another user and database. */
const urlFor = (database: string, user?: string) => {
  const url = new URL(testDatabaseUrl)
  url.pathname = `/${database}`
  if (user !== undefined) url.username = user
  return url.toString()
}

describe("scripts/services/postgres.sh ensure", () => {
  const database = `terrarium_ensure_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  const admin = new pg.Client({ connectionString: testDatabaseUrl })
  const exists = async (name: string) =>
    (await admin.query("select 1 from pg_database where datname = $1", [name])).rowCount === 1
  beforeAll(() => admin.connect())
  afterAll(async () => {
    await admin.query(`drop database if exists "${database}"`)
    await admin.end()
  })

  it("creates the database when the server answers but the database is missing, then leaves it be", { timeout: 60_000 }, async () => {
    assert.isFalse(await exists(database))
    const created = ensure(urlFor(database))
    assert.deepStrictEqual(created, { status: 0, stderr: `postgres.sh: creating database "${database}"\n` })
    assert.isTrue(await exists(database))
    assert.deepStrictEqual(ensure(urlFor(database)), { status: 0, stderr: "" })
  })

  it("fails when the database can neither be opened nor created", { timeout: 60_000 }, async () => {
    const missing = `${database}_x`
    const r = ensure(urlFor(missing, "no_such_role"))
    assert.strictEqual(r.status, 1)
    assert.match(r.stderr, new RegExp(`cannot be opened and could not be created\\n$`))
    assert.isFalse(await exists(missing))
  })
})
