/**
 * The one shape every error of the HTTP API has: an RFC 9457 problem document
 * (`application/problem+json`) `{ type, title, status, detail, _tag, reason?, field? }`, whose
 * `_tag` and `reason` are the CLI's (`terrarium … --output json` prints the same pair), so a
 * script tells failures apart the same way through either door.
 *
 * One class per status, because the API's client tells errors apart by status; `problemOf` is
 * the one place that says which status an application error gets.
 *
 * @since 0.4.0
 */
import { Schema } from "effect"
import { HttpApiSchema } from "effect/http-api"
import type { TerrariumError } from "../Errors.ts"

const fields = {
  /** Always `about:blank`: the status and `_tag` say what happened. */
  type: Schema.String,
  title: Schema.String,
  status: Schema.Int,
  /** One line for a human (the CLI's message). */
  detail: Schema.String,
  /** The error's type, as the CLI's JSON error names it (`EnvironmentError`, `InvalidInput`, …). */
  _tag: Schema.String,
  /** Which rule or failure, as the CLI's JSON error names it (`VersionNotFound`, …). */
  reason: Schema.optionalKey(Schema.String),
  /** The input to blame: a query parameter, a path parameter or a field of the body (`properties.condaFile`). */
  field: Schema.optionalKey(Schema.String)
}

const problem = { contentType: "application/problem+json" }

/** @since 0.4.0 @category problems */
export class BadRequest extends Schema.Error<BadRequest>("BadRequest")(fields, { httpApiStatus: 400 }) {}
/** @since 0.4.0 @category problems */
export class Unauthorized extends Schema.Error<Unauthorized>("Unauthorized")(fields, { httpApiStatus: 401 }) {}
/** @since 0.4.0 @category problems */
export class NotFound extends Schema.Error<NotFound>("NotFound")(fields, { httpApiStatus: 404 }) {}
/** @since 0.4.0 @category problems */
export class Conflict extends Schema.Error<Conflict>("Conflict")(fields, { httpApiStatus: 409 }) {}
/** @since 0.4.0 @category problems */
export class PayloadTooLarge extends Schema.Error<PayloadTooLarge>("PayloadTooLarge")(fields, { httpApiStatus: 413 }) {}
/** @since 0.4.0 @category problems */
export class RangeNotSatisfiable extends Schema.Error<RangeNotSatisfiable>("RangeNotSatisfiable")(fields, { httpApiStatus: 416 }) {}
/** @since 0.4.0 @category problems */
export class Unprocessable extends Schema.Error<Unprocessable>("Unprocessable")(fields, { httpApiStatus: 422 }) {}
/** @since 0.4.0 @category problems */
export class Unavailable extends Schema.Error<Unavailable>("Unavailable")(fields, { httpApiStatus: 503 }) {}

/** The problems as the API declares them (each `application/problem+json`). @since 0.4.0 @category problems */
export const problemSchemas = [
  BadRequest.pipe(HttpApiSchema.asJson(problem)),
  NotFound.pipe(HttpApiSchema.asJson(problem)),
  Conflict.pipe(HttpApiSchema.asJson(problem)),
  PayloadTooLarge.pipe(HttpApiSchema.asJson(problem)),
  RangeNotSatisfiable.pipe(HttpApiSchema.asJson(problem)),
  Unprocessable.pipe(HttpApiSchema.asJson(problem)),
  Unavailable.pipe(HttpApiSchema.asJson(problem))
] as const

/** @since 0.4.0 @category problems */
export type Problem = BadRequest | Unauthorized | NotFound | Conflict | PayloadTooLarge | RangeNotSatisfiable | Unprocessable | Unavailable

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  409: "Conflict",
  413: "Content Too Large",
  416: "Range Not Satisfiable",
  422: "Unprocessable Content",
  503: "Service Unavailable"
}

