/**
 * The HTTP API's contract, over a server on a free port of 127.0.0.1 (real adapters: PGlite in
 * memory, the image builder in memory): what each route answers, through the client derived
 * from the API's definition (`HttpApiClient.make(TerrariumApi)`), and every route's problems,
 * each of which appends nothing (the log's head is compared before and after).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { FetchHttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient, HttpApiMiddleware, OpenApi } from "effect/http-api"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Authorization, TerrariumApi } from "../../src/http/Api.ts"
import { MAX_BODY_BYTES } from "../../src/http/Server.ts"
import { Terrarium } from "../../src/Terrarium.ts"
import { type ApiServer, startApiServer } from "./ApiServer.ts"

const conda = (pkg: string) => `channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - ${pkg}\n`
const body = (pkg = "requests==2.32.3", extra: Record<string, unknown> = {}) =>
  ({ properties: { image: "python:3.12-slim", condaFile: conda(pkg), tags: { team: "ml" }, description: "first", ...extra } })

/** A tar archive of `files` (run.sh executable), as the `tar` tool writes it. */
const tarOf = (files: Record<string, string>): Uint8Array => {
  const dir = mkdtempSync(join(tmpdir(), "terrarium-tar-"))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true })
    writeFileSync(join(dir, path), text, { mode: path.endsWith(".sh") ? 0o755 : 0o644 })
  }
  return new Uint8Array(execFileSync("tar", ["-cf", "-", "-C", dir, "."]))
}

let s: ApiServer
let webRoot: string

const api = (path: string) => `${s.baseUrl}/api/v1/workspaces${path}`

const call = async (method: string, path: string, options: { readonly key?: string | null; readonly body?: unknown; readonly headers?: Record<string, string> } = {}) => {
  const key = options.key === undefined ? s.keyA : options.key
  const response = await fetch(path.startsWith("http") ? path : api(path), {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...options.headers
    },
    ...(options.body === undefined ? {} : {
      body: typeof options.body === "string" || options.body instanceof Uint8Array ? options.body as string : JSON.stringify(options.body)
    })
  })
  const text = await response.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}

/** A refused request: its status and problem document, and that the log did not move. */
const refused = async (status: number, method: string, path: string, options: Parameters<typeof call>[2] = {}) => {
  const before = await s.head()
  const r = await call(method, path, options)
  assert.strictEqual(r.status, status, `${method} ${path}: ${r.text}`)
  assert.strictEqual(r.headers.get("content-type"), "application/problem+json", `${method} ${path}`)
  assert.strictEqual(r.json.status, status)
  assert.strictEqual(typeof r.json._tag, "string")
  assert.strictEqual(typeof r.json.detail, "string")
  assert.strictEqual(await s.head(), before, `${method} ${path} appended`)
  return r.json as { _tag: string; reason?: string; field?: string; detail: string }
}

const client = (key: string) =>
  HttpApiClient.make(TerrariumApi, { baseUrl: s.baseUrl }).pipe(
    Effect.provide(Layer.mergeAll(
      FetchHttpClient.layer,
      HttpApiMiddleware.layerClient(Authorization, ({ next, request }) => next(HttpClientRequest.bearerToken(request, key)))
    ))
  )

beforeAll(async () => {
  webRoot = mkdtempSync(join(tmpdir(), "terrarium-web-"))
  s = await startApiServer({ webRoot })
}, 120_000)
afterAll(() => s?.close())

