/**
 * No command exits 0 having ignored its arguments. The `az ml` spelling of a reference,
 * `--name X --version 1` (`-n X -v 1`), once reached the framework's global `--version`: the
 * command printed `terrarium v0.1.0` and exited 0 with nothing archived. Now a command that
 * takes a reference does what it says with it, and every other command refuses it (exit 2).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { join } from "node:path"
import { json, runCli, tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-arguments-")
afterAll(() => home.remove())
// Builds run on the in-memory engine: the sweep is about arguments, not images.
const env = { TERRARIUM_HOME: home.path, TERRARIUM_IMAGE_BUILDER: "memory" }
const cli = (...args: Array<string>) => runCli(["--data-dir", join(home.path, "data"), ...args], env)

/** Every command of the tree, with the arguments it needs besides a reference. */
const commands: ReadonlyArray<ReadonlyArray<string>> = [
  ["environment", "create", "--image", "python:3.11"],
  ["environment", "clone", "argx", "argy"],
  ["environment", "list"],
  ["environment", "show"],
  ["environment", "export", "--format", "conda", "--out", join(home.path, "export-out"), "--force"],
  ["environment", "diff", "argx:1"],
  ["environment", "add-package", "numpy"],
  ["environment", "remove-package", "numpy"],
  ["environment", "set-variable", "A=1"],
  ["environment", "register"],
  ["environment", "update", "--description", "described"],
  ["environment", "build"],
  ["environment", "archive"],
  ["environment", "restore"],
  ["environment", "label", "prod"],
  ["environment", "share", "--to-workspace", "elsewhere"],
  ["environment", "repair"],
  ["image", "list"],
  ["image", "show"],
  ["image", "logs"],
  ["audit"],
  ["curated", "sync"],
  ["db", "migrate"],
  ["db", "status"],
  ["projections", "rebuild"]
]

const spellings = [["--name", "argx", "--version", "1"], ["-n", "argx", "-v", "1"]] as const

describe("--name X --version 1 on every command", () => {
  it("never prints the version and exits 0: the command does it or refuses it (2)", { timeout: 600_000 }, () => {
    // One data directory per spelling, so each meets the state its command expects (archive, then restore).
    for (const [i, spelling] of spellings.entries()) {
      const dataDir = join(home.path, `sweep-${i}`)
      const run = (...args: Array<string>) => runCli(["--data-dir", dataDir, ...args], env)
      assert.strictEqual(run("environment", "create", "--name", "argx", "--image", "python:3.11").status, 0)
      for (const command of commands) {
        const args = [...command, ...spelling]
        const r = run(...args)
        const what = `terrarium ${args.join(" ")}: ${r.stderr}`
        assert.notMatch(r.stdout, /terrarium v\d/, what)
        assert.include([0, 2], r.status, what)
        if (r.status === 2) assert.strictEqual(r.stdout, "", what)
      }
    }
    // The version flag of the product itself still answers where no command is named.
    const version = cli("--version")
    assert.strictEqual(version.status, 0)
    assert.match(version.stdout, /terrarium v0\.1\.0/)
  })

  it("show, archive, restore, label, update and audit take the reference as NAME:VERSION", { timeout: 300_000 }, () => {
    assert.strictEqual(cli("environment", "create", "--name", "ref", "--image", "python:3.11").status, 0)
    assert.strictEqual(cli("environment", "create", "--name", "ref", "--image", "python:3.12").status, 0)
    for (const [n, v] of [["--name", "--version"], ["-n", "-v"]] as const) {
      const shown = json(cli("environment", "show", n, "ref", v, "1", "-o", "json"))
      assert.strictEqual(shown.version, "1")
      assert.strictEqual(shown.definition.docker.base.image, "python:3.11")
      assert.strictEqual(json(cli("environment", "archive", n, "ref", v, "1", "-o", "json")).archived, true)
      assert.strictEqual(json(cli("environment", "show", "ref:1", "-o", "json")).archived, true)
      assert.strictEqual(json(cli("environment", "restore", n, "ref", v, "1", "-o", "json")).archived, false)
      assert.strictEqual(json(cli("environment", "show", "ref:1", "-o", "json")).archived, false)
    }
    assert.strictEqual(json(cli("environment", "update", "-n", "ref", "-v", "1", "--description", "old one", "-o", "json")).definition.description, "old one")
    assert.strictEqual(json(cli("environment", "show", "ref:2", "-o", "json")).definition.description, undefined)
    // --name alone is NAME, i.e. NAME@latest.
    assert.strictEqual(json(cli("environment", "show", "--name", "ref", "-o", "json")).version, "2")
    assert.include(json(cli("environment", "label", "-n", "ref", "-v", "1", "prod", "-o", "json")).labels, "prod")
    assert.include(json(cli("environment", "label", "--name", "ref", "--version", "2", "stable", "-o", "json")).labels, "stable")
    assert.strictEqual(json(cli("environment", "show", "ref@prod", "-o", "json")).version, "1")
    const audited = json<Array<{ eventType: string }>>(cli("audit", "-n", "ref", "-o", "json"))
    assert.deepStrictEqual(json(cli("audit", "ref", "-o", "json")), audited)
    assert.include(audited.map((e) => e.eventType), "Archived")
  })

  it("a reference given twice, or half of one, is a usage error (2) with nothing done", { timeout: 300_000 }, () => {
    assert.strictEqual(cli("environment", "create", "--name", "twice", "--image", "python:3.11").status, 0)
    const before = cli("audit", "twice", "-o", "json").stdout
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [["environment", "archive", "twice:1", "--name", "twice"], `terrarium: give the reference once: "twice:1" or --name twice, not both`],
      [["environment", "archive", "--version", "1"], "terrarium: --version needs --name NAME (or give NAME:VERSION)"],
      [["environment", "archive", "--name", "twice:1", "--version", "1"], `terrarium: --name "twice:1": give the name only, and the version with --version`],
      [["environment", "label", "--name", "twice", "--version", "1"], "terrarium: Missing required argument: label"],
      [["environment", "label", "twice:1", "prod", "--name", "twice"], `terrarium: give the reference once: "twice:1" or --name twice, not both`],
      [["environment", "restore"], "terrarium: Missing required argument: ref"],
      [["audit", "twice", "--name", "twice"], `terrarium: give the name once: "twice" or --name twice, not both`],
      [["audit"], "terrarium: Missing required argument: name"]
    ]
    for (const [args, line] of cases) {
      const r = cli(...args)
      assert.deepStrictEqual({ status: r.status, stdout: r.stdout, stderr: r.stderr.trimEnd() }, { status: 2, stdout: "", stderr: line }, args.join(" "))
    }
    assert.strictEqual(cli("audit", "twice", "-o", "json").stdout, before)
  })
})
