/**
 * The build context of an imported Dockerfile-based definition, read from its folder to be stored
 * with the version (`BuildContextStore`): the CLI's `environment create` and the library's
 * `createFromFile` pass it to the `create` use case.
 *
 * @since 0.2.0
 */
import { type BuildContextProgressReporter, type ImportedEnvironment, importError, type ImportError, readBuildContext } from "@terrarium/adapters"
import type { BuildContext } from "@terrarium/domain"
import { Effect, type FileSystem, type Path } from "effect"

/**
 * The files of the build context `imported` names by folder, when it was digested at import
 * (`docker.base.contextDigest`); `undefined` for any other definition. The folder is read again,
 * so files changed since the import are an error (the digest would no longer be theirs).
 *
 * @since 0.2.0
 * @category build context
 */
export const importedBuildContext = (
  imported: ImportedEnvironment,
  onProgress?: BuildContextProgressReporter
): Effect.Effect<BuildContext | undefined, ImportError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const base = imported.definition.docker.base
    const directory = imported.source.buildContext
    if (base.kind !== "dockerfile" || base.contextDigest === undefined || directory === undefined) return undefined
    const context = yield* readBuildContext(directory, base.dockerfilePath ?? "Dockerfile", {}, onProgress)
    if (context?.digest !== base.contextDigest) {
      return yield* importError(
        { file: directory },
        context === undefined
          ? "the build context was removed while it was read; run the command again"
          : `the build context changed while it was read (its files now digest to ${context.digest}, not ${base.contextDigest}); run the command again`
      )
    }
    return context
  })
