/**
 * `terrarium environment restore`: bring an archived environment (`NAME`) or version back.
 *
 * @since 0.1.0
 */
import { archiveCommand } from "./ArchiveCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const restore = archiveCommand(
  "restore",
  "Restore an archived environment (NAME) or version (NAME:VERSION)",
  (t, scope) => t.restoreEnvironment(scope),
  (t, scope) => t.restore(scope)
)
