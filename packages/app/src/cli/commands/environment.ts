/**
 * `terrarium environment` (alias `env`): the commands that define, register, inspect and
 * compare environments, one module each under `environment/`.
 *
 * @since 0.1.0
 */
import { Command } from "effect/cli"
import { addPackage } from "./environment/add-package.ts"
import { archive } from "./environment/archive.ts"
import { build } from "./environment/build.ts"
import { clone } from "./environment/clone.ts"
import { create } from "./environment/create.ts"
import { diff } from "./environment/diff.ts"
import { exportCommand } from "./environment/export.ts"
import { label } from "./environment/label.ts"
import { list } from "./environment/list.ts"
import { register } from "./environment/register.ts"
import { removePackage } from "./environment/remove-package.ts"
import { repair } from "./environment/repair.ts"
import { restore } from "./environment/restore.ts"
import { setVariable } from "./environment/set-variable.ts"
import { share } from "./environment/share.ts"
import { show } from "./environment/show.ts"
import { update } from "./environment/update.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const environment = Command.make("environment").pipe(
  Command.withAlias("env"),
  Command.withDescription("Define, register, inspect and compare environments"),
  // In the order `--help` lists them: defining, reading, drafting, then managing versions.
  Command.withSubcommands([
    create, clone, list, show, exportCommand, diff, addPackage, removePackage, setVariable, register, update, build, archive, restore,
    label, share, repair
  ])
)
