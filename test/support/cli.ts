/**
 * Runs the real `terrarium` executable in a child process (Node 24, the test runner's own
 * `process.execPath`), the way a user at a terminal does.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url))
export const bin = join(repoRoot, "packages/app/bin/terrarium.mjs")

export interface CliResult {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

/** Environment for a CLI run: no inherited database URL, so the embedded default is used. */
export const cliEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  if (extra["TERRARIUM_DATABASE_URL"] === undefined) delete env["TERRARIUM_DATABASE_URL"]
  return env
}

export const runCli = (args: ReadonlyArray<string>, env: Record<string, string>, cwd = repoRoot): CliResult => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, env: cliEnv(env), encoding: "utf8", timeout: 120_000 })
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

export const runCliAsync = (args: ReadonlyArray<string>, env: Record<string, string>, cwd = repoRoot): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: cliEnv(env) })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr }))
  })

/** Parses `--output json` and fails with the whole output when the command did not succeed. */
export const json = <A = any>(r: CliResult): A => {
  if (r.status !== 0) throw new Error(`command failed (${r.status}):\n${r.stderr}\n${r.stdout}`)
  return JSON.parse(r.stdout) as A
}

export const tempDir = (prefix: string): { readonly path: string; readonly remove: () => void } => {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/**
 * The settings of a CLI run against PostgreSQL with build workers, fast enough for a test: the
 * in-memory builder with 100 ms steps, a 2 s lease, a 1 s supervision of the queue.
 */
export const workerEnv = (base: { readonly home: string; readonly databaseUrl: string; readonly schema?: string }, extra: Record<string, string> = {}) => ({
  TERRARIUM_HOME: base.home,
  TERRARIUM_DATABASE_URL: base.databaseUrl,
  ...(base.schema === undefined ? {} : { TERRARIUM_DATABASE_SCHEMA: base.schema }),
  TERRARIUM_IMAGE_BUILDER: "memory",
  TERRARIUM_MEMORY_BUILD_STEP_MS: "100",
  TERRARIUM_BUILD_LEASE_SECONDS: "2",
  TERRARIUM_BUILD_JOB_HEARTBEAT_SECONDS: "10",
  TERRARIUM_BUILD_QUEUE_SUPERVISE_SECONDS: "1",
  ...extra
})

/** A definition file `<name>.yml` in `folder`: the test base image and one pip requirement. */
export const pipDefinitionFile = (folder: string, name: string, pip: string): string => {
  const file = join(folder, `${name}.yml`)
  writeFileSync(file, `name: ${name}\nimage: local/python-base:bookworm\nconda_file:\n  dependencies:\n    - pip:\n      - ${pip}\n`)
  return file
}

/**
 * Starts a long-running `terrarium ARGS…` (serve, worker) and resolves once its output (stdout
 * and stderr) matches `ready`. It stays in `children` until it ends, so that a test's cleanup can
 * stop by PID whatever a failed test left running; ending before it is ready rejects with its output.
 */
export const startCli = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, ready: RegExp, children: Set<ChildProcess>) =>
  new Promise<{ readonly child: ChildProcess; readonly match: RegExpExecArray; readonly output: () => string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env })
    children.add(child)
    let output = ""
    const onData = (d: Buffer) => {
      output += d.toString()
      const match = ready.exec(output)
      if (match !== null) resolve({ child, match, output: () => output })
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.on("error", reject)
    child.on("close", (code) => {
      children.delete(child)
      reject(new Error(`terrarium ${args[0]} ended (${code}):\n${output}`))
    })
  })
