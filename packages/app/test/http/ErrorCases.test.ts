/**
 * Every route's error cases, route by route of the OpenAPI document: the 400 that names the
 * field, the 404, the 409, the 413 of an oversize body, the 415 of a body of another type, the
 * 416 of a log range, the 422 of a definition or name that breaks a rule, wherever the route can
 * give one. Each refused request answers one problem document (`application/problem+json`, with
 * `_tag`, and `reason` or `field` where they say more) and appends nothing: the log's head is
 * the same before and after.
 *
 * The last test reads the OpenAPI document and fails when a route has no case of its own: a
 * 404 for every route, a 400 for every route with a query parameter or a body, and a 413 for
 * every route with a body.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { OpenApi } from "effect/http-api"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TerrariumApi } from "../../src/http/Api.ts"
import { MAX_UPLOAD_BYTES } from "../../src/http/ContextUpload.ts"
import { MAX_BODY_BYTES } from "../../src/http/Server.ts"
import { type ApiServer, startApiServer } from "./ApiServer.ts"

const conda = (pkg: string) => `channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - ${pkg}\n`
const body = (pkg: string, extra: Record<string, unknown> = {}) => ({ properties: { image: "python:3.12-slim", condaFile: conda(pkg), ...extra } })
/** A JSON body one byte over the limit (its Content-Length says so before it is read). */
const oversize = () => ({ properties: { description: "x".repeat(MAX_BODY_BYTES) } })

const tarOf = (files: Record<string, string>, transform?: string): Uint8Array => {
  const dir = mkdtempSync(join(tmpdir(), "terrarium-tar-"))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return new Uint8Array(execFileSync("tar", ["-cf", "-", "-C", dir, ...(transform === undefined ? [] : ["--transform", transform]), "."], { maxBuffer: 64 * 1024 * 1024 }))
}

let s: ApiServer
let buildId = ""
let contextUri = ""

interface Options {
  readonly body?: unknown
  readonly headers?: Record<string, string>
}

const send = async (method: string, path: string, options: Options = {}) => {
  const isBytes = options.body instanceof Uint8Array || typeof options.body === "string"
  const response = await fetch(`${s.baseUrl}/api/v1/workspaces${path}`, {
    method,
    headers: {
      authorization: `Bearer ${s.keyA}`,
      ...(options.body === undefined ? {} : { "content-type": isBytes ? "application/x-tar" : "application/json" }),
      ...options.headers
    },
    ...(options.body === undefined ? {} : { body: isBytes ? options.body as string : JSON.stringify(options.body) })
  })
  const text = await response.text()
  return { status: response.status, contentType: response.headers.get("content-type"), text }
}

interface Problem {
  readonly status: number
  readonly _tag: string
  readonly detail: string
  readonly reason?: string
  readonly field?: string
}

/** A refused request: its status, its problem document, and that the log did not move. */
const refused = async (status: number, method: string, path: string, options: Options = {}): Promise<Problem> => {
  const before = await s.head()
  const r = await send(method, path, options)
  assert.strictEqual(r.status, status, `${method} ${path}: ${r.text}`)
  assert.strictEqual(r.contentType, "application/problem+json", `${method} ${path}: ${r.text}`)
  const problem = JSON.parse(r.text) as Problem
  assert.strictEqual(problem.status, status)
  assert.isString(problem._tag)
  assert.isString(problem.detail)
  assert.strictEqual(await s.head(), before, `${method} ${path} appended`)
  return problem
}

interface Case {
  readonly status: number
  readonly method: string
  /** Under /api/v1/workspaces. */
  readonly path: string
  readonly options?: Options
  /** What the problem must say, besides its status. */
  readonly expect?: { readonly field?: string; readonly reason?: string; readonly _tag?: string }
}

const V = "/team-a/environments/e/versions"

/**
 * The cases. Environment `e` has versions 1 (archived) and 2; environment `gone` is archived;
 * environment `ctx` was made from an uploaded build context; `buildId` is a built image's build.
 */
