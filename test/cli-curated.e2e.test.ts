/**
 * The curated catalog end to end: published through events on the first start (embedded and
 * PostgreSQL), listed with `environment list --curated`, read-only, and the way to customise one:
 * `environment clone`, `add-package`, `register`. Bad input to each new command: a clear error, a
 * non-zero exit, nothing appended.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import pg from "pg"
import { json, runCli, tempDir } from "./support/cli.ts"
import { testDatabaseUrl } from "./support/postgres.ts"

// The test runner turns the publication on start off for every other test; these turn it on.
const catalogOn = { TERRARIUM_CURATED_CATALOG: "on" }
const home = tempDir("terrarium-cli-curated-")
const env = { ...catalogOn, TERRARIUM_HOME: home.path }
const cli = (...args: Array<string>) => runCli(args, env)
const head = () => json<{ headPosition: number }>(cli("db", "status", "-o", "json")).headPosition

afterAll(() => home.remove())

interface CatalogRow {
  readonly workspace: string
  readonly name: string
  readonly latestVersion: string
  readonly canonicalHash: string
  readonly hashAlgorithm: number
}

const sklearn = "AzureML-sklearn-1.5"

describe("the curated catalog", () => {
  it("is published on the first start, listed with --curated, read-only, and customised by clone, add-package and register", { timeout: 300_000 }, () => {
    const first = cli("environment", "list", "--curated", "-o", "json")
    assert.strictEqual(first.status, 0, first.stderr)
    assert.strictEqual(first.stderr, "")
    const catalog = json<Array<CatalogRow>>(first)
    assert.strictEqual(catalog.length, 62)
    assert.isTrue(catalog.every((r) => r.workspace === "azureml" && r.name.startsWith("AzureML-") && r.latestVersion === "1"))
    const curated = catalog.find((r) => r.name === sklearn)!
    assert.match(cli("environment", "list", "--curated").stdout, /^AzureML-sklearn-1\.5\s+1\s+azureml\s+/m)

    // The plain list of a workspace names the catalog while the workspace is empty, and says which
    // are curated (the type column) where it has them.
    assert.include(cli("environment", "list").stdout, "environment list --curated")
    const inCatalog = json<Array<{ name: string; curated: boolean; environmentType: string }>>(cli("environment", "list", "--workspace", "azureml", "-o", "json"))
    assert.strictEqual(inCatalog.length, 62)
    assert.isTrue(inCatalog.every((r) => r.curated && r.environmentType === "curated"))
    assert.match(cli("environment", "list", "--workspace", "azureml").stdout, /^AzureML-sklearn-1\.5\s+1\s+1\s+curated\s/m)

    // Published through events: the curated environment's audit trail, and nothing more on the next start.
    const published = json<Array<{ eventType: string; summary: string }>>(cli("audit", sklearn, "-o", "json"))
    assert.deepStrictEqual(published.map((e) => e.eventType), ["Defined", "Registered"])
    assert.include(published[0]!.summary, "defined curated environment AzureML-sklearn-1.5")
    const afterFirstStart = head()
    const sync = json<{ published: boolean; versions: number }>(cli("curated", "sync", "-o", "json"))
    assert.deepStrictEqual([sync.published, sync.versions], [false, 62])
    const forced = json<{ published: boolean; added: Array<unknown>; unchanged: number; refused: Array<unknown> }>(cli("curated", "sync", "--force", "-o", "json"))
    assert.deepStrictEqual([forced.published, forced.added.length, forced.unchanged, forced.refused.length], [true, 0, 62, 0])
    assert.strictEqual(head(), afterFirstStart + 1, "--force compared every version and appended only the record of the release")

    // Start from a curated environment and customise it.
    const clone = json<{ name: string; canonicalHash: string; clonedFrom: Record<string, unknown> }>(
      cli("environment", "clone", sklearn, "my-sklearn", "-o", "json")
    )
    assert.strictEqual(clone.name, "my-sklearn")
    assert.strictEqual(clone.canonicalHash, curated.canonicalHash, "the draft is the curated definition")
    assert.deepStrictEqual(clone.clonedFrom, { workspace: "azureml", name: sklearn, version: "1", canonicalHash: curated.canonicalHash, hashAlgorithm: curated.hashAlgorithm })
    assert.strictEqual(cli("environment", "add-package", "my-sklearn", "--pip", "rich==13.7.1").status, 0)
    const registered = json<{ version: string; canonicalHash: string; environmentType: string }>(cli("environment", "register", "my-sklearn", "-o", "json"))
    assert.strictEqual(registered.version, "1")
    assert.notStrictEqual(registered.canonicalHash, curated.canonicalHash, "a new hash")
    assert.strictEqual(registered.environmentType, "system-managed")
    const mine = json<{ definition: { python: { conda: { pip: Array<{ text: string }> } } } }>(cli("environment", "show", "my-sklearn", "-o", "json"))
    assert.include(mine.definition.python.conda.pip.map((p) => p.text), "rich==13.7.1")
    assert.include(json<Array<{ summary: string }>>(cli("audit", "my-sklearn", "-o", "json"))[0]!.summary, "as a clone of azureml/AzureML-sklearn-1.5:1")
    assert.deepStrictEqual(
      json<Array<{ name: string; environmentType: string }>>(cli("environment", "list", "-o", "json")).map((r) => [r.name, r.environmentType]),
      [["my-sklearn", "system-managed"]]
    )

    // The curated environment is unchanged.
    const shown = json<{ workspace: string; version: string; canonicalHash: string; environmentType: string }>(cli("environment", "show", sklearn, "-o", "json"))
    assert.deepStrictEqual([shown.workspace, shown.version, shown.canonicalHash, shown.environmentType], ["azureml", "1", curated.canonicalHash, "curated"])
    assert.strictEqual(json<Array<unknown>>(cli("audit", sklearn, "-o", "json")).length, 2)
  })

  it("refuses bad input to the new commands and every change of a curated environment: a clear error, nothing appended", { timeout: 300_000 }, () => {
    const before = head()
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, number, RegExp]> = [
      ["clone without arguments", ["environment", "clone"], 2, /^terrarium: /],
      ["clone without NEW", ["environment", "clone", sklearn], 2, /^terrarium: /],
      ["clone with a name that breaks the rule", ["environment", "clone", sklearn, "bad name"], 2, /"bad name": an environment name starts with/],
      ["clone of a reference that is no reference", ["environment", "clone", `${sklearn}:`, "x"], 2, /^terrarium: /],
      ["clone of an unknown environment", ["environment", "clone", "AzureML-no-such", "x"], 1, /'AzureML-no-such' does not exist/],
      ["clone of an unknown version", ["environment", "clone", `${sklearn}:9`, "x"], 1, /has no version 9/],
      ["clone to a reserved name without a dash", ["environment", "clone", sklearn, "azuremlfoo"], 1, /'azuremlfoo' starts with \(or imitates\) 'AzureML'/],
      ["clone to a Microsoft name", ["environment", "clone", sklearn, "Microsoft_x"], 1, /reserved for curated environments/],
      ["clone to a look-alike (a Cyrillic A)", ["environment", "clone", sklearn, "\u0410zureML-x"], 1, /imitates\) 'AzureML'/],
      ["clone over an existing environment", ["environment", "clone", sklearn, "my-sklearn"], 1, /already defined/],
      ["clone into the catalog's workspace", ["environment", "clone", sklearn, "x", "--workspace", "azureml"], 2, /workspace 'azureml' holds the curated catalog/],
      ["clone with an unknown flag", ["environment", "clone", sklearn, "x", "--curated"], 2, /^terrarium: /],
      ["add-package to a curated environment", ["environment", "add-package", sklearn, "--pip", "numpy"], 1, /is curated .* read-only and add-package is refused; .*clone AzureML-sklearn-1\.5/],
      ["register a curated environment", ["environment", "register", sklearn], 1, /read-only and register is refused/],
      ["update a curated environment", ["environment", "update", `${sklearn}:1`, "--description", "mine"], 1, /read-only and update is refused/],
      ["archive a curated environment", ["environment", "archive", sklearn], 1, /read-only and archive is refused/],
      ["label a curated environment", ["environment", "label", `${sklearn}:1`, "prod"], 1, /read-only and label is refused/],
      ["create a curated environment", ["environment", "create", "--name", "AzureML-mine", "--image", "python:3.11"], 1, /reserved for curated environments/],
      ["create with --curated (no longer a flag)", ["environment", "create", "--name", "AzureML-mine", "--image", "python:3.11", "--curated"], 2, /^terrarium: /],
      ["create in the catalog's workspace", ["--workspace", "azureml", "environment", "create", "--name", "x", "--image", "python:3.11"], 2, /read-only/],
      ["list --curated with --name", ["environment", "list", "--curated", "--name", sklearn], 2, /--curated lists the whole curated catalog/],
      ["list --curated with --archived", ["environment", "list", "--curated", "--archived"], 2, /--curated lists the whole curated catalog/],
      ["list --curated with --as-of", ["environment", "list", "--curated", "--as-of", "1"], 2, /--curated lists the whole curated catalog/],
      ["curated sync with an argument", ["curated", "sync", "now"], 2, /^terrarium: /],
      ["curated sync with an unknown flag", ["curated", "sync", "--all"], 2, /^terrarium: /],
      ["curated without a command", ["curated", "frobnicate"], 2, /^terrarium: /]
    ]
    for (const [what, args, status, message] of cases) {
      const r = cli(...args)
      assert.strictEqual(r.status, status, `${what}: ${r.stderr}`)
      assert.strictEqual(r.stdout, "", what)
      assert.match(r.stderr.trim().split("\n").at(-1) ?? "", message, what)
    }
    assert.strictEqual(head(), before, "nothing appended")
  })
})

describe("the curated catalog on PostgreSQL", () => {
  it("is published on the first start of a database, once", { timeout: 300_000 }, async () => {
    const schema = `curated_${process.pid}_${Date.now()}`
    const client = new pg.Client({ connectionString: testDatabaseUrl })
    await client.connect()
    try {
      await client.query(`create schema ${schema}`)
      const pgEnv = { ...catalogOn, TERRARIUM_HOME: home.path, TERRARIUM_DATABASE_URL: testDatabaseUrl, TERRARIUM_DATABASE_SCHEMA: schema }
      const catalog = json<Array<CatalogRow>>(runCli(["environment", "list", "--curated", "-o", "json"], pgEnv))
      assert.strictEqual(catalog.length, 62)
      const events = await client.query(`select count(*)::int as n from ${schema}.events where workspace = 'azureml'`)
      assert.strictEqual(events.rows[0].n, 62 * 2 + 1, "a Defined and a Registered per environment, and the record of the release")
      assert.strictEqual(runCli(["environment", "list"], pgEnv).status, 0)
      const again = await client.query(`select count(*)::int as n from ${schema}.events`)
      assert.strictEqual(again.rows[0].n, 62 * 2 + 1, "the next start appends nothing")
    } finally {
      await client.query(`drop schema if exists ${schema} cascade`)
      await client.end()
    }
  })
})
