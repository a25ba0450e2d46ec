/**
 * What the CLI writes to standard error while a long catch-up runs (`CatchUpProgress.ts` decides
 * when one is long): on a terminal, one line rewritten in place and cleared at the end; anywhere
 * else, one plain line when it starts, so logs say why a command took long without filling up
 * (and nothing for a rebuild, which the projector's warning announces).
 *
 * @since 0.1.0
 */
import type { CatchUpProgress } from "../CatchUpProgress.ts"

const count = (n: number) => n.toLocaleString("en-US")

/** Back to the start of the line, and erase it. */
const CLEAR_LINE = "\r\x1b[2K"

/**
 * The text to write for `progress`, or undefined for nothing.
 *
 * @since 0.1.0
 * @category rendering
 */
export const progressText = (progress: CatchUpProgress, terminal: boolean): string | undefined => {
  const { phase, rebuilding, from, at, head } = progress
  const what = rebuilding
    ? `terrarium: rebuilding the read model from ${count(head)} events (it was built by another version of Terrarium)`
    : `terrarium: catching up the read model with ${count(head - from)} new events`
  // A rebuild is announced by the projector's own warning already.
  if (!terminal) return phase === "started" && !rebuilding ? `${what}…\n` : undefined
  if (phase === "done") return CLEAR_LINE
  if (rebuilding) return `${CLEAR_LINE}${what}…`
  const done = Math.max(0, at - from)
  const percent = head > from ? Math.floor((done / (head - from)) * 100) : 100
  return `${CLEAR_LINE}${what}: ${count(done)} done (${percent}%)`
}
