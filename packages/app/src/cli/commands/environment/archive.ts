/**
 * `terrarium environment archive`: archive a whole environment (`NAME`, as AzureML) or
 * retire one version from `latest`, keeping either resolvable by exact version.
 *
 * @since 0.1.0
 */
import { archiveCommand } from "./ArchiveCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const archive = archiveCommand(
  "archive",
  "Archive a whole environment (NAME: hidden from list, new versions start archived) or one version (NAME:VERSION): still resolvable by exact version, never latest",
  (t, scope) => t.archiveEnvironment(scope),
  (t, scope) => t.archive(scope)
)
