/**
 * `terrarium environment repair`: void an event of an environment's stream whose row is damaged
 * (quarantined: `db status` lists it, reads warn about it, reads of its environment fail naming
 * it). The log is append-only, so the repair is an appended, audited `EventVoided` event, never
 * a change of the row; afterwards the environment reads without it.
 *
 * @since 0.1.0
 */
import { Argument, Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { fields } from "../../Output.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

/**
 * @since 0.1.0
 * @category commands
 */
export const repair = Command.make("repair", {
  name: Argument.String("name").pipe(Argument.withDescription("Environment name")),
  position: Flag.Int("void-position").pipe(
    Flag.withDescription("The log position of the unreadable event to void (the error or `db status` names it)")
  ),
  reason: Flag.String("reason").pipe(Flag.withDescription("Why it is voided: kept in the audit trail"))
}, (input) =>
  withTerrarium(
    (flags) =>
      Terrarium.use((t) =>
        t.repair({ workspace: flags.workspace, name: input.name, position: input.position, reason: input.reason })
      ),
    (r) => ({
      data: r,
      table: () =>
        fields([
          ["environment", `${r.workspace}/${r.name}`],
          ["voided", `position ${r.voidedPosition}`],
          ["reason", r.reason],
          ["still unreadable", r.unreadable.length === 0 ? "none" : r.unreadable.map((p) => `position ${p}`).join(", ")]
        ])
    })
  )).pipe(Command.withDescription("Void an unreadable (quarantined) event of an environment by an appended, audited event"))
