/**
 * What a definition may read, and what an error may repeat, through the real CLI: a file that
 * names something outside its folder tree is refused with one line that says how to allow it, no
 * event is appended, and a secret the file could have reached appears in no output;
 * `--allow-outside DIR` (repeatable), `allowOutside` in the library, widens the rule.
 */
import { createTerrarium } from "@terrarium/app"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { type CliResult, json, runCli, tempDir } from "./support/cli.ts"

const SECRET = "SECRET_TOKEN_abc123"
const home = tempDir("terrarium-hardening-")
const files = tempDir("terrarium-hardening-files-")
afterAll(() => {
  home.remove()
  files.remove()
})
const env = { TERRARIUM_HOME: home.path }
const cli = (...args: Array<string>) => runCli(args, env)
const head = () => json<{ headPosition: number }>(cli("db", "status", "-o", "json")).headPosition

const write = (tree: Record<string, string>) => {
  for (const [path, text] of Object.entries(tree)) {
    mkdirSync(dirname(join(files.path, path)), { recursive: true })
    writeFileSync(join(files.path, path), text)
  }
}

/** A failed command: exit 1, one line on stderr, nothing on stdout, no secret anywhere. */
const refused = (r: CliResult) => {
  assert.strictEqual(r.status, 1, r.stderr)
  assert.strictEqual(r.stdout, "")
  assert.match(r.stderr, /^[^\n]+\n$/, r.stderr)
  assert.notInclude(r.stderr, SECRET)
  return r.stderr.trimEnd()
}

describe("terrarium environment create: what a definition may read", () => {
  write({
    "outside/secret.txt": `${SECRET}\n`,
    "outside/conda.yml": "dependencies:\n  - python=3.11\n",
    "outside/environ": `PATH=/usr/bin\u0000API_KEY=${SECRET}\u0000`
  })

  it("a Dockerfile outside the build context is refused, and nothing is stored", { timeout: 120_000 }, () => {
    write({ "project/env.yml": "name: leak\nbuild:\n  path: ctx\n  dockerfile_path: ../../outside/secret.txt\n", "project/ctx/app.py": "" })
    const before = head()
    const line = refused(cli("environment", "create", "--file", join(files.path, "project/env.yml")))
    assert.include(line, "build.dockerfile_path")
    assert.include(line, `--allow-outside ${join(files.path, "outside")}`)
    assert.strictEqual(head(), before)
  })

  it("a bad line of an included file is reported without the line", { timeout: 120_000 }, () => {
    write({ "project/requirements.txt": "numpy\n-r ../outside/environ\n" })
    const before = head()
    const outside = refused(cli("environment", "create", "--name", "inc", "--file", join(files.path, "project/requirements.txt")))
    assert.include(outside, "outside the environment file's folder")
    // Allowed, the include is read, and its bad line quoted only by a word.
    const allowed = refused(cli(
      "environment", "create", "--name", "inc", "--file", join(files.path, "project/requirements.txt"),
      "--allow-outside", join(files.path, "outside")
    ))
    assert.include(allowed, "invalid pip requirement")
    assert.strictEqual(head(), before)
  })

  it("--allow-outside, repeatable, lets a conda file outside the folder be read", { timeout: 120_000 }, () => {
    write({ "project/env.yml": "name: widened\nimage: python:3.11\nconda_file: ../outside/conda.yml\n" })
    const file = join(files.path, "project/env.yml")
    refused(cli("environment", "create", "--file", file))
    const created = json(cli(
      "environment", "create", "--file", file,
      "--allow-outside", join(files.path, "project"), "--allow-outside", join(files.path, "outside"), "-o", "json"
    ))
    assert.deepStrictEqual([created.name, created.version, created.created], ["widened", "1", true])
  })
})

describe("createFromFile: what a definition may read", () => {
  it("refuses a conda file outside the folder with a typed error, appends nothing, and reads it when allowOutside names its folder", { timeout: 120_000 }, async () => {
    write({
      "lib/outside/conda.yml": `dependencies:\n  - python=3.11\n  - numpy >>1 ${SECRET}\n`,
      "lib/outside/good.yml": "dependencies:\n  - python=3.11\n",
      "lib/project/bad.yml": "name: lib-bad\nimage: python:3.11\nconda_file: ../outside/conda.yml\n",
      "lib/project/good.yml": "name: lib-good\nimage: python:3.11\nconda_file: ../outside/good.yml\n"
    })
    const t = await createTerrarium({ dataDir: join(files.path, "lib-data"), actor: "lib-test" })
    try {
      const outside = await t.createFromFile(join(files.path, "lib/project/good.yml")).then(() => undefined, (e: unknown) => e)
      assert.strictEqual((outside as { _tag?: string })._tag, "ImportError")
      assert.include(String((outside as Error).message), "outside the environment file's folder")
      const allowOutside = [join(files.path, "lib/outside")]
      // Allowed, a bad line of the file is reported by a word of it, never the line with the secret.
      const bad = await t.createFromFile(join(files.path, "lib/project/bad.yml"), { allowOutside }).then(() => undefined, (e: unknown) => e)
      assert.include(String((bad as Error).message), "invalid conda version spec")
      assert.notInclude(JSON.stringify(bad) + String((bad as Error).message), SECRET)
      const listed = await t.environments()
      assert.deepStrictEqual(listed, [])
      const created = await t.createFromFile(join(files.path, "lib/project/good.yml"), { allowOutside })
      assert.deepStrictEqual([created.name, created.version, created.created], ["lib-good", "1", true])
    } finally {
      await t.close()
    }
  })
})
