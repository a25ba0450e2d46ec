/**
 * The `az ml` spelling of a reference: `--name NAME --version VERSION` (`-n`, `-v`), accepted by
 * every command that takes one REF as the same as `NAME:VERSION` (`--name NAME` alone is `NAME`).
 * Users migrating from AzureML type it; before these flags existed the framework's global
 * `--version` swallowed it and the command did nothing.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { decodeRef, type EnvironmentRef, type InvalidReference } from "../EnvironmentRef.ts"
import { UsageError } from "./Diagnostics.ts"

/**
 * `--name/-n` and `--version/-v`, for a command whose REF argument is optional.
 *
 * @since 0.1.0
 * @category flags
 */
export const referenceFlags = {
  name: Flag.String("name").pipe(
    Flag.withAlias("n"),
    Flag.withDescription("Environment name, instead of REF (as az ml spells it)"),
    Flag.optional
  ),
  version: Flag.String("version").pipe(
    Flag.withAlias("v"),
    Flag.withDescription("Version of --name: --name NAME --version V is NAME:V"),
    Flag.optional
  )
}

/**
 * The reference a command line gives: the REF argument, or `--name` (with `--version`); both, or
 * neither, is a wrong command line.
 *
 * @since 0.1.0
 * @category decoding
 */
export const referenceOf = (
  ref: Option.Option<string>,
  flags: { readonly name: Option.Option<string>; readonly version: Option.Option<string> }
): Effect.Effect<EnvironmentRef, InvalidReference | UsageError> => {
  if (Option.isSome(flags.version) && Option.isNone(flags.name)) {
    return Effect.fail(new UsageError({ detail: "--version needs --name NAME (or give NAME:VERSION)" }))
  }
  if (Option.isSome(ref) && Option.isSome(flags.name)) {
    return Effect.fail(
      new UsageError({ detail: `give the reference once: "${ref.value}" or --name ${flags.name.value}, not both` })
    )
  }
  if (Option.isSome(ref)) return decodeRef(ref.value)
  if (Option.isNone(flags.name)) {
    // Worded as the framework words a missing argument, as it was before REF became optional.
    return Effect.fail(new UsageError({ detail: "Missing required argument: ref" }))
  }
  const name = flags.name.value
  // The name alone must not smuggle in a version or a label of its own (`--name x:2 --version 1`).
  if (/[:@]/.test(name.replace(/^azureml:/, ""))) {
    return Effect.fail(new UsageError({ detail: `--name "${name}": give the name only, and the version with --version` }))
  }
  return decodeRef(Option.isSome(flags.version) ? `${name}:${flags.version.value}` : name)
}

/**
 * What `archive` and `restore` act on: a bare `NAME` (or `--name NAME` alone) is the whole
 * environment, as in AzureML; `NAME:VERSION`, `NAME@LABEL` (or `--version`) is one version.
 *
 * @since 0.1.0
 * @category decoding
 */
export const environmentOrReference = (
  ref: Option.Option<string>,
  flags: { readonly name: Option.Option<string>; readonly version: Option.Option<string> }
): Effect.Effect<
  { readonly _tag: "Environment"; readonly name: string } | { readonly _tag: "Version"; readonly ref: EnvironmentRef },
  InvalidReference | UsageError
> =>
  referenceOf(ref, flags).pipe(Effect.map((decoded) => {
    const given = Option.isSome(ref) ? ref.value : Option.isSome(flags.version) ? ":" : ""
    return /[:@]/.test(given.trim().replace(/^azureml:/, ""))
      ? { _tag: "Version" as const, ref: decoded }
      : { _tag: "Environment" as const, name: decoded.name }
  }))
