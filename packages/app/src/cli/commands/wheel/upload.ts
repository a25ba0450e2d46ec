/**
 * `terrarium wheel upload FILE`: checks the wheel against its own metadata, stores it by content
 * digest in the workspace, and prints the reference to list as a pip dependency.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { readWheelFile } from "../../../PrivateWheels.ts"
import { Terrarium } from "../../../Terrarium.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.3.0
 * @category commands
 */
export const upload = Command.make("upload", {
  file: Argument.String("file").pipe(Argument.withDescription("The wheel (.whl) to store"))
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.flatMap(readWheelFile(input.file), ({ fileName, bytes }) =>
        Terrarium.use((t) => t.uploadWheel({ workspace: flags.workspace, fileName, bytes }))),
    (r) => ({
      data: r,
      table: () =>
        [
          `${r.stored ? "stored" : "already stored"}: ${r.name} ${r.version} (${r.sizeBytes} bytes, sha256 ${r.sha256})`,
          "list it as a pip dependency:",
          `  ${r.reference}`
        ].join("\n")
    })
  )).pipe(Command.withDescription("Store a private wheel and print the reference a definition lists as a pip dependency"))
