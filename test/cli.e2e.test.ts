/**
 * The CLI end to end, as a user at a terminal runs it: a real child process per command, the
 * embedded database in a temporary TERRARIUM_HOME.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Database } from "@terrarium/adapters"
import { Effect } from "effect"
import { type CliResult, json, runCli, runCliAsync, tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-cli-")
const env = { TERRARIUM_HOME: home.path }
const cli = (...args: Array<string>) => runCli(args, env)
const head = () => json<{ headPosition: number }>(cli("db", "status", "-o", "json")).headPosition

/** A millisecond after an ISO time: what `--as-of` sees right after that event. */
const justAfter = (iso: string) => new Date(new Date(iso).getTime() + 1).toISOString()

/** The same instant as an ISO time, written in local time at a whole-hour UTC offset (`…T13:00:00.000+01:00`). */
const atOffset = (iso: string, hours: number) => {
  const local = new Date(new Date(iso).getTime() + hours * 3_600_000).toISOString().slice(0, -1)
  return `${local}${hours < 0 ? "-" : "+"}${String(Math.abs(hours)).padStart(2, "0")}:00`
}

/** A failed command: its exit code, and exactly one line on stderr and nothing on stdout. */
const failure = (r: CliResult, what: string) => {
  assert.strictEqual(r.stdout, "", `${what}: nothing on stdout`)
  assert.match(r.stderr, /^[^\n]+\n$/, `${what}: one line on stderr, got:\n${r.stderr}`)
  return { status: r.status, line: r.stderr.trimEnd() }
}

afterAll(() => home.remove())

