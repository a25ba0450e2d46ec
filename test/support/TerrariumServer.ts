/**
 * `terrarium serve` as a child process, for tests that talk to it over HTTP (the browser tests):
 * embedded PGlite in a temporary TERRARIUM_HOME, the in-memory image builder unless told
 * otherwise, a port the system picks, and an API key made with `terrarium apikey create` before
 * the server opens the database. Stopped by its PID.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { bin, cliEnv, repoRoot, runCli, tempDir } from "./cli.ts"

export interface TerrariumServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string
  readonly workspace: string
  readonly apiKey: string
  readonly home: string
  readonly pid: number
  /** What the server printed so far (for a failing test's message). */
  readonly output: () => string
  readonly stop: () => Promise<void>
}

const URL_PATTERN = /https?:\/\/127\.0\.0\.1:(\d+)/

/** The key in `apikey create`'s output: JSON with a `key`, or the one long token it printed. */
const keyOf = (stdout: string): string => {
  try {
    const parsed = JSON.parse(stdout) as { key?: string; apiKey?: string }
    const key = parsed.key ?? parsed.apiKey
    if (key) return key
  } catch {
    // not JSON: fall through to the printed token
  }
  const token = stdout.match(/\b(trm_[A-Za-z0-9_-]{20,}|[A-Za-z0-9_-]{32,})\b/)
  if (!token) throw new Error(`no API key in the output of 'terrarium apikey create':\n${stdout}`)
  return token[1]!
}

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve()
    const timer = setTimeout(() => process.kill(child.pid!, "SIGKILL"), 10_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    process.kill(child.pid, "SIGTERM")
  })

export const startServer = async (
  options: { readonly workspace?: string; readonly env?: Record<string, string> } = {}
): Promise<TerrariumServer> => {
  const workspace = options.workspace ?? "default"
  const home = tempDir("terrarium-serve-")
  const env: Record<string, string> = {
    TERRARIUM_HOME: home.path,
    TERRARIUM_IMAGE_BUILDER: "memory",
    ...options.env
  }
  const created = runCli(["apikey", "create", "--workspace", workspace, "--output", "json"], env)
  if (created.status !== 0) {
    home.remove()
    throw new Error(`terrarium apikey create failed (${created.status}):\n${created.stderr}\n${created.stdout}`)
  }
  const apiKey = keyOf(created.stdout)

  const child = spawn(process.execPath, [bin, "serve", "--host", "127.0.0.1", "--port", "0"], {
    cwd: repoRoot,
    env: cliEnv(env),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = output.match(URL_PATTERN)
      if (match) resolve(`http://127.0.0.1:${match[1]}`)
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("error", reject)
    child.once("exit", (code, signal) => reject(new Error(`terrarium serve exited (${code ?? signal}) before listening:\n${output}`)))
  }).catch(async (error: unknown) => {
    await stopChild(child)
    home.remove()
    throw error
  })
  return {
    url,
    workspace,
    apiKey,
    home: home.path,
    pid: child.pid!,
    output: () => output,
    stop: async () => {
      await stopChild(child)
      home.remove()
    }
  }
}