const cases = (): ReadonlyArray<Case> => [
  // GET /environments
  { status: 400, method: "GET", path: "/team-a/environments?$top=0", expect: { field: "$top" } },
  { status: 400, method: "GET", path: "/team-a/environments?$skip=forged", expect: { field: "$skip" } },
  { status: 400, method: "GET", path: "/team-a/environments?$orderBy=size", expect: { field: "$orderBy" } },
  { status: 400, method: "GET", path: "/team-a/environments?listViewType=Bogus", expect: { field: "listViewType" } },
  { status: 400, method: "GET", path: "/team-a/environments?environmentType=Bogus", expect: { field: "environmentType" } },
  { status: 400, method: "GET", path: "/team-a/environments?asOf=yesterday", expect: { field: "asOf" } },
  { status: 400, method: "GET", path: "/team-a/environments/e?asOf=yesterday", expect: { field: "asOf" } },
  { status: 404, method: "GET", path: "/team-b/environments" },
  // GET, PATCH /environments/{name}
  { status: 404, method: "GET", path: "/team-a/environments/nothing" },
  { status: 404, method: "GET", path: "/team-a/environments/not%20a%20name" },
  { status: 400, method: "PATCH", path: "/team-a/environments/e", options: { body: { properties: { tags: { a: 1 } } } }, expect: { field: "properties.tags.a" } },
  {
    status: 400,
    method: "PATCH",
    path: "/team-a/environments/e",
    options: { body: { properties: { description: "x".repeat(4097) } } },
    expect: { field: "properties.description" }
  },
  { status: 400, method: "PATCH", path: "/team-a/environments/e", options: { body: "{not json", headers: { "content-type": "application/json" } } },
  { status: 400, method: "PATCH", path: "/team-a/environments/e", options: { body: { properties: { image: "python:3.13" } } }, expect: { field: "properties.image" } },
  { status: 404, method: "PATCH", path: "/team-a/environments/nothing", options: { body: { properties: { description: "x" } } }, expect: { reason: "EnvironmentNotFound" } },
  { status: 413, method: "PATCH", path: "/team-a/environments/e", options: { body: oversize() } },
  { status: 415, method: "PATCH", path: "/team-a/environments/e", options: { body: "description=x", headers: { "content-type": "text/plain" } } },
  // archive, restore an environment
  { status: 404, method: "POST", path: "/team-a/environments/nothing/archive" },
  { status: 409, method: "POST", path: "/team-a/environments/gone/archive", expect: { reason: "EnvironmentAlreadyArchived" } },
  { status: 404, method: "POST", path: "/team-a/environments/nothing/restore" },
  { status: 409, method: "POST", path: "/team-a/environments/e/restore", expect: { reason: "EnvironmentNotArchived" } },
  // GET, POST /versions
  { status: 400, method: "GET", path: `${V}?$orderBy=name`, expect: { field: "$orderBy" } },
  { status: 400, method: "GET", path: `${V}?$top=abc`, expect: { field: "$top" } },
  { status: 400, method: "GET", path: `${V}?asOf=bad`, expect: { field: "asOf" } },
  { status: 404, method: "GET", path: "/team-a/environments/nothing/versions", expect: { reason: "EnvironmentNotFound" } },
  { status: 400, method: "POST", path: V, options: { body: { properties: { osType: "Mac" } } }, expect: { field: "properties.osType" } },
  { status: 400, method: "POST", path: V, options: { body: { properties: { image: "x".repeat(2049) } } }, expect: { field: "properties.image" } },
  { status: 404, method: "POST", path: "/team-b/environments/e/versions", options: { body: body("b==1") } },
  { status: 413, method: "POST", path: V, options: { body: oversize() } },
  { status: 415, method: "POST", path: V, options: { body: "image: x", headers: { "content-type": "application/yaml" } } },
  { status: 422, method: "POST", path: "/team-a/environments/AzureML-mine/versions", options: { body: body("a==1") }, expect: { reason: "ReservedPrefix" } },
  { status: 422, method: "POST", path: V, options: { body: body("requests=====1") }, expect: { _tag: "ImportError" } },
  {
    status: 422,
    method: "POST",
    path: V,
    options: { body: body("a==1", { build: { contextUri: "https://example.invalid/ctx" } }) },
    expect: { field: "properties.build" }
  },
  // POST /contexts
  { status: 400, method: "POST", path: "/team-a/contexts", options: { body: "not a tar archive at all".repeat(40) }, expect: { field: "body" } },
  { status: 404, method: "POST", path: "/team-b/contexts", options: { body: tarOf({ Dockerfile: "FROM scratch\n" }) } },
  { status: 415, method: "POST", path: "/team-a/contexts", options: { body: { Dockerfile: "FROM scratch" } } },
  {
    status: 422,
    method: "POST",
    path: "/team-a/contexts",
    options: { body: tarOf({ a: "x" }, "s,^\\./a$,../escape,") },
    expect: { reason: "InvalidContext", field: "body" }
  },
  // (the 413 of an upload is its own test below: it needs a Content-Length over 64 MiB)
  // POST /preview
  { status: 400, method: "POST", path: "/team-a/environments/e/preview", options: { body: { properties: { osType: "Mac" } } }, expect: { field: "properties.osType" } },
  { status: 404, method: "POST", path: "/team-b/environments/e/preview", options: { body: body("a==1") } },
  { status: 413, method: "POST", path: "/team-a/environments/e/preview", options: { body: oversize() } },
  { status: 422, method: "POST", path: "/team-a/environments/e/preview", options: { body: body("a=====1") }, expect: { _tag: "ImportError" } },
  { status: 422, method: "POST", path: "/team-a/environments/AzureML-mine/preview", options: { body: body("a==1") }, expect: { reason: "ReservedPrefix" } },
  // PUT, GET, PATCH /versions/{v}
  { status: 400, method: "PUT", path: `${V}/9`, options: { body: { properties: { osType: "Mac" } } }, expect: { field: "properties.osType" } },
  { status: 400, method: "PUT", path: `${V}/@prod`, options: { body: body("c==1") }, expect: { field: "version" } },
  { status: 404, method: "PUT", path: "/team-b/environments/e/versions/9", options: { body: body("c==1") } },
  { status: 409, method: "PUT", path: `${V}/2`, options: { body: body("c==1") }, expect: { reason: "VersionConflict" } },
  { status: 409, method: "PUT", path: `${V}/9`, options: { body: body("a==2") }, expect: { reason: "AlreadyRegistered" } },
  { status: 413, method: "PUT", path: `${V}/9`, options: { body: oversize() } },
  { status: 422, method: "PUT", path: "/team-a/environments/AzureML-mine/versions/1", options: { body: body("a==1") }, expect: { reason: "ReservedPrefix" } },
  { status: 400, method: "GET", path: `${V}/2?asOf=yesterday`, expect: { field: "asOf" } },
  { status: 400, method: "GET", path: `${V}/@Bad`, expect: { field: "version" } },
  { status: 404, method: "GET", path: `${V}/9`, expect: { reason: "VersionNotFound" } },
  { status: 404, method: "GET", path: `${V}/@prod`, expect: { reason: "LabelNotFound" } },
  { status: 400, method: "PATCH", path: `${V}/2`, options: { body: { properties: { tags: "x" } } }, expect: { field: "properties.tags" } },
  { status: 400, method: "PATCH", path: `${V}/2`, options: { body: { properties: { condaFile: "x" } } }, expect: { field: "properties.condaFile" } },
  { status: 404, method: "PATCH", path: `${V}/9`, options: { body: { properties: { description: "x" } } }, expect: { reason: "VersionNotFound" } },
  { status: 413, method: "PATCH", path: `${V}/2`, options: { body: oversize() } },
  // archive, restore a version
  { status: 404, method: "POST", path: `${V}/9/archive`, expect: { reason: "VersionNotFound" } },
  { status: 409, method: "POST", path: `${V}/1/archive`, expect: { reason: "AlreadyArchived" } },
  { status: 404, method: "POST", path: `${V}/9/restore`, expect: { reason: "VersionNotFound" } },
  { status: 409, method: "POST", path: `${V}/2/restore`, expect: { reason: "NotArchived" } },
  // diff, export, context, events
  { status: 400, method: "GET", path: "/team-a/environments/e/diff?from=1", expect: { field: "to" } },
  { status: 400, method: "GET", path: "/team-a/environments/e/diff?from=@Bad&to=1", expect: { field: "from" } },
  { status: 404, method: "GET", path: "/team-a/environments/e/diff?from=1&to=9", expect: { reason: "VersionNotFound" } },
  { status: 400, method: "GET", path: `${V}/2/export?format=bogus`, expect: { field: "format" } },
  { status: 404, method: "GET", path: `${V}/9/export`, expect: { reason: "VersionNotFound" } },
  { status: 404, method: "GET", path: `${V}/9/context`, expect: { reason: "VersionNotFound" } },
  { status: 404, method: "GET", path: "/team-a/environments/ctx/versions/1/context?path=nothing.txt" },
  { status: 400, method: "GET", path: "/team-a/environments/e/events?limit=100000", expect: { field: "limit" } },
  { status: 400, method: "GET", path: "/team-a/environments/e/events?after=abc", expect: { field: "after" } },
  { status: 400, method: "GET", path: "/team-a/environments/e/events?asOf=bad", expect: { field: "asOf" } },
  { status: 404, method: "GET", path: "/team-a/environments/nothing/events", expect: { reason: "EnvironmentNotFound" } },
  // builds, image, log
  { status: 400, method: "POST", path: `${V}/2/builds?noCache=maybe`, expect: { field: "noCache" } },
  { status: 404, method: "POST", path: `${V}/9/builds`, expect: { reason: "VersionNotFound" } },
  { status: 404, method: "GET", path: `${V}/9/builds`, expect: { reason: "VersionNotFound" } },
  { status: 400, method: "GET", path: `${V}/2/builds?$top=abc`, expect: { field: "$top" } },
  { status: 400, method: "GET", path: `${V}/2/builds?$skip=not-a-token`, expect: { field: "$skip" } },
  { status: 400, method: "GET", path: `${V}/@Bad/image`, expect: { field: "version" } },
  { status: 404, method: "GET", path: `${V}/9/image`, expect: { reason: "VersionNotFound" } },
  { status: 404, method: "GET", path: "/team-a/builds/no-such-build" },
  { status: 404, method: "GET", path: "/team-a/builds/no-such-build/log" },
  { status: 416, method: "GET", path: `/team-a/builds/${buildId}/log`, options: { headers: { range: "bytes=100000000-" } }, expect: { field: "Range" } },
  { status: 404, method: "GET", path: "/team-a/builds/no-such-build/log/stream" }
]

