/**
 * `@terrarium/adapters`: the adapters of the domain's ports, the SQL database they share, and the
 * importers of other tools' environment files. This file is the package's whole public surface,
 * one export per name; a module not exported here is internal to the package.
 *
 * @since 0.1.0
 */

// The event store: SQL (PostgreSQL, PGlite) and memory.
export { SqlEventStore, type SqlEventStoreOptions } from "./event-store/sql/SqlEventStore.ts"
export { MemoryEventStore } from "./event-store/memory/MemoryEventStore.ts"

// The read model and its projector: SQL and memory.
export { SqlReadModel, type SqlReadModelOptions } from "./read-model/sql/SqlReadModel.ts"
export { MemoryReadModel, type MemoryReadModelOptions } from "./read-model/memory/MemoryReadModel.ts"
// The pure projection both read models apply (event -> row operations): a past view replays the
// log up to a position through it, so that it shows the rows the read model had then.
export { type EnvironmentKey, type RowOp, rowOpsOfBatch } from "./read-model/Projection.ts"

// The storage port: SQL and memory.
export { SqlStorage } from "./storage/sql/SqlStorage.ts"
export { MemoryStorage } from "./storage/memory/MemoryStorage.ts"

// The API key store: SQL (PostgreSQL, PGlite) and memory.
export { SqlApiKeyStore } from "./api-key-store/sql/SqlApiKeyStore.ts"
export { MemoryApiKeyStore } from "./api-key-store/memory/MemoryApiKeyStore.ts"

// The build-context store: the file system and memory.
export {
  FileSystemBuildContextStore,
  type FileSystemBuildContextStoreOptions
} from "./build-context-store/file-system/FileSystemBuildContextStore.ts"
export { MemoryBuildContextStore } from "./build-context-store/memory/MemoryBuildContextStore.ts"
export { BlobBuildContextStore, type BlobBuildContextStoreOptions } from "./build-context-store/blob/BlobBuildContextStore.ts"

// The SQL database the SQL adapters share (not a port: the composition root picks the engine).
export { Database, DatabaseError, type DatabaseKind, type PgliteOptions, type PostgresOptions } from "./sql/Database.ts"
export type { DataDirectoryLockOptions, LockOwner } from "./sql/DataDirectoryLock.ts"

// Importers of environment files, the pip and conda spec parsers, the Docker build context.
export * from "./importers/index.ts"
// Exporters: definitions written back in those formats.
export {
  type DefinitionExport,
  describeLeftOut,
  EXPORT_FORMATS,
  type ExportedFile,
  exportDefinition,
  ExportError,
  type ExportFormat,
  type ExportInput,
  exportPrefix,
  type LeftOut,
  type StoredExport,
  type StoredExportEntry,
  type StoredExportSubject,
  unstatedDifferences,
  writeExport,
  writeExportBlobs
} from "./exporters/index.ts"
export * from "./package-spec/index.ts"
export {
  type BuildContext,
  type BuildContextEntry,
  type BuildContextFile,
  type BuildContextLimits,
  type BuildContextProgress,
  type BuildContextProgressReporter,
  type BuildContextSymlink,
  DEFAULT_BUILD_CONTEXT_LIMITS,
  digestBuildContext,
  readBuildContext,
  walkBuildContext
} from "./build-context/BuildContext.ts"

// The log store: the file system and memory.
export { FileSystemLogStore, type FileSystemLogStoreOptions } from "./log-store/filesystem/FileSystemLogStore.ts"
export { MemoryLogStore } from "./log-store/memory/MemoryLogStore.ts"
export { BlobLogStore, type BlobLogStoreOptions } from "./log-store/blob/BlobLogStore.ts"
export { FileSystemBlobStore, type FileSystemBlobStoreOptions } from "./blob-store/file-system/FileSystemBlobStore.ts"
export { MemoryBlobStore } from "./blob-store/memory/MemoryBlobStore.ts"
// The Azure blob store loads @azure/storage-blob on its first operation, not when imported.
export { AZURE_BLOCK_BYTES, AzureBlobStore, type AzureBlobStoreOptions } from "./blob-store/azure/AzureBlobStore.ts"
export { readWheel, type WheelMetadata } from "./private-wheel/WheelArchive.ts"

// The image builder in memory (scripted outcomes), for the application's unit tests; its images
// in a directory when processes share one engine.
export {
  type ImageShelf,
  MemoryEngine,
  MemoryImageBuilder,
  type MemoryImageBuilderOptions,
  type ScriptedBuild
} from "./image-builder/memory/MemoryImageBuilder.ts"
export { directoryShelf } from "./image-builder/memory/DirectoryShelf.ts"

// The image builder on a Docker engine (dockerode): `DockerImageBuilder.layer` (DOCKER_HOST, else
// the system socket) and `DockerImageBuilder.layerWith({ host })`.
export * as DockerImageBuilder from "./image-builder/docker/DockerImageBuilder.ts"
export type { DockerImageBuilderOptions } from "./image-builder/docker/DockerImageBuilder.ts"
// Pushing an image the engine holds to a registry (checkAuth first), returning the manifest digest.
export { pullImage, pushImage, type PushTarget } from "./image-builder/docker/DockerPush.ts"

// The image registry on the OCI Distribution HTTP API (docker-registry, ACR):
// `OciImageRegistry.layer`, `OciImageRegistry.layerWith({ requestTimeoutMillis, tagsPageSize })`,
// and `OciImageRegistry.engineLogin` (what an engine logs in with, ACR's null-GUID login included).
export * as OciImageRegistry from "./image-registry/oci/OciImageRegistry.ts"
export type { EngineLogin, OciImageRegistryOptions } from "./image-registry/oci/OciImageRegistry.ts"

// The build queue: pg-boss (on the registry's PostgreSQL) and memory.
export { PgBossBuildQueue, type PgBossBuildQueueOptions } from "./build-queue/pg-boss/PgBossBuildQueue.ts"
export { MemoryBuildQueue } from "./build-queue/memory/MemoryBuildQueue.ts"
