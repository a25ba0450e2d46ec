/**
 * What the CLI writes to stderr: a failed command's error and warnings.
 *
 * A failure is one line: `terrarium: <message>` by default, or with `--output json` (or `yaml`)
 * `{"error":{"_tag":…,"message":…,"file"?:…,"line"?:…,"field"?:…,"reason"?:…}}`, so scripts can
 * tell failures apart without parsing prose (a line of JSON is a YAML document too). The exit code says whose the problem is:
 *
 * - **2**: the command line is wrong (an unknown or missing flag or argument, a value that breaks
 *   a rule such as `--name "my env"`, a REF such as `"a b:1"` or `x@Prod`, or
 *   `--database-schema "x y"`, an unreadable `--as-of` or package spec, flags that exclude each
 *   other). Nothing was written.
 * - **1**: the command was understood but could not be done (a file that is missing or invalid,
 *   an unknown environment, version or label, a rule of the registry, the database).
 *
 * @since 0.1.0
 */
import { describeCause } from "@terrarium/domain"
import { Cause, Logger, Schema } from "effect"
import { CliError } from "effect/cli"
import type { TerrariumError } from "../Errors.ts"
import { escapeControls, type Format } from "./Output.ts"

/**
 * A command line that cannot be right: printed as is, exit code 2. `field` names the input (as
 * the library calls it) when one value is to blame.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  detail: Schema.String,
  field: Schema.optionalKey(Schema.String)
}) {
  override get message() {
    return this.detail
  }
}

/**
 * The machine-readable form of a failure (`--output json`): `_tag` and `message` always, the
 * rest when known. Fields are only ever added.
 *
 * @since 0.1.0
 * @category model
 */
export interface FailureReport {
  readonly _tag: string
  readonly message: string
  readonly file?: string
  readonly line?: number
  readonly field?: string
  /** For `EnvironmentError`: which rule, e.g. `VersionNotFound`. */
  readonly reason?: string
}

/** @since 0.1.0 @category model */
export type ExitCode = 1 | 2

/**
 * What a command can fail with: the CLI framework's errors, a wrong command line, or any error
 * of the application (`TerrariumError`). The executable passes a command's typed failure here,
 * so an error that is not in this union does not compile; a new adapter's error is added to
 * `TerrariumError` once and gets its report and exit code below.
 *
 * @since 0.1.0
 * @category model
 */
export type CommandFailure = CliError.CliError | UsageError | TerrariumError

/** Whose problem it is: the command line (2), or the command that could not be done (1). */
const exitCodeOf = (error: UsageError | TerrariumError): ExitCode => {
  switch (error._tag) {
    case "UsageError":
    case "InvalidInput":
    case "InvalidReference":
    case "ConflictingStorage":
      return 2
    case "SpecError":
    case "ImportError":
    case "ExportError":
    case "MissingName":
    case "EnvironmentError":
    case "StreamContended":
    case "EventStoreError":
    case "EventDecodeFailure":
    case "ProjectionError":
    case "ReadModelError":
    case "StorageError":
    case "DatabaseError":
    case "ImageBuilderError":
    case "ImageBuildFailed":
    case "ImageNotFound":
    case "NothingToCancel":
    case "QueuedBuildDropped":
    case "BaseRefreshIncomplete":
    case "PushNotRecorded":
    case "BuildQueueError":
    case "LogStoreError":
    case "BuildContextStoreError":
    case "BlobStoreError":
    case "ApiKeyStoreError":
      return 1
    default:
      // Unreachable by type (a new member of the union fails to compile above); at run time an
      // error cast past the type is still a failure, never exit 0.
      error satisfies never
      return 1
  }
}

