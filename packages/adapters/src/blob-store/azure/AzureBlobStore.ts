/**
 * The blob store on Azure Blob storage (`@azure/storage-blob`), one container per store. `put`
 * uploads a small body in one request and a large one as staged blocks committed at the end,
 * so a failed or interrupted put leaves no blob (Azure drops uncommitted blocks after a week).
 * `append` writes Azure append blobs; appending to a block blob is `BlobConflict`.
 *
 * The connection string arrives `Redacted` and is read only to build the client; `location` is
 * the container's URL without its query, so no SAS signature reaches a message. Errors carry a
 * short text made from the service's status and code, not the SDK's error, which holds the
 * signed request. The container is made on the first write that finds it missing.
 *
 * The SDK is loaded, and the connection string read, on the first operation, not when the layer
 * is built: the CLI builds its layers for every command, and its start-up is measured (`pnpm
 * bench:cli`). A connection string that is missing or not valid fails that operation, clearly.
 *
 * @since 0.2.0
 */
import type * as AzureSdk from "@azure/storage-blob"
import {
  type BlobInfo,
  BlobConflict,
  BlobNotFound,
  BlobStorageFailure,
  BlobStore,
  BlobStoreError,
  BlobStoreUnavailable,
  checkBlobName,
  checkBlobPrefix,
  type PutBlobOptions
} from "@terrarium/domain"
import { Effect, Layer, Option, Redacted, Stream } from "effect"
import { createRequire } from "node:module"
import { blobLimit, boundedBody, tooLarge } from "../BlobBody.ts"

/** @since 0.2.0 @category models */
export interface AzureBlobStoreOptions {
  /** An Azure Storage connection string (account name and key, or a SAS); undefined when it is not set. */
  readonly connectionString: Redacted.Redacted<string> | undefined
  /** Where the connection string comes from, for messages (default `the connection string`): `the variable NAME`. */
  readonly connectionStringSource?: string | undefined
  /** The container holding the blobs: 3–63 lower-case letters, digits and single `-`. */
  readonly container: string
  /** Tries per request, the first included (default 3): the SDK retries server errors and timeouts. */
  readonly maxTries?: number | undefined
  /** How long one try may take (default 60 s). */
  readonly tryTimeoutMillis?: number | undefined
}

/** Azure's block size for staged uploads and its bound on one append. @since 0.2.0 */
export const AZURE_BLOCK_BYTES = 4 * 1_048_576

let sdk: typeof AzureSdk | undefined
// Loaded by require on first use, so that neither the CLI bundle nor a command that stores no blob loads it.
const loadSdk = (): typeof AzureSdk => (sdk ??= createRequire(import.meta.url)("@azure/storage-blob") as typeof AzureSdk)

/** The SDK's error for an answer from the service (or none), by name: the SDK may not be loaded yet. */
const isRestError = (cause: unknown): cause is AzureSdk.RestError =>
  cause instanceof Error && cause.name === "RestError"

/** A one-line description of what the service or the network said, without the request (it is signed). */
const describe = (cause: unknown): Error => {
  if (isRestError(cause)) {
    const parts = [cause.statusCode, cause.code].filter((p) => p !== undefined).join(" ")
    return new Error(`${parts}: ${(cause.message.split("\n")[0] ?? "").slice(0, 300)}`)
  }
  if (cause instanceof Error) return new Error(`${cause.name}: ${cause.message.split("\n")[0]?.slice(0, 300)}`)
  return new Error(String(cause).slice(0, 300))
}

const statusOf = (cause: unknown) => isRestError(cause) ? cause.statusCode : undefined
const codeOf = (cause: unknown) => isRestError(cause) ? cause.code : undefined

/** Missing: the blob or its whole container (a store never written to). */
const isMissing = (cause: unknown) => statusOf(cause) === 404

/** The container's URL without any query (a SAS), for messages, computed without the SDK. */
const containerLocation = (options: AzureBlobStoreOptions) => {
  const text = options.connectionString === undefined ? "" : Redacted.value(options.connectionString)
  const field = (key: string) => new RegExp(`(?:^|;)\\s*${key}=([^;]*)`, "i").exec(text)?.[1]?.trim()
  const endpoint = field("BlobEndpoint") ??
    (field("AccountName") !== undefined
      ? `${field("DefaultEndpointsProtocol") ?? "https"}://${field("AccountName")}.blob.${field("EndpointSuffix") ?? "core.windows.net"}`
      : "azure-blob:")
  return `${endpoint.split("?")[0]!.replace(/\/+$/, "")}/${options.container}`
}

