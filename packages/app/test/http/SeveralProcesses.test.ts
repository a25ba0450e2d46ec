/**
 * Two servers on one PostgreSQL schema, as two `terrarium serve` processes would be (each its
 * own pools, its own LISTEN connection, its own memory of answers): what one writes, the other
 * answers once the write's notification is delivered, though it had remembered the answer
 * before; and while a server is not listening (its connection was ended), it asks the head per
 * read, so its next answer is fresh at once.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createRequire } from "node:module"
import { headChannelOf } from "../../../adapters/src/event-store/Heads.ts"
import { KnownHead } from "../../src/http/KnownHead.ts"
import { type ApiServer, startApiServer } from "./ApiServer.ts"

// The PostgreSQL client of the adapters package (the app does not depend on it directly).
const pg = createRequire(new URL("../../../adapters/package.json", import.meta.url))("pg") as typeof import("pg")
const testDatabaseUrl = process.env["TERRARIUM_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `test_serve2_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`

const admin = async <A>(f: (client: import("pg").Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: testDatabaseUrl })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** Polls `f` until `done` holds, for at most 10 s; the last value either way. */
const eventually = async <A>(f: () => Promise<A>, done: (a: A) => boolean): Promise<A> => {
  let value = await f()
  for (let i = 0; i < 200 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    value = await f()
  }
  return value
}

const conda = (pkg: string) => `channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - ${pkg}\n`

let a: ApiServer
let b: ApiServer

const call = async (server: ApiServer, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${server.baseUrl}/api/v1/workspaces/team-a${path}`, {
    method,
    headers: { authorization: `Bearer ${a.keyA}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  return { status: response.status, json: await response.json() as any }
}

const following = (server: ApiServer) => server.run(KnownHead.use((k) => k.following))

beforeAll(async () => {
  a = await startApiServer({ databaseUrl: testDatabaseUrl, databaseSchema: schema })
  b = await startApiServer({ databaseUrl: testDatabaseUrl, databaseSchema: schema })
}, 60_000)

afterAll(async () => {
  await a?.close()
  await b?.close()
  await admin((c) => c.query(`drop schema if exists "${schema}" cascade; drop schema if exists "${schema}_pgboss" cascade`))
}, 60_000)

describe("two servers on one PostgreSQL schema", () => {
  it("a remembered version is answered anew after the other server's write, and a list shows the other's new environment", { timeout: 60_000 }, async () => {
    assert.strictEqual((await call(a, "POST", "/environments/shared/versions", { properties: { image: "python:3.12-slim", condaFile: conda("numpy==2.1.0") } })).status, 201)
    assert.isTrue(await eventually(() => following(a), (f) => f), "A follows the head")
    const labels = async () => (await call(a, "GET", "/environments/shared/versions/1")).json.properties.terrarium.labels as Array<string>
    assert.notInclude(await labels(), "canary")
    assert.notInclude(await labels(), "canary") // remembered
    const names = async () => (await call(a, "GET", "/environments?environmentType=UserCreated")).json.value.map((e: any) => e.name) as Array<string>
    assert.deepStrictEqual(await names(), ["shared"])
    // B writes: a label on the version, and a new environment.
    await b.run(Effect.asVoid(Effect.flatMap(
      Effect.promise(() => import("../../src/Terrarium.ts")),
      ({ Terrarium }) => Terrarium.use((t) => t.label({ workspace: "team-a", ref: { name: "shared", version: "1" }, label: "canary", actor: "b" }))
    )))
    assert.strictEqual((await call(b, "POST", "/environments/later/versions", { properties: { image: "python:3.12-slim", condaFile: conda("pandas==2.2.3") } })).status, 201)
    assert.include(await eventually(labels, (l) => l.includes("canary")), "canary")
    assert.deepStrictEqual(await eventually(names, (n) => n.length === 2), ["later", "shared"])
  })

  it("after its listening connection is ended, a server asks the head per read: its next answer after the other's write is fresh", { timeout: 60_000 }, async () => {
    assert.isTrue(await eventually(() => following(a), (f) => f), "A follows the head")
    const description = async () => (await call(a, "GET", "/environments/shared/versions/1")).json.properties.description as string | undefined
    const before = await description()
    assert.strictEqual(await description(), before) // remembered
    // End both servers' LISTEN connections, as an administrator or a failover would.
    const ended = await admin((c) => c.query("select pg_terminate_backend(pid) from pg_stat_activity where query = $1", [`listen "${headChannelOf(schema)}"`]))
    assert.strictEqual(ended.rowCount, 2)
    assert.isFalse(await eventually(() => following(a), (f) => !f), "A knows it is not following")
    // B writes while A is not listening (A listens again only after a pause of a second).
    const patched = await call(b, "PATCH", "/environments/shared/versions/1", { properties: { description: "changed while A was deaf" } })
    assert.strictEqual(patched.status, 200)
    assert.strictEqual(await description(), "changed while A was deaf")
    // And A follows again.
    assert.isTrue(await eventually(() => following(a), (f) => f), "A follows the head again")
  })
})
