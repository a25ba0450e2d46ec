/**
 * Choosing Azure Blob storage by configuration: with `TERRARIUM_AZURE_BLOB_CONTAINER` set, build
 * logs and build contexts live in that container (here on Azurite), the connection string read
 * from the variable named by reference; without it, they stay files under the home.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, it } from "@effect/vitest"
import { AzureBlobStore } from "@terrarium/adapters"
import { BlobStore, BuildContextStore, LogStore } from "@terrarium/domain"
import { ConfigProvider, Effect, Layer, Redacted, Stream } from "effect"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { type Azurite, startAzurite } from "../../adapters/test/blob-store/Azurite.ts"
import { layerBuildContextStore, layerImages } from "../src/Setup.ts"

let emulator: Azurite | undefined
beforeAll(async () => { emulator = await startAzurite() }, 60_000)
afterAll(async () => { await emulator?.dispose() })

const withEnv = (env: Record<string, string>) =>
  Layer.mergeAll(
    layerImages,
    layerBuildContextStore({})
  ).pipe(
    Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
  )

const emptyContext = { digest: "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945", entries: [] }

it.effect("with an Azure container configured, logs and build contexts are blobs there; the home holds neither", () =>
  Effect.gen(function*() {
    const home = mkdtempSync(join(tmpdir(), "terrarium-azure-home-"))
    const env = {
      TERRARIUM_HOME: home,
      TERRARIUM_IMAGE_BUILDER: "memory",
      TERRARIUM_AZURE_BLOB_CONTAINER: "setup",
      TERRARIUM_AZURE_STORAGE_CONNECTION_STRING_VARIABLE: "TEST_AZURE_CONNECTION",
      TEST_AZURE_CONNECTION: emulator!.connectionString
    }
    yield* Effect.gen(function*() {
      const logs = yield* LogStore
      yield* logs.append("builds/abc/1", ["hello from azure"])
      yield* logs.seal("builds/abc/1")
      yield* (yield* BuildContextStore).put(emptyContext)
    }).pipe(Effect.provide(withEnv(env)))
    assert.isFalse(existsSync(join(home, "logs")))
    assert.isFalse(existsSync(join(home, "build-contexts")))
    const names = yield* Effect.gen(function*() {
      return (yield* Stream.runCollect((yield* BlobStore).list(""))).map((info) => info.name)
    }).pipe(Effect.provide(AzureBlobStore.layerWith({ connectionString: Redacted.make(emulator!.connectionString), container: "setup" })))
    assert.deepStrictEqual(names, [
      `build-contexts/contexts/${emptyContext.digest.slice(7)}.json`,
      "logs/builds/abc/1.log",
      "logs/builds/abc/1.sealed"
    ])
  }))

it.effect("with the connection string's variable unset, the first log write fails naming the variable", () =>
  Effect.gen(function*() {
    const env = {
      TERRARIUM_HOME: mkdtempSync(join(tmpdir(), "terrarium-azure-home-")),
      TERRARIUM_IMAGE_BUILDER: "memory",
      TERRARIUM_AZURE_BLOB_CONTAINER: "setup"
    }
    const error = yield* Effect.flip(Effect.flatMap(LogStore, (logs) => logs.append("builds/x/1", ["x"])).pipe(Effect.provide(withEnv(env))))
    assert.include(error.message, "the variable AZURE_STORAGE_CONNECTION_STRING is not set")
  }))
