#!/usr/bin/env node
/**
 * `terrarium` executable: runs the CLI, prints failures as one clear line on stderr and sets a
 * non-zero exit code. Parse errors and help are printed by the CLI framework itself.
 */
// Subpath imports: the package index also loads every other platform module (a Redis client among them).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect } from "effect"
import { run } from "../cli/Cli.ts"

const describe = (error: unknown): string => {
  if (error instanceof Error && error.message !== "") return error.message
  return String(error)
}

const program = run(process.argv.slice(2)).pipe(
  Effect.catchCause((cause) =>
    Effect.gen(function*() {
      const failure = Cause.findErrorOption(cause)
      const error = failure._tag === "Some" ? failure.value : Cause.squash(cause)
      // The CLI framework has already shown parse errors together with usage help.
      const tag = (error as { readonly _tag?: string })._tag ?? ""
      if (!/^(ShowHelp|MissingOption|MissingArgument|InvalidValue|UnknownSubcommand|UnrecognizedOption|DuplicateOption|UserError)$/.test(tag)) {
        yield* Console.error(`terrarium: ${describe(error)}`)
      }
      // `--help` fails with ShowHelp and no errors; a parse error is ShowHelp with errors.
      const errors = (error as { readonly errors?: ReadonlyArray<unknown> }).errors ?? []
      process.exitCode = tag === "ShowHelp" && errors.length === 0 ? 0 : 1
    })
  ),
  Effect.provide(NodeServices.layer)
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
