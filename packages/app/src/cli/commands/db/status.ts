/**
 * `terrarium db status`: where the data lives and where the log and read models stand.
 *
 * @since 0.1.0
 */
import type { ProjectionVersion } from "@terrarium/domain"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { fields } from "../../Output.ts"
import { asUsageError, loadSetup, root, type RootFlags, storageOf, withTerrarium } from "../../TerrariumCommand.ts"

/** Whether the stored read model is of this Terrarium's projection, and what happens if not. */
const projectionVersion = ({ stored, current }: ProjectionVersion) =>
  stored === null || stored === current
    ? `version ${current}`
    : `version ${stored}, stale: this Terrarium projects version ${current}, the next read rebuilds the read models`

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
            ["projection", projectionVersion(s.projectionVersion)],
            ["migrations", s.migrations.join(", ")],
            ["quarantined", s.quarantined.count === 0
              ? "none"
              : `${s.quarantined.count} unreadable event${s.quarantined.count === 1 ? "" : "s"} at position ` +
                `${s.quarantined.positions.join(", ")} (repair: terrarium environment repair)`]
          ])
      })
    )
  })).pipe(Command.withDescription("Where the data lives and where the log stands"))
