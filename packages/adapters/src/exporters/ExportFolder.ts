/**
 * Writes an export (`DefinitionExport.ts`) into a folder, through Effect's `FileSystem`.
 *
 * The folder must not exist or be empty: an export written over other files would re-import with
 * them (a `conda_dependencies.yml` left from an earlier export is read as part of an AzureML v1
 * folder). `force` writes into a folder that has files anyway: every file the format may write
 * (`managedFiles`) and every file this export writes is removed first (a symbolic link is removed,
 * never followed), other files are kept, except in the folder the re-import digests as a build
 * context: a file there that the export does not write would be digested with the context, so it
 * is refused. Everything is checked before anything is written or removed: paths
 * stay inside the folder, no file to write is a folder, and no folder a file is written into is a
 * symbolic link already in the folder (it could lead anywhere). A build context's files are written
 * with their execute bits; its symbolic links are made last, after every file, so that nothing is
 * ever written through one.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Path, type PlatformError, Schema } from "effect"
import { failureText, isMissing } from "../importers/SourceFiles.ts"
import type { DefinitionExport } from "./DefinitionExport.ts"

/**
 * The folder could not be written: it has files (and `force` was not given), it is not a folder,
 * or the file system refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class ExportError extends Schema.TaggedError<ExportError>()("ExportError", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/**
 * Writes the files of `exported` into `out` (see the module notes); the paths written, relative
 * to `out`.
 *
 * @since 0.1.0
 * @category export
 */
export const writeExport = (
  out: string,
  exported: DefinitionExport,
  options: { readonly force?: boolean | undefined } = {}
): Effect.Effect<ReadonlyArray<string>, ExportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const failed = (at: string, what: string) => (error: PlatformError.PlatformError) =>
      new ExportError({ path: at, detail: `cannot ${what}: ${failureText(error)}` })
    const root = path.resolve(out)
    for (const file of exported.files) {
      const target = path.resolve(root, file.path)
      const relative = path.relative(root, target)
      if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) {
        return yield* new ExportError({ path: out, detail: `the export would write ${file.path}, outside the folder; nothing was written` })
      }
    }
    const paths = exported.files.map((f) => f.path)
    const nested = paths.find((p) => paths.some((q) => q.startsWith(`${p}/`)))
    if (nested !== undefined) {
      return yield* new ExportError({ path: out, detail: `the export would write ${nested} both as a file and as a folder; nothing was written` })
    }
    const info = yield* fs.stat(root).pipe(
      Effect.map((i): FileSystem.File.Info | undefined => i),
      Effect.catch((error) => (isMissing(error) ? Effect.succeed(undefined) : Effect.fail(failed(out, "look at the folder")(error))))
    )
    if (info !== undefined && info.type !== "Directory") {
      return yield* new ExportError({ path: out, detail: "exists and is not a folder; nothing was written" })
    }
    if (info !== undefined) {
      const entries = yield* fs.readDirectory(root).pipe(Effect.mapError(failed(out, "list the folder")))
      if (entries.length > 0 && options.force !== true) {
        return yield* new ExportError({
          path: out,
          detail: `is not empty (${entries.length} entries); nothing was written. Export into a new or empty folder, ` +
            "or pass --force to write into it (the files this format writes are replaced, other files are kept)"
        })
      }
      const replaced = new Set([...exported.managedFiles, ...paths])
      const toRemove: Array<string> = []
      for (const name of replaced) {
        const target = path.join(root, name)
        const through = yield* linkOnTheWay(fs, path, root, name)
        if (through !== undefined) {
          return yield* new ExportError({ path: through, detail: "is a symbolic link where the export writes a folder; nothing was written" })
        }
        const existing = yield* lstatOrMissing(fs, target)
        if (existing === undefined) continue
        if (existing.type === "Directory") {
          return yield* new ExportError({ path: target, detail: "is a folder where the export writes a file; nothing was written" })
        }
        toRemove.push(target)
      }
      if (exported.contextFolder !== undefined) {
        const stale = yield* strangersInContext(fs, path, root, exported.contextFolder, replaced)
        if (stale.length > 0) {
          return yield* new ExportError({
            path: path.join(root, exported.contextFolder),
            detail: `holds ${stale.length} entries the export does not write (${stale.slice(0, 5).map((s) => JSON.stringify(s)).join(", ")}), ` +
              "which the re-import would digest with the build context; nothing was written. Export into a new or empty folder"
          })
        }
      }
      for (const target of toRemove) yield* fs.remove(target).pipe(Effect.mapError(failed(target, "replace the file")))
    }
    yield* fs.makeDirectory(root, { recursive: true }).pipe(Effect.mapError(failed(out, "create the folder")))
    const links = exported.files.filter((f) => "linkTarget" in f)
    for (const file of [...exported.files.filter((f) => !("linkTarget" in f)), ...links]) {
      const target = path.join(root, file.path)
      yield* fs.makeDirectory(path.dirname(target), { recursive: true }).pipe(Effect.mapError(failed(target, "create the folder")))
      if ("text" in file) {
        yield* fs.writeFileString(target, file.text).pipe(Effect.mapError(failed(target, "write the file")))
      } else if ("content" in file) {
        yield* fs.writeFile(target, file.content).pipe(Effect.mapError(failed(target, "write the file")))
        // Set outright, not through the umask: the execute bit is part of the context's digest.
        yield* fs.chmod(target, file.executable ? 0o755 : 0o644).pipe(Effect.mapError(failed(target, "set the file's mode")))
      } else {
        yield* fs.symlink(file.linkTarget, target).pipe(Effect.mapError(failed(target, "make the symbolic link")))
      }
    }
    return paths
  })

