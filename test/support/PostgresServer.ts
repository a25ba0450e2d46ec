/**
 * A PostgreSQL server of a test's own, for the fault tests: the machine's PostgreSQL binaries
 * (Debian's `/usr/lib/postgresql/<version>/bin`, the newest there) run `initdb` into a temporary
 * folder, and the test runs `postgres` itself on a free loopback port, so it can stop the server
 * (by its PID) in the middle of an operation and start it again on the same port with the same
 * data. Trust authentication, user `postgres`, database `postgres`, no Unix socket outside the
 * folder. As root (initdb refuses root), the server runs as the `postgres` user.
 *
 * There is no skip: without the binaries the test fails, under `CI=true` or not.
 */
import { execFileSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, serverProcess } from "./ServerProcess.ts"

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string
  readonly port: number
  /**
   * Stops the server by its PID and waits for it to exit: `immediate` (SIGQUIT, as a crash:
   * connections cut, recovery from the WAL on the next start) or `fast` (SIGINT: open
   * transactions rolled back, then a clean shutdown).
   */
  readonly stop: (mode?: "immediate" | "fast") => Promise<void>
  /** Starts it again on the same port with the same data (nothing when it runs). */
  readonly start: () => Promise<void>
  /** Stops it and removes its data. */
  readonly dispose: () => Promise<void>
}

/** The bin folder of the newest PostgreSQL the machine has, or a clear error. */
export const postgresBinaries = (): string => {
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root} (apt-get install postgresql)`)
  return join(root, versions[0]!, "bin")
}

/** The user the server runs as: this one, or `postgres` when this one is root. */
const serverUser = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim())
  return { uid: id("-u"), gid: id("-g") }
}

export const startPostgresServer = async (): Promise<PostgresServer> => {
  const bin = postgresBinaries()
  const root = mkdtempSync(join(tmpdir(), "terrarium-postgres-"))
  const data = join(root, "data")
  const user = serverUser()
  if (user !== undefined) chownSync(root, user.uid, user.gid)
  execFileSync(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"], {
    stdio: ["ignore", "ignore", "pipe"],
    ...user
  })
  const port = await freePort()
  const server = serverProcess({
    name: "PostgreSQL",
    command: join(bin, "postgres"),
    args: [
      "-D", data, "-p", String(port), "-h", "127.0.0.1", "-k", root,
      "-c", "fsync=off", "-c", "max_connections=60", "-c", "shared_buffers=16MB"
    ],
    spawn: user,
    readyWhen: { output: /database system is ready to accept connections/ },
    timeoutSeconds: 30
  })
  const stop = (mode: "immediate" | "fast" = "immediate") => server.stop(mode === "immediate" ? "SIGQUIT" : "SIGINT")

  await server.start()
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start: server.start,
    dispose: async () => {
      await stop("fast")
      rmSync(root, { recursive: true, force: true })
    }
  }
}
