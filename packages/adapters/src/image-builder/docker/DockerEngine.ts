/**
 * The Docker engine as the image builder talks to it: where it is (`DOCKER_HOST`), and its
 * failures mapped into the port's reasons. A connection that cannot be made is
 * `EngineUnavailable` (retryable, naming the host); anything else the engine answers is
 * `EngineFailure`.
 *
 * @since 0.2.0
 */
import { EngineFailure, EngineUnavailable, ImageBuilderError } from "@terrarium/domain"
import type Docker from "dockerode"
import { Effect } from "effect"
import { createRequire } from "node:module"

/**
 * dockerode, loaded when a builder is made rather than with this module, and from where it is
 * installed rather than bundled into the CLI (scripts/build-cli.ts): it brings ssh2 and its
 * optional native modules, which a command that builds nothing should not load.
 */
let dockerode: typeof Docker | undefined
const loadDockerode = (): typeof Docker => (dockerode ??= createRequire(import.meta.url)("dockerode") as typeof Docker)

/** The engine used when `DOCKER_HOST` is not set: the system daemon's socket. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

/** How long the engine may take to answer a ping before it counts as unavailable. */
const PING_TIMEOUT = "5 seconds"

/** Dockerode's connection options for a `DOCKER_HOST` value (`unix://PATH`, `tcp://HOST:PORT`, `http://…`). */
export const connectionOptions = (host: string): Docker.DockerOptions | undefined => {
  if (host.startsWith("unix://")) return { socketPath: host.slice("unix://".length) }
  const match = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\]):(\d+)\/?$/.exec(host)
  if (match === null) return undefined
  return { host: match[2]!.replace(/^\[|\]$/g, ""), port: Number(match[3]), protocol: match[1] === "https" ? "https" : "http" }
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ENOENT", "EACCES", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTSOCK", "EPIPE", "ENETUNREACH"])

/** The HTTP status of an engine answer, if the failure is one. */
export const statusCode = (cause: unknown): number | undefined =>
  typeof cause === "object" && cause !== null && typeof (cause as { statusCode?: unknown }).statusCode === "number"
    ? (cause as { statusCode: number }).statusCode
    : undefined

const isConnectionFailure = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && CONNECTION_CODES.has(String((cause as { code?: unknown }).code))

/**
 * One engine at one host, with its calls as Effects that fail with the port's error.
 *
 * @since 0.2.0
 * @category engine
 */
export interface DockerEngine {
  readonly host: string
  readonly docker: Docker
  readonly call: <A>(operation: string, f: (signal: AbortSignal) => Promise<A>) => Effect.Effect<A, ImageBuilderError>
  readonly ping: Effect.Effect<void, ImageBuilderError>
  readonly failure: (operation: string) => (cause: unknown) => ImageBuilderError
}

/**
 * @since 0.2.0
 * @category engine
 */
export const makeEngine = (host: string): Effect.Effect<DockerEngine, ImageBuilderError> =>
  Effect.gen(function* () {
    const options = connectionOptions(host)
    if (options === undefined) {
      return yield* new ImageBuilderError({
        reason: new EngineUnavailable({ host, cause: new Error("DOCKER_HOST is neither unix://PATH nor tcp://HOST:PORT") })
      })
    }
    const Dockerode = loadDockerode()
    const docker = new Dockerode(options)
    const failure = (operation: string) => (cause: unknown): ImageBuilderError =>
      new ImageBuilderError({
        reason: isConnectionFailure(cause) ? new EngineUnavailable({ host, cause }) : new EngineFailure({ operation, cause })
      })
    const call = <A>(operation: string, f: (signal: AbortSignal) => Promise<A>) =>
      Effect.tryPromise({ try: f, catch: failure(operation) })
    const ping = call("ping", (signal) => (docker as unknown as { ping: (options: { abortSignal: AbortSignal }) => Promise<unknown> }).ping({ abortSignal: signal })).pipe(
      Effect.timeoutOrElse({
        duration: PING_TIMEOUT,
        orElse: () => Effect.fail(new ImageBuilderError({ reason: new EngineUnavailable({ host, cause: new Error(`no answer within ${PING_TIMEOUT}`) }) }))
      }),
      Effect.asVoid
    )
    return { host, docker, call, ping, failure }
  })

/**
 * Splits the engine's multiplexed log stream (8-byte frame headers: stream, 0, 0, 0, size) into
 * standard output and standard error.
 *
 * @since 0.2.0
 * @category engine
 */
export const demultiplex = (buffer: Buffer): { readonly stdout: string; readonly stderr: string } => {
  const out: Array<Buffer> = []
  const err: Array<Buffer> = []
  let offset = 0
  while (offset + 8 <= buffer.length) {
    const kind = buffer[offset]
    const size = buffer.readUInt32BE(offset + 4)
    const frame = buffer.subarray(offset + 8, offset + 8 + size)
    ;(kind === 2 ? err : out).push(frame)
    offset += 8 + size
  }
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }
}
