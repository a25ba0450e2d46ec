/**
 * Serves a directory over HTTP on 127.0.0.1 at a free port, for the package index and the conda
 * channel fixtures: what a build on the engine's host network downloads from.
 */
import { createReadStream, statSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join, normalize, sep } from "node:path"

export interface StaticServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string
  /** Paths requested so far, in order (to prove what a build did or did not fetch). */
  readonly requests: ReadonlyArray<string>
  readonly close: () => Promise<void>
}

/**
 * Serves `root`; `page(path)` may answer a path itself (a generated index page) before files are
 * looked up.
 */
export const serveDirectory = async (root: string, page?: (path: string) => string | undefined): Promise<StaticServer> => {
  const requests: Array<string> = []
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname)
    requests.push(path)
    const generated = page?.(path)
    if (generated !== undefined) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(generated)
      return
    }
    const file = normalize(join(root, path))
    if (!file.startsWith(root + sep)) {
      res.writeHead(403).end()
      return
    }
    try {
      const stat = statSync(file)
      if (!stat.isFile()) throw new Error("not a file")
      res.writeHead(200, { "content-length": stat.size, "content-type": "application/octet-stream" })
      createReadStream(file).pipe(res)
    } catch {
      res.writeHead(404).end("not found")
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
