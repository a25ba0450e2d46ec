/**
 * `terrarium environment register`: turn an environment's draft into a version.
 *
 * @since 0.1.0
 */
import { Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import * as Render from "../../Render.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const register = Command.make("register", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name")),
  version: Flag.String("version").pipe(Flag.withAlias("v"), Flag.withDescription("Explicit version (default: next number)"), Flag.optional)
}, (input) =>
  withTerrarium(
    (flags) =>
      Terrarium.use((t) => t.register({ workspace: flags.workspace, name: input.name, version: Option.getOrUndefined(input.version) })),
    (r) => ({ data: r, table: () => Render.registration(r) }),
    { version: "--version" }
  )).pipe(Command.withDescription("Register the draft as a new version (or report the version it already is)"))
