/**
 * `terrarium serve`: the HTTP API (`Api.ts`, `Handlers.ts`), its OpenAPI document at
 * `/openapi.json`, and the web page's files (`packages/web/dist`, built at install time) under
 * `/`, on one Node HTTP server. The middlewares that every route shares are here: the API key
 * (`Authorization`) and the problem documents of requests the framework refuses before a
 * handler runs (`RequestProblems`), with the body limit.
 *
 * @since 0.4.0
 */
import type { ApiKeyStore, LogStore, ReadModel } from "@terrarium/domain"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { ByteSize, Effect, FileSystem, Layer, Path } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServer, type HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder, HttpApiError } from "effect/http-api"
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"
import { fromIssue } from "../InvalidInput.ts"
import type { Terrarium } from "../Terrarium.ts"
import { Authorization, CurrentCaller, RequestProblems, TerrariumApi } from "./Api.ts"
import * as ApiKeys from "./ApiKeys.ts"
import { MAX_UPLOAD_BYTES } from "./ContextUpload.ts"
import * as Handlers from "./Handlers.ts"
import * as KnownHead from "./KnownHead.ts"
import { makeProblem, type Problem, type Unauthorized } from "./Problems.ts"

/**
 * The largest request body, in bytes: a version's definition with its conda file inline fits
 * many times over (the conda file itself is limited to 256 KiB). A larger body is refused with
 * 413 before it is read. A build context upload may be up to `MAX_UPLOAD_BYTES` (64 MiB).
 *
 * @since 0.4.0
 * @category limits
 */
export const MAX_BODY_BYTES = 1024 * 1024

const RequestProblemsLive = Layer.succeed(RequestProblems)((httpEffect, { endpoint }) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const limit = endpoint.identifier === "uploadContext" ? MAX_UPLOAD_BYTES : MAX_BODY_BYTES
    const length = Number(request.headers["content-length"] ?? "0")
    if (Number.isFinite(length) && length > limit) {
      return yield* Effect.fail(makeProblem(413, { _tag: "PayloadTooLarge", detail: `the body has ${length} bytes; the limit is ${limit}` }))
    }
    return yield* httpEffect.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(limit)),
      Effect.catchIf(
        (error: unknown): error is HttpApiError.HttpApiSchemaError | HttpApiError.HttpApiPayloadTooLarge =>
          HttpApiError.HttpApiSchemaError.is(error) || HttpApiError.HttpApiPayloadTooLarge.is(error),
        (caught): Effect.Effect<never, Problem> => {
          const error = caught as unknown as HttpApiError.HttpApiSchemaError | HttpApiError.HttpApiPayloadTooLarge
          if (HttpApiError.HttpApiPayloadTooLarge.is(error)) {
            return Effect.fail(makeProblem(413, { _tag: "PayloadTooLarge", detail: `the body is over the limit of ${limit} bytes` }))
          }
          const invalid = fromIssue(error.cause.issue, undefined, error.kind === "Payload" ? "body" : error.kind.toLowerCase())
          const where = error.kind === "Params" ? "path" : error.kind === "Query" ? "query" : error.kind === "Headers" ? "header" : "body"
          const field = invalid.field
          return Effect.fail(makeProblem(400, { _tag: "InvalidInput", detail: `${where} ${field}: ${invalid.reason}`, field }))
        }
      ),
      // A body without Content-Length (chunked) that the bounded reader stops: the framework
      // reads bodies as defects, so this is caught here to answer the same 413 problem.
      Effect.catchDefect((defect) =>
        bodyTooLarge(defect)
          ? Effect.fail(makeProblem(413, { _tag: "PayloadTooLarge", detail: `the body is over the limit of ${limit} bytes` }))
          : Effect.die(defect)),
      // A body of a type the route does not take: the framework answers a bare 415; this
      // answers the problem document every other error is.
      Effect.map((response) =>
        response.status === 415
          ? HttpServerResponse.jsonUnsafe({
            type: "about:blank",
            title: "Unsupported Media Type",
            status: 415,
            detail: `a body of ${String(request.headers["content-type"] ?? "no type")} is not taken here; send ${endpoint.identifier === "uploadContext" ? "application/x-tar" : "application/json"}`,
            _tag: "InvalidInput",
            field: "Content-Type"
          }, { status: 415, contentType: "application/problem+json" })
          : response)
    )
  })
)

/** The body reader's refusal of a body over `MaxBodySize` (`RequestParseError`, reason `BodyTooLarge`). */
const bodyTooLarge = (defect: unknown): boolean => {
  const reason = (defect as { readonly reason?: { readonly reason?: unknown } } | null)?.reason
  return typeof reason === "object" && reason !== null && reason.reason === "BodyTooLarge"
}

