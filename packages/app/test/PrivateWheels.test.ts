/**
 * The upload use case over the blob store in memory: a refusal stores nothing; the same bytes
 * twice are stored once under one reference; no blob store, or a bad workspace, is refused clearly.
 */
import { MemoryBlobStore } from "@terrarium/adapters"
import { BlobStore } from "@terrarium/domain"
import { Effect, Layer, Stream } from "effect"
import { readFileSync } from "node:fs"
import { basename } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as PrivateWheels from "../src/PrivateWheels.ts"
import { buildWheelFiles } from "../../../test/support/PackageIndex.ts"

let built: { readonly files: ReadonlyArray<string>; readonly remove: () => void } | undefined
beforeAll(async () => {
  built = await buildWheelFiles([{ name: "demo-upload", version: "0.1" }])
}, 120_000)
afterAll(() => built?.remove())

const withStore = <A, E>(f: (wheels: PrivateWheels.PrivateWheelCommands, blobs: BlobStore["Service"]) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.gen(function*() {
    return yield* f(yield* PrivateWheels.make, yield* BlobStore)
  }).pipe(Effect.provide(MemoryBlobStore.layer)))

const names = (blobs: BlobStore["Service"]) => Effect.map(Stream.runCollect(blobs.list("")), (infos) => infos.map((i) => i.name))

describe("uploadWheel", () => {
  it("stores a wheel once by digest and answers its reference; the same bytes again store nothing new", async () => {
    const file = built!.files[0]!
    const bytes = readFileSync(file)
    const [first, second, stored] = await withStore((wheels, blobs) =>
      Effect.gen(function*() {
        const first = yield* wheels.uploadWheel({ workspace: "team", fileName: basename(file), bytes })
        const second = yield* wheels.uploadWheel({ workspace: "team", fileName: basename(file), bytes })
        return [first, second, yield* names(blobs)] as const
      }))
    expect(first.stored).toBe(true)
    expect(second.stored).toBe(false)
    expect(second.reference).toBe(first.reference)
    expect(first.reference).toBe(`terrarium+wheel://team/${basename(file)}#sha256=${first.sha256}`)
    expect(first).toMatchObject({ name: "demo-upload", version: "0.1", sizeBytes: bytes.length })
    expect(stored).toEqual([`wheels/team/demo-upload/${first.sha256}/${basename(file)}`])
  })

  it("refuses what is not a wheel, or a bad workspace, as InvalidInput naming the field; nothing is stored", async () => {
    const bytes = readFileSync(built!.files[0]!)
    const [notZip, renamed, workspace, stored] = await withStore((wheels, blobs) =>
      Effect.gen(function*() {
        const notZip = yield* Effect.flip(wheels.uploadWheel({ workspace: "team", fileName: "x-1.0-py3-none-any.whl", bytes: new Uint8Array([1, 2, 3]) }))
        const renamed = yield* Effect.flip(wheels.uploadWheel({ workspace: "team", fileName: "other-0.1-py3-none-any.whl", bytes }))
        const workspace = yield* Effect.flip(wheels.uploadWheel({ workspace: "Team/../x", fileName: basename(built!.files[0]!), bytes }))
        return [notZip, renamed, workspace, yield* names(blobs)] as const
      }))
    expect(notZip).toMatchObject({ _tag: "InvalidInput", field: "file", input: "x-1.0-py3-none-any.whl" })
    expect(notZip.message).toContain("not a zip archive")
    expect(renamed.message).toContain("not other-0.1.dist-info")
    expect(workspace).toMatchObject({ _tag: "InvalidInput", field: "workspace" })
    expect(stored).toEqual([])
  })

  it("without a blob store, says so", async () => {
    const error = await Effect.runPromise(Effect.gen(function*() {
      const wheels = yield* PrivateWheels.make
      return yield* Effect.flip(wheels.uploadWheel({ workspace: "team", fileName: basename(built!.files[0]!), bytes: readFileSync(built!.files[0]!) }))
    }).pipe(Effect.provide(Layer.empty)))
    expect(error.message).toContain("no blob store")
  })
})
