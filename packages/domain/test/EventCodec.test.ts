import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import {
  Archived, Defined, DockerConfigured, EnvironmentArchived, EnvironmentRestored, EventVoided, ImageBuildFailed, ImageBuildRequested, ImageBuilt, LabelMoved, LabelRemoved,
  MetadataUpdated, PackageAdded, PackageRemoved, PackagesResolved, Redefined, Registered, Restored, SCHEMA_VERSIONS, Shared, VariableSet,
  VariableUnset
} from "../src/Event.ts"
import type { EnvironmentEvent, EnvironmentEventType } from "../src/Event.ts"
import { CheckedDefinition, CheckedPackageSpec } from "../src/DefinitionCheck.ts"
import { evolve, initialState } from "../src/Environment.ts"
import { decode, encode, EventDecodeError, makeDecode } from "../src/EventCodec.ts"
import type { NewEvent, RecordedEvent } from "../src/ports/EventStore.ts"
import { conda, pip, rich } from "./fixtures.ts"

const hash = `sha256:${"a".repeat(64)}`
const metadata = { actor: "ana", correlationId: "c-1", causationId: null }

/** One of each event type; the record type makes the list fail to compile when a type is added. */
const samples: { readonly [K in EnvironmentEventType]: ReadonlyArray<Extract<EnvironmentEvent, { _tag: K }>> } = {
  Defined: [
    new Defined({ workspace: "team-a", name: "train", curated: false, definition: rich }),
    new Defined({
      workspace: "team-a",
      name: "my-sklearn",
      curated: false,
      definition: rich,
      clonedFrom: { workspace: "azureml", name: "AzureML-sklearn-1.5", version: "1", canonicalHash: hash, hashAlgorithm: 1 }
    })
  ],
  Redefined: [new Redefined({ definition: rich })],
  PackageAdded: [
    new PackageAdded({ spec: pip("uvicorn", "<1,>=0.30", { extras: ["standard"], marker: "python_version >= \"3.9\"" }) }),
    new PackageAdded({ spec: conda("numpy", "1.26.*", { channel: "conda-forge", build: "py311_0" }) })
  ],
  PackageRemoved: [new PackageRemoved({ manager: "pip", name: "torch" })],
  VariableSet: [new VariableSet({ variable: "MODE", value: "grüß \"dich\"\n" })],
  VariableUnset: [new VariableUnset({ variable: "MODE" })],
  DockerConfigured: [new DockerConfigured({ docker: rich.docker })],
  Registered: [
    new Registered({ name: "train", version: "1", canonicalHash: hash, hashAlgorithm: 1, definition: rich }),
    new Registered({
      name: "train", version: "2", canonicalHash: hash, hashAlgorithm: 1, definition: rich,
      sharedFrom: { workspace: "team-b", name: "train-base", version: "7", canonicalHash: hash }
    })
  ],
  Shared: [new Shared({ version: "1", canonicalHash: hash, to: { workspace: "team-b", name: "train", version: "1" } })],
  Archived: [new Archived({ version: "1" })],
  Restored: [new Restored({ version: "1" })],
  EnvironmentArchived: [new EnvironmentArchived()],
  EnvironmentRestored: [new EnvironmentRestored()],
  MetadataUpdated: [
    new MetadataUpdated({ version: "1", description: "CUDA 12 image", tags: { team: "vision", "stage": "prod" } }),
    new MetadataUpdated({ version: "1", tags: {} })
  ],
  LabelMoved: [new LabelMoved({ label: "prod", version: "2" }), new LabelMoved({ label: "prod", version: "3", previous: "2" })],
  LabelRemoved: [new LabelRemoved({ label: "prod", previous: "3" })],
  PackagesResolved: [new PackagesResolved({
    version: "1",
    canonicalHash: hash,
    pip: [{ name: "torch", version: "2.3.1" }],
    conda: [{ name: "python", version: "3.11.9", build: "h1_0", channel: "conda-forge" }]
  })],
  ImageBuildRequested: [new ImageBuildRequested({ version: "1", canonicalHash: hash, buildId: "b-1", refreshPackages: false })],
  ImageBuilt: [new ImageBuilt({
    version: "1", canonicalHash: hash, buildId: "b-1", registry: "registry.example.org", repository: "team-a/train",
    tag: "1", digest: `sha256:${"b".repeat(64)}`, durationMs: 81234
  })],
  ImageBuildFailed: [new ImageBuildFailed({ version: "1", canonicalHash: hash, buildId: "b-2", reason: "pip failed" })],
  EventVoided: [new EventVoided({ position: 58, reason: "row written by hand" })]
}
const allSamples: ReadonlyArray<EnvironmentEvent> = Object.values(samples).flat()

