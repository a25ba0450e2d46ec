/**
 * `environment archive NAME` / `restore NAME` end to end: the whole environment, as AzureML
 * archives one, next to the per-version `NAME:VERSION` that stays as it was.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { json, runCli, tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-cli-archive-")
const env = { TERRARIUM_HOME: home.path }
const cli = (...args: Array<string>) => runCli(args, env)
const head = () => json<{ headPosition: number }>(cli("db", "status", "-o", "json")).headPosition
const names = (archived: boolean) =>
  json<Array<{ name: string }>>(cli("environment", "list", ...(archived ? ["--archived"] : []), "-o", "json")).map((e) => e.name)

afterAll(() => home.remove())

describe("environment archive NAME", () => {
  it("archives the whole environment: hidden from list, exact versions resolve, new versions start archived, restore undoes it", { timeout: 300_000 }, () => {
    assert.strictEqual(cli("environment", "create", "--name", "old", "--image", "python:3.11").status, 0)
    assert.strictEqual(cli("environment", "create", "--name", "old", "--image", "python:3.12").status, 0)
    assert.strictEqual(cli("environment", "create", "--name", "kept", "--image", "python:3.12").status, 0)
    // Version 1 archived on its own before: the environment's restore leaves it archived.
    assert.strictEqual(json(cli("environment", "archive", "old:1", "-o", "json")).archived, true)

    const archived = json(cli("environment", "archive", "old", "-o", "json"))
    assert.deepStrictEqual(archived, { workspace: "default", name: "old", archived: true, versions: ["2"] })
    assert.match(cli("environment", "show", "old:2").stdout, /archived:\s+true/)
    assert.deepStrictEqual(names(false), ["kept"])
    assert.deepStrictEqual(names(true), ["kept", "old"])
    assert.strictEqual(json(cli("environment", "show", "old:1", "-o", "json")).version, "1")
    assert.strictEqual(json(cli("environment", "show", "old:2", "-o", "json")).archived, true)

    const registered = json(cli("environment", "create", "--name", "old", "--image", "python:3.13", "-o", "json"))
    assert.strictEqual(registered.version, "3")
    assert.strictEqual(json(cli("environment", "show", "old:3", "-o", "json")).archived, true)
    assert.deepStrictEqual(names(false), ["kept"])

    const again = cli("environment", "archive", "old")
    assert.strictEqual(again.status, 1)
    assert.match(again.stderr, /already archived/)

    const restored = json(cli("environment", "restore", "--name", "old", "-o", "json"))
    assert.deepStrictEqual(restored, { workspace: "default", name: "old", archived: false, versions: ["2", "3"] })
    assert.deepStrictEqual(names(false), ["kept", "old"])
    assert.strictEqual(json(cli("environment", "show", "old", "-o", "json")).version, "3")
    assert.strictEqual(json(cli("environment", "show", "old@latest", "-o", "json")).version, "3")
    assert.strictEqual(json(cli("environment", "show", "old:1", "-o", "json")).archived, true)
    assert.strictEqual(cli("environment", "restore", "old").status, 1)
    assert.strictEqual(
      cli("environment", "archive", "kept").stdout,
      "Archived environment kept (archived versions 1); versions registered from now on start archived\n"
    )

    const audit = json<Array<{ eventType: string; version: string | null; summary: string }>>(cli("audit", "old", "-o", "json"))
    assert.deepStrictEqual(audit.slice(-9).map((e) => [e.eventType, e.version]), [
      ["Archived", "1"],
      ["EnvironmentArchived", null],
      ["Archived", "2"],
      ["Redefined", null],
      ["Registered", "3"],
      ["Archived", "3"],
      ["EnvironmentRestored", null],
      ["Restored", "2"],
      ["Restored", "3"]
    ])
    assert.match(audit.find((e) => e.eventType === "EnvironmentArchived")!.summary, /archived the environment/)
  })

  it("archive NAME@LABEL and NAME:VERSION stay per version", { timeout: 120_000 }, () => {
    assert.strictEqual(cli("environment", "create", "--name", "per", "--image", "python:3.11").status, 0)
    assert.strictEqual(cli("environment", "create", "--name", "per", "--image", "python:3.12").status, 0)
    const one = json(cli("environment", "archive", "per@latest", "-o", "json"))
    assert.deepStrictEqual([one.version, one.archived], ["2", true])
    assert.include(names(false), "per")
    assert.strictEqual(json(cli("environment", "restore", "per:2", "-o", "json")).archived, false)
  })

  it("refuses an unknown environment with exit 1 and appends nothing", { timeout: 120_000 }, () => {
    const before = head()
    for (const command of ["archive", "restore"]) {
      const r = cli("environment", command, "nosuch")
      assert.strictEqual(r.status, 1, r.stderr)
      assert.strictEqual(r.stdout, "")
      assert.match(r.stderr, /nosuch/)
    }
    assert.strictEqual(head(), before)
  })
})
