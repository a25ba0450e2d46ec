/**
 * One way to turn whatever was thrown or failed into a line of text for a message.
 *
 * @since 0.1.0
 */

/**
 * A one-line text for any thrown value: an `Error`'s message, an object's `message` field, else
 * its JSON. `String(x)` itself throws for objects without a prototype (PGlite and pg sometimes
 * reject with such plain objects), so it is not enough.
 *
 * @since 0.1.0
 * @category text
 */
export const describeCause = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  if (typeof cause === "object" && cause !== null) {
    const message = (cause as { readonly message?: unknown }).message
    if (typeof message === "string") return message
    try {
      return JSON.stringify(cause)
    } catch {
      return Object.prototype.toString.call(cause)
    }
  }
  return String(cause)
}
