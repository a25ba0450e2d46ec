/**
 * Parsed package requirements.
 *
 * Specs are stored parsed, never as opaque strings, so that the canonical hash, the diff and the
 * image builder all see the same structure. The parsers themselves live at the edge
 * (`@terrarium/adapters` `package-spec/`), because they lean on libraries; the domain only
 * holds the result and never needs to re-parse text.
 *
 * The schemas here are the shape of a spec, and nothing more: they are what events decode with,
 * and an event log must decode every spec it ever stored. The rules a new spec must meet (normal
 * form, no credentials) are checked where specs come in, by `CheckedPackageSpec` in
 * `DefinitionCheck.ts`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A pip requirement per PEP 508: `name[extras] specifier ; marker` or `name[extras] @ url ; marker`.
 *
 * `name` is the PEP 503 normalised project name (lower case, runs of `-_.` folded to `-`), so
 * `Scikit_Learn` and `scikit-learn` are one package. `specifier` is the normalised version
 * specifier: clauses without spaces, sorted and joined by `,` (`>=1.2,<2` becomes `<2,>=1.2`).
 * `text` keeps what the user wrote, for display only; it is never hashed.
 *
 * @since 0.1.0
 * @category package specs
 */
export const PipRequirement = Schema.Struct({
  kind: Schema.Literal("pip"),
  name: Schema.String,
  extras: Schema.Array(Schema.String),
  specifier: Schema.String,
  marker: Schema.optionalKey(Schema.String),
  url: Schema.optionalKey(Schema.String),
  text: Schema.String
})
export type PipRequirement = typeof PipRequirement.Type

/**
 * A conda MatchSpec: `[channel::]name [version [build]]`, or `name=version=build`.
 *
 * `name` is lower case; `version` is the version spec as rattler normalises it, without spaces
 * (empty when unpinned, never `*`); `build` is the build-string matcher (empty when absent);
 * `channel` a channel name or URL.
 *
 * @since 0.1.0
 * @category package specs
 */
export const CondaSpec = Schema.Struct({
  kind: Schema.Literal("conda"),
  channel: Schema.optionalKey(Schema.String),
  name: Schema.String,
  version: Schema.String,
  build: Schema.String,
  text: Schema.String
})
export type CondaSpec = typeof CondaSpec.Type

/** @since 0.1.0 @category package specs */
export const PackageSpec = Schema.Union([PipRequirement, CondaSpec])
export type PackageSpec = typeof PackageSpec.Type

/** @since 0.1.0 @category package specs */
export const PackageManager = Schema.Literals(["pip", "conda"])
export type PackageManager = typeof PackageManager.Type

/**
 * True when the spec names an exact version (`==1.2.3`, `===x`, conda `1.2.3` or `==1.2.3`) or
 * a direct URL, i.e. when building it twice cannot give two different packages.
 *
 * @since 0.1.0
 * @category package specs
 */
export const isPinned = (spec: PackageSpec): boolean => {
  if (spec.kind === "pip") {
    if (spec.url !== undefined) return true
    return /^===?[^,*]+$/.test(spec.specifier)
  }
  return /^(==)?[^<>=!~*,|]+$/.test(spec.version)
}

/**
 * The name under which a package is stored: PEP 503 for pip (lower case, runs of `-`, `_`, `.`
 * folded to `-`), lower case for conda. Lets `remove Scikit_Learn` find `scikit-learn`.
 *
 * @since 0.1.0
 * @category package specs
 */
export const normalizePackageName = (manager: PackageManager, name: string): string =>
  manager === "pip" ? name.trim().toLowerCase().replace(/[-_.]+/g, "-") : name.trim().toLowerCase()
