/**
 * scripts/demo.sh (`pnpm demo`) keeps to a registry of its own: run in a copy of the checkout
 * whose `node` only records how it was called, so the test is quick and touches nothing real.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { repoRoot, tempDir } from "./support/cli.ts"

describe("scripts/demo.sh", () => {
  const sandbox = tempDir("terrarium-demo-")
  afterAll(() => sandbox.remove())

  it("uses .terrarium/demo whatever TERRARIUM_HOME says, deletes nothing else, and says so first", { timeout: 60_000 }, () => {
    const checkout = join(sandbox.path, "checkout")
    mkdirSync(join(checkout, "scripts"), { recursive: true })
    mkdirSync(join(checkout, "node_modules/.bin"), { recursive: true })
    copyFileSync(join(repoRoot, "scripts/demo.sh"), join(checkout, "scripts/demo.sh"))
    const calls = join(sandbox.path, "calls")
    const fakeNode = join(checkout, "node_modules/.bin/node")
    writeFileSync(fakeNode, `#!/bin/sh\necho "$TERRARIUM_HOME|\${TERRARIUM_DATABASE_URL-unset}|$*" >> "${calls}"\n`)
    chmodSync(fakeNode, 0o755)

    // A user's own registry, and a demo registry left over from an earlier run.
    const userHome = join(sandbox.path, "my-registry")
    mkdirSync(userHome)
    writeFileSync(join(userHome, "keep"), "precious")
    const demoHome = join(checkout, ".terrarium/demo")
    mkdirSync(demoHome, { recursive: true })
    writeFileSync(join(demoHome, "stale"), "")

    const r = spawnSync("bash", [join(checkout, "scripts/demo.sh")], {
      env: { ...process.env, TERRARIUM_HOME: userHome, TERRARIUM_DATABASE_URL: "postgres://someone@db.example/prod" },
      encoding: "utf8"
    })
    assert.strictEqual(r.status, 0, r.stderr)
    assert.isTrue(existsSync(join(userHome, "keep")), "the user's registry is left alone")
    assert.strictEqual(r.stdout.split("\n")[0], `Terrarium demo: a fresh embedded registry (PGlite) in ${demoHome};`)
    assert.isFalse(existsSync(join(demoHome, "stale")), "the demo starts from an empty registry")
    const lines = readFileSync(calls, "utf8").trimEnd().split("\n")
    assert.isAbove(lines.length, 5)
    for (const line of lines) {
      const [home, databaseUrl] = line.split("|")
      assert.deepStrictEqual([home, databaseUrl], [demoHome, "unset"], line)
    }
  })
})