/** What a store hands back: the row after a JSON round trip (JSONB), with its envelope. */
const recorded = (event: NewEvent, position = 7): RecordedEvent => ({
  ...event,
  data: JSON.parse(JSON.stringify(event.data)),
  workspace: "team-a",
  stream: "environment/train",
  streamVersion: position,
  position,
  occurredAt: new Date(0)
})

describe("EventCodec", () => {
  it("has a sample of every event type", () => {
    assert.deepStrictEqual(new Set(allSamples.map((e) => e._tag)), new Set(Object.keys(SCHEMA_VERSIONS)))
  })

  it("encodes type, schema version, id, metadata and JSON data", () => {
    const event = new LabelMoved({ label: "prod", version: "3", previous: "2" })
    assert.deepStrictEqual(encode(event, metadata, "id-1"), {
      id: "id-1",
      type: "LabelMoved",
      schemaVersion: 1,
      data: { _tag: "LabelMoved", label: "prod", version: "3", previous: "2" },
      metadata
    })
  })

  for (const event of allSamples) {
    it.effect(`round-trips ${event._tag}`, () =>
      Effect.gen(function*() {
        const row = encode(event, metadata, "id")
        assert.strictEqual(row.type, event._tag)
        assert.strictEqual(row.schemaVersion, SCHEMA_VERSIONS[event._tag])
        const back = yield* decode(recorded(row))
        assert.deepStrictEqual(back, event)
        assert.strictEqual(back.constructor, event.constructor)
      }))
  }

  it.effect("takes the type from the row when data has no _tag", () =>
    Effect.gen(function*() {
      const back = yield* decode(recorded({ id: "x", type: "Archived", schemaVersion: 1, data: { version: "4" }, metadata }))
      assert.deepStrictEqual(back, new Archived({ version: "4" }))
    }))

  it.effect("decodes what was stored before today's rules: the log reads all of its history", () =>
    Effect.gen(function*() {
      // A definition no command would accept now: a spec not in normal form (an API caller's
      // "NumPy"), a URL name as an older parser wrote it, a URL with credentials, a Dockerfile
      // base with nothing to build from. A log that holds one must still decode and fold it.
      const legacy = {
        ...JSON.parse(JSON.stringify(rich)),
        python: {
          ...rich.python,
          conda: {
            ...rich.python.conda!,
            channels: ["https://u:tok@conda.example.org/forge"],
            conda: [conda("NumPy", "*")],
            pip: [
              pip("NumPy", ">= 1.2"),
              pip("https://example.org/x", "", { url: "https://example.org/y" }),
              pip("x", "", { text: "x @ https://u:tok@files.example.org/x.whl" })
            ],
            pipOptions: { ...rich.python.conda!.pipOptions, extraIndexUrls: ["https://u:tok@pypi.example.org/simple"] }
          }
        },
        docker: { ...rich.docker, base: { kind: "dockerfile" } }
      }
      assert.isTrue(Schema.is(CheckedDefinition)(rich))
      assert.isFalse(Schema.is(CheckedDefinition)(legacy), "the case must break today's rules")
      const rows: ReadonlyArray<NewEvent> = [
        { id: "1", type: "Defined", schemaVersion: 1, data: { workspace: "team-a", name: "train", curated: false, definition: legacy }, metadata },
        { id: "2", type: "PackageAdded", schemaVersion: 1, data: { spec: pip("Scikit_Learn") }, metadata },
        {
          id: "3", type: "Registered", schemaVersion: 1,
          data: { name: "train", version: "1", canonicalHash: hash, hashAlgorithm: 1, definition: legacy }, metadata
        }
      ]
      assert.isFalse(Schema.is(CheckedPackageSpec)(pip("Scikit_Learn")))
      let state = initialState
      for (const [i, row] of rows.entries()) state = evolve(state, yield* decode(recorded(row, i + 1)))
      assert.strictEqual(state._tag, "Active")
      if (state._tag !== "Active") return
      assert.deepStrictEqual(state.versions.map((v) => [v.version, v.canonicalHash]), [["1", hash]])
      assert.deepStrictEqual(state.draft, legacy)
    }))

  describe("errors name the position and type", () => {
    const fails = (row: NewEvent) => decode(recorded(row, 42)).pipe(Effect.flip)

    it.effect("unknown type", () =>
      Effect.gen(function*() {
        const e = yield* fails({ id: "x", type: "Exploded", schemaVersion: 1, data: {}, metadata })
        assert.instanceOf(e, EventDecodeError)
        assert.strictEqual(e.position, 42)
        assert.include(e.message, "position 42")
        assert.include(e.message, "Exploded")
        assert.include(e.message, "unknown event type")
      }))

    it.effect("invalid data", () =>
      Effect.gen(function*() {
        const e = yield* fails({ id: "x", type: "Archived", schemaVersion: 1, data: { version: 4 }, metadata })
        assert.strictEqual(e.type, "Archived")
        assert.include(e.message, "position 42")
        assert.include(e.message, "environment/train")
      }))

    it.effect("say whether the row is damaged (may be quarantined) or too new for this code", () =>
      Effect.gen(function*() {
        const malformed = yield* fails({ id: "x", type: "Registered", schemaVersion: 1, data: { version: 4 }, metadata })
        assert.strictEqual(malformed.problem, "Malformed")
        assert.isTrue(malformed.isMalformed)
        const unknown = yield* fails({ id: "x", type: "Exploded", schemaVersion: 1, data: {}, metadata })
        assert.strictEqual(unknown.problem, "UnknownType")
        assert.isFalse(unknown.isMalformed)
        const newer = yield* fails({ id: "x", type: "Archived", schemaVersion: 2, data: { version: "1" }, metadata })
        assert.strictEqual(newer.problem, "NewerSchema")
        assert.isFalse(newer.isMalformed)
      }))

    it.effect("data that is not an object", () =>
      Effect.gen(function*() {
        const e = yield* fails({ id: "x", type: "Archived", schemaVersion: 1, data: "not an object", metadata })
        assert.strictEqual(e._tag, "EventDecodeError")
      }))

    it.effect("a schema version newer than the code", () =>
      Effect.gen(function*() {
        const e = yield* fails({ id: "x", type: "Archived", schemaVersion: 2, data: { version: "1" }, metadata })
        assert.include(e.detail, "newer")
      }))

    it.effect("an old schema version with no upcaster", () =>
      Effect.gen(function*() {
        const e = yield* fails({ id: "x", type: "Archived", schemaVersion: 0, data: { version: "1" }, metadata })
        assert.include(e.detail, "no upcaster from schema version 0 to 1")
      }))
  })

  it.effect("upcasts old rows step by step through the table", () =>
    Effect.gen(function*() {
      // Pretend LabelMoved is at version 3: v1 called the field `target`, v2 had no `previous`.
      const decodeV3 = makeDecode({
        versions: { ...SCHEMA_VERSIONS, LabelMoved: 3 },
        upcasters: {
          "LabelMoved@1": (data) => {
            const { target, ...rest } = data as { target: string }
            return { ...rest, version: target }
          },
          "LabelMoved@2": (data) => ({ ...(data as object), previous: "0" })
        }
      })
      const row = { id: "x", type: "LabelMoved", schemaVersion: 1, data: { label: "prod", target: "2" }, metadata }
      assert.deepStrictEqual(yield* decodeV3(recorded(row)), new LabelMoved({ label: "prod", version: "2", previous: "0" }))
      const current = { ...row, schemaVersion: 3, data: { label: "prod", version: "5" } }
      assert.deepStrictEqual(yield* decodeV3(recorded(current)), new LabelMoved({ label: "prod", version: "5" }))
    }))
})