describe("versions", () => {
  it("POST makes the next version (201), and answers the existing one for the same content (200) without appending", async () => {
    const created = await call("POST", "/team-a/environments/pydata/versions", { body: body() })
    assert.strictEqual(created.status, 201, created.text)
    assert.strictEqual(created.json.name, "1")
    assert.strictEqual(created.json.type, "Microsoft.MachineLearningServices/workspaces/environments/versions")
    assert.strictEqual(created.json.properties.image, "python:3.12-slim")
    assert.match(created.json.properties.condaFile, /requests==2\.32\.3/)
    assert.deepStrictEqual(created.json.properties.tags, { team: "ml" })
    assert.strictEqual(created.json.systemData.createdBy.startsWith("apikey:"), true)
    const before = await s.head()
    const again = await call("POST", "/team-a/environments/pydata/versions", { body: body() })
    assert.deepStrictEqual([again.status, again.json.name], [200, "1"])
    assert.strictEqual(await s.head(), before)
    const next = await call("POST", "/team-a/environments/pydata/versions", { body: body("requests==2.32.4") })
    assert.deepStrictEqual([next.status, next.json.name], [201, "2"])
  })

  it("the derived client reads what the API wrote: list, latest, a version, a diff, the timeline", () =>
    Effect.runPromise(Effect.gen(function*() {
      const c = yield* client(s.keyA)
      const list = yield* c.versions.list({ params: { ws: "team-a", name: "pydata" }, query: {} })
      assert.deepStrictEqual(list.value.map((v) => v.name), ["2", "1"])
      const latest = yield* c.versions.get({ params: { ws: "team-a", name: "pydata", version: "latest" }, query: {} })
      assert.strictEqual(latest.name, "2")
      assert.strictEqual(latest.properties.terrarium.image?.status, "NotBuilt")
      const diff = yield* c.versions.diff({ params: { ws: "team-a", name: "pydata" }, query: { from: "1", to: "2" } })
      assert.deepStrictEqual([diff.from.name, diff.to.name], ["1", "2"])
      const events = yield* c.audit.events({ params: { ws: "team-a", name: "pydata" }, query: {} })
      assert.isTrue(events.value.length >= 2)
      const firstOnly = yield* c.audit.events({ params: { ws: "team-a", name: "pydata" }, query: { limit: "1" } })
      assert.strictEqual(firstOnly.value.length, 1)
      assert.isDefined(firstOnly.nextLink)
      // As of the position of the first version, the environment had one version, and latest was 1.
      const asOf = String(events.value.find((e) => e.version === "1")!.position)
      const past = yield* c.versions.get({ params: { ws: "team-a", name: "pydata", version: "latest" }, query: { asOf } })
      assert.strictEqual(past.name, "1")
      const pastList = yield* c.versions.list({ params: { ws: "team-a", name: "pydata" }, query: { asOf } })
      assert.deepStrictEqual(pastList.value.map((v) => v.name), ["1"])
      const exported = yield* c.versions.export({ params: { ws: "team-a", name: "pydata", version: "1" }, query: { format: "conda" } })
      assert.match(exported.files[0]!.text ?? "", /requests==2\.32\.3/)
      const container = yield* c.environments.get({ params: { ws: "team-a", name: "pydata" }, query: {} })
      assert.deepStrictEqual([container.properties.latestVersion, container.properties.terrarium.versionCount], ["2", 2])
    })))

  it("PUT: 201 for a new version, 200 for the same content, 409 for other content (nothing appended)", async () => {
    const put = await call("PUT", "/team-a/environments/torch/versions/1.0", { body: body("torch==2.5.1") })
    assert.deepStrictEqual([put.status, put.json.name], [201, "1.0"])
    const same = await call("PUT", "/team-a/environments/torch/versions/1.0", { body: body("torch==2.5.1") })
    assert.strictEqual(same.status, 200)
    const described = await call("PUT", "/team-a/environments/torch/versions/1.0", { body: body("torch==2.5.1", { description: "second", tags: { owner: "x" } }) })
    assert.deepStrictEqual([described.status, described.json.properties.description, described.json.properties.tags], [200, "second", { owner: "x" }])
    // A read, and the same read remembered, are the bytes and type the framework encodes for the write's answer.
    for (const read of [await call("GET", "/team-a/environments/torch/versions/1.0"), await call("GET", "/team-a/environments/torch/versions/1.0")]) {
      assert.deepStrictEqual([read.status, read.text, read.headers.get("content-type")], [200, described.text, described.headers.get("content-type")])
    }
    const conflict = await refused(409, "PUT", "/team-a/environments/torch/versions/1.0", { body: body("torch==2.5.0") })
    assert.deepStrictEqual([conflict._tag, conflict.reason], ["EnvironmentError", "VersionConflict"])
  })

  it("PATCH changes description and tags only; archive and restore", async () => {
    const patched = await call("PATCH", "/team-a/environments/pydata/versions/1", { body: { properties: { tags: { stage: "prod" } } } })
    assert.deepStrictEqual([patched.status, patched.json.properties.tags], [200, { stage: "prod" }])
    const archived = await call("POST", "/team-a/environments/pydata/versions/1/archive")
    assert.deepStrictEqual([archived.status, archived.json.properties.isArchived], [200, true])
    const again = await refused(409, "POST", "/team-a/environments/pydata/versions/1/archive")
    assert.strictEqual(again.reason, "AlreadyArchived")
    const restored = await call("POST", "/team-a/environments/pydata/versions/1/restore")
    assert.deepStrictEqual([restored.status, restored.json.properties.isArchived], [200, false])
  })

  it("preview says the hash and whether it is registered, and appends nothing", async () => {
    const before = await s.head()
    const preview = await call("POST", "/team-a/environments/pydata/preview", { body: body() })
    assert.strictEqual(preview.status, 200, preview.text)
    assert.match(preview.json.canonicalHash, /^sha256:[0-9a-f]{64}$/)
    assert.deepStrictEqual([preview.json.registeredAs, preview.json.imageExists], ["1", false])
    const fresh = await call("POST", "/team-a/environments/pydata/preview", { body: body("numpy==2.1.0") })
    assert.strictEqual(fresh.json.registeredAs, null)
    assert.strictEqual(await s.head(), before)
  })
})