const lstatOrMissing = (fs: FileSystem.FileSystem, target: string): Effect.Effect<FileSystem.File.Info | undefined, ExportError> =>
  fs.lstat(target).pipe(
    Effect.map((i): FileSystem.File.Info | undefined => i),
    Effect.catch((error) =>
      isMissing(error) ? Effect.succeed(undefined) : Effect.fail(new ExportError({ path: target, detail: `cannot look at it: ${failureText(error)}` }))
    )
  )

/**
 * The entries (files, links) in the context folder that the export neither writes nor replaces,
 * relative to `root`; folders are not entries of a context, so they are not counted.
 */
const strangersInContext = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  root: string,
  contextFolder: string,
  replaced: ReadonlySet<string>
): Effect.Effect<ReadonlyArray<string>, ExportError> =>
  Effect.gen(function*() {
    const folder = path.join(root, contextFolder)
    const info = yield* lstatOrMissing(fs, folder)
    if (info === undefined || info.type !== "Directory") return []
    const names = yield* fs.readDirectory(folder, { recursive: true }).pipe(
      Effect.mapError((error) => new ExportError({ path: folder, detail: `cannot list the folder: ${failureText(error)}` }))
    )
    const strangers: Array<string> = []
    for (const name of names) {
      const relative = [contextFolder, ...name.split(path.sep)].filter((s) => s !== "").join("/")
      if (replaced.has(relative)) continue
      if ((yield* lstatOrMissing(fs, path.join(folder, name)))?.type === "Directory") continue
      strangers.push(relative)
    }
    return strangers.sort()
  })

/**
 * The first folder above `name` (relative to `root`) that is a symbolic link, as a path; `undefined`
 * when every folder on the way is a folder or does not exist yet.
 */
const linkOnTheWay = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  root: string,
  name: string
): Effect.Effect<string | undefined, ExportError> =>
  Effect.gen(function*() {
    const segments = name.split("/").slice(0, -1)
    for (let i = 1; i <= segments.length; i++) {
      const folder = path.join(root, ...segments.slice(0, i))
      const info = yield* fs.lstat(folder).pipe(
        Effect.map((i): FileSystem.File.Info | undefined => i),
        Effect.catch((error) =>
          isMissing(error) ? Effect.succeed(undefined) : Effect.fail(new ExportError({ path: folder, detail: `cannot look at the folder: ${failureText(error)}` }))
        )
      )
      if (info === undefined) return undefined
      if (info.type === "SymbolicLink") return folder
    }
    return undefined
  })
