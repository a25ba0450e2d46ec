/**
 * A server a test runs as a process of its own (PostgreSQL, docker-registry): on a free loopback
 * port, started and waited for until it answers, stopped by its PID with the signal the test
 * chooses (a crash or a clean shutdown) and waited for until it exits, started again with the
 * same arguments (so on the same port, with the same data).
 *
 * Ready means the server's own words in its output (`readyWhen.output`) or an answer to a probe
 * the test makes (`readyWhen.probe`, asked every 100 ms). A server that exits first, or is not ready
 * in time, fails the start with the last of its output; one that is not ready in time is killed.
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process"
import { createServer } from "node:net"

/** A port on 127.0.0.1 that nothing listens on now. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

export interface ServerProcess {
  /** The PID of the running process (undefined while stopped). */
  readonly pid: () => number | undefined
  /** Starts it and waits until it is ready; nothing when it runs. */
  readonly start: () => Promise<void>
  /** Sends `signal` to its PID and waits for it to exit; nothing when it is stopped. */
  readonly stop: (signal: NodeJS.Signals) => Promise<void>
}

/** How much of the server's output a failed start shows. */
const OUTPUT_KEPT = 16_384

export const serverProcess = (options: {
  /** The server's name in errors. */
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Whom it runs as (by default, this process's user). */
  readonly spawn?: Pick<SpawnOptions, "uid" | "gid"> | undefined
  readonly readyWhen: { readonly output: RegExp } | { readonly probe: () => Promise<boolean> }
  readonly timeoutSeconds: number
}): ServerProcess => {
  let child: ChildProcess | undefined
  const running = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      let output = ""
      let settled = false
      const server = spawn(options.command, [...options.args], { stdio: ["ignore", "pipe", "pipe"], ...options.spawn })
      child = server
      const settle = (error?: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (error === undefined) resolve()
        else reject(error)
      }
      const timer = setTimeout(() => {
        server.kill("SIGKILL")
        settle(new Error(`${options.name} was not ready within ${options.timeoutSeconds} s:\n${output}`))
      }, options.timeoutSeconds * 1000)
      const onData = (d: Buffer) => {
        output = (output + d.toString()).slice(-OUTPUT_KEPT)
        if (!settled && "output" in options.readyWhen && options.readyWhen.output.test(output)) settle()
      }
      server.stdout!.on("data", onData)
      server.stderr!.on("data", onData)
      server.once("exit", (code, signal) => settle(new Error(`${options.name} exited (${code ?? signal}) before it was ready:\n${output}`)))
      if ("probe" in options.readyWhen) {
        const probe = options.readyWhen.probe
        void (async () => {
          while (!settled) {
            if (await probe()) return settle()
            await new Promise((r) => setTimeout(r, 100))
          }
        })()
      }
    })

  const stop = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const server = child
      if (!running(server) || server.pid === undefined) return resolve()
      server.once("exit", () => resolve())
      process.kill(server.pid, signal)
    })

  return {
    pid: () => (running(child) ? child.pid : undefined),
    start: () => (running(child) ? Promise.resolve() : launch()),
    stop
  }
}
