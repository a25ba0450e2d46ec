/**
 * Private wheels (`terrarium wheel upload`): a wheel checked against its own metadata and stored
 * in the blob store by content digest, and the reference a definition lists to install it
 * (docs/images.md, "Private wheels"). A build asks the store for a short-lived read URL of each
 * wheel its definition names (`ImageBuilds.ts`); nothing about a wheel is an event: the store is
 * content-addressed, and the definition that uses a wheel records its digest in its own events.
 *
 * @since 0.3.0
 */
import { readWheel } from "@terrarium/adapters"
import {
  BlobStore,
  type BlobStoreError,
  formatWheelReference,
  MAX_WHEEL_BYTES,
  normalizeProjectName,
  type PrivateWheelRef,
  wheelBlobName,
  WorkspaceName
} from "@terrarium/domain"
import { Effect, FileSystem, Option, Path, Schema } from "effect"
import { InvalidInput } from "./InvalidInput.ts"

/** What an upload stored, and the reference to list. @since 0.3.0 @category model */
export interface WheelUpload {
  /** `terrarium+wheel://<workspace>/<file name>#sha256=<hex>`: list it as a pip dependency. */
  readonly reference: string
  readonly workspace: string
  readonly fileName: string
  /** The project, PEP 503 normal form. */
  readonly name: string
  readonly version: string
  readonly sha256: string
  readonly sizeBytes: number
  /** False when the same bytes were stored already (an upload is idempotent). */
  readonly stored: boolean
  /** Where the bytes are (the blob store's location and the blob's name); never a credential. */
  readonly blob: string
}

/** @since 0.3.0 @category service */
export interface PrivateWheelCommands {
  /** Checks `bytes` as the wheel `fileName` and stores it for `workspace`; refusals are `InvalidInput` on `file`. */
  readonly uploadWheel: (input: {
    readonly workspace: string
    readonly fileName: string
    readonly bytes: Uint8Array
  }) => Effect.Effect<WheelUpload, InvalidInput | BlobStoreError>
}

const refused = (fileName: string, reason: string) => new InvalidInput({ field: "file", input: fileName.slice(0, 200), reason: `not a wheel that can be stored: ${reason}` })

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("")

/**
 * A wheel file's name and bytes, its size checked before it is read.
 *
 * @since 0.3.0
 * @category files
 */
export const readWheelFile = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const fileName = path.basename(file)
    const info = yield* fs.stat(file).pipe(Effect.mapError((e) => refused(file, `it cannot be read (${e.reason._tag})`)))
    if (info.type !== "File") return yield* refused(file, "it is not a regular file")
    if (Number(info.size) > MAX_WHEEL_BYTES) return yield* refused(file, `it is larger than ${MAX_WHEEL_BYTES} bytes`)
    const bytes = yield* fs.readFile(file).pipe(Effect.mapError((e) => refused(file, `it cannot be read (${e.reason._tag})`)))
    return { fileName, bytes }
  })

/**
 * The use cases, over the blob store when the setup has one.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const blobs = Option.getOrUndefined(yield* Effect.serviceOption(BlobStore))
  const uploadWheel: PrivateWheelCommands["uploadWheel"] = (input) =>
    Effect.gen(function*() {
      if (!Schema.is(WorkspaceName)(input.workspace)) {
        return yield* new InvalidInput({ field: "workspace", input: String(input.workspace).slice(0, 200), reason: "a workspace name is 1-63 lower-case letters, digits, '-' or '_'" })
      }
      // Everything is checked before anything is stored.
      const wheel = readWheel(input.fileName, input.bytes)
      if (typeof wheel === "string") return yield* refused(input.fileName, wheel)
      if (blobs === undefined) return yield* refused(input.fileName, "this setup has no blob store to keep wheels in")
      const sha256 = hex(yield* Effect.promise(() => crypto.subtle.digest("SHA-256", input.bytes as Uint8Array<ArrayBuffer>)))
      const ref: PrivateWheelRef = { workspace: input.workspace, fileName: input.fileName, sha256 }
      const name = wheelBlobName(ref)
      const existing = yield* blobs.head(name)
      const stored = Option.isNone(existing) || existing.value.size !== input.bytes.length
      if (stored) yield* blobs.put(name, input.bytes, { maxBytes: MAX_WHEEL_BYTES })
      return {
        reference: formatWheelReference(ref),
        workspace: input.workspace,
        fileName: input.fileName,
        name: normalizeProjectName(wheel.name),
        version: wheel.version,
        sha256,
        sizeBytes: input.bytes.length,
        stored,
        blob: `${blobs.location}/${name}`
      }
    })
  return { uploadWheel } satisfies PrivateWheelCommands
})