describe("terrarium CLI", () => {
  it("defines, registers, changes, labels, archives, diffs and audits an environment", { timeout: 300_000 }, () => {
    const first = json(cli("environment", "create", "--file", "examples/pydata/environment.yml", "-o", "json"))
    assert.deepStrictEqual([first.name, first.version, first.created, first.environmentType], ["pydata", "1", true, "system-managed"])
    assert.match(first.canonicalHash, /^sha256:[0-9a-f]{64}$/)

    // The same definition again keeps its version and appends nothing.
    const before = head()
    const again = json(cli("environment", "create", "--file", "examples/pydata/environment.yml", "-o", "json"))
    assert.deepStrictEqual([again.version, again.created, again.canonicalHash], ["1", false, first.canonicalHash])
    assert.strictEqual(head(), before)

    const draft = json(cli("environment", "add-package", "pydata", "--pip", "numpy >= 1.26", "-o", "json"))
    assert.strictEqual(draft.changed, true)
    const second = json(cli("environment", "register", "pydata", "-o", "json"))
    assert.deepStrictEqual([second.version, second.created], ["2", true])
    assert.notStrictEqual(second.canonicalHash, first.canonicalHash)

    const labelledAt = head()
    json(cli("environment", "label", "pydata:1", "prod", "-o", "json"))
    const prod = json(cli("environment", "show", "pydata@prod", "-o", "json"))
    assert.strictEqual(prod.version, "1")
    assert.deepStrictEqual(prod.labels, ["prod"])
    json(cli("environment", "label", "pydata:2", "prod", "-o", "json"))
    assert.strictEqual(json(cli("environment", "show", "pydata@prod", "-o", "json")).version, "2")
    // What did pydata@prod mean right after it was first set? And before?
    assert.strictEqual(json(cli("environment", "show", "pydata@prod", "--as-of", String(labelledAt + 1), "-o", "json")).version, "1")
    const notYet = failure(cli("environment", "show", "pydata@prod", "--as-of", String(labelledAt)), "label not set yet")
    assert.deepStrictEqual(notYet, { status: 1, line: "terrarium: environment 'pydata' has no label 'prod'" })

    const diff = json(cli("environment", "diff", "pydata:1", "pydata:2", "-o", "json"))
    assert.deepStrictEqual(
      diff.diff.packages.map((p: any) => [p.manager, p.name, p.kind]),
      [["pip", "numpy", "added"]]
    )
    const diffText = cli("environment", "diff", "pydata:1", "pydata:2")
    assert.match(diffText.stdout, /numpy>=1\.26/)

    const archived = json(cli("environment", "archive", "pydata:2", "-o", "json"))
    assert.strictEqual(archived.archived, true)
    assert.strictEqual(json(cli("environment", "show", "pydata", "-o", "json")).version, "1") // latest skips archived
    assert.strictEqual(json(cli("environment", "show", "pydata:2", "-o", "json")).archived, true) // still resolvable
    const listed = json(cli("environment", "list", "--name", "pydata", "-o", "json"))
    assert.deepStrictEqual(listed.map((v: any) => v.version), ["1"])
    const all = json(cli("environment", "list", "--name", "pydata", "--archived", "-o", "json"))
    assert.deepStrictEqual(all.map((v: any) => v.version), ["1", "2"])
    json(cli("environment", "restore", "pydata:2", "-o", "json"))
    assert.strictEqual(json(cli("environment", "show", "pydata", "-o", "json")).version, "2")

    const audit = json(cli("audit", "pydata", "-o", "json", "--actor", "auditor"))
    assert.deepStrictEqual(audit.map((e: any) => e.eventType), [
      "Defined", "Registered", "PackageAdded", "Registered", "LabelMoved", "LabelMoved", "Archived", "Restored"
    ])
    assert.ok(audit.every((e: any) => typeof e.actor === "string" && e.actor.length > 0))
    // One correlation id per command; the Registered of `create` is caused by its Defined.
    assert.strictEqual(audit[0].causationId, null)
    assert.match(audit[1].causationId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.strictEqual(audit[1].correlationId, audit[0].correlationId)
    assert.strictEqual(new Set(audit.map((e: any) => e.correlationId)).size, audit.length - 1)
    const upTo = json(cli("audit", "pydata", "--as-of", "2", "-o", "json"))
    assert.deepStrictEqual(upTo.map((e: any) => e.position), [1, 2])

    // --as-of a time: what the label meant right after its first move, and the trail until then.
    const firstMove = audit[4]
    assert.strictEqual(json(cli("environment", "show", "pydata@prod", "--as-of", justAfter(firstMove.occurredAt), "-o", "json")).version, "1")
    const trailThen = json(cli("audit", "pydata", "--as-of", justAfter(firstMove.occurredAt), "-o", "json"))
    assert.deepStrictEqual(trailThen.map((e: any) => e.eventType), ["Defined", "Registered", "PackageAdded", "Registered", "LabelMoved"])
    // A bare date is the end of that day in UTC: today's covers everything so far.
    const today = new Date().toISOString().slice(0, 10)
    assert.strictEqual(json(cli("audit", "pydata", "--as-of", today, "-o", "json")).length, audit.length)
    const tooEarly = failure(cli("audit", "pydata", "--as-of", "2000-01-01"), "as-of before the environment")
    assert.deepStrictEqual(tooEarly, { status: 1, line: "terrarium: environment 'pydata' does not exist; define or create it before using it" })

    // The read models are rebuildable from position 0 with the same answers.
    const versionsBefore = json(cli("environment", "list", "--name", "pydata", "--archived", "-o", "json"))
    json(cli("projections", "rebuild", "-o", "json"))
    assert.deepStrictEqual(json(cli("environment", "list", "--name", "pydata", "--archived", "-o", "json")), versionsBefore)

    const table = cli("environment", "list")
    assert.match(table.stdout, /^NAME\s+LATEST\s+VERSIONS/m)
    const yaml = cli("environment", "show", "pydata:1", "-o", "yaml")
    assert.match(yaml.stdout, /^version: "1"$/m)
  })

  it("creates from flags: image only (user-managed), tags, description; no --curated (the catalog is the shipped one)", { timeout: 120_000 }, () => {
    const r = json(cli(
      "environment", "create", "--name", "minimal", "--image", "python:3.11",
      "--tag", "team=platform", "--tag", "os=linux", "--description", "minimal image", "-o", "json"
    ))
    assert.deepStrictEqual([r.name, r.version, r.environmentType], ["minimal", "1", "user-managed"])
    const shown = json(cli("environment", "show", "minimal:1", "-o", "json"))
    assert.deepStrictEqual(shown.definition.tags, { team: "platform", os: "linux" })
    assert.strictEqual(shown.definition.python.userManagedDependencies, true)
    assert.deepStrictEqual(shown.definition.docker.base, { kind: "image", image: "python:3.11" })
    const curated = cli("environment", "create", "--name", "AzureML-minimal", "--curated", "--image", "python:3.11")
    assert.deepStrictEqual([curated.status, curated.stdout], [2, ""])
    // The test runner turns the catalog's publication off (cli-curated.e2e.test.ts turns it on).
    assert.deepStrictEqual(json(cli("environment", "list", "--curated", "-o", "json")), [])
  })

  it("creates from --conda-file with --version; changes the draft with remove-package and set-variable", { timeout: 120_000 }, () => {
    const dir = join(home.path, "flags")
    mkdirSync(dir, { recursive: true })
    const condaFile = join(dir, "conda.yml")
    writeFileSync(condaFile, "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pip:\n    - requests==2.32.3\n    - numpy>=1.26\n")
    const r = json(cli("environment", "create", "--name", "sci", "--conda-file", condaFile, "--version", "2024.1", "-o", "json"))
    assert.deepStrictEqual([r.name, r.version, r.environmentType], ["sci", "2024.1", "system-managed"])
    const shown = json(cli("environment", "show", "sci:2024.1", "-o", "json"))
    assert.deepStrictEqual(shown.definition.python.conda.pip.map((p: any) => p.name), ["requests", "numpy"])
    assert.deepStrictEqual(shown.definition.python.conda.channels, ["conda-forge"])

    const removed = json(cli("environment", "remove-package", "sci", "--pip", "numpy", "-o", "json"))
    assert.deepStrictEqual([removed.changed, removed.definition.python.conda.pip.map((p: any) => p.name)], [true, ["requests"]])
    const set = json(cli("environment", "set-variable", "sci", "OMP_NUM_THREADS=4", "-o", "json"))
    assert.deepStrictEqual(set.definition.variables, { OMP_NUM_THREADS: "4" })
    const next = json(cli("environment", "register", "sci", "-o", "json"))
    assert.deepStrictEqual([next.version, next.created], ["1", true])
    const unset = json(cli("environment", "set-variable", "sci", "OMP_NUM_THREADS=", "-o", "json"))
    assert.deepStrictEqual(unset.definition.variables, {})
    assert.deepStrictEqual(json(cli("audit", "sci", "-o", "json")).map((e: any) => e.eventType), [
      "Defined", "Registered", "PackageRemoved", "VariableSet", "Registered", "VariableUnset"
    ])
  })

  it("workspaces keep their environments apart", { timeout: 120_000 }, () => {
    json(cli("environment", "create", "--name", "shared-name", "--image", "python:3.11", "-w", "team-a", "-o", "json"))
    json(cli("environment", "create", "--name", "shared-name", "--image", "python:3.12", "-w", "team-b", "-o", "json"))
    const imageIn = (workspace: string) =>
      json(cli("environment", "show", "shared-name", "-w", workspace, "-o", "json")).definition.docker.base.image
    assert.deepStrictEqual([imageIn("team-a"), imageIn("team-b")], ["python:3.11", "python:3.12"])
    assert.deepStrictEqual(json(cli("environment", "list", "-w", "team-a", "-o", "json")).map((e: any) => e.name), ["shared-name"])
    const elsewhere = failure(cli("environment", "show", "shared-name"), "another workspace")
    assert.deepStrictEqual(elsewhere, { status: 1, line: "terrarium: environment 'shared-name' does not exist; define or create it before using it" })
  })

  it("one damaged row: a warning on reads, its environment fails naming it, repair voids it, audit shows who", { timeout: 300_000 }, async () => {
    const own = tempDir("terrarium-cli-quarantine-")
    try {
      const run = (...args: Array<string>) => runCli(args, { TERRARIUM_HOME: own.path })
      json(run("environment", "create", "--name", "train", "--image", "python:3.11", "-w", "team-a", "-o", "json"))
      json(run("environment", "create", "--name", "serve", "--image", "python:3.12", "-w", "team-a", "-o", "json"))
      json(run("environment", "create", "--name", "train", "--image", "python:3.12", "-w", "team-b", "-o", "json"))
      // A Registered row whose data is not a registration, at the next position, written with
      // plain SQL by someone who may insert into the log.
      const bad = json<{ headPosition: number }>(run("db", "status", "-o", "json")).headPosition + 1
      await Effect.runPromise(Effect.gen(function*() {
        const database = yield* Database
        yield* database.execute(
          "bypass",
          `insert into events (position, workspace, stream, stream_version, event_id, event_type, schema_version, data, metadata)
           values ($1, 'team-a', 'environment/train', 3, $2::uuid, 'Registered', 1, '{"version": 4}'::jsonb,
                   '{"actor": "intruder", "correlationId": "c"}'::jsonb)`,
          [bad, crypto.randomUUID()]
        )
      }).pipe(Effect.provide(Database.layerPglite({ dataDir: join(own.path, "data") })), Effect.provide(NodeServices.layer), Effect.scoped))

      const repairHint = `terrarium environment repair train --workspace team-a --void-position ${bad} --reason "…"`
      const warning = `terrarium: warning: the Registered event at position ${bad} of environment 'team-a/train' cannot be read ` +
        `and is quarantined, so that environment cannot be read until it is repaired: ${repairHint}\n`
      const listed = run("environment", "list", "-w", "team-a", "-o", "json")
      assert.deepStrictEqual([listed.status, JSON.parse(listed.stdout).map((e: any) => e.name), listed.stderr], [0, ["serve", "train"], warning])
      const other = run("environment", "list", "-w", "team-b", "-o", "json")
      assert.deepStrictEqual([other.status, JSON.parse(other.stdout).map((e: any) => e.name), other.stderr], [0, ["train"], ""])
      assert.strictEqual(json(run("environment", "show", "serve", "-w", "team-a", "-o", "json")).version, "1")

      const shown = failure(run("environment", "show", "train", "-w", "team-a"), "the damaged environment")
      assert.strictEqual(shown.status, 1)
      assert.match(shown.line, new RegExp(`^terrarium: environment 'team-a/train' cannot be read: its event at position ${bad} \\(Registered, schema version 1, #3 of the stream\\) is malformed: `))
      assert.isTrue(shown.line.endsWith(`repair it by voiding it with an audited event: ${repairHint}`), shown.line)
      const status = json(run("db", "status", "-o", "json"))
      assert.deepStrictEqual(status.quarantined, { count: 1, positions: [bad] })
      assert.include(run("db", "status").stdout, `quarantined: 1 unreadable event at position ${bad}`)

      const repaired = run("environment", "repair", "train", "-w", "team-a", "--void-position", String(bad),
        "--reason", "inserted by hand", "--actor", "ops", "-o", "json")
      assert.deepStrictEqual(json(repaired), { workspace: "team-a", name: "train", voidedPosition: bad, reason: "inserted by hand", unreadable: [] })
      const after = run("environment", "show", "train", "-w", "team-a", "-o", "json")
      assert.deepStrictEqual([after.status, JSON.parse(after.stdout).version, after.stderr], [0, "1", ""])
      const trail = json(run("audit", "train", "-w", "team-a", "-o", "json")).slice(-2)
      assert.deepStrictEqual(trail.map((e: any) => [e.position, e.eventType, e.actor]), [[bad, "Registered", "intruder"], [bad + 1, "EventVoided", "ops"]])
      assert.strictEqual(trail[1].summary, `voided the unreadable event at position ${bad}: inserted by hand`)
      assert.deepStrictEqual(json(run("db", "status", "-o", "json")).quarantined, { count: 0, positions: [] })
      assert.strictEqual(run("environment", "list", "-w", "team-a").stderr, "")
    } finally {
      own.remove()
    }
  })

  it("a read model built by another projection version: db status says so, the next read rebuilds it first, with a warning", { timeout: 300_000 }, async () => {
    const own = tempDir("terrarium-cli-projection-version-")
    try {
      const run = (...args: Array<string>) => runCli(args, { TERRARIUM_HOME: own.path })
      json(run("environment", "create", "--name", "train", "--image", "python:3.11", "-o", "json"))
      assert.deepStrictEqual(json(run("db", "status", "-o", "json")).projectionVersion, { stored: 2, current: 2 })
      // As a read model of an older release would be stored (and a row it projected otherwise).
      await Effect.runPromise(Effect.gen(function*() {
        const database = yield* Database
        yield* database.execute("older release", "update projection_checkpoints set projection_version = 0", [])
        yield* database.execute("older release", "update audit_trail set summary = 'projected by the old release'", [])
      }).pipe(Effect.provide(Database.layerPglite({ dataDir: join(own.path, "data") })), Effect.provide(NodeServices.layer), Effect.scoped))

      assert.deepStrictEqual(json(run("db", "status", "-o", "json")).projectionVersion, { stored: 0, current: 2 })
      assert.match(run("db", "status").stdout,
        /\nprojection: +version 0, stale: this Terrarium projects version 2, the next read rebuilds the read models\n/)
      const trail = run("audit", "train", "-o", "json")
      assert.strictEqual(trail.status, 0)
      assert.strictEqual(trail.stderr, "terrarium: warning: the read model was built by projection version 0 and this Terrarium " +
        "projects version 2: rebuilding it from the event log before it is read\n")
      assert.notInclude(trail.stdout, "projected by the old release")
      assert.deepStrictEqual(json(run("db", "status", "-o", "json")).projectionVersion, { stored: 2, current: 2 })
      assert.match(run("db", "status").stdout, /\nprojection: +version 2\n/)
      assert.strictEqual(run("audit", "train").stderr, "")
    } finally {
      own.remove()
    }
  })

  it("takes the AzureML references azureml:NAME:VERSION and azureml:NAME@LABEL, and an --as-of with a zone offset", { timeout: 300_000 }, () => {
    json(cli("environment", "create", "--name", "refs", "--image", "python:3.11", "-o", "json"))
    json(cli("environment", "create", "--name", "refs", "--image", "python:3.12", "-o", "json"))
    json(cli("environment", "label", "azureml:refs:1", "prod", "-o", "json"))
    const show = (...args: Array<string>) => json(cli("environment", "show", ...args, "-o", "json"))
    const v1 = show("azureml:refs:1")
    assert.deepStrictEqual([v1.name, v1.version, v1.definition.docker.base.image], ["refs", "1", "python:3.11"])
    assert.strictEqual(show("azureml:refs@prod").version, "1")

    // The label moves to 2 within the hour: an offset read as UTC, or the wrong way, lands after that.
    const firstMove = json(cli("audit", "refs", "-o", "json")).find((e: any) => e.eventType === "LabelMoved")
    assert.strictEqual(json(cli("environment", "label", "azureml:refs:2", "prod", "-o", "json")).version, "2")
    const then = atOffset(justAfter(firstMove.occurredAt), 1)
    assert.strictEqual(show("azureml:refs@prod", "--as-of", then).version, "1", then)
  })

  it("db migrate reports the migrations this call applied, then that the database is up to date", { timeout: 120_000 }, () => {
    const fresh = tempDir("terrarium-cli-migrate-")
    try {
      const run = (...args: Array<string>) => runCli(args, { TERRARIUM_HOME: fresh.path })
      const first = json(run("db", "migrate", "-o", "json"))
      assert.isAbove(first.applied.length, 0)
      assert.deepStrictEqual(first.applied, first.migrations)
      assert.include(first.applied, "0001_event_log")
      const second = json(run("db", "migrate", "-o", "json"))
      assert.deepStrictEqual([second.applied, second.migrations], [[], first.migrations])
      assert.strictEqual(run("db", "migrate").stdout, `Database already up to date (${first.migrations.length} migrations)\n`)
    } finally {
      fresh.remove()
    }
  })

  it("an explicit --data-dir wins over TERRARIUM_DATABASE_URL", { timeout: 60_000 }, () => {
    const dataDir = join(home.path, "explicit-data")
    // Nothing listens on port 1: a command that used the variable would fail to connect.
    const r = runCli(["db", "status", "--data-dir", dataDir, "-o", "json"], { ...env, TERRARIUM_DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" })
    assert.deepStrictEqual([r.status, json(r).storage], [0, `embedded PGlite at ${dataDir}`])
  })

  it("commands run at once on one embedded database take turns, and none is lost", { timeout: 180_000 }, async () => {
    // PGlite allows one process per data directory: the others wait for the lock and say so.
    const own = tempDir("terrarium-cli-concurrent-")
    try {
      const ownEnv = { TERRARIUM_HOME: own.path }
      const names = ["c1", "c2", "c3"]
      const results = await Promise.all(names.map((n) =>
        runCliAsync(["environment", "create", "--name", n, "--image", "python:3.11", "-o", "json"], ownEnv)
      ))
      results.forEach((r, i) => assert.strictEqual(r.status, 0, `create ${names[i]}: ${r.stderr}`))
      assert.match(results.map((r) => r.stderr).join(""), /waiting for process \d+, which has the embedded database open/)
      const listed = json(runCli(["environment", "list", "-o", "json"], ownEnv)).map((e: any) => e.name).sort()
      assert.deepStrictEqual(listed, names)
    } finally {
      own.remove()
    }
  })

  describe("bad input: one line on stderr, nothing on stdout, nothing appended", () => {
    const dir = join(home.path, "input")
    beforeAll(() => {
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, "typo.yml"), "name: typo\nconda_fle: conda.yml\nimage: python:3.11\n")
      writeFileSync(join(dir, "broken.yml"), "name: broken\nimage: [unclosed\n")
      writeFileSync(join(dir, "missing-conda.yml"), "name: missing\nimage: python:3.11\nconda_file: nowhere.yml\n")
      writeFileSync(join(dir, "bad-pip.yml"), "name: badpip\nimage: python:3.11\nconda_file: conda.yml\n")
      writeFileSync(join(dir, "bad-name.yml"), "name: my env\nimage: python:3.11\n")
      writeFileSync(join(dir, "named-conda.yml"), "name: science\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n")
      writeFileSync(join(dir, "conda.yml"), "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy>=>1\n")
    })

    const nameRule = "an environment name starts with a letter or digit and has up to 255 letters, digits, '-', '_' or '.'"
    const asOfRule = "give a log position (e.g. 42), a date (2026-03-03: the end of that day in UTC) " +
      "or an ISO 8601 date-time with a zone (2026-03-03T12:00:00Z)"

    // [what, arguments, exit code, the line on stderr (exactly, or a pattern where the text is the domain's)]
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, 1 | 2, string | RegExp]> = [
      // The command line itself is wrong: exit code 2.
      ["an unknown flag", ["environment", "list", "--bogus"], 2,
        "terrarium: Unrecognized flag: --bogus in command terrarium environment list"],
      ["a name with a space", ["environment", "create", "--name", "my env", "--image", "python:3.11"], 2,
        `terrarium: --name "my env": ${nameRule}`],
      ["a label in capitals", ["environment", "label", "pydata:1", "Prod"], 2,
        `terrarium: label "Prod": a label is 1-63 lower-case letters, digits, '-' or '_', starting with a letter`],
      ["a version with a space", ["environment", "register", "pydata", "--version", "v 2"], 2,
        `terrarium: --version "v 2": a version is 1-100 letters, digits, '.', '_', '+' or '-', starting with a letter or digit`],
      ["a workspace in capitals", ["environment", "list", "--workspace", "Team"], 2,
        `terrarium: --workspace "Team": a workspace name is 1-63 lower-case letters, digits, '-' or '_'`],
      ["a bad pip spec", ["environment", "add-package", "pydata", "--pip", "numpy>=>1"], 2,
        /^terrarium: --pip: invalid pip requirement "numpy>=>1"/],
      ["a bad conda spec", ["environment", "add-package", "pydata", "--conda", "numpy>>=1"], 2,
        /^terrarium: --conda: invalid conda version spec ">>=1" in "numpy>>=1"/],
      ["an --as-of that is not ISO 8601", ["environment", "show", "pydata", "--as-of", "March 3"], 2,
        `terrarium: --as-of "March 3": ${asOfRule}`],
      ["an --as-of date that does not exist", ["audit", "pydata", "--as-of", "2026-02-30"], 2,
        `terrarium: --as-of "2026-02-30": ${asOfRule}`],
      ["an --as-of time without a zone", ["audit", "pydata", "--as-of", "2026-03-03T12:00:00"], 2,
        `terrarium: --as-of "2026-03-03T12:00:00": ${asOfRule}`],
      ["a key=value connection string", ["db", "status", "--database-url", "host=127.0.0.1 dbname=test password=secret"], 2,
        "terrarium: --database-url: not a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE); key=value connection strings are not accepted"],
      ["both --database-url and --data-dir", ["environment", "list", "--database-url", "postgres://x@127.0.0.1/db", "--data-dir", "d"], 2,
        "terrarium: --database-url and --data-dir: give a PostgreSQL URL or an embedded data directory, not both"],
      // The command was understood but cannot be done: exit code 1.
      ["a field outside the schema", ["environment", "create", "--file", "typo.yml"], 1,
        `terrarium: typo.yml:2: field "conda_fle" is not part of the AzureML v2 environment schema (did you mean "conda_file"?)`],
      ["invalid YAML", ["environment", "create", "--file", "broken.yml"], 1, /^terrarium: broken\.yml:3:1: invalid YAML: /],
      ["a missing conda file", ["environment", "create", "--file", "missing-conda.yml"], 1, /^terrarium: missing-conda\.yml:3: .*conda_file/],
      ["a missing --conda-file", ["environment", "create", "--name", "x", "--conda-file", "nowhere.yml"], 1,
        "terrarium: nowhere.yml: no such file"],
      ["a bad pip spec in a conda file", ["environment", "create", "--file", "bad-pip.yml"], 1,
        /^terrarium: conda\.yml:5: .*invalid pip requirement "numpy>=>1"/],
      ["a bad name in a file", ["environment", "create", "--file", "bad-name.yml"], 1, `terrarium: bad-name.yml: name "my env": ${nameRule}`],
      ["a missing file", ["environment", "create", "--file", "nope.yml"], 1, "terrarium: nope.yml: no such file"],
      ["a bare conda file without --name", ["environment", "create", "--file", "named-conda.yml"], 1,
        /^terrarium: named-conda\.yml is a conda environment file: its name "science" names the conda environment .*--name science/],
      ["an unknown environment", ["environment", "add-package", "ghost", "--pip", "numpy"], 1,
        "terrarium: environment 'ghost' does not exist; define or create it before using it"],
      ["an unknown version", ["environment", "show", "pydata:99"], 1, "terrarium: environment 'pydata' has no version 99"],
      ["an unknown label", ["environment", "show", "pydata@nightly"], 1, "terrarium: environment 'pydata' has no label 'nightly'"],
      ["a reserved name", ["environment", "create", "--name", "AzureML-mine", "--image", "python:3.11"], 1,
        /^terrarium: environment name 'AzureML-mine' starts with \(or imitates\) 'AzureML'.* reserved for curated environments; choose another name$/]
    ]

    it("rejects each case without appending", { timeout: 300_000 }, () => {
      const before = head()
      for (const [what, args, status, expected] of cases) {
        const r = failure(runCli(args, env, dir), what)
        assert.strictEqual(r.status, status, `${what}: exit code\n${r.line}`)
        if (typeof expected === "string") assert.strictEqual(r.line, expected, what)
        else assert.match(r.line, expected, what)
      }
      assert.strictEqual(head(), before)
    })

    // The error reports of two bad inputs, the same under --output json and yaml.
    const typoReport = {
      _tag: "ImportError",
      message: `typo.yml:2: field "conda_fle" is not part of the AzureML v2 environment schema (did you mean "conda_file"?)`,
      file: "typo.yml",
      line: 2,
      field: "conda_fle"
    }
    const badNameReport = { _tag: "UsageError", message: `--name "my env": ${nameRule}`, field: "name" }

    it("with --output json, the error is JSON on stderr", { timeout: 120_000 }, () => {
      const notFound = failure(runCli(["environment", "show", "pydata:99", "-o", "json"], env, dir), "unknown version")
      assert.strictEqual(notFound.status, 1)
      assert.deepStrictEqual(JSON.parse(notFound.line), {
        error: { _tag: "EnvironmentError", message: "environment 'pydata' has no version 99", reason: "VersionNotFound" }
      })
      const typo = failure(runCli(["environment", "create", "--file", "typo.yml", "--output", "json"], env, dir), "typo")
      assert.deepStrictEqual(JSON.parse(typo.line).error, typoReport)
      const usage = failure(runCli(["environment", "create", "--name", "my env", "--image", "x", "-o", "json"], env, dir), "usage")
      assert.strictEqual(usage.status, 2)
      assert.deepStrictEqual(JSON.parse(usage.line).error, badNameReport)
      const flag = failure(runCli(["environment", "list", "--bogus", "-o", "json"], env, dir), "unknown flag")
      assert.deepStrictEqual([flag.status, JSON.parse(flag.line).error._tag], [2, "UnrecognizedOption"])
    })

    it("with --output yaml, the error is the same one line of JSON (a YAML document too)", { timeout: 120_000 }, () => {
      const typo = failure(runCli(["environment", "create", "--file", "typo.yml", "--output", "yaml"], env, dir), "typo")
      assert.strictEqual(typo.status, 1)
      assert.deepStrictEqual(JSON.parse(typo.line).error, typoReport)
      const usage = failure(runCli(["environment", "create", "--name", "my env", "--image", "x", "-o", "yaml"], env, dir), "usage")
      assert.strictEqual(usage.status, 2)
      assert.deepStrictEqual(JSON.parse(usage.line).error, badNameReport)
    })
  })
})
