/**
 * The private-wheel step of a build, run with BuildKit on top of the image the classic builder
 * made: the classic builder (and BuildKit over dockerode) cannot mount a secret, so this step is
 * built by the docker command-line client (`DOCKER_BUILDKIT=1 docker build --secret …`) against
 * the same engine. The secret is the wheels' read URLs, written to a file only this process can
 * read (mode 0600, in a fresh temporary folder) and removed when the step ends, whatever its
 * outcome: BuildKit mounts it at `/run/secrets/<id>` for the one `RUN`, and keeps it out of every
 * layer, of the image's history and of the build's cache key.
 *
 * The step uses the host's network (the project's engine has no other, and the URLs point at
 * 127.0.0.1 or at the storage service). Its output (plain progress) is reported line by line;
 * nothing in it holds a URL, as the installer script never prints one (`ImageScripts.ts`).
 *
 * The client is `TERRARIUM_DOCKER_CLI` or the builder's `dockerCli` option, else `/usr/bin/docker`
 * when it exists (Debian's docker.io client has BuildKit built in), else `docker` on the PATH.
 *
 * Files are written with `node:fs`, like the registry credentials of `DockerImageBuilder.ts`: the
 * secret must exist as a file for the client, for as short a time as the step runs.
 *
 * @since 0.3.0
 */
import { type BuildProgress, ImageBuilderError, type PrivateWheelSource, StepFailed, UnbuildableRequest } from "@terrarium/domain"
import { Effect, Redacted, Stream } from "effect"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { createInterface } from "node:readline"
import { LOG_TAIL_LINES } from "./BuildOutput.ts"
import { type PrivateWheelStage, WHEEL_SECRET_ID } from "./DockerRecipe.ts"

/** The docker client that builds the step. @since 0.3.0 */
export const defaultDockerCli = (): string =>
  process.env["TERRARIUM_DOCKER_CLI"] ?? (existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker")

const failure = (step: string, lines: ReadonlyArray<string>) =>
  new ImageBuilderError({ reason: new StepFailed({ step, logTail: lines.slice(-LOG_TAIL_LINES) }) })

/** One run of the step; its image id. */
export const runPrivateWheelStage = (options: {
  readonly cli: string
  readonly host: string
  /** The image the classic builder made, tagged so that `FROM` can name it. */
  readonly from: string
  readonly stage: PrivateWheelStage
  readonly sources: ReadonlyArray<PrivateWheelSource>
  readonly labels: Record<string, string>
  readonly noCache: boolean
  readonly stepIndex: number
  readonly totalSteps: number
  readonly progress: (event: BuildProgress) => Effect.Effect<void>
}): Effect.Effect<{ readonly imageId: string; readonly cached: boolean }, ImageBuilderError> =>
  Effect.gen(function*() {
    const step = "install private wheels (BuildKit, secret mount)"
    // One URL per wheel of the stage, in its order; a reference without a URL cannot be built.
    const urls: Array<string> = []
    for (const wheel of options.stage.wheels) {
      const source = options.sources.find((s) => s.reference === wheel.reference)
      if (source === undefined) {
        return yield* Effect.fail(new ImageBuilderError({ reason: new UnbuildableRequest({ detail: `no read URL was given for the private wheel ${wheel.fileName}` }) }))
      }
      urls.push(Redacted.value(source.url))
    }
    const folders = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const context = await mkdtemp(join(tmpdir(), "terrarium-wheels-context-"))
          const secrets = await mkdtemp(join(tmpdir(), "terrarium-wheels-secret-"))
          await chmod(secrets, 0o700)
          return { context, secrets }
        },
        catch: (cause) => failure(step, [`cannot make a temporary folder: ${String(cause)}`])
      }),
      (f) => Effect.promise(() => Promise.all([rm(f.context, { recursive: true, force: true }), rm(f.secrets, { recursive: true, force: true })]))
    )
    const secretFile = join(folders.secrets, "urls.json")
    const iidFile = join(folders.context, ".terrarium-iid")
    yield* Effect.tryPromise({
      try: async () => {
        await writeFile(secretFile, JSON.stringify({ urls }), { mode: 0o600 })
        await writeFile(join(folders.context, "Dockerfile"), options.stage.dockerfile(options.from))
        for (const file of options.stage.files) {
          await mkdir(dirname(join(folders.context, file.path)), { recursive: true })
          await writeFile(join(folders.context, file.path), file.content)
        }
      },
      catch: (cause) => failure(step, [`cannot write the step's files: ${String(cause)}`])
    })
    const argv = [
      "build",
      "--progress", "plain",
      "--network", "host",
      "--secret", `id=${WHEEL_SECRET_ID},src=${secretFile}`,
      "--iidfile", iidFile,
      ...Object.entries(options.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
      ...(options.noCache ? ["--no-cache"] : []),
      "--file", join(folders.context, "Dockerfile"),
      folders.context
    ]
    const lines: Array<string> = []
    let cached = false
    yield* options.progress({ _tag: "Log", line: `terrarium: ${step}` })
    // Interrupted (or done): the client is stopped, which cancels the build on the engine.
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(options.cli, argv, {
          env: { ...process.env, DOCKER_HOST: options.host, DOCKER_BUILDKIT: "1" },
          stdio: ["ignore", "pipe", "pipe"]
        })),
      (c) => Effect.sync(() => void (c.exitCode === null && c.signalCode === null && c.kill("SIGTERM")))
    )
    const exited = new Promise<{ readonly code: number | null; readonly error?: string }>((resolve) => {
      child.on("error", (error) => resolve({ code: null, error: `${options.cli}: ${error.message}` }))
      child.on("close", (code) => resolve({ code }))
    })
    // The client's own messages (stdout) are few; its plain progress (stderr) is reported as it comes.
    const stdout: Array<string> = []
    child.stdout.on("data", (chunk: Buffer) => void stdout.push(chunk.toString("utf8")))
    yield* Stream.fromAsyncIterable(createInterface({ input: child.stderr, crlfDelay: Infinity }), (cause) => failure(step, [String(cause)])).pipe(
      Stream.filter((line) => line.trim() !== ""),
      Stream.runForEach((line) => {
        lines.push(line)
        if (lines.length > LOG_TAIL_LINES * 4) lines.splice(0, lines.length - LOG_TAIL_LINES * 2)
        if (/^#\d+ \[\d+\/\d+\] RUN /.test(line)) cached = false
        if (/^#\d+ CACHED$/.test(line)) cached = true
        return options.progress({ _tag: "Log", line })
      })
    )
    const exit = yield* Effect.promise(() => exited)
    for (const line of stdout.join("").split("\n").filter((l) => l.trim() !== "")) {
      lines.push(line)
      yield* options.progress({ _tag: "Log", line })
    }
    yield* options.progress({ _tag: "Step", index: options.stepIndex, total: options.totalSteps, name: step, cached })
    if (exit.code !== 0) return yield* Effect.fail(failure(step, [...lines, ...(exit.error === undefined ? [] : [exit.error])]))
    const imageId = yield* Effect.tryPromise({
      try: async () => (await readFile(iidFile, "utf8")).trim(),
      catch: () => failure(step, [...lines, "the client wrote no image id"])
    })
    return { imageId, cached }
  }).pipe(Effect.scoped)
