/**
 * An impossible PGlite data directory is refused at once, in words naming it (src/sql/DataDirectory.ts);
 * PGlite's own file-system errors (Emscripten errno numbers) are put in words too.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DataDirectoryProblem, ensureDirectory, inWords } from "../../src/sql/DataDirectory.ts"

const temp = () => mkdtempSync(join(tmpdir(), "terrarium-datadir-"))

const problemOf = (path: string): string => {
  try {
    ensureDirectory(path)
  } catch (e) {
    assert.instanceOf(e, DataDirectoryProblem)
    return (e as Error).message
  }
  return assert.fail(`${path} was accepted`)
}

const moduleUrl = new URL("../../src/sql/DataDirectory.ts", import.meta.url).href

/**
 * `ensureDirectory` in a child process that runs as an unprivileged user when this one is root
 * (root may write anywhere, so permissions would go unchecked), with a deadline: the Node call it
 * replaces never returned for some paths.
 */
const ensureInChild = (path: string) => {
  const asRoot = process.getuid?.() === 0
  const r = spawnSync(process.execPath, [
    "--input-type=module",
    "-e",
    `import { ensureDirectory } from ${JSON.stringify(moduleUrl)}
     try { ensureDirectory(${JSON.stringify(path)}); process.stdout.write("ok") } catch (e) { process.stdout.write(e.message) }`
  ], { encoding: "utf8", timeout: 20_000, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) })
  assert.strictEqual(r.error, undefined, `the check of ${path} ended: ${String(r.error)}`)
  return r.stdout
}

describe("PGlite data directory", () => {
  it("is made with its missing parents", () => {
    const dir = temp()
    try {
      ensureDirectory(join(dir, "a", "b", "data"))
      assert.isTrue(statSync(join(dir, "a", "b", "data")).isDirectory())
      ensureDirectory(join(dir, "a", "b", "data")) // an existing one is fine
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("under /proc is refused by the file system's type, at once", () => {
    const started = Date.now()
    assert.match(ensureInChild("/proc/x/data"), /^the PGlite data directory \/proc\/x\/data cannot be used: \/proc is on a virtual file system \(proc\)/)
    assert.match(problemOf("/proc/self"), /\/proc\/self is on a virtual file system \(proc\)/)
    assert.isBelow(Date.now() - started, 15_000)
  })

  it("a file, a file as a parent, or a device is not a directory", () => {
    const dir = temp()
    try {
      const file = join(dir, "file")
      writeFileSync(file, "x")
      assert.strictEqual(problemOf(file), `the PGlite data directory ${file} cannot be used: ${file} is a file, not a directory`)
      assert.strictEqual(
        problemOf(join(file, "data")),
        `the PGlite data directory ${join(file, "data")} cannot be used: ${file} is a file, not a directory, so nothing can be made under it`
      )
      assert.match(problemOf("/dev/null"), /\/dev\/null is a device, not a directory$/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("without permission to create it or to write in it", () => {
    const dir = temp()
    try {
      chmodSync(dir, 0o755)
      const locked = join(dir, "locked")
      mkdirSync(locked, { mode: 0o555 })
      chmodSync(locked, 0o555)
      assert.strictEqual(
        ensureInChild(join(locked, "data")),
        `the PGlite data directory ${join(locked, "data")} cannot be used: cannot create ${join(locked, "data")}: permission denied`
      )
      assert.strictEqual(
        ensureInChild(locked),
        `the PGlite data directory ${locked} cannot be used: ${locked} cannot be written: permission denied`
      )
      assert.isFalse(existsSync(join(locked, "data")))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("PGlite's file-system errors are put in words naming the directory; others are kept", () => {
    // PGlite's Emscripten file system throws plain objects like these (not Errors), numbered its own way.
    const errno = (n: number) => ({ name: "ErrnoError", errno: n })
    assert.strictEqual(
      (inWords("/srv/data", errno(51)) as Error).message,
      "the PGlite data directory /srv/data cannot be used: no space left on the device (the disk is full)"
    )
    assert.strictEqual(
      (inWords("/srv/data", errno(69)) as Error).message,
      "the PGlite data directory /srv/data cannot be used: the file system is read-only"
    )
    assert.strictEqual(
      (inWords("/srv/data", errno(2)) as Error).message,
      "the PGlite data directory /srv/data cannot be used: permission denied"
    )
    const nodeError = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
    assert.match((inWords("/srv/data", nodeError) as Error).message, /the disk is full/)
    assert.strictEqual((inWords("/srv/data", nodeError) as Error).cause, nodeError)
    const sqlError = new Error("relation \"x\" does not exist")
    assert.strictEqual(inWords("/srv/data", sqlError), sqlError)
    const unknownErrno = errno(9999)
    assert.strictEqual(inWords("/srv/data", unknownErrno), unknownErrno)
  })
})
