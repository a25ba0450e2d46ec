/**
 * What the CLI writes to stderr: a failed command's error and warnings.
 *
 * A failure is one line: `terrarium: <message>` by default, or with `--output json` (or `yaml`)
 * `{"error":{"_tag":…,"message":…,"file"?:…,"line"?:…,"field"?:…,"reason"?:…}}`, so scripts can
 * tell failures apart without parsing prose (a line of JSON is a YAML document too). The exit code says whose the problem is:
 *
 * - **2**: the command line is wrong (an unknown or missing flag or argument, a value that breaks
 *   a rule such as `--name "my env"`, an unreadable `--as-of` or package spec, flags that exclude
 *   each other). Nothing was read or written.
 * - **1**: the command was understood but could not be done (a file that is missing or invalid,
 *   an unknown environment, version or label, a rule of the registry, the database).
 *
 * @since 0.1.0
 */
import { Cause, Logger, Schema } from "effect"
import { CliError } from "effect/cli"
import type { Format } from "./Output.ts"

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

/** Errors of the command line itself, besides the CLI framework's own. */
const USAGE = new Set(["UsageError", "InvalidInput", "InvalidReference"])

interface Tagged {
  readonly _tag?: unknown
  readonly message?: unknown
  readonly file?: unknown
  readonly line?: unknown
  readonly field?: unknown
  readonly reason?: { readonly _tag?: unknown } | undefined
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined)

/**
 * The report and exit code of whatever a command failed with. A parse error of the CLI framework
 * arrives as `ShowHelp` carrying the errors found; `ShowHelp` without errors (`--help`) is not a
 * failure and is not passed here.
 *
 * @since 0.1.0
 * @category reporting
 */
export const describe = (error: unknown): { readonly report: FailureReport; readonly exitCode: ExitCode } => {
  if (CliError.isCliError(error)) {
    const errors: ReadonlyArray<CliError.CliError> = error._tag === "ShowHelp" ? error.errors : [error]
    const first = errors[0] ?? error
    return {
      report: { _tag: first._tag, message: errors.map((e) => e.message).join("; ") || first.message },
      exitCode: 2
    }
  }
  const e = (typeof error === "object" && error !== null ? error : {}) as Tagged
  const tag = text(e._tag) ?? "UnexpectedError"
  const report: FailureReport = {
    _tag: tag,
    message: text(e.message) ?? String(error),
    ...(text(e.file) !== undefined ? { file: e.file as string } : {}),
    ...(typeof e.line === "number" ? { line: e.line } : {}),
    ...(text(e.field) !== undefined ? { field: e.field as string } : {}),
    ...(tag === "EnvironmentError" && text(e.reason?._tag) !== undefined ? { reason: e.reason!._tag as string } : {})
  }
  return { report, exitCode: USAGE.has(tag) ? 2 : 1 }
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
      return `terrarium: ${report.message.replace(/\s*\n\s*/g, " ")}`
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
  process.stderr.write(`terrarium: ${level}: ${parts.map(String).join(" ")}${failure}\n`)
})
