/**
 * One process at a time on a PGlite data directory (src/sql/DataDirectoryLock.ts). Without the
 * lock, two processes appending to one directory lose acknowledged events; with it, the second
 * waits for the first and every acknowledged event is there.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@terrarium/domain"
import { Effect, Exit, Layer, Stream } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { Database } from "../../src/sql/Database.ts"
import { commandOf, dataDirectoryPathOf, lockFileOf, type LockOwner } from "../../src/sql/DataDirectoryLock.ts"

const child = fileURLToPath(new URL("../event-store/fixtures/append-n.ts", import.meta.url))

const appendInChild = (dataDir: string, count: number, stream: string) =>
  new Promise<{ acks: Map<string, number>; stderr: string }>((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dataDir, String(count), stream], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    proc.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    proc.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`child for ${stream} exited with ${code}: ${stderr}`))
      const acks = new Map<string, number>()
      for (const line of stdout.split("\n")) {
        const [tag, position, id] = line.split(" ")
        if (tag === "ack" && position !== undefined && id !== undefined) acks.set(id, Number(position))
      }
      resolve({ acks, stderr })
    })
  })

const tempDataDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "terrarium-lock-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => join(dir, "data")))

const openStore = (dataDir: string, lock?: Parameters<typeof Database.layerPglite>[0] extends infer O ? O extends { lock?: infer L } ? L : never : never) =>
  Layer.build(SqlEventStore.layer.pipe(Layer.provide(Database.layerPglite({ dataDir, ...(lock !== undefined ? { lock } : {}) }).pipe(Layer.provide(NodeServices.layer)))))

/** A pid that is certainly not running: a child that has exited and been reaped. */
const deadPid = () => {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" })
  return Number(r.stdout)
}

const fakeOwner = (pid: number, host = hostname()): LockOwner => ({ pid, hostname: host, since: new Date().toISOString(), command: "test" })

