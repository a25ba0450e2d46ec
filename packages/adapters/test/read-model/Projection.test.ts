/**
 * The pure per-event projection: which row operations each event yields, and the audit lines.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  Archived, CanonicalHash, Defined, emptyDefinition, EventCodec, ImageBuilt, LabelMoved, LabelRemoved, PackageAdded, Redefined,
  Registered, Restored, SCHEMA_VERSIONS, VariableSet
} from "@terrarium/domain"
import type { RecordedEvent } from "@terrarium/domain"
import { Effect } from "effect"
import { envelopeOf, type Envelope, project, type RowOp, summarize } from "../../src/read-model/Projection.ts"

const at = new Date("2024-05-01T12:00:00Z")
const envelope: Envelope = {
  position: 42, workspace: "team-a", name: "train", occurredAt: at, actor: "ann",
  correlationId: "c-1", causationId: null, currentData: undefined
}
const hash = `sha256:${"ab12".repeat(16)}`
const tags = (ops: ReadonlyArray<RowOp>) => ops.map((op) => op._tag)
const find = <T extends RowOp["_tag"]>(ops: ReadonlyArray<RowOp>, tag: T) =>
  ops.find((op): op is Extract<RowOp, { _tag: T }> => op._tag === tag)

describe("project", () => {
  it("Defined inserts the environment with its type, then audits", () => {
    const userManaged = { ...emptyDefinition, python: { ...emptyDefinition.python, userManagedDependencies: true } }
    const ops = project(new Defined({ workspace: "team-a", name: "train", curated: false, definition: userManaged }), envelope)
    assert.deepStrictEqual(tags(ops), ["InsertEnvironment", "InsertAudit"])
    const insert = find(ops, "InsertEnvironment")!
    assert.strictEqual(insert.draftType, "user-managed")
    assert.strictEqual(insert.position, 42)
    assert.deepStrictEqual(insert.key, { workspace: "team-a", name: "train" })
  })

  it("Registered adds a version, recomputes latest, enters the cache, in that order", () => {
    const definition = { ...emptyDefinition, description: "GPU training", tags: { team: "vision" } }
    const ops = project(new Registered({ name: "train", version: "3", canonicalHash: hash, hashAlgorithm: 1, definition }), envelope)
    assert.deepStrictEqual(tags(ops), ["TouchEnvironment", "InsertVersion", "RecomputeLatest", "InsertCacheEntry", "InsertAudit"])
    const version = find(ops, "InsertVersion")!
    assert.strictEqual(version.environmentType, "system-managed")
    assert.strictEqual(version.description, "GPU training")
    assert.deepStrictEqual(version.tags, { team: "vision" })
    assert.strictEqual(version.canonicalHash, hash)
    assert.strictEqual(find(ops, "InsertAudit")!.version, "3")
  })

  it("a curated name gives the curated type", () => {
    const env = { ...envelope, name: "AzureML-sklearn-1.5" }
    const ops = project(new Registered({ name: "AzureML-sklearn-1.5", version: "1", canonicalHash: hash, hashAlgorithm: 1, definition: emptyDefinition }), env)
    assert.strictEqual(find(ops, "InsertVersion")!.environmentType, "curated")
  })

  it("Archived and Restored toggle the version and recompute latest", () => {
    const archived = project(new Archived({ version: "2" }), envelope)
    assert.deepStrictEqual(tags(archived), ["TouchEnvironment", "SetArchived", "RecomputeLatest", "InsertAudit"])
    assert.deepStrictEqual(find(archived, "SetArchived")!.archivedAt, at)
    const restored = project(new Restored({ version: "2" }), envelope)
    assert.strictEqual(find(restored, "SetArchived")!.archivedAt, null)
  })

  it("labels move and go, but an event about `latest` only reaches the audit trail", () => {
    assert.deepStrictEqual(tags(project(new LabelMoved({ label: "prod", version: "3", previous: "2" }), envelope)), ["TouchEnvironment", "SetLabel", "InsertAudit"])
    assert.deepStrictEqual(tags(project(new LabelRemoved({ label: "prod", previous: "3" }), envelope)), ["TouchEnvironment", "RemoveLabel", "InsertAudit"])
    assert.deepStrictEqual(tags(project(new LabelMoved({ label: "latest", version: "3" }), envelope)), ["TouchEnvironment", "InsertAudit"])
  })

  it("ImageBuilt sets the image of its hash, dated by the event", () => {
    const ops = project(new ImageBuilt({
      version: "3", canonicalHash: hash, buildId: "b-7", registry: "registry.local", repository: "terrarium/train",
      tag: "3", digest: `sha256:${"cd".repeat(32)}`, durationMs: 61_500
    }), envelope)
    const image = find(ops, "SetImage")!
    assert.strictEqual(image.canonicalHash, hash)
    assert.strictEqual(image.builtAt, at)
    assert.strictEqual(image.buildId, "b-7")
  })

  it("Redefined changes the draft type; draft edits only touch", () => {
    const userManaged = { ...emptyDefinition, python: { ...emptyDefinition.python, userManagedDependencies: true } }
    assert.strictEqual(find(project(new Redefined({ definition: userManaged }), envelope), "TouchEnvironment")!.draftType, "user-managed")
    const ops = project(new VariableSet({ variable: "OMP_NUM_THREADS", value: "4" }), envelope)
    assert.deepStrictEqual(tags(ops), ["TouchEnvironment", "InsertAudit"])
    assert.strictEqual(find(ops, "TouchEnvironment")!.draftType, undefined)
  })

  it("the audit row carries the envelope and the event as JSON", () => {
    const audit = find(project(new VariableSet({ variable: "A", value: "1" }), { ...envelope, causationId: "c-0" }), "InsertAudit")!
    assert.deepStrictEqual(audit, {
      _tag: "InsertAudit", key: { workspace: "team-a", name: "train" }, position: 42, eventType: "VariableSet",
      version: null, actor: "ann", occurredAt: at, correlationId: "c-1", causationId: "c-0",
      summary: "set variable A", details: { _tag: "VariableSet", variable: "A", value: "1" }, detailsAsStored: false
    })
  })

  it("says when the audit details are the payload as stored, which the SQL adapter copies from the log", () => {
    const stored = { _tag: "VariableSet", variable: "A", value: "1" }
    const audit = find(project(new VariableSet({ variable: "A", value: "1" }), { ...envelope, currentData: stored }), "InsertAudit")!
    assert.strictEqual(audit.details, stored)
    assert.isTrue(audit.detailsAsStored)
  })

  it.effect("an event stored under an older schema version is audited in today's shape", () =>
    Effect.gen(function* () {
      // As if VariableSet had been { name, val } at version 1 and { variable, value } since 2.
      const versions = { ...SCHEMA_VERSIONS, VariableSet: 2 }
      const decode = EventCodec.makeDecode({
        versions,
        upcasters: {
          "VariableSet@1": (data) => {
            const { name, val } = data as { name: string; val: string }
            return { variable: name, value: val }
          }
        }
      })
      const stored: RecordedEvent = {
        id: "00000000-0000-4000-8000-000000000001", type: "VariableSet", schemaVersion: 1, data: { name: "A", val: "1" },
        metadata: { actor: "ann", correlationId: "c", causationId: null },
        workspace: "team-a", stream: "environment/train", streamVersion: 3, position: 9, occurredAt: at
      }
      const audit = find(project(yield* decode(stored), envelopeOf(stored, versions)!), "InsertAudit")!
      assert.deepStrictEqual(audit.details, { _tag: "VariableSet", variable: "A", value: "1" })
      assert.isFalse(audit.detailsAsStored)
      assert.strictEqual(audit.summary, "set variable A")
    }))
})

describe("summarize", () => {
  it("writes one human line per event", () => {
    const numpy = { kind: "pip", name: "numpy", extras: [], specifier: ">=1.2", text: "numpy>=1.2" } as const
    assert.strictEqual(summarize(new PackageAdded({ spec: numpy })), "added pip package numpy>=1.2")
    assert.strictEqual(
      summarize(new Registered({ name: "x", version: "3", canonicalHash: hash, hashAlgorithm: 1, definition: emptyDefinition })),
      "registered version 3 (sha256:ab12ab12ab12…)"
    )
    assert.strictEqual(summarize(new LabelMoved({ label: "prod", version: "3", previous: "2" })), "moved label prod 2 → 3")
    assert.strictEqual(summarize(new LabelMoved({ label: "prod", version: "1" })), "set label prod → 1")
    assert.strictEqual(summarize(new LabelRemoved({ label: "prod", previous: "3" })), "removed label prod (was 3)")
    assert.strictEqual(summarize(new Archived({ version: "2" })), "archived version 2")
    assert.strictEqual(
      summarize(new Defined({ workspace: "w", name: "AzureML-x", curated: true, definition: emptyDefinition })),
      "defined curated environment AzureML-x"
    )
  })

  it("shortens hashes but leaves short ones alone", () => {
    assert.strictEqual(CanonicalHash.shortHash(hash, "labelled"), "sha256:ab12ab12ab12…")
    assert.strictEqual(CanonicalHash.shortHash("abc", "labelled"), "abc")
    // Tables show the digits alone.
    assert.strictEqual(CanonicalHash.shortHash(hash), "ab12ab12ab12")
  })
})

describe("envelopeOf", () => {
  const recorded = (stream: string): RecordedEvent => ({
    id: "00000000-0000-4000-8000-000000000000", type: "Archived", schemaVersion: 1, data: {},
    metadata: { actor: "ann", correlationId: "c", causationId: null },
    workspace: "team-a", stream, streamVersion: 1, position: 7, occurredAt: at
  })
  it("takes the name from an environment stream and skips other streams", () => {
    assert.strictEqual(envelopeOf(recorded("environment/train"))?.name, "train")
    assert.strictEqual(envelopeOf(recorded("import/run-1")), undefined)
    assert.strictEqual(envelopeOf(recorded("environment/")), undefined)
  })
})
