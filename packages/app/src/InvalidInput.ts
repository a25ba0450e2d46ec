/**
 * A value the caller gave that breaks a rule of the domain: an environment name with a space, a
 * label in capitals, a workspace that is not lower-case. Commands and scopes are built from caller
 * input through their Schemas (`build`), so such input fails here with the field and the rule,
 * rather than as a defect thrown by a class constructor.
 *
 * @since 0.1.0
 */
import { hasUrlCredentials } from "@terrarium/domain"
import { Effect, Schema, SchemaIssue } from "effect"

/**
 * `field` is the input's name in the library call (`name`, `workspace`, `version`, `label`, or a
 * path such as `definition.python.conda.pip[0]`); `input` the offending text when it is text.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  field: Schema.String,
  input: Schema.optionalKey(Schema.String),
  reason: Schema.String
}) {
  override get message() {
    return this.input === undefined ? `${this.field}: ${this.reason}` : `${this.field} "${this.input}": ${this.reason}`
  }
}

const standard = SchemaIssue.makeFormatterStandardSchemaV1({
  // Said of a key the caller wrote that the schema has no field for, most often a misspelling.
  leafHook: (issue) => issue._tag === "UnexpectedKey" ? "no such field" : SchemaIssue.defaultLeafHook(issue)
})

/** The longest value an error repeats: a name or a spec, not a description or a Dockerfile. */
const MAX_ECHOED = 200

// C0 and C1 controls, DEL, and lone surrogates: nothing a terminal should be sent from an error.
const NOT_PLAIN = /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Whether the message may repeat the value: only short plain text, and never one with a URL's
 * credentials (the very thing refused, often), which the domain's reason already quotes redacted,
 * and whose text around the URL may hold other secrets.
 */
const isEchoable = (value: string): boolean => value.length <= MAX_ECHOED && !NOT_PLAIN.test(value) && !hasUrlCredentials(value)

const fieldPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((text, key) =>
    typeof key === "number" ? `${text}[${key}]` : text === "" ? String(key) : `${text}.${String(key)}`, "")

const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>((value, key) =>
    typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined, input)

/**
 * The first problem of a Schema issue as an `InvalidInput`, the rule's own message as the reason.
 * `root` names the input itself, for a problem with the whole of it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromIssue = (issue: SchemaIssue.Issue, input: unknown, root = "input"): InvalidInput => {
  const first = standard(issue).issues[0]
  const path = (first?.path ?? []).map((segment) =>
    typeof segment === "object" && segment !== null ? segment.key : segment
  )
  const value = valueAt(input, path)
  return new InvalidInput({
    field: path.length === 0 ? root : fieldPath(path),
    ...(typeof value === "string" && isEchoable(value) ? { input: value } : {}),
    reason: first?.message ?? "invalid value"
  })
}

/**
 * A schema whose values can be made from caller input and checked on the way: commands, structs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Buildable<In, A> {
  readonly makeEffect: (input: In) => Effect.Effect<A, SchemaIssue.Issue>
}

/**
 * Builds a value of `schema` from `input`, failing with the `InvalidInput` of its first problem.
 *
 * @since 0.1.0
 * @category constructors
 */
export const build = <In, A>(schema: Buildable<In, A>, input: In): Effect.Effect<A, InvalidInput> =>
  Effect.mapError(schema.makeEffect(input), (issue) => fromIssue(issue, input))

/**
 * Decodes caller input of any type with `schema`, failing with the `InvalidInput` of its first
 * problem: how the library's arguments are read, since a JavaScript caller's types are not checked.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeInput = <S extends Schema.Decoder<unknown>>(
  schema: S,
  input: unknown,
  options?: { readonly root?: string | undefined; readonly onExcessProperty?: "ignore" | "error" | undefined }
): Effect.Effect<S["Type"], InvalidInput> =>
  Schema.decodeUnknownEffect(schema)(input, { onExcessProperty: options?.onExcessProperty ?? "ignore" }).pipe(
    Effect.mapError((error) => fromIssue(error.issue, input, options?.root))
  )