describe("PGlite data directory lock", () => {
  it.live("two processes appending to one data directory: every acknowledged event is kept", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDataDir
      const [a, b] = yield* Effect.promise(() => Promise.all([appendInChild(dataDir, 150, "a"), appendInChild(dataDir, 150, "b")]))
      assert.strictEqual(a.acks.size + b.acks.size, 300)
      // One of them found the other holding the directory and waited.
      assert.match(a.stderr + b.stderr, /waiting for \d+/)

      const stored = yield* Effect.gen(function* () {
        const store = yield* EventStore
        return yield* Stream.runCollect(store.readAll({ after: 0 }))
      }).pipe(Effect.provide(SqlEventStore.layer.pipe(Layer.provide(Database.layerPglite({ dataDir }).pipe(Layer.provide(NodeServices.layer))))))
      const byId = new Map(stored.map((e) => [e.id, e.position]))
      for (const [id, position] of [...a.acks, ...b.acks]) {
        assert.strictEqual(byId.get(id), position, `acknowledged event ${id} at ${position} is missing`)
      }
      assert.strictEqual(stored.length, 300)
      assert.isFalse(existsSync(lockFileOf(dataDir)), "the lock file is removed when the last process closes")
    }), 120_000)

  it.live("a lock left by a process that is gone is taken over at once", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDataDir
      const owner = fakeOwner(deadPid())
      writeFileSync(lockFileOf(dataDir), JSON.stringify(owner))
      const waited: Array<LockOwner> = []
      yield* Effect.scoped(openStore(dataDir, { timeout: "5 seconds", onWait: (o) => waited.push(o) }).pipe(
        Effect.tap(() => Effect.sync(() => assert.strictEqual(JSON.parse(readFileSync(lockFileOf(dataDir), "utf8")).pid, process.pid)))
      ))
      assert.deepStrictEqual(waited, [])
      assert.isFalse(existsSync(lockFileOf(dataDir)))
    }), 60_000)

  it.live("a live owner is waited for, then named in the error; its lock is left alone", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDataDir
      // The parent of this test process: alive for the whole test, and not us.
      const owner = fakeOwner(process.ppid)
      const text = JSON.stringify(owner)
      writeFileSync(lockFileOf(dataDir), text)
      const waited: Array<LockOwner> = []
      const exit = yield* Effect.exit(Effect.scoped(openStore(dataDir, { timeout: "300 millis", onWait: (o) => waited.push(o) })))
      assert.isTrue(Exit.isFailure(exit))
      const message = String(Exit.isFailure(exit) ? exit.cause : "")
      assert.include(message, `in use by process ${process.ppid} on ${hostname()} (test)`)
      assert.include(message, "TERRARIUM_DATABASE_URL")
      assert.strictEqual(waited.length, 1, "onWait is called once, when waiting starts")
      assert.strictEqual(readFileSync(lockFileOf(dataDir), "utf8"), text)
      assert.isFalse(existsSync(join(dataDir, "PG_VERSION")), "PGlite never opened the directory")
    }), 60_000)

  it.live("a lock held from another host cannot be checked and counts as live", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDataDir
      writeFileSync(lockFileOf(dataDir), JSON.stringify(fakeOwner(deadPid(), "some-other-host")))
      const exit = yield* Effect.exit(Effect.scoped(openStore(dataDir, { timeout: "200 millis" })))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "on some-other-host")
    }), 60_000)

  it.live("the same directory opened twice in one process fails at once", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDataDir
      yield* Effect.scoped(Effect.gen(function* () {
        yield* openStore(dataDir)
        const started = Date.now()
        const exit = yield* Effect.exit(Effect.scoped(openStore(dataDir, { timeout: "10 seconds" })))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "already open in this process")
        assert.isBelow(Date.now() - started, 5_000, "no waiting for itself")
      }))
      // And after the first one closes, it opens again.
      yield* Effect.scoped(openStore(dataDir))
    }), 60_000)

  it.live("a file:// data directory is locked on the path it names, the same lock as its plain form", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDataDir
      yield* Effect.scoped(Effect.gen(function* () {
        yield* openStore(`file://${dataDir}`)
        assert.strictEqual(JSON.parse(readFileSync(lockFileOf(dataDir), "utf8")).pid, process.pid)
        const exit = yield* Effect.exit(Effect.scoped(openStore(dataDir, { timeout: "10 seconds" })))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "already open in this process")
      }))
      assert.isFalse(existsSync(lockFileOf(dataDir)), "released when closed")
    }), 60_000)

  it("locks what PGlite opens on disk: paths and file:// paths, not memory:// or browser storage", () => {
    assert.strictEqual(dataDirectoryPathOf("/srv/terrarium/db"), "/srv/terrarium/db")
    assert.strictEqual(dataDirectoryPathOf("relative/db"), "relative/db")
    assert.strictEqual(dataDirectoryPathOf("file:///srv/terrarium/db"), "/srv/terrarium/db")
    assert.strictEqual(dataDirectoryPathOf("file://relative/db"), "relative/db")
    // PGlite knows no other scheme: it opens this as a relative path, so it is locked as one.
    assert.strictEqual(dataDirectoryPathOf("s3://bucket/db"), "s3://bucket/db")
    for (const elsewhere of ["memory://", "memory://named", "idb://db", "opfs-ahp://db", "memfs2opfs://db", "", "file://"]) {
      assert.isUndefined(dataDirectoryPathOf(elsewhere), elsewhere)
    }
  })

  it("the lock names the owner's command without its flags, which may hold secrets", () => {
    assert.strictEqual(
      commandOf(["/usr/bin/node", "/opt/terrarium/bin/terrarium.ts", "environment", "create", "--registry-password", "s3cret", "x"]),
      "terrarium.ts environment create"
    )
    assert.strictEqual(commandOf(["/usr/bin/node", "/srv/app.js"]), "app.js")
  })
})
