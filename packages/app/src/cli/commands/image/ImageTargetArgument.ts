/**
 * What the image commands take: a version (`REF`, or `--name/--version`) or a canonical hash.
 *
 * @since 0.2.0
 */
import { Effect, Option } from "effect"
import { Argument } from "effect/cli"
import type { ImageTarget } from "../../../Terrarium.ts"
import { referenceFlags, referenceOf } from "../../ReferenceFlags.ts"

/** @since 0.2.0 @category flags */
export const imageTargetInput = {
  target: Argument.String("ref").pipe(
    Argument.withDescription("NAME, NAME:VERSION, NAME@LABEL or a canonical hash sha256:… (or --name NAME --version VERSION)"),
    Argument.optional
  ),
  ...referenceFlags
}

const HASH = /^sha256:[0-9a-f]{64}$/

/** The target a command line gives. @since 0.2.0 @category decoding */
export const imageTargetOf = (input: {
  readonly target: Option.Option<string>
  readonly name: Option.Option<string>
  readonly version: Option.Option<string>
}) =>
  Option.isSome(input.target) && HASH.test(input.target.value) && Option.isNone(input.name)
    ? Effect.succeed<ImageTarget>({ canonicalHash: input.target.value })
    : Effect.map(referenceOf(input.target, input), (ref): ImageTarget => ({ ref }))
