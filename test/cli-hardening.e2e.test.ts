/**
 * The CLI under a hostile or careless hand, as real child processes: impossible data directories
 * are an error in words, and every command answers SIGTERM promptly and lets go of the data
 * directory.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { bin, cliEnv, repoRoot, runCli, tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-hardening-")
const env = { TERRARIUM_HOME: home.path }

/** One line on stderr, nothing on stdout, the exit code. */
const failure = (r: { status: number; stdout: string; stderr: string }, what = "") => {
  assert.strictEqual(r.stdout, "", `${what}: nothing on stdout`)
  assert.match(r.stderr, /^[^\n]+\n$/, `${what}: one line on stderr, got:\n${r.stderr}`)
  return { status: r.status, line: r.stderr.trimEnd() }
}

const start = (args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] })
  let stderr = ""
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, exited, stderr: () => stderr }
}

const until = async (what: string, ok: () => boolean, ms = 60_000) => {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Sends SIGTERM (or Ctrl-C's SIGINT) and measures how long the process takes to end. */
const terminate = async (p: { child: ChildProcess; exited: Promise<unknown> }, signal: NodeJS.Signals = "SIGTERM") => {
  const sent = Date.now()
  p.child.kill(signal)
  const exit = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r("still running"), 20_000))])
  if (exit === "still running") p.child.kill("SIGKILL")
  return { exit, ms: Date.now() - sent }
}

/** Whether this process may mount a small tmpfs (root on Linux) to make a full disk. */
const tmpfs = (() => {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return undefined
  const dir = join(home.path, "full")
  mkdirSync(dir)
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir])
  return r.status === 0 ? dir : undefined
})()
afterAll(() => {
  if (tmpfs !== undefined) spawnSync("umount", [tmpfs])
  home.remove()
})

describe("an impossible data directory", () => {
  it("under /proc is refused in words, at once (it spun for minutes, deaf to SIGTERM)", { timeout: 60_000 }, () => {
    const started = Date.now()
    const r = runCli(["--data-dir", "/proc/x/data", "environment", "list"], env)
    assert.deepStrictEqual(failure(r), {
      status: 1,
      line: "terrarium: database open failed: the PGlite data directory /proc/x/data cannot be used: /proc is on a virtual file system (proc) that cannot hold files"
    })
    assert.isBelow(Date.now() - started, 30_000)
  })

  it("a file instead of a directory is said to be one", { timeout: 60_000 }, () => {
    const file = join(home.path, "not-a-dir")
    writeFileSync(file, "x")
    assert.deepStrictEqual(failure(runCli(["--data-dir", file, "environment", "list"], env)), {
      status: 1,
      line: `terrarium: database open failed: the PGlite data directory ${file} cannot be used: ${file} is a file, not a directory`
    })
  })

  it.runIf(tmpfs !== undefined)("a full disk at first open is said to be full (it was `ErrnoError errno 51`)", { timeout: 120_000 }, () => {
    const dataDir = join(tmpfs!, "data")
    assert.deepStrictEqual(failure(runCli(["--data-dir", dataDir, "environment", "list"], env)), {
      status: 1,
      line: `terrarium: database open failed: the PGlite data directory ${dataDir} cannot be used: no space left on the device (the disk is full)`
    })
    assert.isFalse(existsSync(`${dataDir}.lock`), "the lock is released")
  })
})

describe("SIGTERM and Ctrl-C", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("%s ends a command waiting for a data directory another process holds, leaving that one's lock alone", { timeout: 120_000 }, async (signal) => {
    const dataDir = join(home.path, `busy-${signal}`)
    // A live process on this host holds the directory.
    const holder = spawn("sleep", ["600"], { stdio: "ignore" })
    try {
      const owner = JSON.stringify({ pid: holder.pid, hostname: hostname(), since: new Date().toISOString(), command: "test" })
      writeFileSync(`${dataDir}.lock`, owner)
      const waiter = start(["--data-dir", dataDir, "environment", "list"])
      await until("the waiting message", () => waiter.stderr().includes("waiting for process"))
      const { exit, ms } = await terminate(waiter, signal)
      // It waited the whole 60 seconds of the lock's timeout before: the wait was uninterruptible.
      assert.notStrictEqual(exit, "still running")
      assert.isBelow(ms, 5_000)
      assert.strictEqual(readFileSync(`${dataDir}.lock`, "utf8"), owner)
    } finally {
      holder.kill("SIGKILL")
    }
  })

  it("ends a command that has the data directory open, and releases it", { timeout: 120_000 }, async () => {
    const dataDir = join(home.path, "open")
    // An existing database: opening it is the long part of a short command.
    assert.strictEqual(runCli(["--data-dir", dataDir, "environment", "list"], env).status, 0)
    const p = start(["--data-dir", dataDir, "environment", "list"])
    await until("the lock", () => existsSync(`${dataDir}.lock`))
    const { exit, ms } = await terminate(p)
    assert.notStrictEqual(exit, "still running")
    assert.isBelow(ms, 10_000)
    assert.isFalse(existsSync(`${dataDir}.lock`), "the lock is released")
    // And the directory opens again at once.
    assert.strictEqual(runCli(["--data-dir", dataDir, "environment", "list"], env).status, 0)
  })
})

