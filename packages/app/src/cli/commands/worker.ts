/**
 * `terrarium worker [--concurrency N]`: runs the queued builds (PostgreSQL only: the builds that
 * `environment build` queues on pg-boss) until stopped. SIGINT or SIGTERM: it takes no new job,
 * lets the running builds finish, and exits. A line per job goes to stderr.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { InvalidInput } from "../../InvalidInput.ts"
import { Terrarium } from "../../Terrarium.ts"
import { withTerrarium } from "../TerrariumCommand.ts"

/**
 * @since 0.3.0
 * @category commands
 */
export const worker = Command.make("worker", {
  concurrency: Flag.Int("concurrency").pipe(Flag.withDescription("How many builds this worker runs at once"), Flag.withDefault(1))
}, (input) =>
  withTerrarium(
    () =>
      Effect.gen(function*() {
        if (input.concurrency < 1 || input.concurrency > 64) {
          return yield* new InvalidInput({ field: "concurrency", input: String(input.concurrency), reason: "between 1 and 64" })
        }
        process.stderr.write(`worker ${process.pid} takes builds (concurrency ${input.concurrency})\n`)
        return yield* Terrarium.use((t) =>
          t.work({
            concurrency: input.concurrency,
            onJob: (job, outcome) =>
              Effect.sync(() => void process.stderr.write(`${job.workspace}/${job.name}:${job.version} ${job.canonicalHash}: ${outcome}\n`))
          })
        )
      }),
    () => ({ data: null, table: () => "" }),
    { concurrency: "--concurrency" }
  )).pipe(Command.withDescription("Run the queued image builds (PostgreSQL) until stopped"))
