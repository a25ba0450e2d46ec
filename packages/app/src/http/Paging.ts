/**
 * Paging of lists: `$top` (how many, 1-1000, default 100) and `$skip`, the opaque token of a
 * `nextLink`. A token names where the next page starts and the query it belongs to; given with
 * another query (other filters or order) it is refused, as a token made up by hand is.
 *
 * @since 0.4.0
 */
import { Effect } from "effect"
import { badRequest, type BadRequest } from "./Problems.ts"

/** @since 0.4.0 @category paging */
export const MAX_TOP = 1000
/** @since 0.4.0 @category paging */
export const DEFAULT_TOP = 100

/** @since 0.4.0 @category paging */
export const pageSize = (text: string | undefined): Effect.Effect<number, BadRequest> => {
  if (text === undefined) return Effect.succeed(DEFAULT_TOP)
  const n = Number(text)
  return /^\d+$/.test(text) && n >= 1 && n <= MAX_TOP ? Effect.succeed(n) : Effect.fail(badRequest("$top", `a whole number from 1 to ${MAX_TOP}`))
}

const hashText = (text: string) => {
  // FNV-1a: a token only has to tell queries apart, not to be secret.
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h.toString(36)
}

/** @since 0.4.0 @category paging */
export const encodeSkip = (at: { readonly offset: number; readonly fingerprint: string }): string =>
  Buffer.from(JSON.stringify({ o: at.offset, q: hashText(at.fingerprint) })).toString("base64url")

/** @since 0.4.0 @category paging */
export const decodeSkip = (token: string | undefined, fingerprint: string): Effect.Effect<number, BadRequest> => {
  if (token === undefined) return Effect.succeed(0)
  const refused = badRequest("$skip", "not a token of this list's nextLink (take the nextLink as it is)")
  if (token.length > 200) return Effect.fail(refused)
  try {
    const value = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { o?: unknown; q?: unknown }
    return typeof value.o === "number" && Number.isSafeInteger(value.o) && value.o >= 0 && value.q === hashText(fingerprint)
      ? Effect.succeed(value.o)
      : Effect.fail(refused)
  } catch {
    return Effect.fail(refused)
  }
}
