/**
 * The CLI end to end, as a user at a terminal runs it: a real child process per command, the
 * embedded database in a temporary TERRARIUM_HOME.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { json, runCli, runCliAsync, tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-cli-")
const env = { TERRARIUM_HOME: home.path }
const cli = (...args: Array<string>) => runCli(args, env)
const head = () => json<{ headPosition: number }>(cli("db", "status", "-o", "json")).headPosition

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
    const notYet = cli("environment", "show", "pydata@prod", "--as-of", String(labelledAt))
    assert.notStrictEqual(notYet.status, 0)
    assert.match(notYet.stderr, /label.*prod/i)

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
    const upTo = json(cli("audit", "pydata", "--as-of", "2", "-o", "json"))
    assert.deepStrictEqual(upTo.map((e: any) => e.position), [1, 2])

    // The read models are rebuildable from position 0 with the same answers.
    const versionsBefore = json(cli("environment", "list", "--name", "pydata", "--archived", "-o", "json"))
    json(cli("projections", "rebuild", "-o", "json"))
    assert.deepStrictEqual(json(cli("environment", "list", "--name", "pydata", "--archived", "-o", "json")), versionsBefore)

    const table = cli("environment", "list")
    assert.match(table.stdout, /^NAME\s+LATEST\s+VERSIONS/m)
    const yaml = cli("environment", "show", "pydata:1", "-o", "yaml")
    assert.match(yaml.stdout, /^version: "1"$/m)
  })

  it("creates from flags: image only (user-managed), tags, description, curated catalog", { timeout: 120_000 }, () => {
    const r = json(cli(
      "environment", "create", "--name", "AzureML-minimal", "--curated", "--image", "python:3.11",
      "--tag", "team=platform", "--tag", "os=linux", "--description", "minimal curated image", "-o", "json"
    ))
    assert.deepStrictEqual([r.name, r.version, r.environmentType], ["AzureML-minimal", "1", "curated"])
    const shown = json(cli("environment", "show", "AzureML-minimal:1", "-o", "json"))
    assert.deepStrictEqual(shown.definition.tags, { team: "platform", os: "linux" })
    assert.strictEqual(shown.definition.python.userManagedDependencies, true)
    assert.deepStrictEqual(shown.definition.docker.base, { kind: "image", image: "python:3.11" })
    const catalog = json(cli("environment", "list", "--curated", "-o", "json"))
    assert.deepStrictEqual(catalog.map((c: any) => [c.name, c.latestVersion, c.description]), [["AzureML-minimal", "1", "minimal curated image"]])
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

  describe("bad input: one clear message, exit code 1, nothing appended", () => {
    const dir = join(home.path, "input")
    beforeAll(() => {
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, "typo.yml"), "name: typo\nconda_fle: conda.yml\nimage: python:3.11\n")
      writeFileSync(join(dir, "broken.yml"), "name: broken\nimage: [unclosed\n")
      writeFileSync(join(dir, "missing-conda.yml"), "name: missing\nimage: python:3.11\nconda_file: nowhere.yml\n")
      writeFileSync(join(dir, "bad-pip.yml"), "name: badpip\nimage: python:3.11\nconda_file: conda.yml\n")
      writeFileSync(join(dir, "named-conda.yml"), "name: science\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n")
      writeFileSync(join(dir, "conda.yml"), "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy>=>1\n")
    })

    const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
      ["a field outside the schema", ["environment", "create", "--file", "typo.yml"], /typo\.yml:2: .*"conda_fle".*did you mean "conda_file"/],
      ["invalid YAML", ["environment", "create", "--file", "broken.yml"], /broken\.yml:\d+/],
      ["a missing conda file", ["environment", "create", "--file", "missing-conda.yml"], /missing-conda\.yml:3: .*conda_file/],
      ["a bad pip spec in a conda file", ["environment", "create", "--file", "bad-pip.yml"], /conda\.yml:5: .*numpy>=>1/],
      ["a missing file", ["environment", "create", "--file", "nope.yml"], /nope\.yml: no such file/],
      ["a bare conda file without --name", ["environment", "create", "--file", "named-conda.yml"],
        /named-conda\.yml is a conda environment file: its name "science" names the conda environment .*--name science/],
      ["a bad package spec", ["environment", "add-package", "pydata", "--pip", "numpy>=>1"], /--pip: invalid pip requirement "numpy>=>1"/],
      ["an unknown environment", ["environment", "add-package", "ghost", "--pip", "numpy"], /'ghost' does not exist/],
      ["an unknown version", ["environment", "show", "pydata:99"], /no version 99/],
      ["an unknown label", ["environment", "show", "pydata@nightly"], /nightly/],
      ["a reserved name", ["environment", "create", "--name", "AzureML-mine", "--image", "python:3.11"], /AzureML-/],
      ["an unknown flag", ["environment", "list", "--bogus"], /Unrecognized flag: --bogus/]
    ]

    it("rejects each case without appending", { timeout: 300_000 }, () => {
      const before = head()
      for (const [what, args, message] of cases) {
        const r = runCli(args, env, dir)
        assert.strictEqual(r.status, 1, `${what}: exit code ${r.status}\n${r.stderr}`)
        assert.match(r.stderr, message, what)
        assert.notMatch(r.stderr, /\n\s+at /, `${what}: a stack trace was printed`)
      }
      assert.strictEqual(head(), before)
    })
  })
})
