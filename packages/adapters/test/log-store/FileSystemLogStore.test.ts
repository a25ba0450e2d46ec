import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FileSystemLogStore } from "../../src/log-store/filesystem/FileSystemLogStore.ts"
import { logStoreContract } from "./LogStoreContract.ts"

const root = join(mkdtempSync(join(tmpdir(), "terrarium-logs-")), "logs")

logStoreContract(
  "file system",
  FileSystemLogStore.layerWith({ root, pollInterval: "20 millis" }).pipe(
    Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
  )
)