const AuthorizationLive = Layer.effect(Authorization)(Effect.gen(function*() {
  const keys = yield* ApiKeys.ApiKeys
  const check = (credential: Parameters<typeof keys.authenticate>[0]) =>
    keys.authenticate(credential).pipe(
      Effect.catch(() => Effect.succeed(undefined)),
      Effect.flatMap((caller) =>
        caller === undefined
          ? Effect.fail(makeProblem(401, {
            _tag: "Unauthorized",
            detail: "no valid API key: send Authorization: Bearer <key> or api-key: <key> (terrarium apikey create --workspace W)"
          }) as Unauthorized)
          : Effect.succeed(caller)
      )
    )
  return Authorization.of({
    bearer: (httpEffect, { credential }) => Effect.flatMap(check(credential), (caller) => Effect.provideService(httpEffect, CurrentCaller, caller)),
    apiKey: (httpEffect, { credential }) => Effect.flatMap(check(credential), (caller) => Effect.provideService(httpEffect, CurrentCaller, caller))
  })
}))

/** The page shown under `/` when the web page was not built. */
const notBuiltPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Terrarium</title></head>
<body><main><h1>Terrarium</h1><p>The API is at <a href="/openapi.json">/openapi.json</a> (under /api/v1).</p>
<p>The web page has not been built: run <code>pnpm install</code> (or <code>pnpm --filter @terrarium/web build</code>)
in the repository, then start <code>terrarium serve</code> again.</p></main></body></html>`

/** Where the web page's built files are: `TERRARIUM_WEB_DIR`, else `packages/web/dist` beside this package. */
export const defaultWebRoot = (): string =>
  process.env["TERRARIUM_WEB_DIR"] || fileURLToPath(new URL("../../../web/dist/", import.meta.url))

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".map": "application/json"
}

/**
 * The web page's files under `/`: a file of the folder, else its `index.html` (the page routes
 * in the browser), else a page that says how to build it. Nothing outside the folder is served.
 */
const staticFiles = (root: string) =>
  HttpRouter.add("GET", "/*", (request) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const url = new URL(request.url, "http://terrarium")
      if (url.pathname.startsWith("/api/")) {
        return HttpServerResponse.jsonUnsafe(
          { type: "about:blank", title: "Not Found", status: 404, detail: `no route ${url.pathname}`, _tag: "NotFound" },
          { status: 404, contentType: "application/problem+json" }
        )
      }
      const relative = decodeURIComponent(url.pathname).replace(/^\/+/, "")
      const file = path.resolve(root, relative)
      const inside = file === path.resolve(root) || file.startsWith(path.resolve(root) + path.sep)
      const isFile = inside && relative !== "" && (yield* fs.stat(file).pipe(Effect.map((s) => s.type === "File"), Effect.orElseSucceed(() => false)))
      const target = isFile ? file : path.join(root, "index.html")
      const exists = yield* fs.exists(target).pipe(Effect.orElseSucceed(() => false))
      if (!exists) return HttpServerResponse.html(notBuiltPage)
      const contentType = CONTENT_TYPES[path.extname(target)] ?? "application/octet-stream"
      return yield* HttpServerResponse.file(target, { contentType }).pipe(Effect.orElseSucceed(() => HttpServerResponse.html(notBuiltPage)))
    }).pipe(Effect.catchCause(() => Effect.succeed(HttpServerResponse.html(notBuiltPage)))))

/** The server's base URL (`http://127.0.0.1:PORT`), once it listens. @since 0.4.0 @category accessors */
export const url: Effect.Effect<string, never, HttpServer.HttpServer> = HttpServer.HttpServer.use((server) =>
  Effect.succeed(HttpServer.formatAddress(server.address)))

/** @since 0.4.0 @category model */
export interface ServeOptions {
  readonly host: string
  /** 0: any free port (the address is in `HttpServer.HttpServer`). */
  readonly port: number
  /** The web page's built files (default `defaultWebRoot()`). */
  readonly webRoot?: string | undefined
}

/**
 * The routes: the API, `/openapi.json`, the web page. Needs the Terrarium service, the read
 * model, the log store and the API key store.
 *
 * @since 0.4.0
 * @category layers
 */
export const routes = (options: Pick<ServeOptions, "webRoot"> = {}) =>
  Layer.mergeAll(
    HttpApiBuilder.layer(TerrariumApi, { openapiPath: "/openapi.json" }).pipe(
      Layer.provide(Handlers.layer),
      Layer.provide([RequestProblemsLive, AuthorizationLive])
    ),
    staticFiles(options.webRoot ?? defaultWebRoot())
  ).pipe(Layer.provide(ApiKeys.layer), Layer.provideMerge(KnownHead.layer))

/**
 * The server on `host:port`, for as long as the layer lives (with the head it follows,
 * `KnownHead`, which tests look at).
 *
 * @since 0.4.0
 * @category layers
 */
export const layer = (options: ServeOptions): Layer.Layer<
  HttpServer.HttpServer | KnownHead.KnownHead,
  HttpServerError.ServeError,
  Terrarium | ReadModel | LogStore | ApiKeyStore
> =>
  HttpRouter.serve(routes(options), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { host: options.host, port: options.port }))
  ) as never