describe("exit codes as the README promises", () => {
  const dataDir = join(home.path, "exit-codes")
  // A database URL in the environment is only read without --data-dir.
  const cli = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
    runCli([...(extra["TERRARIUM_DATABASE_URL"] === undefined ? ["--data-dir", dataDir] : []), ...args], { ...env, ...extra })
  const refRule = "(expected NAME, NAME:VERSION or NAME@LABEL)"
  const nameRule = "an environment name starts with a letter or digit and has up to 255 letters, digits, '-', '_' or '.'"
  const schemaRule = "a PostgreSQL schema name is 1-63 letters, digits or '_', not starting with a digit"

  // [what, arguments, extra environment, exit code, the line on stderr]. The cases the README's
  // table names that `cli.e2e.test.ts` does not cover already.
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, Record<string, string>, 1 | 2, string]> = [
    // A value that breaks a rule: 2 (a broken REF was "not found", 1, unless its name was broken).
    ["a REF whose name has a space", ["environment", "show", "a b:1"], {}, 2,
      `terrarium: invalid environment reference "a b:1": "a b" is not a valid environment name ${refRule}`],
    ["a REF whose version breaks its rule", ["environment", "show", "pydata:x y"], {}, 2,
      `terrarium: invalid environment reference "pydata:x y": "x y" is not a valid version ${refRule}`],
    ["a REF whose label breaks its rule", ["environment", "archive", "pydata@Prod"], {}, 2,
      `terrarium: invalid environment reference "pydata@Prod": "Prod" is not a valid label ${refRule}`],
    ["an audited name with a space", ["audit", "a b"], {}, 2, `terrarium: name "a b": ${nameRule}`],
    ["a listed --name with a space", ["environment", "list", "--name", "a b"], {}, 2, `terrarium: --name "a b": ${nameRule}`],
    ["a --database-schema that is no identifier", ["environment", "list", "--database-schema", "x y"], {}, 2,
      `terrarium: --database-schema "x y": ${schemaRule}`],
    // (a URL to nowhere: the schema is refused before anything is opened)
    ["a TERRARIUM_DATABASE_SCHEMA that is no identifier", ["db", "status"], {
      TERRARIUM_DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
      TERRARIUM_DATABASE_SCHEMA: "public; drop table events"
    }, 2, `terrarium: TERRARIUM_DATABASE_SCHEMA "public; drop table events": ${schemaRule}`],
    ["a missing argument", ["environment", "show"], {}, 2, "terrarium: Missing required argument: ref"],
    // Understood but not possible: 1.
    ["an unknown environment by a valid REF", ["environment", "show", "ghost:1"], {}, 1,
      "terrarium: environment 'ghost' does not exist; define or create it before using it"]
  ]

  it("each case exits with its code and one line", { timeout: 300_000 }, () => {
    for (const [what, args, extra, status, line] of cases) {
      assert.deepStrictEqual(failure(cli(args, extra), what), { status, line }, what)
    }
  })

  it("a database that cannot be reached is 1", { timeout: 120_000 }, () => {
    const r = runCli(["db", "status", "--database-url", "postgres://nobody@127.0.0.1:1/none"], env)
    assert.strictEqual(failure(r).status, 1)
  })
})

describe("control characters", () => {
  it("from a description, a tag, a variable and --actor are shown, not obeyed, in show and audit; JSON keeps them", { timeout: 120_000 }, () => {
    const dataDir = join(home.path, "controls")
    const cli = (...args: Array<string>) => runCli(["--data-dir", dataDir, ...args], env)
    const clear = "\u001b[2J\u001b]0;pwned\u0007"
    const created = cli(
      "--actor", `ev${clear}il`, "environment", "create", "--name", "x", "--image", "python:3.11",
      "--description", `a${clear}\u202eb`, "--tag", `k=v\u2066`
    )
    assert.strictEqual(created.status, 0, created.stderr)
    assert.strictEqual(cli("environment", "set-variable", "x", `A=${clear}`).status, 0)
    const shown = cli("environment", "show", "x:1")
    const audited = cli("audit", "x")
    const inert = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u
    for (const r of [shown, audited]) {
      assert.strictEqual(r.status, 0, r.stderr)
      assert.notMatch(r.stdout, inert)
    }
    assert.include(shown.stdout, String.raw`description: a\x1b[2J\x1b]0;pwned\x07\u202eb`)
    assert.include(shown.stdout, String.raw`tags:        k=v\u2066`)
    assert.include(audited.stdout, String.raw`ev\x1b[2J\x1b]0;pwned\x07il`)
    assert.strictEqual(JSON.parse(cli("environment", "show", "x:1", "-o", "json").stdout).definition.description, `a${clear}\u202eb`)
    const refused = failure(cli("environment", "show", `x${clear}`))
    assert.notMatch(refused.line, inert)
    assert.include(refused.line, String.raw`"x\x1b[2J\x1b]0;pwned\x07"`)
  })
})
