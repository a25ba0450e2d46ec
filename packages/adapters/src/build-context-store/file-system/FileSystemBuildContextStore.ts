/**
 * The build-context store on the file system (`$TERRARIUM_HOME/build-contexts` by default): the
 * blob store's build-context store (`BlobBuildContextStore`) on a file-system blob store rooted
 * at the directory, so it keeps `files/<sha256>` and `contexts/<sha256>.json` there, each
 * written to a temporary file and renamed (see both adapters).
 *
 * @since 0.2.0
 */
import type { BuildContextStore } from "@terrarium/domain"
import { type FileSystem, Layer, type Path } from "effect"
import { FileSystemBlobStore } from "../../blob-store/file-system/FileSystemBlobStore.ts"
import { BlobBuildContextStore } from "../blob/BlobBuildContextStore.ts"

/** @since 0.2.0 @category model */
export interface FileSystemBuildContextStoreOptions {
  /** The store's directory; made (with its parents) when the first context is stored. */
  readonly directory: string
}

/**
 * @since 0.2.0
 * @category layers
 */
export const FileSystemBuildContextStore = {
  /** The store in `options.directory`, on the context's `FileSystem` and `Path`. */
  layerWith: (options: FileSystemBuildContextStoreOptions): Layer.Layer<BuildContextStore, never, FileSystem.FileSystem | Path.Path> =>
    BlobBuildContextStore.layerWith({ prefix: "", location: options.directory }).pipe(
      Layer.provide(FileSystemBlobStore.layerWith({ root: options.directory }))
    )
} as const
