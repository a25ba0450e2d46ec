/**
 * Azurite, Microsoft's Blob storage emulator, started for the tests on a free loopback port and
 * stopped by its PID. Always with `--disableTelemetry` (without it Azurite calls a cloud metadata
 * address). Data lives in a temporary folder, so a test can stop it and start it again on the
 * same port with the blobs still there (the fault tests). There is no skip: Azurite is a dev
 * dependency, so a test that needs it fails when it cannot start, under `CI=true` or not.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
const DEV_ACCOUNT = "devstoreaccount1"
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

const mainScript = () => join(dirname(createRequire(import.meta.url).resolve("azurite/package.json")), "dist/src/blob/main.js")

export interface Azurite {
  readonly connectionString: string
  readonly port: number
  /** Stops the process (by its PID) and waits for it to exit. */
  readonly stop: () => Promise<void>
  /** Starts it again on the same port with the same data. */
  readonly restart: () => Promise<void>
  /** Stops it and removes its data. */
  readonly dispose: () => Promise<void>
}

const launch = (location: string, port: number): Promise<{ child: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      mainScript(), "--blobHost", "127.0.0.1", "--blobPort", String(port), "--location", location,
      "--skipApiVersionCheck", "--disableProductStyleUrl", "--disableTelemetry", "--loose"
    ], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`Azurite did not start in 30 s:\n${output}`))
    }, 30_000)
    const onData = (data: Buffer) => {
      output += data.toString()
      const listening = /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (listening !== null) {
        clearTimeout(timer)
        resolve({ child, port: Number(listening[1]) })
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`Azurite exited (${code}) before listening:\n${output}`))
    })
  })

const terminate = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/** Starts Azurite on a free port (the OS picks it: `--blobPort 0`). */
export const startAzurite = async (): Promise<Azurite> => {
  const location = mkdtempSync(join(tmpdir(), "terrarium-azurite-"))
  let running = await launch(location, 0)
  const port = running.port
  const stop = () => terminate(running.child)
  return {
    port,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=http://127.0.0.1:${port}/${DEV_ACCOUNT};`,
    stop,
    restart: async () => {
      await stop()
      running = await launch(location, port)
    },
    dispose: async () => {
      await stop()
      rmSync(location, { recursive: true, force: true })
    }
  }
}
