/**
 * `terrarium db status`: where the data lives and where the log and read models stand.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { fields } from "../../Output.ts"
import { asUsageError, loadSetup, root, type RootFlags, storageOf, withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const status = Command.make("status", {}, () =>
  Effect.gen(function*() {
    const flags: RootFlags = yield* root
    const Setup = yield* loadSetup
    const storage = yield* Setup.resolveStorage(storageOf(flags)).pipe(Effect.mapError(asUsageError({})))
    const where = Setup.describeStorage(storage)
    return yield* withTerrarium(
      () => Terrarium.use((t) => t.status),
      (s) => ({
        data: { ...s, storage: where },
        table: () =>
          fields([
            ["storage", where],
            ["log head", `position ${s.headPosition}`],
            ["read models", `position ${s.projectionCheckpoint}`],
            ["migrations", s.migrations.join(", ")],
            ["quarantined", s.quarantined.count === 0
              ? "none"
              : `${s.quarantined.count} unreadable event${s.quarantined.count === 1 ? "" : "s"} at position ` +
                `${s.quarantined.positions.join(", ")} (repair: terrarium environment repair)`]
          ])
      })
    )
  })).pipe(Command.withDescription("Where the data lives and where the log stands"))
