/**
 * Writes an export (`DefinitionExport.ts`) into a folder, through Effect's `FileSystem`.
 *
 * The folder must not exist or be empty: an export written over other files would re-import with
 * them (a `conda_dependencies.yml` left from an earlier export is read as part of an AzureML v1
 * folder). `force` writes into a folder that has files anyway: every file the format may write
 * (`managedFiles`) and every file this export writes is removed first (a symbolic link is removed,
 * never followed), other files are kept. Everything is checked before anything is written: paths
 * stay inside the folder, and no file to write is a folder.
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
      for (const name of new Set([...exported.managedFiles, ...exported.files.map((f) => f.path)])) {
        const target = path.join(root, name)
        const existing = yield* fs.lstat(target).pipe(
          Effect.map((i): FileSystem.File.Info | undefined => i),
          Effect.catch((error) => (isMissing(error) ? Effect.succeed(undefined) : Effect.fail(failed(target, "look at the file")(error))))
        )
        if (existing === undefined) continue
        if (existing.type === "Directory") {
          return yield* new ExportError({ path: target, detail: "is a folder where the export writes a file; nothing was written" })
        }
        yield* fs.remove(target).pipe(Effect.mapError(failed(target, "replace the file")))
      }
    }
    yield* fs.makeDirectory(root, { recursive: true }).pipe(Effect.mapError(failed(out, "create the folder")))
    for (const file of exported.files) {
      const target = path.join(root, file.path)
      yield* fs.makeDirectory(path.dirname(target), { recursive: true }).pipe(Effect.mapError(failed(target, "create the folder")))
      yield* fs.writeFileString(target, file.text).pipe(Effect.mapError(failed(target, "write the file")))
    }
    return exported.files.map((f) => f.path)
  })
