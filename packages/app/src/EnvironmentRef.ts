/**
 * How users name an environment version on the command line and in the library:
 * `NAME` (= `NAME@latest`), `NAME:VERSION`, `NAME@LABEL`. The AzureML spellings
 * `azureml:NAME:VERSION` and `azureml:NAME@LABEL` are accepted too, so references copied from
 * AzureML job files work unchanged.
 *
 * @since 0.1.0
 */
import { EnvironmentName, LabelName, VersionString } from "@terrarium/domain"
import { Effect, Schema } from "effect"

/** @since 0.1.0 @category model */
export type EnvironmentRef =
  | { readonly name: string; readonly version: string }
  | { readonly name: string; readonly label: string }

/** @since 0.1.0 @category errors */
export class InvalidReference extends Schema.TaggedError<InvalidReference>()("InvalidReference", {
  input: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `invalid environment reference "${this.input}": ${this.reason} (expected NAME, NAME:VERSION or NAME@LABEL)`
  }
}

const isEnvironmentName = Schema.is(EnvironmentName)
const isVersion = Schema.is(VersionString)
const isLabel = Schema.is(LabelName)

/**
 * @since 0.1.0
 * @category parsing
 */
export const parseRef = (input: string): EnvironmentRef | InvalidReference => {
  const text = input.trim().replace(/^azureml:/, "")
  const at = text.indexOf("@")
  const colon = text.indexOf(":")
  let ref: EnvironmentRef
  if (at >= 0 && (colon < 0 || at < colon)) {
    ref = { name: text.slice(0, at), label: text.slice(at + 1) }
    if (ref.label === "") return new InvalidReference({ input, reason: "the label after '@' is empty" })
  } else if (colon >= 0) {
    ref = { name: text.slice(0, colon), version: text.slice(colon + 1) }
    if (ref.version === "") return new InvalidReference({ input, reason: "the version after ':' is empty" })
  } else {
    ref = { name: text, label: "latest" }
  }
  if (!isEnvironmentName(ref.name)) return new InvalidReference({ input, reason: `"${ref.name}" is not a valid environment name` })
  // No version or label that breaks its rule was ever stored: such a reference is a typing
  // mistake to report as one, not an environment without that version.
  if ("version" in ref && !isVersion(ref.version)) return new InvalidReference({ input, reason: `"${ref.version}" is not a valid version` })
  if ("label" in ref && !isLabel(ref.label)) return new InvalidReference({ input, reason: `"${ref.label}" is not a valid label` })
  return ref
}

/** @since 0.1.0 @category rendering */
export const formatRef = (ref: EnvironmentRef): string =>
  "version" in ref ? `${ref.name}:${ref.version}` : `${ref.name}@${ref.label}`

/** A reference as an Effect: the ref, or the `InvalidReference` it breaks. @since 0.1.0 @category parsing */
export const decodeRef = (input: string): Effect.Effect<EnvironmentRef, InvalidReference> => {
  const r = parseRef(input)
  return r instanceof InvalidReference ? Effect.fail(r) : Effect.succeed(r)
}
