/**
 * An acknowledged append on a PGlite data directory survives the process being killed
 * (SIGKILL: no shutdown, no flush). See docs/event-store.md for why, and for what power loss does.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@terrarium/domain"
import { Effect, Layer, Stream } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { SqlEventStore } from "../../src/event-store/sql/SqlEventStore.ts"
import { Database } from "../../src/sql/Database.ts"

const child = fileURLToPath(new URL("./fixtures/append-until-killed.ts", import.meta.url))

/** Run the child until it has printed `acks` acknowledgements, then SIGKILL it. */
const runAndKill = (dataDir: string, acks: number) =>
  new Promise<Map<string, number>>((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dataDir], { stdio: ["ignore", "pipe", "pipe"] })
    const acknowledged = new Map<string, number>()
    let buffer = ""
    let stderr = ""
    let killed = false
    proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    proc.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split("\n")
      buffer = lines.pop() ?? ""
      for (const line of lines) {
        const [tag, position, id] = line.split(" ")
        if (tag === "ack" && position !== undefined && id !== undefined) acknowledged.set(id, Number(position))
      }
      if (!killed && acknowledged.size >= acks) {
        killed = true
        proc.kill("SIGKILL")
      }
    })
    proc.on("exit", (code, signal) => {
      if (signal === "SIGKILL" && killed) resolve(acknowledged)
      else reject(new Error(`child ${process.execPath} exited early (code ${code}, signal ${signal}): ${stderr} ${buffer} ${acknowledged.size}`))
    })
  })

describe("PGlite durability", () => {
  it.live("every acknowledged append survives SIGKILL of the writing process", () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "terrarium-durability-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))

      // Twice: the second run recovers the first crash, then is killed itself.
      const first = yield* Effect.promise(() => runAndKill(dataDir, 300))
      const second = yield* Effect.promise(() => runAndKill(dataDir, 300))
      assert.isAtLeast(first.size, 300)
      assert.isAtLeast(second.size, 300)

      const stored = yield* Effect.gen(function* () {
        const store = yield* EventStore
        return yield* Stream.runCollect(store.readAll({ after: 0, batchSize: 1000 }))
      }).pipe(Effect.provide(SqlEventStore.layer.pipe(Layer.provide(Database.layerPglite({ dataDir }).pipe(Layer.provide(NodeServices.layer))))))

      const byId = new Map(stored.map((e) => [e.id, e.position]))
      for (const [id, position] of [...first, ...second]) {
        assert.strictEqual(byId.get(id), position, `acknowledged event ${id} at ${position} lost after SIGKILL`)
      }
      stored.forEach((e, i) => assert.strictEqual(e.position, i + 1, "positions stay dense across crashes"))
    }), 120_000)
})
