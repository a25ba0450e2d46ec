/**
 * An in-memory `FileSystem` (with the POSIX `Path`) for the importers' tests: a map of path →
 * text, so a case holds its files inline. Effect ships no memory file system, only
 * `FileSystem.makeNoop`, where every operation fails with `NotFound`; this one answers the reads
 * the importers make (`readFile`, and `stat`/`lstat` of a file) from the map.
 *
 * It holds files only: a directory is never found, so a build context is not walked here (its
 * digest is left out, as for a missing context); BuildContext.test.ts walks real directories.
 * There are no links: `realPath` of a file, or of a folder some file is in, is its absolute path,
 * which is what the importers' checks of what they may read need.
 */
import { ByteSize, Effect, FileSystem, Layer, Option, Path, PlatformError, Stream } from "effect"
import { posix } from "node:path"

const notFound = (method: string, path: string) =>
  PlatformError.systemError({
    _tag: "NotFound",
    module: "FileSystem",
    method,
    description: "No such file or directory",
    pathOrDescriptor: path
  })

const fileInfo = (bytes: Uint8Array): FileSystem.File.Info => ({
  type: "File",
  mtime: Option.none(),
  atime: Option.none(),
  birthtime: Option.none(),
  dev: 0n,
  ino: Option.none(),
  mode: 0o644,
  nlink: Option.none(),
  uid: Option.none(),
  gid: Option.none(),
  rdev: Option.none(),
  size: ByteSize.bytes(bytes.length),
  blksize: Option.none(),
  blocks: Option.none()
})

/**
 * A `FileSystem` holding `files` (path → UTF-8 text, paths as the importers will ask for them),
 * and `Path.layer`.
 */
export const layer = (files: Readonly<Record<string, string>>): Layer.Layer<FileSystem.FileSystem | Path.Path> => {
  const resolve = (path: string) => posix.resolve(path)
  const bytes = new Map(Object.entries(files).map(([path, text]) => [resolve(path), new TextEncoder().encode(text)]))
  const read = (method: string, path: string): Effect.Effect<Uint8Array, PlatformError.PlatformError> => {
    const content = bytes.get(resolve(path))
    return content === undefined ? Effect.fail(notFound(method, path)) : Effect.succeed(content)
  }
  const stat = (method: string) => (path: string) => read(method, path).pipe(Effect.map(fileInfo))
  const realPath = (path: string) => {
    const absolute = resolve(path)
    const found = bytes.has(absolute) || [...bytes.keys()].some((file) => file.startsWith(`${absolute}/`))
    return found ? Effect.succeed(absolute) : Effect.fail(notFound("realPath", path))
  }
  return Layer.mergeAll(
    FileSystem.layerNoop({
      readFile: (path) => read("readFile", path),
      stat: stat("stat"),
      lstat: stat("lstat"),
      realPath,
      stream: (path, options) =>
        Stream.unwrap(read("stream", path).pipe(Effect.map((content) =>
          Stream.make(options?.bytesToRead === undefined ? content : content.slice(0, Number(options.bytesToRead)))
        )))
    }),
    Path.layer
  )
}
