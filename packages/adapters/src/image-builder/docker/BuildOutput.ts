/**
 * Reads the classic builder's JSON messages (the engine's `/build` answer) into the port's
 * progress events, and keeps what the end of a build needs: the steps and how many were
 * cached, the image id, the error and the last lines of the failing step.
 *
 * The classic builder is used rather than BuildKit because its output says, in plain text,
 * which step runs and whether a layer was reused (`Step 3/8 : …`, ` ---> Using cache`);
 * BuildKit over the API reports binary trace records.
 *
 * @since 0.2.0
 */
import type { BuildProgress } from "@terrarium/domain"

/** One message of the `/build` answer. */
export interface BuildMessage {
  readonly stream?: string
  readonly aux?: { readonly ID?: string }
  readonly error?: string
  readonly errorDetail?: { readonly message?: string }
}

/** How many lines of the failing step a `StepFailed` carries. */
export const LOG_TAIL_LINES = 30

const STEP = /^Step (\d+)\/(\d+) : (.*)$/

/**
 * The state of one build's output. `stepOffset` (steps before) and `extraSteps` (steps after)
 * place this build's steps inside a larger build: a user's Dockerfile, then the generated part.
 */
export class BuildOutput {
  readonly #stepOffset: number
  readonly #extraSteps: number
  #partial = ""
  /** The step announced and not yet reported: its report waits for the line saying whether it was cached. */
  #pending: { readonly index: number; readonly total: number; readonly name: string } | undefined
  #tail: Array<string> = []
  steps = 0
  cachedSteps = 0
  currentStep: string | undefined
  imageId: string | undefined
  error: string | undefined

  constructor(options: { readonly stepOffset: number; readonly extraSteps: number }) {
    this.#stepOffset = options.stepOffset
    this.#extraSteps = options.extraSteps
  }

  /** The last lines of the current step's output. */
  get logTail(): ReadonlyArray<string> {
    return this.#tail
  }

  /** The progress events of one message, in order. */
  push(message: BuildMessage): Array<BuildProgress> {
    const events: Array<BuildProgress> = []
    if (message.aux?.ID !== undefined) this.imageId = message.aux.ID
    if (message.stream !== undefined) {
      const text = this.#partial + message.stream
      const lines = text.split("\n")
      this.#partial = lines.pop() ?? ""
      for (const line of lines) this.#line(line.replace(/\r$/, ""), events)
    }
    if (message.error !== undefined) {
      this.error = message.errorDetail?.message ?? message.error
      this.#flushPending(false, events)
    }
    return events
  }

  /** Reports a step still pending at the end of the output. */
  end(): Array<BuildProgress> {
    const events: Array<BuildProgress> = []
    if (this.#partial !== "") this.#line(this.#partial, events)
    this.#partial = ""
    this.#flushPending(false, events)
    return events
  }

  #line(line: string, events: Array<BuildProgress>): void {
    const step = STEP.exec(line)
    if (step !== null) {
      this.#flushPending(false, events)
      const index = this.#stepOffset + Number(step[1])
      const total = this.#stepOffset + Number(step[2]) + this.#extraSteps
      this.#pending = { index, total, name: step[3] ?? "" }
      this.currentStep = line
      this.steps += 1
      this.#tail = []
      return
    }
    if (line === " ---> Using cache") {
      this.#flushPending(true, events)
      return
    }
    this.#flushPending(false, events)
    if (line.startsWith(" ---> ") || line.startsWith("Removing intermediate container ") || line.startsWith("Successfully built ")) return
    this.#tail.push(line)
    if (this.#tail.length > LOG_TAIL_LINES) this.#tail.shift()
    events.push({ _tag: "Log", line })
  }

  #flushPending(cached: boolean, events: Array<BuildProgress>): void {
    if (this.#pending === undefined) return
    if (cached) this.cachedSteps += 1
    events.push({ _tag: "Step", ...this.#pending, cached })
    this.#pending = undefined
  }
}
