/**
 * What docker-registry 2.8 cannot show: tag pages with `Link` (it ignores `n`; ACR pages), and a
 * hostile or broken registry (a `Link` or token realm elsewhere, an endless answer, 5xx, no
 * answer). A small HTTP server on 127.0.0.1 plays the registry; `answer` decides each reply.
 */
import { assert, layer } from "@effect/vitest"
import { ImageRegistry, type RegistryCredentials } from "@terrarium/domain"
import { ConfigProvider, Effect } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { afterAll, beforeAll } from "vitest"
import * as OciImageRegistry from "../../src/image-registry/oci/OciImageRegistry.ts"
import { failureOf } from "./ImageRegistryContract.ts"

type Handler = (request: IncomingMessage, response: ServerResponse) => void
let answer: Handler = (_, response) => response.end()
const seen: Array<{ url: string; authorization: string | undefined }> = []
const server = createServer((request, response) => {
  seen.push({ url: request.url ?? "", authorization: request.headers.authorization })
  answer(request, response)
})
let registry = ""

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  registry = `127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const password = "protocol-test-secret"
const basic: RegistryCredentials = { _tag: "Basic", username: "env:USER", password: "env:PASSWORD" }
const withEnv = Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { USER: "u", PASSWORD: password } })))
const at = (credentials: RegistryCredentials = { _tag: "Anonymous" }) => ({ registry, repository: "team/env", credentials })
const json = (response: ServerResponse, body: object, headers: Record<string, string> = {}) => {
  response.writeHead(200, { "content-type": "application/json", ...headers })
  response.end(JSON.stringify(body))
}

layer(OciImageRegistry.layerWith({ tagsPageSize: 2, requestTimeoutMillis: 500 }), { excludeTestServices: true })("OciImageRegistry protocol", (it) => {
  it.effect("follows Link pages until there is none", () =>
    Effect.gen(function*() {
      answer = (request, response) => {
        const url = new URL(request.url ?? "/", "http://x")
        const last = url.searchParams.get("last")
        if (last === null) return json(response, { name: "team/env", tags: ["a", "b"] }, { link: `</v2/team/env/tags/list?n=2&last=b>; rel="next"` })
        if (last === "b") return json(response, { name: "team/env", tags: ["c", "d"] }, { link: `<http://${registry}/v2/team/env/tags/list?n=2&last=d>; rel="next"` })
        json(response, { name: "team/env", tags: ["e"] })
      }
      seen.length = 0
      const tags = yield* (yield* ImageRegistry).listTags(at())
      assert.deepStrictEqual(tags, ["a", "b", "c", "d", "e"])
      assert.deepStrictEqual(seen.map((s) => s.url), [
        "/v2/team/env/tags/list?n=2",
        "/v2/team/env/tags/list?n=2&last=b",
        "/v2/team/env/tags/list?n=2&last=d"
      ])
    }))

  it.effect("a Link to another origin is refused, and nothing is sent there", () =>
    Effect.gen(function*() {
      answer = (_, response) => json(response, { name: "team/env", tags: ["a"] }, { link: `<http://127.0.0.2:1/v2/team/env/tags/list?last=a>; rel="next"` })
      const error = yield* failureOf((yield* ImageRegistry).listTags(at()))
      assert.strictEqual(error.reason._tag, "ProtocolError")
      assert.include(error.message, "another origin")
    }))

  it.effect("a Bearer realm over plain HTTP off loopback gets no credentials", () =>
    Effect.gen(function*() {
      answer = (_, response) => {
        response.writeHead(401, { "www-authenticate": `Bearer realm="http://registry.invalid/token",service="x"` })
        response.end()
      }
      seen.length = 0
      const error = yield* failureOf((yield* ImageRegistry).resolve(at(basic), "1"))
      assert.strictEqual(error.reason._tag, "ProtocolError")
      assert.isTrue(seen.every((s) => s.authorization === undefined))
    }).pipe(withEnv))

  it.effect("a Basic challenge gets the credentials; refused, they are not echoed", () =>
    Effect.gen(function*() {
      answer = (_, response) => {
        response.writeHead(401, { "www-authenticate": `Basic realm="r"` })
        response.end(`{"errors":[{"message":"bad ${password}"}]}`)
      }
      seen.length = 0
      const error = yield* failureOf((yield* ImageRegistry).resolve(at(basic), "1"))
      assert.strictEqual(error.reason._tag, "Unauthorized")
      assert.notInclude(error.message, password)
      assert.strictEqual(seen[1]?.authorization, `Basic ${Buffer.from(`u:${password}`).toString("base64")}`)
    }).pipe(withEnv))

  it.effect("a cached token the registry refuses is fetched again, once", () =>
    Effect.gen(function*() {
      let issued = 0
      let accepted = ""
      answer = (request, response) => {
        const url = new URL(request.url ?? "/", "http://x")
        if (url.pathname === "/token") {
          accepted = `token-${++issued}`
          return json(response, { token: accepted, expires_in: 3600 })
        }
        if (request.headers.authorization !== `Bearer ${accepted}`) {
          response.writeHead(401, { "www-authenticate": `Bearer realm="http://${registry}/token",service="s",scope="repository:team/env:pull"` })
          return response.end()
        }
        response.writeHead(200, { "docker-content-digest": `sha256:${"a".repeat(64)}` })
        response.end()
      }
      const registryPort = yield* ImageRegistry
      yield* registryPort.resolve(at(basic), "1")
      yield* registryPort.resolve(at(basic), "1")
      assert.strictEqual(issued, 1)
      // The registry forgets the token (a key rotated, a token revoked) long before expires_in.
      accepted = "forgotten"
      assert.strictEqual(yield* registryPort.resolve(at(basic), "1"), `sha256:${"a".repeat(64)}`)
      assert.strictEqual(issued, 2)
    }).pipe(withEnv))

  it.effect("an endless answer is cut off as a ProtocolError", () =>
    Effect.gen(function*() {
      answer = (_, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        const chunk = Buffer.alloc(1_048_576, 32)
        const write = () => { while (response.write(chunk)) { /* until the buffer is full */ } }
        response.on("drain", write)
        write()
      }
      const error = yield* failureOf((yield* ImageRegistry).listTags(at()))
      assert.strictEqual(error.reason._tag, "ProtocolError")
      assert.include(error.message, "larger than")
    }))

  it.effect("5xx and no answer are Unavailable and retryable", () =>
    Effect.gen(function*() {
      const registryPort = yield* ImageRegistry
      answer = (_, response) => {
        response.writeHead(503)
        response.end()
      }
      const failing = yield* failureOf(registryPort.resolve(at(), "1"))
      assert.strictEqual(failing.reason._tag, "Unavailable")
      assert.isTrue(failing.isRetryable)
      answer = () => undefined // never answers
      const silent = yield* failureOf(registryPort.resolve(at(), "1"))
      assert.strictEqual(silent.reason._tag, "Unavailable")
      assert.include(silent.message, "no answer within 500 ms")
    }))

  it.effect("a manifest without Docker-Content-Digest is digested from its bytes", () =>
    Effect.gen(function*() {
      const manifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`
      const accepts: Array<string> = []
      answer = (request, response) => {
        accepts.push(request.headers.accept ?? "")
        response.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" })
        response.end(request.method === "HEAD" ? undefined : manifest)
      }
      const { createHash } = yield* Effect.promise(() => import("node:crypto"))
      const digest = yield* (yield* ImageRegistry).resolve(at(), "1")
      assert.strictEqual(digest, `sha256:${createHash("sha256").update(manifest).digest("hex")}`)
      // Both requests ask for every manifest type (else docker-registry converts to schema1).
      assert.lengthOf(accepts, 2)
      for (const accept of accepts) {
        for (const type of ["oci.image.index.v1", "oci.image.manifest.v1", "docker.distribution.manifest.list.v2", "docker.distribution.manifest.v2"]) {
          assert.include(accept, `application/vnd.${type}+json`)
        }
      }
    }))
})
