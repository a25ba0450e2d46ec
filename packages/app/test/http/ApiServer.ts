/**
 * An API server for the tests: `Server.layer` on a free port of 127.0.0.1 over the real
 * adapters (PGlite in memory, or a PostgreSQL schema), the in-memory image builder, and a key
 * for each of two workspaces.
 */
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { HttpServer } from "effect/http"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ApiKeys from "../../src/http/ApiKeys.ts"
import type { KnownHead } from "../../src/http/KnownHead.ts"
import * as Server from "../../src/http/Server.ts"
import * as Setup from "../../src/Setup.ts"
import { Terrarium } from "../../src/Terrarium.ts"

export interface ApiServer {
  readonly baseUrl: string
  readonly keyA: string
  readonly keyB: string
  /** The log's head: what a test compares before and after a refused request. */
  readonly head: () => Promise<number>
  readonly run: <A, E>(effect: Effect.Effect<A, E, Terrarium | ApiKeys.ApiKeys | KnownHead>) => Promise<A>
  readonly close: () => Promise<void>
}

export const startApiServer = async (options: { readonly webRoot?: string; readonly databaseUrl?: string; readonly databaseSchema?: string } = {}): Promise<ApiServer> => {
  const home = mkdtempSync(join(tmpdir(), "terrarium-http-"))
  // The image builder in memory (its images under the home): builds take a few steps, no Docker.
  process.env["TERRARIUM_HOME"] = home
  process.env["TERRARIUM_IMAGE_BUILDER"] = "memory"
  process.env["TERRARIUM_MEMORY_BUILD_STEP_MS"] = "50"
  process.env["TERRARIUM_BUILD_QUEUE"] = "in-process"
  const terrarium = Setup.layer({
    ...(options.databaseUrl === undefined ? { dataDir: "memory://" } : { databaseUrl: options.databaseUrl, databaseSchema: options.databaseSchema }),
    buildContextDir: join(home, "contexts"),
    curatedCatalog: false,
    projectInBackground: true,
    caller: { actor: "http-test" }
  })
  const layer = Server.layer({ host: "127.0.0.1", port: 0, webRoot: options.webRoot ?? join(home, "no-web") }).pipe(
    Layer.provideMerge(ApiKeys.layer),
    Layer.provideMerge(terrarium)
  )
  const runtime = ManagedRuntime.make(layer as Layer.Layer<HttpServer.HttpServer | ApiKeys.ApiKeys | Terrarium | KnownHead, unknown>)
  const address = await runtime.runPromise(HttpServer.HttpServer.use((server) => Effect.succeed(server.address)))
  const keyOf = (workspace: string) =>
    runtime.runPromise(ApiKeys.ApiKeys.use((keys) => keys.create({ workspace, actor: "test" }))).then((k) => Redacted.value(k.key))
  return {
    baseUrl: HttpServer.formatAddress(address),
    keyA: await keyOf("team-a"),
    keyB: await keyOf("team-b"),
    head: () => runtime.runPromise(Terrarium.use((t) => t.status)).then((s) => s.headPosition),
    run: (effect) => runtime.runPromise(effect as Effect.Effect<any, any, any>),
    close: async () => {
      await runtime.dispose()
      rmSync(home, { recursive: true, force: true })
    }
  }
}
