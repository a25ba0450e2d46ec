/**
 * `createTerrarium`'s options are decoded like every other call's arguments: a URL given where the
 * options go, or a misspelt key, used to be dropped silently and the embedded database opened
 * in its place; now they reject with `InvalidInput` naming `options` or the key, opening nothing.
 */
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createTerrarium } from "../src/Client.ts"
import type { InvalidInput } from "../src/InvalidInput.ts"

type Untyped = any

const rejection = (attempt: () => Promise<unknown>, what: string): Promise<InvalidInput> =>
  attempt().then(() => assert.fail(`${what}: expected a rejection`), (e: unknown) => e as InvalidInput)

describe("createTerrarium options", () => {
  let home: string
  let before: string | undefined
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "terrarium-options-"))
    before = process.env["TERRARIUM_HOME"]
    process.env["TERRARIUM_HOME"] = home
  })
  afterEach(() => {
    if (before === undefined) delete process.env["TERRARIUM_HOME"]
    else process.env["TERRARIUM_HOME"] = before
    rmSync(home, { recursive: true, force: true })
  })

  it("that are not an object, or hold a key it does not take, reject naming them and open nothing", { timeout: 60_000 }, async () => {
    const object = `options are an object, e.g. { databaseUrl: "postgres://…" } or { dataDir: "…" }`
    const cases: ReadonlyArray<readonly [string, unknown, string, string]> = [
      // The password is not repeated.
      // A value holding a URL with credentials is not echoed at all, not even redacted (InvalidInput).
      ["a URL instead of options", "postgres://user:s3cret@127.0.0.1:5432/test", "options", `options: ${object}`],
      ["null", null, "options", `options: ${object}`],
      ["a misspelt key", { databaseURL: "postgres://127.0.0.1:5432/test" }, "databaseURL", `databaseURL "postgres://127.0.0.1:5432/test": no such field`],
      ["a data directory not text", { dataDir: 5 }, "dataDir", "dataDir: Expected string | undefined"],
      ["preparedStatements not a flag", { databaseUrl: "postgres://127.0.0.1:5432/test", preparedStatements: "no" }, "preparedStatements",
        `preparedStatements "no": Expected boolean | undefined`],
      ["a callback that is not a function", { onDataDirectoryBusy: "log" }, "onDataDirectoryBusy", `onDataDirectoryBusy "log": Expected a function`]
    ]
    for (const [what, options, field, message] of cases) {
      const error = await rejection(() => createTerrarium(options as Untyped), what)
      assert.deepStrictEqual([error._tag, error.field, error.message], ["InvalidInput", field, message], what)
    }
    assert.isFalse(existsSync(join(home, "data")), "the embedded database was not opened")
  })

  it("every key it takes is accepted", { timeout: 60_000 }, async () => {
    const t = await createTerrarium({
      dataDir: "memory://", workspace: "team", actor: "tester", onDataDirectoryBusy: () => {}, buildContextDir: join(home, "contexts")
    })
    try {
      await t.create({ name: "x" })
      assert.deepStrictEqual((await t.audit("x", { workspace: "team" })).map((a) => a.actor), ["tester", "tester"])
    } finally {
      await t.close()
    }
  })
})
