/**
 * `terrarium serve [--host 127.0.0.1] [--port 8765] [--web-root DIR] [--dev-key]`: the HTTP API
 * (`/api/v1`, `/openapi.json`) and the web page (`/`) in one process, until SIGINT or SIGTERM.
 * The read model follows the log in the background (one process at a time across a database;
 * the others stand by), so reads do not catch up per request. Several `serve` processes may
 * share one PostgreSQL database. `--host` stays on the loopback address unless told otherwise.
 * `--dev-key` makes a fresh API key of `--workspace` and prints it, for local use.
 *
 * @since 0.4.0
 */
import { Effect, Layer, Option, Redacted } from "effect"
import { Command, Flag } from "effect/cli"
import { InvalidInput } from "../../InvalidInput.ts"
import { loadSetup, root, type RootFlags, storageOf, asUsageError } from "../TerrariumCommand.ts"

/** @since 0.4.0 @category commands */
export const serve = Command.make("serve", {
  host: Flag.String("host").pipe(Flag.withDescription("Address to listen on"), Flag.withDefault("127.0.0.1")),
  port: Flag.Int("port").pipe(Flag.withDescription("Port to listen on (0: any free port; the address is printed)"), Flag.withDefault(8765)),
  webRoot: Flag.String("web-root").pipe(Flag.withDescription("The web page's built files (default: packages/web/dist)"), Flag.optional),
  devKey: Flag.Boolean("dev-key").pipe(Flag.withDescription("Make and print an API key of --workspace for local use"), Flag.withDefault(false))
}, (input) =>
  Effect.gen(function*() {
    const flags: RootFlags = yield* root
    if (input.port < 0 || input.port > 65535) {
      return yield* Effect.fail(asUsageError({ port: "--port" })(new InvalidInput({ field: "port", input: String(input.port), reason: "a port from 0 to 65535" })))
    }
    const Setup = yield* loadSetup
    const Server = yield* Effect.promise(() => import("../../http/Server.ts"))
    const ApiKeys = yield* Effect.promise(() => import("../../http/ApiKeys.ts"))
    const terrarium = Setup.layer({
      ...storageOf(flags),
      caller: Setup.defaultCaller(Option.getOrUndefined(flags.actor)),
      projectInBackground: true
    })
    const server = Server.layer({ host: input.host, port: input.port, webRoot: Option.getOrUndefined(input.webRoot) }).pipe(
      Layer.provideMerge(ApiKeys.layer),
      Layer.provideMerge(terrarium)
    )
    const announce = Effect.gen(function*() {
      const url = yield* Server.url
      if (input.devKey) {
        const made = yield* ApiKeys.ApiKeys.use((keys) => keys.create({ workspace: flags.workspace, actor: Setup.osUser(), description: "serve --dev-key" }))
        process.stdout.write(`api key: ${Redacted.value(made.key)} (workspace ${made.workspace}; shown once)\n`)
      }
      // One line on stdout once listening, which scripts wait for (`--port 0` picks the port).
      process.stdout.write(`listening on ${url} (API ${url}/api/v1, OpenAPI ${url}/openapi.json, pid ${process.pid})\n`)
    })
    return yield* Layer.launch(Layer.effectDiscard(announce).pipe(Layer.provideMerge(server))).pipe(
      // The address is taken, or cannot be listened on: the flags name another.
      Effect.catchTag("ServeError", (error) =>
        Effect.fail(new InvalidInput({ field: "port", input: `${input.host}:${input.port}`, reason: `cannot listen there: ${String((error as { cause?: unknown }).cause ?? error)}` }))),
      Effect.mapError(asUsageError({ port: "--host/--port" }))
    )
  })).pipe(Command.withDescription("Serve the HTTP API and the web page until stopped"))