const classes = {
  400: BadRequest,
  401: Unauthorized,
  404: NotFound,
  409: Conflict,
  413: PayloadTooLarge,
  416: RangeNotSatisfiable,
  422: Unprocessable,
  503: Unavailable
} as const

/** @since 0.4.0 @category problems */
export type ProblemStatus = keyof typeof classes

/**
 * A problem of the given status.
 *
 * @since 0.4.0
 * @category constructors
 */
export const makeProblem = (
  status: ProblemStatus,
  body: { readonly _tag: string; readonly detail: string; readonly reason?: string | undefined; readonly field?: string | undefined }
): Problem =>
  new classes[status]({
    type: "about:blank",
    title: titles[status]!,
    status,
    detail: body.detail,
    _tag: body._tag,
    ...(body.reason === undefined ? {} : { reason: body.reason }),
    ...(body.field === undefined ? {} : { field: body.field })
  })

/** An input the request got wrong, named (`$top`, `properties.image`, `name`). @since 0.4.0 @category constructors */
export const badRequest = (field: string, detail: string) =>
  makeProblem(400, { _tag: "InvalidInput", detail: `${field}: ${detail}`, field }) as BadRequest

/**
 * Nothing there for this caller: also what a key of another workspace hears about anything of
 * this one, so that it learns nothing about what exists here.
 *
 * @since 0.4.0
 * @category constructors
 */
export const notFound = (detail: string, reason?: string) =>
  makeProblem(404, { _tag: "NotFound", detail, ...(reason === undefined ? {} : { reason }) }) as NotFound

const NOT_FOUND_REASONS = new Set([
  "EnvironmentNotFound",
  "VersionNotFound",
  "LabelNotFound",
  "PackageNotFound",
  "VariableNotFound",
  "NoActiveVersion"
])

const CONFLICT_REASONS = new Set([
  "VersionConflict",
  "AlreadyRegistered",
  "ShareConflict",
  "AlreadyDefined",
  "AlreadyArchived",
  "NotArchived",
  "EnvironmentAlreadyArchived",
  "EnvironmentNotArchived"
])

/**
 * The problem an application error is: its status, and the CLI's `_tag`, `reason` and `field`.
 * Input the request got wrong is 400; what it asks for that is not there 404; a rule about what
 * exists already 409; a definition or command that breaks another rule of the registry 422; the
 * storage or the builder failing 503.
 *
 * @since 0.4.0
 * @category problems
 */
export const problemOf = (error: TerrariumError): Problem => {
  const detail = error.message || error._tag
  switch (error._tag) {
    case "InvalidInput":
      return makeProblem(400, { _tag: error._tag, detail, field: error.field })
    case "InvalidReference":
    case "ConflictingStorage":
      return makeProblem(400, { _tag: error._tag, detail })
    case "ImportError":
      return makeProblem(422, { _tag: error._tag, detail, ...(error.field === undefined ? {} : { field: error.field }) })
    case "SpecError":
    case "ExportError":
    case "MissingName":
    case "ImageBuildFailed":
      return makeProblem(422, { _tag: error._tag, detail, ...("reason" in error && typeof error.reason === "string" ? { reason: error.reason } : {}) })
    case "EnvironmentError": {
      const reason = error.reason._tag
      const status = NOT_FOUND_REASONS.has(reason) ? 404 : CONFLICT_REASONS.has(reason) ? 409 : 422
      return makeProblem(status, { _tag: error._tag, detail, reason })
    }
    case "ImageNotFound":
      return makeProblem(404, { _tag: error._tag, detail })
    case "NothingToCancel":
    case "StreamContended":
    case "QueuedBuildDropped":
      return makeProblem(409, { _tag: error._tag, detail })
    case "ImageBuilderError":
    case "LogStoreError":
    case "BuildQueueError":
    case "BuildContextStoreError":
      return makeProblem(503, { _tag: error._tag, detail, reason: error.reason._tag })
    default:
      return makeProblem(503, { _tag: error._tag, detail })
  }
}
