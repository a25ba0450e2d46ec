#!/usr/bin/env node
/**
 * `terrarium` executable: runs the CLI, reports a failure as one line on stderr (text, or JSON
 * with `--output json|yaml`) and sets the exit code (2: the command line is wrong, 1: the
 * command failed; see `cli/Diagnostics.ts`). Help and version are printed by the CLI framework.
 */
// Subpath imports: the package index also loads every other platform module (a Redis client among them).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect, Logger } from "effect"
import { run } from "../cli/Cli.ts"
import * as Diagnostics from "../cli/Diagnostics.ts"

const args = process.argv.slice(2)

const program = run(args).pipe(
  Effect.catchCause((cause) =>
    Effect.gen(function*() {
      const failure = Cause.findErrorOption(cause)
      // `--help` (and a bare `terrarium`) ends as ShowHelp without errors: help was printed.
      if (failure._tag === "Some" && failure.value._tag === "ShowHelp" && failure.value.errors.length === 0) return
      const { report, exitCode } = failure._tag === "Some"
        ? Diagnostics.describe(failure.value)
        : Diagnostics.describeDefect(Cause.squash(cause))
      yield* Console.error(Diagnostics.render(Diagnostics.requestedFormat(args), report))
      process.exitCode = exitCode
    })
  ),
  Effect.provide([NodeServices.layer, Logger.layer([Diagnostics.stderrLogger])])
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