const connect = (options: AzureBlobStoreOptions, location: string) =>
  Effect.try({
    try: () => {
      if (options.connectionString === undefined) throw new Error("unset")
      return loadSdk().BlobServiceClient.fromConnectionString(Redacted.value(options.connectionString), {
        retryOptions: {
          maxTries: options.maxTries ?? 3,
          tryTimeoutInMs: options.tryTimeoutMillis ?? 60_000,
          retryDelayInMs: 200,
          maxRetryDelayInMs: 2_000
        }
      }).getContainerClient(options.container)
    },
    // The SDK's message may quote the string it could not parse: only the fact is told.
    catch: () => {
      const source = options.connectionStringSource ?? "the connection string"
      const detail = options.connectionString === undefined ? `${source} is not set` : `${source} is not a valid Azure Storage connection string`
      return new BlobStoreError({
        reason: new BlobStorageFailure({ operation: "connect", name: location, cause: new Error(detail) })
      })
    }
  })

const make = (options: AzureBlobStoreOptions) => Effect.map(Effect.cached(Effect.suspend(() => connect(options, containerLocation(options)))), (connected) => {
  const location = containerLocation(options)

  const failure = (operation: string, name: string) => (cause: unknown): BlobStoreError => {
    const status = statusOf(cause)
    if (status === 404 && operation !== "put" && operation !== "append") {
      return new BlobStoreError({ reason: new BlobNotFound({ name }) })
    }
    if (codeOf(cause) === "InvalidBlobType") {
      return new BlobStoreError({ reason: new BlobConflict({ name, detail: "it was written whole by put and cannot be appended to" }) })
    }
    // No status: the request never got an answer (refused, reset, timed out); 5xx, 408, 429: the service is struggling.
    const retryable = status === undefined || status >= 500 || status === 408 || status === 429
    return new BlobStoreError({
      reason: retryable
        ? new BlobStoreUnavailable({ operation, name, location, cause: describe(cause) })
        : new BlobStorageFailure({ operation, name, cause: describe(cause) })
    })
  }

  const call = <A>(operation: string, name: string, request: (signal: AbortSignal) => Promise<A>) =>
    Effect.tryPromise({ try: request, catch: (cause) => cause }).pipe(Effect.mapError(failure(operation, name)))

  /** Runs a write; when the container is missing, makes it and runs the write once more. */
  const writing = <A>(container: AzureSdk.ContainerClient, operation: string, name: string, request: (signal: AbortSignal) => Promise<A>) =>
    Effect.tryPromise({ try: request, catch: (cause) => cause }).pipe(
      Effect.catchIf((cause) => codeOf(cause) === "ContainerNotFound", () =>
        Effect.tryPromise({ try: (signal) => container.createIfNotExists({ abortSignal: signal }), catch: (cause) => cause }).pipe(
          Effect.flatMap(() => Effect.tryPromise({ try: request, catch: (cause) => cause }))
        )),
      Effect.mapError(failure(operation, name))
    )

  const sizeOf = (container: AzureSdk.ContainerClient, name: string) =>
    Effect.tryPromise({ try: (signal) => container.getBlobClient(name).getProperties({ abortSignal: signal }), catch: (c) => c }).pipe(
      Effect.map((properties) => Option.some(properties.contentLength ?? 0)),
      Effect.catchIf(isMissing, () => Effect.succeed(Option.none<number>())),
      Effect.mapError(failure("head", name))
    )

  const put = <E>(name: string, body: Uint8Array | Stream.Stream<Uint8Array, E>, putOptions?: PutBlobOptions) =>
    Effect.gen(function*() {
      yield* checkBlobName(name)
      const container = yield* connected
      const blob = container.getBlockBlobClient(name)
      const blockIds: Array<string> = []
      let pending: Array<Uint8Array> = []
      let pendingBytes = 0
      const takePending = () => {
        const block = Buffer.concat(pending)
        pending = []
        pendingBytes = 0
        return block
      }
      const stage = (block: Buffer) => {
        // Block ids must all have the same length within a blob.
        const id = Buffer.from(`block-${String(blockIds.length).padStart(6, "0")}`).toString("base64")
        blockIds.push(id)
        return writing(container, "put", name, (signal) => blob.stageBlock(id, block, block.length, { abortSignal: signal }))
      }
      yield* Stream.runForEach(boundedBody(name, body, blobLimit(putOptions)), (chunk) => {
        pending.push(chunk)
        pendingBytes += chunk.length
        return pendingBytes >= AZURE_BLOCK_BYTES ? stage(takePending()) : Effect.void
      })
      if (blockIds.length === 0) {
        const whole = takePending()
        yield* writing(container, "put", name, (signal) => blob.upload(whole, whole.length, { abortSignal: signal }))
        return
      }
      if (pendingBytes > 0) yield* stage(takePending())
      yield* writing(container, "put", name, (signal) => blob.commitBlockList(blockIds, { abortSignal: signal }))
    })

  return BlobStore.of({
    location,
    put,
    append: (name, bytes, appendOptions) =>
      Effect.gen(function*() {
        yield* checkBlobName(name)
        const container = yield* connected
        const blob = container.getAppendBlobClient(name)
        const limit = blobLimit(appendOptions)
        const size = yield* sizeOf(container, name)
        if (Option.getOrElse(size, () => 0) + bytes.length > limit) return yield* tooLarge(name, limit)
        if (Option.isNone(size)) yield* writing(container, "append", name, (signal) => blob.createIfNotExists({ abortSignal: signal }))
        // One append takes at most a block; a larger one is several, in order.
        for (let offset = 0; offset < bytes.length; offset += AZURE_BLOCK_BYTES) {
          const part = bytes.subarray(offset, offset + AZURE_BLOCK_BYTES)
          yield* writing(container, "append", name, (signal) => blob.appendBlock(part, part.length, { abortSignal: signal }))
        }
      }),
    get: (name) =>
      Stream.unwrap(Effect.gen(function*() {
        yield* checkBlobName(name)
        const container = yield* connected
        const response = yield* call("get", name, (signal) => container.getBlobClient(name).download(0, undefined, { abortSignal: signal }))
        const body = response.readableStreamBody
        if (body === undefined) return Stream.empty
        return Stream.fromAsyncIterable(body as AsyncIterable<Buffer>, failure("get", name)).pipe(
          Stream.map((chunk) => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        )
      })),
    head: (name) =>
      Effect.gen(function*() {
        yield* checkBlobName(name)
        return Option.map(yield* sizeOf(yield* connected, name), (size): BlobInfo => ({ name, size }))
      }),
    list: (prefix) =>
      Stream.unwrap(Effect.map(Effect.andThen(checkBlobPrefix(prefix), connected), (container) => {
        const pages = container.listBlobsFlat(prefix === "" ? {} : { prefix }).byPage({ maxPageSize: 1000 })
        return Stream.fromAsyncIterable(pages, (cause) => cause).pipe(
          Stream.flatMap((page) =>
            Stream.fromIterable(page.segment.blobItems.map((item): BlobInfo => ({ name: item.name, size: item.properties.contentLength ?? 0 })))),
          // A container never written to holds no blobs.
          Stream.catchIf((cause) => codeOf(cause) === "ContainerNotFound", () => Stream.empty),
          Stream.mapError(failure("list", prefix))
        )
      })),
    delete: (name) =>
      Effect.gen(function*() {
        yield* checkBlobName(name)
        const container = yield* connected
        return yield* Effect.tryPromise({ try: (signal) => container.getBlobClient(name).deleteIfExists({ abortSignal: signal }), catch: (c) => c }).pipe(
          Effect.map((result) => result.succeeded),
          Effect.catchIf(isMissing, () => Effect.succeed(false)),
          Effect.mapError(failure("delete", name))
        )
      }),
    readUrl: (name, urlOptions) =>
      Effect.gen(function*() {
        yield* checkBlobName(name)
        const container = yield* connected
        if (Option.isNone(yield* sizeOf(container, name))) return yield* Effect.fail(new BlobStoreError({ reason: new BlobNotFound({ name }) }))
        const { BlobSASPermissions, SASProtocol } = loadSdk()
        // Read only, this blob only, valid from a minute ago (clock skew) for the lifetime asked;
        // plain HTTP allowed too, as the emulator serves it.
        const now = Date.now()
        const url = yield* Effect.tryPromise({
          try: () =>
            container.getBlobClient(name).generateSasUrl({
              permissions: BlobSASPermissions.parse("r"),
              startsOn: new Date(now - 60_000),
              expiresOn: new Date(now + urlOptions.lifetimeSeconds * 1000),
              protocol: SASProtocol.HttpsAndHttp
            }),
          // The SDK signs only with the account key: a connection string holding a SAS cannot sign another.
          catch: () =>
            new BlobStoreError({
              reason: new BlobStorageFailure({
                operation: "read URL",
                name,
                cause: new Error("a read SAS is signed with the account key; the connection string holds none (it holds a SAS or a token)")
              })
            })
        })
        return Redacted.make(url)
      })
  })
})

/**
 * The Azure Blob storage blob store.
 *
 * @since 0.2.0
 */
export const AzureBlobStore = {
  /** @since 0.2.0 @category layers */
  layerWith: (options: AzureBlobStoreOptions): Layer.Layer<BlobStore> => Layer.effect(BlobStore, make(options))
} as const
