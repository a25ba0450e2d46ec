/**
 * A token server for `docker-registry` in token-auth mode, answering the way Azure Container
 * Registry documents its endpoints (and as the distribution token spec asks):
 *
 * - `GET /oauth2/token?service&scope` with Basic auth: a known user, or the null-GUID user name
 *   with a refresh token as password (how an engine logs in to ACR);
 * - `POST /oauth2/token`, form `grant_type=password` (`username`, `password`), `refresh_token`
 *   (`refresh_token`) or `access_token` (an Entra access token), with `service` and `scope`;
 * - `POST /oauth2/exchange`, form `grant_type=access_token&service&access_token[&tenant]`:
 *   an Entra access token → `{refresh_token}`.
 *
 * Tokens are RS256 JWTs with the signing certificate in `x5c`, for the registry to verify against
 * `certificatePath` (its `rootcertbundle`). Every requested action is granted to an accepted
 * caller. `counts` lets a test see how often the server was asked; `revokeRefreshTokens()`
 * forgets the refresh tokens it gave. Started on a free port, closed by `close()`.
 */
import { execFileSync } from "node:child_process"
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer, type IncomingMessage } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The user name an ACR refresh token is given under (docker login, engine `authconfig`). */
export const NULL_GUID = "00000000-0000-0000-0000-000000000000"

export interface TokenServerOptions {
  readonly users: ReadonlyArray<{ readonly username: string; readonly password: string }>
  /** Entra ID access tokens the exchange accepts (opaque strings here). */
  readonly entraAccessTokens: ReadonlyArray<string>
  /** `expires_in` of the tokens given (default 300). */
  readonly expiresInSeconds?: number
}

export interface TestTokenServer {
  /** `http://127.0.0.1:PORT/oauth2/token`: the registry's `realm`. */
  readonly realm: string
  readonly service: string
  readonly issuer: string
  /** The PEM certificate the registry trusts (`rootcertbundle`). */
  readonly certificatePath: string
  readonly counts: { tokens: number; exchanges: number }
  readonly revokeRefreshTokens: () => void
  readonly close: () => Promise<void>
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString("base64url")

const readBody = (request: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    request.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > 65_536) request.destroy(new Error("body too large"))
      else chunks.push(chunk)
    })
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

/** `repository:team/env:pull,push` → the JWT `access` entry (the name may itself hold no `:` here). */
const accessOf = (scope: string) => {
  const first = scope.indexOf(":")
  const last = scope.lastIndexOf(":")
  if (first < 0 || last <= first) return []
  return [{ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(",").filter((a) => a !== "") }]
}

export const startTokenServer = async (options: TokenServerOptions): Promise<TestTokenServer> => {
  const root = mkdtempSync(join(tmpdir(), "terrarium-token-"))
  const keyPath = join(root, "token.key")
  const certificatePath = join(root, "token.crt")
  const issuer = "terrarium-test-issuer"
  const service = "terrarium-test-registry"
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certificatePath, "-days", "2", "-subj", `/CN=${issuer}`
  ], { stdio: "ignore" })
  const key = createPrivateKey(readFileSync(keyPath))
  const x5c = new X509Certificate(readFileSync(certificatePath)).raw.toString("base64")
  const expiresIn = options.expiresInSeconds ?? 300
  const refreshTokens = new Set<string>()
  const counts = { tokens: 0, exchanges: 0 }

  const jwt = (subject: string, scopes: ReadonlyArray<string>) => {
    const now = Math.floor(Date.now() / 1000)
    const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [x5c] }))
    const claims = base64url(JSON.stringify({
      iss: issuer, sub: subject, aud: service, iat: now, nbf: now - 1, exp: now + expiresIn,
      jti: randomBytes(12).toString("hex"), access: scopes.flatMap((s) => s.split(" ")).flatMap(accessOf)
    }))
    return `${header}.${claims}.${base64url(sign("sha256", Buffer.from(`${header}.${claims}`), key))}`
  }
  const isUser = (username: string | null, password: string | null) =>
    options.users.some((u) => u.username === username && u.password === password) ||
    (username === NULL_GUID && password !== null && refreshTokens.has(password))

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1")
    const answer = (status: number, body: object) => {
      response.writeHead(status, { "content-type": "application/json" })
      response.end(JSON.stringify(body))
    }
    const form = request.method === "POST" ? new URLSearchParams(await readBody(request)) : new URLSearchParams()
    if (url.pathname === "/oauth2/exchange" && request.method === "POST") {
      counts.exchanges++
      if (form.get("grant_type") !== "access_token" || !options.entraAccessTokens.includes(form.get("access_token") ?? "")) {
        return answer(401, { errors: [{ code: "UNAUTHORIZED" }] })
      }
      const refresh = randomBytes(24).toString("hex")
      refreshTokens.add(refresh)
      return answer(200, { refresh_token: refresh })
    }
    if (url.pathname !== "/oauth2/token") return answer(404, {})
    counts.tokens++
    let subject: string | undefined
    let scopes: Array<string>
    if (request.method === "GET") {
      const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? "")
      const [username, ...rest] = basic === null ? [] : Buffer.from(basic[1]!, "base64").toString("utf8").split(":")
      if (username !== undefined && isUser(username, rest.join(":"))) subject = username
      scopes = url.searchParams.getAll("scope")
    } else {
      const grant = form.get("grant_type")
      if (grant === "password" && isUser(form.get("username"), form.get("password"))) subject = form.get("username") ?? undefined
      if (grant === "refresh_token" && refreshTokens.has(form.get("refresh_token") ?? "")) subject = NULL_GUID
      if (grant === "access_token" && options.entraAccessTokens.includes(form.get("access_token") ?? "")) subject = "entra-user"
      scopes = form.getAll("scope")
    }
    if (subject === undefined) return answer(401, { errors: [{ code: "UNAUTHORIZED" }] })
    const token = jwt(subject, scopes)
    answer(200, { token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    realm: `http://127.0.0.1:${port}/oauth2/token`,
    service,
    issuer,
    certificatePath,
    counts,
    revokeRefreshTokens: () => refreshTokens.clear(),
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      rmSync(root, { recursive: true, force: true })
    }
  }
}