/** Routes with no query value to refuse: a context's `path` is any path (a missing one is a 404). */
const ANY_QUERY_IS_VALID = new Set([
  "GET /api/v1/workspaces/{ws}/environments/{name}/versions/{version}/context"
])

/** The OpenAPI operation (`METHOD /template`) a concrete path is of. */
const operationOf = (templates: ReadonlyArray<string>, method: string, path: string): string => {
  const concrete = `/api/v1/workspaces${path.split("?")[0]}`.split("/")
  const matching = templates.filter((template) => {
    const parts = template.split("/")
    return parts.length === concrete.length && parts.every((part, i) => part.startsWith("{") || part === concrete[i])
  })
  assert.strictEqual(matching.length, 1, `${method} ${path} matches ${matching.join(", ")}`)
  return `${method} ${matching[0]}`
}

const waitFor = async <A>(read: () => Promise<A | undefined>): Promise<A> => {
  for (let i = 0; i < 200; i++) {
    const value = await read()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error("gave up waiting")
}

beforeAll(async () => {
  s = await startApiServer()
  const ok = async (method: string, path: string, options: Options = {}) => {
    const r = await send(method, path, options)
    assert.isBelow(r.status, 300, `${method} ${path}: ${r.text}`)
    return r.text === "" ? undefined : JSON.parse(r.text)
  }
  await ok("POST", V, { body: body("a==1") })
  await ok("POST", V, { body: body("a==2") })
  await ok("POST", `${V}/1/archive`)
  await ok("POST", "/team-a/environments/gone/versions", { body: body("g==1") })
  await ok("POST", "/team-a/environments/gone/archive")
  contextUri = (await ok("POST", "/team-a/contexts", { body: tarOf({ Dockerfile: "FROM python:3.12-slim\n" }) })).contextUri
  await ok("POST", "/team-a/environments/ctx/versions", { body: { properties: { build: { contextUri, dockerfilePath: "Dockerfile" } } } })
  buildId = (await ok("POST", `${V}/2/builds`)).buildId
  await waitFor(async () => (await ok("GET", `${V}/2/image`)).status === "Built" ? true : undefined)
}, 120_000)
afterAll(() => s?.close())

describe("every route's error cases", () => {
  it("each case answers its status and problem document, naming the field or reason, and appends nothing", async () => {
    for (const c of cases()) {
      const problem = await refused(c.status, c.method, c.path, c.options)
      const label = `${c.method} ${c.path}`
      if (c.expect?.field !== undefined) assert.strictEqual(problem.field, c.expect.field, `${label}: ${problem.detail}`)
      if (c.expect?.reason !== undefined) assert.strictEqual(problem.reason, c.expect.reason, `${label}: ${problem.detail}`)
      if (c.expect?._tag !== undefined) assert.strictEqual(problem._tag, c.expect._tag, `${label}: ${problem.detail}`)
      // An InvalidInput names its input in its one line too.
      if (problem._tag === "InvalidInput" && c.expect?.field !== undefined) assert.include(problem.detail, c.expect.field, label)
    }
  })

  it("a body over the limit without a Content-Length (chunked) is stopped by the bounded reader: 413, the same problem", async () => {
    const before = await s.head()
    const bytes = new TextEncoder().encode(JSON.stringify(oversize()))
    const response = await fetch(`${s.baseUrl}/api/v1/workspaces${V}`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.keyA}`, "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(bytes)
          controller.close()
        }
      }),
      duplex: "half"
    } as RequestInit)
    assert.strictEqual(response.status, 413)
    assert.strictEqual(response.headers.get("content-type"), "application/problem+json")
    const problem = await response.json() as Problem
    assert.deepStrictEqual([problem.status, problem._tag], [413, "PayloadTooLarge"])
    assert.include(problem.detail, String(MAX_BODY_BYTES))
    assert.strictEqual(await s.head(), before)
  })

  it("an upload over the JSON body limit but under the upload's is taken (the route has its own limit)", async () => {
    const tar = tarOf({ Dockerfile: "FROM scratch\nCOPY big.txt /\n", "big.txt": "x".repeat(2 * MAX_BODY_BYTES) })
    const r = await send("POST", "/team-a/contexts", { body: tar })
    assert.strictEqual(r.status, 201, r.text)
  })

  it("an upload whose Content-Length is over 64 MiB is refused before its body is read", async () => {
    const before = await s.head()
    const url = new URL(`${s.baseUrl}/api/v1/workspaces/team-a/contexts`)
    // Only a few bytes are sent: the answer comes from the declared length alone.
    const answer = await new Promise<{ status: number; contentType: string | undefined; text: string }>((resolve, reject) => {
      const request = httpRequest(url, {
        method: "POST",
        headers: { authorization: `Bearer ${s.keyA}`, "content-type": "application/x-tar", "content-length": String(MAX_UPLOAD_BYTES + 1) }
      }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => (text += chunk))
        response.on("end", () => {
          resolve({ status: response.statusCode ?? 0, contentType: response.headers["content-type"], text })
          request.destroy()
        })
      })
      request.on("error", reject)
      request.write(new Uint8Array(512))
    })
    assert.strictEqual(answer.status, 413, answer.text)
    assert.strictEqual(answer.contentType, "application/problem+json")
    assert.include(JSON.parse(answer.text).detail, String(MAX_UPLOAD_BYTES), answer.text)
    assert.strictEqual(await s.head(), before)
  })

  it("every route of the OpenAPI document has its cases: 404; 400 where it takes a query or a body; 413 where it takes a body", () => {
    const paths = OpenApi.fromApi(TerrariumApi).paths as Record<string, Record<string, { parameters?: Array<{ in: string }>; requestBody?: unknown }>>
    const templates = Object.keys(paths)
    const covered = new Set(cases().map((c) => `${operationOf(templates, c.method, c.path)} ${c.status}`))
    // The upload's 413 is the test above.
    covered.add("POST /api/v1/workspaces/{ws}/contexts 413")
    const missing: Array<string> = []
    for (const [template, item] of Object.entries(paths)) {
      for (const method of ["get", "post", "put", "patch", "delete"]) {
        const operation = item[method]
        if (operation === undefined) continue
        const name = `${method.toUpperCase()} ${template}`
        const needed = [404]
        if (operation.requestBody !== undefined) needed.push(400, 413)
        else if ((operation.parameters ?? []).some((p) => p.in === "query") && !ANY_QUERY_IS_VALID.has(name)) needed.push(400)
        for (const status of needed) if (!covered.has(`${name} ${status}`)) missing.push(`${name} ${status}`)
      }
    }
    assert.deepStrictEqual(missing, [])
  })
})