describe("problems", () => {
  it("400 names the field: of the body, of the query, of the path", async () => {
    assert.strictEqual((await refused(400, "POST", "/team-a/environments/pydata/versions", { body: { properties: { osType: "Mac" } } })).field, "properties.osType")
    assert.strictEqual((await refused(400, "POST", "/team-a/environments/pydata/versions", { body: { properties: { tags: { a: 1 } } } })).field, "properties.tags.a")
    assert.strictEqual((await refused(400, "POST", "/team-a/environments/pydata/versions", { body: "{not json" })).field !== undefined, true)
    assert.strictEqual((await refused(400, "GET", "/team-a/environments?$top=0")).field, "$top")
    assert.strictEqual((await refused(400, "GET", "/team-a/environments?$skip=forged")).field, "$skip")
    assert.strictEqual((await refused(400, "GET", "/team-a/environments?$orderBy=size")).field, "$orderBy")
    assert.strictEqual((await refused(400, "GET", "/team-a/environments/pydata/versions/1?asOf=yesterday")).field, "asOf")
    assert.strictEqual((await refused(400, "GET", "/team-a/environments/pydata/versions/@Prod")).field, "version")
    assert.strictEqual((await refused(400, "GET", "/team-a/environments/pydata/events?limit=100000")).field, "limit")
  })

  it("404 for what is not there; 422 for a definition or name that breaks a rule; 413 for a body over the limit", async () => {
    assert.strictEqual((await refused(404, "GET", "/team-a/environments/nothing/versions/1")).reason, "EnvironmentNotFound")
    assert.strictEqual((await refused(404, "GET", "/team-a/environments/pydata/versions/9")).reason, "VersionNotFound")
    assert.strictEqual((await refused(404, "GET", "/team-a/environments/pydata/versions/@prod")).reason, "LabelNotFound")
    await refused(404, "GET", "/team-a/environments/no-such-env")
    await refused(404, "GET", "/team-a/builds/no-such-build")
    const reserved = await refused(422, "POST", "/team-a/environments/AzureML-mine/versions", { body: body() })
    assert.deepStrictEqual([reserved._tag, reserved.reason], ["EnvironmentError", "ReservedPrefix"])
    const badSpec = await refused(422, "POST", "/team-a/environments/pydata/versions", { body: body("requests=====1") })
    assert.strictEqual(badSpec._tag, "ImportError")
    const both = await refused(422, "POST", "/team-a/environments/pydata/versions", { body: body("x", { build: { contextUri: "https://example.invalid/ctx" } }) })
    assert.strictEqual(both.field, "properties.build")
    const secret = await refused(422, "POST", "/team-a/environments/pydata/versions", { body: { properties: { build: { contextUri: "https://user:pw@example.invalid/ctx" } } } })
    assert.notInclude(JSON.stringify(secret), "pw@")
    await refused(413, "POST", "/team-a/environments/pydata/versions", { body: { properties: { description: "x".repeat(MAX_BODY_BYTES) } } })
  })

  it("401 without a key, with a wrong key, or with a revoked one", async () => {
    assert.strictEqual((await refused(401, "GET", "/team-a/environments", { key: null }))._tag, "Unauthorized")
    await refused(401, "GET", "/team-a/environments", { key: "trm_nope_nope" })
    const made = await s.run(Effect.gen(function*() {
      const { ApiKeys } = yield* Effect.promise(() => import("../../src/http/ApiKeys.ts"))
      return yield* ApiKeys.use((keys) => keys.create({ workspace: "team-a", actor: "test" }))
    }))
    const { Redacted } = await import("effect")
    const key = Redacted.value(made.key)
    assert.strictEqual((await call("GET", "/team-a/environments", { key, headers: {} })).status, 200)
    assert.strictEqual((await fetch(api("/team-a/environments"), { headers: { "api-key": key } })).status, 200)
    await s.run(Effect.gen(function*() {
      const { ApiKeys } = yield* Effect.promise(() => import("../../src/http/ApiKeys.ts"))
      return yield* ApiKeys.use((keys) => keys.revoke(made.id))
    }))
    await refused(401, "GET", "/team-a/environments", { key })
  })

  it("a key of workspace B gets 404 on every route of workspace A, learns nothing, and appends nothing", async () => {
    assert.strictEqual((await call("POST", "/team-a/environments/pydata/versions/2/builds")).status, 202)
    let build: any
    // The build's row reaches the read model when the background follower projects its start.
    for (let i = 0; i < 100 && build === undefined; i++) {
      build = (await call("GET", "/team-a/environments/pydata/versions/2/builds")).json.value[0]
      if (build?.status !== "Built") build = undefined
      if (build === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    // (The build has ended: nothing of team-a's moves the log while key B knocks.)
    const paths = OpenApi.fromApi(TerrariumApi).paths
    let checked = 0
    for (const [template, item] of Object.entries(paths)) {
      for (const method of ["get", "post", "put", "patch"] as const) {
        if ((item as Record<string, unknown>)[method] === undefined) continue
        const path = template.replace("{ws}", "team-a").replace("{name}", "pydata").replace("{version}", "1").replace("{buildId}", build.buildId)
          .replace("/api/v1/workspaces", "")
        const withQuery = path.endsWith("/diff") ? `${path}?from=1&to=2` : path
        const hasBody = method !== "get" && !path.endsWith("/archive") && !path.endsWith("/restore") && !path.endsWith("/builds")
        const payload = method === "patch" ? { properties: { description: "b was here" } } : body("b-was-here==1")
        // Key B is refused as if nothing were there.
        const upload = path.endsWith("/contexts")
        const b = await refused(404, method.toUpperCase(), withQuery, {
          key: s.keyB,
          ...(upload ? { body: tarOf({ Dockerfile: "FROM scratch\n" }), headers: { "content-type": "application/x-tar" } } : hasBody ? { body: payload } : {})
        })
        assert.notInclude(b.detail, "pydata")
        checked++
      }
    }
    assert.isAtLeast(checked, 20)
  })
})

describe("build contexts", () => {
  it("an uploaded tar is stored by digest; a version built from it names it as build.contextUri; the context reads back", async () => {
    const tar = tarOf({ Dockerfile: "FROM python:3.12-slim\nCOPY run.sh /run.sh\n", "run.sh": "#!/bin/sh\necho hi\n", "src/app.py": "print(1)\n" })
    const uploaded = await call("POST", "/team-a/contexts", { body: tar, headers: { "content-type": "application/x-tar" } })
    assert.strictEqual(uploaded.status, 201, uploaded.text)
    assert.match(uploaded.json.contextUri, /^terrarium:\/\/build-contexts\/sha256:[0-9a-f]{64}$/)
    assert.strictEqual(uploaded.json.files, 3)
    const version = { properties: { build: { contextUri: uploaded.json.contextUri, dockerfilePath: "Dockerfile" } } }
    const created = await call("POST", "/team-a/environments/from-context/versions", { body: version })
    assert.strictEqual(created.status, 201, created.text)
    assert.strictEqual(created.json.properties.terrarium.definition.docker.base.contextDigest, uploaded.json.contextDigest)
    assert.strictEqual((await call("POST", "/team-a/environments/from-context/versions", { body: version })).status, 200)
    const listing = await call("GET", "/team-a/environments/from-context/versions/1/context")
    assert.deepStrictEqual(listing.json.files.map((f: any) => [f.path, f.executable]).sort(), [["Dockerfile", false], ["run.sh", true], ["src/app.py", false]])
    const file = await call("GET", "/team-a/environments/from-context/versions/1/context?path=run.sh")
    assert.strictEqual(file.text, "#!/bin/sh\necho hi\n")
    await refused(422, "POST", "/team-a/environments/from-context/versions", {
      body: { properties: { build: { contextUri: uploaded.json.contextUri, dockerfilePath: "Nope.Dockerfile" } } }
    })
    await refused(422, "POST", "/team-a/environments/from-context/versions", {
      body: { properties: { build: { contextUri: `terrarium://build-contexts/sha256:${"0".repeat(64)}` } } }
    })
    await refused(400, "POST", "/team-a/contexts", { body: "not a tar archive at all".repeat(40), headers: { "content-type": "application/x-tar" } })
  })
})

describe("lists", () => {
  it("$top pages the list; nextLink walks it to the end; filters by type, search and tag", async () => {
    for (const name of ["alpha", "beta", "gamma"]) {
      assert.strictEqual((await call("POST", `/team-a/environments/${name}/versions`, { body: body(`${name}==1.0`) })).status, 201)
    }
    const names: Array<string> = []
    let next: string | undefined = "/team-a/environments?environmentType=UserCreated&$top=2"
    while (next !== undefined) {
      const page: any = await call("GET", next.startsWith("/api") ? `${s.baseUrl}${next}` : next)
      assert.strictEqual(page.status, 200, page.text)
      assert.isAtMost(page.json.value.length, 2)
      names.push(...page.json.value.map((e: any) => e.name))
      next = page.json.nextLink
    }
    assert.deepStrictEqual(names, ["alpha", "beta", "from-context", "gamma", "pydata", "torch"])
    // Descending, through the same pages' memory of the sorted list: the same names the other way.
    const down: Array<string> = []
    for (let next: string | undefined = "/team-a/environments?environmentType=UserCreated&$top=4&$orderBy=name desc"; next !== undefined;) {
      const page: any = await call("GET", next.startsWith("/api") ? `${s.baseUrl}${next}` : next)
      down.push(...page.json.value.map((e: any) => e.name))
      next = page.json.nextLink
    }
    assert.deepStrictEqual(down, [...names].reverse())
    // As of a position before alpha was registered, the list had none of alpha, beta, gamma (from-context came before).
    const alphaAt = (await call("GET", "/team-a/environments/alpha/events")).json.value[0].position
    const before = await call("GET", `/team-a/environments?environmentType=UserCreated&asOf=${alphaAt - 1}`)
    assert.deepStrictEqual(before.json.value.map((e: any) => e.name), ["from-context", "pydata", "torch"])
    const searched = await call("GET", "/team-a/environments?search=AMM")
    assert.deepStrictEqual(searched.json.value.map((e: any) => e.name), ["gamma"])
    const tagged = await call("GET", "/team-a/environments?tag=owner=x")
    assert.deepStrictEqual(tagged.json.value.map((e: any) => e.name), ["torch"])
    // A token of one query given with another is refused.
    const first = await call("GET", "/team-a/environments?environmentType=UserCreated&$top=2")
    const token = new URL(first.json.nextLink, s.baseUrl).searchParams.get("$skip")!
    await refused(400, "GET", `/team-a/environments?$top=2&$skip=${token}`)
  })

  it("archiving an environment hides it from ActiveOnly and shows it in ArchivedOnly", async () => {
    // Read before (twice: the second page is the remembered one), so that the lists after the write must be answered anew.
    for (let i = 0; i < 2; i++) {
      assert.include((await call("GET", "/team-a/environments?environmentType=UserCreated")).json.value.map((e: any) => e.name), "gamma")
      assert.deepStrictEqual((await call("GET", "/team-a/environments?listViewType=ArchivedOnly")).json.value, [])
    }
    assert.strictEqual((await call("POST", "/team-a/environments/gamma/archive")).json.properties.isArchived, true)
    const active = await call("GET", "/team-a/environments?environmentType=UserCreated")
    assert.notInclude(active.json.value.map((e: any) => e.name), "gamma")
    const archived = await call("GET", "/team-a/environments?listViewType=ArchivedOnly")
    assert.deepStrictEqual(archived.json.value.map((e: any) => e.name), ["gamma"])
    assert.strictEqual((await call("POST", "/team-a/environments/gamma/restore")).status, 200)
  })
})

describe("builds", () => {
  it("POST builds: 202 with a build id, then the image is built; again: 200 from the cache", async () => {
    const started = await call("POST", "/team-a/environments/alpha/versions/1/builds")
    assert.strictEqual(started.status, 202, started.text)
    assert.match(started.json.buildId, /^[0-9a-f-]{36}$/)
    // The build id answered is readable at once.
    assert.strictEqual((await call("GET", `/team-a/builds/${started.json.buildId}`)).status, 200)
    let image: any
    for (let i = 0; i < 200; i++) {
      image = (await call("GET", "/team-a/environments/alpha/versions/1/image")).json
      if (image.status === "Built" || image.status === "Failed") break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.strictEqual(image.status, "Built")
    assert.strictEqual(image.buildId, started.json.buildId)
    assert.isString(image.digest)
    const cached = await call("POST", "/team-a/environments/alpha/versions/1/builds")
    assert.deepStrictEqual([cached.status, cached.json.cacheHit, cached.json.status], [200, true, "Built"])
    const got = await call("GET", `/team-a/builds/${started.json.buildId}`)
    assert.deepStrictEqual([got.status, got.json.status], [200, "Built"])
  })

  it("the log: whole, by byte range (206, 416), and as Server-Sent Events that resume after Last-Event-ID", async () => {
    const buildId = (await call("GET", "/team-a/environments/alpha/versions/1/builds")).json.value[0].buildId
    const whole = await call("GET", `/team-a/builds/${buildId}/log`)
    assert.strictEqual(whole.status, 200)
    const lines = whole.text.split("\n").filter((l) => l !== "")
    assert.isAtLeast(lines.length, 2)
    const part = await call("GET", `/team-a/builds/${buildId}/log`, { headers: { range: "bytes=0-9" } })
    assert.deepStrictEqual([part.status, part.text, part.headers.get("content-range")], [206, whole.text.slice(0, 10), `bytes 0-9/${Buffer.byteLength(whole.text)}`])
    await refused(416, "GET", `/team-a/builds/${buildId}/log`, { headers: { range: `bytes=${Buffer.byteLength(whole.text)}-` } })
    const sse = await call("GET", `/team-a/builds/${buildId}/log/stream`)
    assert.strictEqual(sse.headers.get("content-type"), "text/event-stream")
    const events = sse.text.split("\n\n").filter((e) => e.includes("data:"))
    assert.strictEqual(events.length, lines.length + 1)
    assert.include(events.at(-1)!, "event: end")
    const resumed = await call("GET", `/team-a/builds/${buildId}/log/stream`, { headers: { "last-event-id": "1" } })
    const first = resumed.text.split("\n\n").find((e) => e.includes("data:"))!
    assert.include(first, "id: 2\n")
    assert.include(first, JSON.stringify(lines[1]).slice(1, -1).slice(0, 20))
  })
})

describe("every build of a hash", () => {
  const builtOnce = async (path: string) => {
    const started = await call("POST", path)
    assert.strictEqual(started.status, 202, started.text)
    for (let i = 0; i < 200; i++) {
      const got = (await call("GET", `/team-a/builds/${started.json.buildId}`)).json
      if (got.status === "Built" || got.status === "Failed") return got
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`build ${started.json.buildId} never ended`)
  }

  it("an earlier build keeps its own status, cause, times and log after a rebuild; the list has both, newest first, paged", async () => {
    const first = await builtOnce("/team-a/environments/beta/versions/1/builds")
    const again = await builtOnce("/team-a/environments/beta/versions/1/builds?noCache=true")
    assert.notStrictEqual(again.buildId, first.buildId)
    const earlier = await call("GET", `/team-a/builds/${first.buildId}`)
    assert.strictEqual(earlier.status, 200)
    assert.deepStrictEqual(
      [earlier.json.buildId, earlier.json.status, earlier.json.cause, earlier.json.image.buildId, earlier.json.image.status],
      [first.buildId, "Built", "first", first.buildId, "Built"]
    )
    assert.strictEqual(again.cause, "no-cache")
    assert.isString(earlier.json.startedAt)
    assert.isString(earlier.json.endedAt)
    assert.strictEqual(earlier.json.image.digest, first.image.digest)
    // Each build's log is its own: it names its build and why it started.
    const logOf = async (buildId: string) => (await call("GET", `/team-a/builds/${buildId}/log`)).text
    assert.include(await logOf(first.buildId), first.buildId)
    assert.notInclude(await logOf(first.buildId), again.buildId)
    assert.include(await logOf(again.buildId), again.buildId)
    const sse = (await call("GET", `/team-a/builds/${first.buildId}/log/stream`)).text
    assert.include(sse, first.buildId)
    assert.include(sse, "event: end")
    const all = await call("GET", "/team-a/environments/beta/versions/1/builds")
    assert.deepStrictEqual(all.json.value.map((b: any) => b.buildId), [again.buildId, first.buildId])
    const page = await call("GET", "/team-a/environments/beta/versions/1/builds?$top=1")
    assert.deepStrictEqual(page.json.value.map((b: any) => b.buildId), [again.buildId])
    const next = await call("GET", `${s.baseUrl}${page.json.nextLink}`)
    assert.deepStrictEqual(next.json.value.map((b: any) => b.buildId), [first.buildId])
    assert.isUndefined(next.json.nextLink)
  })

  it("a build id of another workspace's hash, asked in one's own workspace, is 404 exactly as an id that names nothing", async () => {
    const [of] = (await call("GET", "/team-a/environments/beta/versions/1/builds")).json.value
    const missing = crypto.randomUUID()
    for (const suffix of ["", "/log", "/log/stream"]) {
      const other = await refused(404, "GET", `/team-b/builds/${of.buildId}${suffix}`, { key: s.keyB })
      const none = await refused(404, "GET", `/team-b/builds/${missing}${suffix}`, { key: s.keyB })
      assert.deepStrictEqual({ ...other, detail: other.detail.replace(of.buildId, "ID") }, { ...none, detail: none.detail.replace(missing, "ID") })
    }
  })
})

describe("the server", () => {
  it("/openapi.json lists every route; / serves the web page's files, or a page saying how to build them", async () => {
    const doc = await (await fetch(`${s.baseUrl}/openapi.json`)).json() as { paths: Record<string, unknown> }
    assert.include(Object.keys(doc.paths), "/api/v1/workspaces/{ws}/environments/{name}/versions/{version}")
    const missing = await fetch(`${s.baseUrl}/`)
    assert.include(await missing.text(), "has not been built")
    mkdirSync(join(webRoot, "assets"), { recursive: true })
    writeFileSync(join(webRoot, "index.html"), "<!doctype html><title>web</title>")
    writeFileSync(join(webRoot, "assets", "app.js"), "console.log(1)")
    assert.strictEqual(await (await fetch(`${s.baseUrl}/environments/pydata/versions/2`)).text(), "<!doctype html><title>web</title>")
    const js = await fetch(`${s.baseUrl}/assets/app.js`)
    assert.deepStrictEqual([js.headers.get("content-type"), await js.text()], ["text/javascript; charset=utf-8", "console.log(1)"])
    assert.strictEqual((await fetch(`${s.baseUrl}/assets/../../../etc/passwd`)).status, 200)
    assert.notInclude(await (await fetch(`${s.baseUrl}/%2e%2e/%2e%2e/etc/passwd`)).text(), "root:")
    const unknownApi = await fetch(`${s.baseUrl}/api/v1/nothing`)
    assert.strictEqual(unknownApi.status, 404)
  })

  it("a version read again answers what changed since: a read is remembered only until the log moves", async () => {
    const labelsOf = async () => (await call("GET", "/team-a/environments/pydata/versions/2")).json.properties.terrarium.labels as Array<string>
    assert.strictEqual((await labelsOf()).includes("canary"), false)
    // Read twice: the second answer comes from the server's memory of the first.
    assert.strictEqual((await labelsOf()).includes("canary"), false)
    await refused(404, "GET", "/team-a/environments/pydata/versions/@canary")
    // A write that is not the API's own (the library, as another process would): the head moves.
    await s.run(Terrarium.use((t) => t.label({ workspace: "team-a", ref: { name: "pydata", version: "2" }, label: "canary", actor: "lib" })))
    assert.strictEqual((await labelsOf()).includes("canary"), true)
    assert.strictEqual((await call("GET", "/team-a/environments/pydata/versions/@canary")).json.name, "2")
  })

  it("the Terrarium service behind it is the library's (a write through it is read through the API)", async () => {
    await s.run(Terrarium.use((t) => t.label({ workspace: "team-a", ref: { name: "pydata", version: "2" }, label: "prod", actor: "lib" })))
    const byLabel = await call("GET", "/team-a/environments/pydata/versions/@prod")
    assert.deepStrictEqual([byLabel.status, byLabel.json.name, byLabel.json.properties.terrarium.labels.includes("prod")], [200, "2", true])
  })
})

describe("versions paging and the image resource", () => {
  it("the version list pages with $top and walks its nextLink; its $skip token given with another query is refused", async () => {
    for (const pkg of ["p==1", "p==2", "p==3"]) {
      assert.strictEqual((await call("POST", "/team-a/environments/paged/versions", { body: body(pkg) })).status, 201)
    }
    const names: Array<string> = []
    let next: string | undefined = "/team-a/environments/paged/versions?$top=2"
    let pages = 0
    while (next !== undefined) {
      const page: any = await call("GET", next.startsWith("/api") ? `${s.baseUrl}${next}` : next)
      assert.strictEqual(page.status, 200, page.text)
      assert.isAtMost(page.json.value.length, 2)
      names.push(...page.json.value.map((v: any) => v.name))
      next = page.json.nextLink
      pages++
    }
    assert.deepStrictEqual([names, pages], [["3", "2", "1"], 2])
    const first = await call("GET", "/team-a/environments/paged/versions?$top=2")
    const token = new URL(first.json.nextLink, s.baseUrl).searchParams.get("$skip")!
    await refused(400, "GET", `/team-a/environments/paged/versions?$top=2&listViewType=All&$skip=${token}`)
  })

  it("a built version's image says its reference, digest, hash, resolved lock and cached steps; building it again is a cache hit", async () => {
    const image = (await call("GET", "/team-a/environments/alpha/versions/1/image")).json
    const version = (await call("GET", "/team-a/environments/alpha/versions/1")).json
    assert.strictEqual(image.status, "Built")
    assert.strictEqual(image.canonicalHash, version.properties.terrarium.canonicalHash)
    assert.isString(image.reference)
    assert.match(image.digest, /^sha256:[0-9a-f]{64}$/)
    // The lock the build resolved (the in-memory builder resolves nothing, so its lists are empty).
    assert.deepStrictEqual(Object.keys(image.resolved ?? {}).sort(), ["conda", "pip"])
    assert.isNumber(image.cachedSteps)
    const again = await call("POST", "/team-a/environments/alpha/versions/1/builds")
    assert.deepStrictEqual([again.status, again.json.cacheHit, again.json.image.digest], [200, true, image.digest])
  })
})
