/**
 * A read URL for a blob of a store that has no URLs of its own (the file system, memory): a small
 * HTTP server on 127.0.0.1 that answers exactly one path, `/<256 random bits>/<the blob's last
 * segment>`, with the blob, until the scope closes or the lifetime ends, whichever comes first.
 * The random path is the credential, as a SAS signature is on Azure; any other path is 404.
 *
 * The URL is reachable from the host and from a build step with the host's network (the
 * project's engine has no other: `--bridge=none`), which is what a build needs.
 *
 * @since 0.3.0
 */
import { BlobNotFound, type BlobStore, BlobStoreError, blobStorageFailure, checkBlobName } from "@terrarium/domain"
import { Effect, Option, Redacted, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import { Readable } from "node:stream"

/**
 * The `readUrl` of a store made of its `head` and `get`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const loopbackReadUrl = (store: Pick<BlobStore["Service"], "head" | "get">) =>
(name: string, options: { readonly lifetimeSeconds: number }) =>
  Effect.gen(function*() {
    yield* checkBlobName(name)
    if (Option.isNone(yield* store.head(name))) return yield* Effect.fail(new BlobStoreError({ reason: new BlobNotFound({ name }) }))
    const token = randomBytes(32).toString("hex")
    const path = `/${token}/${encodeURIComponent(name.slice(name.lastIndexOf("/") + 1))}`
    const expiresAt = Date.now() + options.lifetimeSeconds * 1000
    const server = createServer((request, response) => {
      if (request.method !== "GET" || request.url !== path || Date.now() > expiresAt) {
        response.writeHead(404).end()
        return
      }
      response.writeHead(200, { "content-type": "application/octet-stream" })
      Readable.from(Stream.toAsyncIterable(store.get(name))).on("error", () => response.destroy()).pipe(response)
    })
    const port = yield* Effect.acquireRelease(
      Effect.callback<number, BlobStoreError>((resume) => {
        server.once("error", (cause) => resume(Effect.fail(blobStorageFailure("read URL", name)(cause))))
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      }),
      () => Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
    )
    return Redacted.make(`http://127.0.0.1:${port}${path}`)
  })
