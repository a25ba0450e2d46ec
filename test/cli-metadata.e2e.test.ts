/**
 * A version's description and tags, as a user migrating from AzureML changes them: `create` of
 * an unchanged definition with other metadata says that it was not applied (it used to exit 0
 * with `Unchanged` and drop it), and `environment update` applies it as an event, seen by `show`,
 * `list --name`, `audit` and `--as-of`, without touching the content or its hash.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { join } from "node:path"
import { json, runCli, tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-metadata-")
afterAll(() => home.remove())
const env = { TERRARIUM_HOME: home.path }
const cli = (...args: Array<string>) => runCli(["--data-dir", join(home.path, "data"), ...args], env)

const create = (...extra: Array<string>) =>
  cli("environment", "create", "--name", "meta", "--image", "python:3.11", ...extra)

describe("environment update, and create of an unchanged definition with other metadata", () => {
  it("create says the metadata was not applied and how to apply it; update applies it as an event", { timeout: 300_000 }, () => {
    const first = json(create("--description", "first", "--tag", "stage=dev", "--tag", "team=vision", "-o", "json"))
    assert.strictEqual(first.created, true)
    assert.notProperty(first, "metadataNotApplied")
    const hash = first.canonicalHash

    // The same definition and metadata: unchanged, nothing to warn about.
    const same = create("--description", "first", "--tag", "stage=dev", "--tag", "team=vision")
    assert.strictEqual(same.status, 0)
    assert.strictEqual(same.stderr, "")
    assert.match(same.stdout, /^Unchanged: meta:1 already has this definition/)

    // Other metadata: still unchanged (exit 0), but said on stderr and in the JSON.
    const other = create("--description", "second", "--tag", "stage=prod", "-o", "json")
    assert.strictEqual(other.status, 0, other.stderr)
    const unchanged = JSON.parse(other.stdout)
    assert.strictEqual(unchanged.created, false)
    assert.deepStrictEqual(unchanged.metadataNotApplied, { description: "second", tags: { stage: "prod" } })
    assert.match(other.stderr, /^warning: meta:1 already has this definition; its description and tags were not changed/)
    assert.include(other.stderr, "terrarium environment update meta:1 --description 'second' --tag 'stage=prod'")
    assert.strictEqual(other.stderr.split("\n").length, 2, "one line")
    const auditBefore = json<Array<unknown>>(cli("audit", "meta", "-o", "json"))
    assert.strictEqual(auditBefore.length, 2, "nothing appended")

    // The update the warning suggests.
    const updated = json(cli(
      "--actor", "alice", "environment", "update", "meta:1", "--description", "second", "--tag", "stage=prod", "--tag", "owner=ml",
      "--remove-tag", "team", "-o", "json"
    ))
    assert.strictEqual(updated.canonicalHash, hash, "metadata is not hashed")
    assert.strictEqual(updated.definition.description, "second")
    assert.deepStrictEqual(updated.definition.tags, { stage: "prod", owner: "ml" })

    const shown = json(cli("environment", "show", "meta:1", "-o", "json"))
    assert.strictEqual(shown.definition.description, "second")
    assert.deepStrictEqual(shown.definition.tags, { stage: "prod", owner: "ml" })
    assert.strictEqual(shown.canonicalHash, hash)
    const table = cli("environment", "show", "meta:1").stdout
    assert.match(table, /description: second/)
    // (in the order the log keeps the keys: jsonb's)
    assert.match(table, /tags: +owner=ml, stage=prod\n/)

    const [row] = json<Array<{ description: string; tags: Record<string, string>; canonicalHash: string }>>(
      cli("environment", "list", "--name", "meta", "-o", "json")
    )
    assert.deepStrictEqual([row!.description, row!.tags, row!.canonicalHash], ["second", { owner: "ml", stage: "prod" }, hash])

    const audit = json<Array<{ position: number; eventType: string; actor: string; version: string; summary: string; details: any }>>(
      cli("audit", "meta", "-o", "json")
    )
    const change = audit.at(-1)!
    assert.deepStrictEqual([change.eventType, change.actor, change.version, change.summary], [
      "MetadataUpdated", "alice", "1", "updated the description and tags of version 1"
    ])
    assert.deepStrictEqual(change.details, { _tag: "MetadataUpdated", version: "1", description: "second", tags: { stage: "prod", owner: "ml" } })

    // Before the change, the old values.
    const then = json(cli("environment", "show", "meta:1", "--as-of", String(change.position - 1), "-o", "json"))
    assert.strictEqual(then.definition.description, "first")
    assert.deepStrictEqual(then.definition.tags, { stage: "dev", team: "vision" })
    // The version list as of then too: described and tagged as it was.
    const [past] = json<Array<{ description: string; tags: Record<string, string> }>>(
      cli("environment", "list", "--name", "meta", "--as-of", String(change.position - 1), "-o", "json")
    )
    assert.deepStrictEqual([past!.description, past!.tags], ["first", { stage: "dev", team: "vision" }])

    // Now create with the metadata the version has: no warning.
    const now = create("--description", "second", "--tag", "stage=prod", "--tag", "owner=ml")
    assert.strictEqual(now.status, 0)
    assert.strictEqual(now.stderr, "")

    // The same update again changes nothing and appends nothing.
    assert.strictEqual(cli("environment", "update", "meta:1", "--description", "second").status, 0)
    assert.strictEqual(json<Array<unknown>>(cli("audit", "meta", "-o", "json")).length, audit.length)
  })

  it("bad input is an error with nothing appended", { timeout: 300_000 }, () => {
    assert.strictEqual(cli("environment", "create", "--name", "bad", "--image", "python:3.11", "--tag", "a=1").status, 0)
    const before = cli("audit", "bad", "-o", "json").stdout
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, number, RegExp]> = [
      [["environment", "update", "bad:1"], 2, /^terrarium: nothing to update: give --description, --tag KEY=VALUE or --remove-tag KEY$/],
      [["environment", "update", "bad:9", "--description", "x"], 1, /^terrarium: environment 'bad' has no version 9$/],
      [["environment", "update", "ghost:1", "--description", "x"], 1, /^terrarium: environment 'ghost' does not exist/],
      [["environment", "update", "bad:1", "--tag", "k=https://user:token@host/x"], 2, /^terrarium: tags\.k: this text carries credentials in a URL/],
      [["environment", "update", "bad:1", "--description", "https://user:token@host/x"], 2, /^terrarium: --description: this text carries credentials in a URL/],
      [["environment", "update", "bad:1", "--description", "x".repeat(70_000)], 2, /^terrarium: --description: /],
      [["environment", "update", "bad:1", "bad:1", "--description", "x"], 2, /^terrarium: /],
      [["environment", "update", "bad:1", "--name", "bad", "--description", "x"], 2, /^terrarium: give the reference once/]
    ]
    for (const [args, status, line] of cases) {
      const r = cli(...args)
      assert.strictEqual(r.status, status, `${args.join(" ").slice(0, 80)}: ${r.stderr}`)
      assert.strictEqual(r.stdout, "")
      assert.match(r.stderr.trimEnd(), line, args.join(" ").slice(0, 80))
    }
    assert.strictEqual(cli("audit", "bad", "-o", "json").stdout, before, "nothing appended")
  })
})