/** Where the problem is, when the error knows: a file and line, or the input to blame. */
const placeOf = (error: UsageError | TerrariumError): Pick<FailureReport, "file" | "line" | "field" | "reason"> => {
  switch (error._tag) {
    case "ImportError":
      return { file: error.file, ...(error.line !== undefined ? { line: error.line } : {}), ...(error.field !== undefined ? { field: error.field } : {}) }
    case "MissingName":
      return { file: error.file }
    case "ExportError":
      return { file: error.path }
    case "InvalidInput":
      return { field: error.field }
    case "UsageError":
      return error.field !== undefined ? { field: error.field } : {}
    case "EnvironmentError":
    case "ImageBuilderError":
    case "LogStoreError":
    case "BuildQueueError":
    case "BuildContextStoreError":
    case "BlobStoreError":
    case "ApiKeyStoreError":
      return { reason: error.reason._tag }
    case "ImageBuildFailed":
      return { reason: error.reason }
    default:
      return {}
  }
}

/**
 * The report and exit code of a command's failure. A parse error of the CLI framework arrives as
 * `ShowHelp` carrying the errors found; `ShowHelp` without errors (`--help`) is not a failure and
 * is not passed here.
 *
 * @since 0.1.0
 * @category reporting
 */
export const describe = (error: CommandFailure): { readonly report: FailureReport; readonly exitCode: ExitCode } => {
  if (CliError.isCliError(error)) {
    const errors: ReadonlyArray<CliError.CliError> = error._tag === "ShowHelp" ? error.errors : [error]
    const first = errors[0] ?? error
    return {
      report: { _tag: first._tag, message: errors.map((e) => e.message).join("; ") || first.message },
      exitCode: 2
    }
  }
  return {
    report: { _tag: error._tag, message: error.message || error._tag, ...placeOf(error) },
    exitCode: exitCodeOf(error)
  }
}

/**
 * The report of a defect: something thrown that no error type describes (a bug). Exit code 1.
 *
 * @since 0.1.0
 * @category reporting
 */
export const describeDefect = (defect: unknown): { readonly report: FailureReport; readonly exitCode: ExitCode } => {
  // A thrown tagged error (a library's, or one of ours past its type) keeps its name for scripts.
  const tag = typeof defect === "object" && defect !== null ? (defect as { readonly _tag?: unknown })._tag : undefined
  return {
    report: { _tag: typeof tag === "string" && tag !== "" ? tag : "UnexpectedError", message: describeCause(defect) },
    exitCode: 1
  }
}

/**
 * The failure as `--output` asks: one `terrarium: message` line for `table`, else the report
 * under `error` as one line of JSON. That line is valid YAML as well, so `yaml` gets it too: a
 * block-style YAML document would spread one failure over several lines of stderr.
 *
 * @since 0.1.0
 * @category reporting
 */
export const render = (format: Format, report: FailureReport): string => {
  switch (format) {
    case "json":
    case "yaml":
      return JSON.stringify({ error: report })
    case "table":
      // A message is one line; a multi-line one (a library's) is folded so the contract holds.
      // It may quote what the user gave (a name, a flag): control characters are shown, not obeyed.
      return `terrarium: ${escapeControls(report.message.replace(/\s*\n\s*/g, " "))}`
  }
}

/**
 * The `--output` format asked for on a command line, read from the raw arguments: a failure may
 * come before (or from) parsing them. The last one given wins, as in parsing.
 *
 * @since 0.1.0
 * @category reporting
 */
export const requestedFormat = (args: ReadonlyArray<string>): Format => {
  let format: Format = "table"
  args.forEach((arg, i) => {
    const value = arg === "--output" || arg === "-o" ? args[i + 1] : arg.startsWith("--output=") ? arg.slice(9) : undefined
    if (value === "table" || value === "json" || value === "yaml") format = value
  })
  return format
}

/**
 * The CLI's logger: `terrarium: warning: …` lines on stderr, never on stdout, where the output
 * (JSON for scripts) goes.
 *
 * @since 0.1.0
 * @category logging
 */
export const stderrLogger = Logger.make<unknown, void>(({ cause, logLevel, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  const level = logLevel === "Warn" ? "warning" : logLevel.toLowerCase()
  const failure = cause.reasons.length > 0 ? ` (${Cause.squash(cause)})` : ""
  process.stderr.write(`terrarium: ${level}: ${escapeControls(`${parts.map(String).join(" ")}${failure}`)}\n`)
})
