/**
 * The history every read model test writes: three steps of realistic environment events over
 * three workspaces (drafts, registrations, labels, archive and restore, builds, a curated
 * environment, one hash shared across workspaces), and an event of a foreign stream.
 */
import {
  Archived,
  CanonicalHash,
  Defined,
  type Definition,
  DockerConfigured,
  emptyDefinition,
  emptyPipOptions,
  Environment,
  type EnvironmentEvent,
  EventCodec,
  EventStore,
  ImageBuildFailed,
  ImageBuildRequested,
  ImageBuilt,
  LabelMoved,
  LabelRemoved,
  PackageAdded,
  type PipRequirement,
  Projections as ProjectionsService,
  Redefined,
  Registered,
  Restored,
  VariableSet
} from "@terrarium/domain"
import { assert } from "@effect/vitest"
import { Effect, Fiber, Ref, Stream } from "effect"
import { envelopeOf } from "../../src/read-model/Projection.ts"

export const pip = (name: string, specifier: string): PipRequirement =>
  ({ kind: "pip", name, extras: [], specifier, text: `${name}${specifier}` })

export const withPip = (definition: Definition, ...packages: ReadonlyArray<PipRequirement>): Definition => ({
  ...definition,
  python: {
    ...definition.python,
    conda: {
      channels: ["conda-forge"], conda: [], pipOptions: emptyPipOptions,
      pip: [...(definition.python.conda?.pip ?? []), ...packages]
    }
  }
})

export const numpy = pip("numpy", ">=1.2")
export const torch = pip("torch", "==2.3.0")
export const trainDraft: Definition = { ...emptyDefinition, description: "training", tags: { team: "vision" } }
export const train1 = { ...withPip(trainDraft, numpy), variables: { OMP_NUM_THREADS: "4" } }
export const train2 = withPip(train1, torch)
export const train3 = { ...train2, variables: { ...train2.variables, CUDA: "12" } }
export const baseCpu: Definition = {
  ...emptyDefinition,
  python: { ...emptyDefinition.python, userManagedDependencies: true },
  docker: { ...emptyDefinition.docker, base: { kind: "image", image: "ubuntu:24.04" } }
}
export const sklearn1: Definition = {
  ...withPip(emptyDefinition, pip("scikit-learn", "==1.5.0")),
  description: "Scikit-learn 1.5", tags: { framework: "sklearn" }
}
export const sklearn2: Definition = {
  ...withPip(emptyDefinition, pip("scikit-learn", "==1.5.2")),
  description: "Scikit-learn 1.5.2", tags: { framework: "sklearn", os: "ubuntu22.04" }
}

export const CURATED = "AzureML-sklearn-1.5"

export interface Hashes {
  readonly train1: string
  readonly train2: string
  readonly train3: string
  readonly baseCpu: string
  readonly sklearn1: string
  readonly sklearn2: string
}

export const hashes: Effect.Effect<Hashes> = Effect.all({
  train1: CanonicalHash.hash(train1), train2: CanonicalHash.hash(train2), train3: CanonicalHash.hash(train3),
  baseCpu: CanonicalHash.hash(baseCpu), sklearn1: CanonicalHash.hash(sklearn1), sklearn2: CanonicalHash.hash(sklearn2)
})

export const registered = (name: string, version: string, canonicalHash: string, definition: Definition) =>
  new Registered({ name, version, canonicalHash, hashAlgorithm: CanonicalHash.ALGORITHM_VERSION, definition })

export const image = (version: string, canonicalHash: string, buildId: string) =>
  new ImageBuilt({
    version, canonicalHash, buildId, registry: "registry.local:5000", repository: "terrarium/train",
    tag: version, digest: `sha256:${"d1".repeat(32)}`, durationMs: 61_500
  })

export type Append = readonly [workspace: string, name: string, events: ReadonlyArray<EnvironmentEvent>]

/** Three steps of history; the projector catches up after each. */
export const history = (h: Hashes): ReadonlyArray<ReadonlyArray<Append>> => [
  [
    ["team-a", "train", [
      new Defined({ workspace: "team-a", name: "train", curated: false, definition: trainDraft }),
      new PackageAdded({ spec: numpy }),
      new VariableSet({ variable: "OMP_NUM_THREADS", value: "4" }),
      registered("train", "1", h.train1, train1),
      new LabelMoved({ label: "prod", version: "1" })
    ]],
    ["team-a", "base-cpu", [
      new Defined({ workspace: "team-a", name: "base-cpu", curated: false, definition: { ...baseCpu, docker: emptyDefinition.docker } }),
      new DockerConfigured({ docker: baseCpu.docker }),
      registered("base-cpu", "1", h.baseCpu, baseCpu)
    ]],
    ["azureml", CURATED, [
      new Defined({ workspace: "azureml", name: CURATED, curated: true, definition: sklearn1 }),
      registered(CURATED, "1", h.sklearn1, sklearn1)
    ]]
  ],
  [
    ["team-a", "train", [
      new PackageAdded({ spec: torch }),
      registered("train", "2", h.train2, train2),
      new LabelMoved({ label: "prod", version: "2", previous: "1" }),
      new LabelMoved({ label: "staging", version: "2" }),
      new ImageBuildRequested({ version: "2", canonicalHash: h.train2, buildId: "b-1", refreshPackages: false }),
      image("2", h.train2, "b-1")
    ]],
    // Same definition in another workspace: same hash, so it shares the image already built.
    ["team-b", "train", [
      new Defined({ workspace: "team-b", name: "train", curated: false, definition: train2 }),
      registered("train", "1", h.train2, train2)
    ]]
  ],
  [
    ["team-a", "train", [
      new VariableSet({ variable: "CUDA", value: "12" }),
      registered("train", "3", h.train3, train3),
      new Archived({ version: "3" }),
      new Archived({ version: "1" }),
      new Restored({ version: "3" }),
      new LabelRemoved({ label: "staging", previous: "2" })
    ]],
    ["azureml", CURATED, [
      new Redefined({ definition: sklearn2 }),
      registered(CURATED, "2", h.sklearn2, sklearn2),
      new ImageBuildRequested({ version: "2", canonicalHash: h.sklearn2, buildId: "b-2", refreshPackages: true }),
      new ImageBuildFailed({ version: "2", canonicalHash: h.sklearn2, buildId: "b-2", reason: "conda solve failed" })
    ]],
    ["team-a", "base-cpu", [new Archived({ version: "1" })]],
    ["team-a", "draft-only", [new Defined({ workspace: "team-a", name: "draft-only", curated: false, definition: emptyDefinition })]]
  ]
]

export const appendAll = (appends: ReadonlyArray<Append>) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    for (const [workspace, name, events] of appends) {
      const correlationId = crypto.randomUUID()
      yield* store.append(Environment.environmentStream(workspace, name), "any", events.map((event) =>
        EventCodec.encode(event, { actor: `${workspace}-admin`, correlationId, causationId: null }, crypto.randomUUID())
      ))
    }
  })

/** An event of some other kind of stream, which the environment projections must step over. */
export const appendForeign = EventStore.use((store) =>
  store.append({ workspace: "team-a", stream: "import/run-1" }, "any", [{
    id: crypto.randomUUID(), type: "ImportStarted", schemaVersion: 1, data: { source: "azureml" },
    metadata: { actor: "importer", correlationId: crypto.randomUUID(), causationId: null }
  }])
)

export const countEnvironmentEvents = (h: Hashes, steps: number) =>
  history(h).slice(0, steps).flat().reduce((n, [, , events]) => n + events.length, 0)

/** The positions of the environment events in the log: the audit trail must hold each once. */
export const environmentEventPositions = EventStore.use((store) => Stream.runCollect(store.readAll({ after: 0 }))).pipe(
  Effect.map((events) => events.flatMap((event) => envelopeOf(event) === undefined ? [] : [event.position]))
)

/**
 * Watches a projector's checkpoint every 2 ms while the effects race, failing if it ever moves
 * back (rebuilds included); returns how to stop watching, which also reports a failure.
 */
export const watchCheckpoint = (projections: ProjectionsService["Service"], what: string) =>
  Effect.gen(function* () {
    const stop = yield* Ref.make(false)
    const watcher = yield* Effect.forkChild(Effect.gen(function* () {
      let last = 0
      while (!(yield* Ref.get(stop))) {
        const checkpoint = yield* projections.checkpoint
        assert.isAtLeast(checkpoint, last, `${what} moved back`)
        last = checkpoint
        yield* Effect.sleep("2 millis")
      }
    }))
    return Ref.set(stop, true).pipe(Effect.andThen(Fiber.join(watcher)))
  })

/** The rest of the history after its first step, then 20 more environments: a log that grows while projectors race. */
export const growTheLog = (steps: ReadonlyArray<ReadonlyArray<Append>>) =>
  Effect.gen(function* () {
    for (const step of steps.slice(1)) yield* appendAll(step)
    for (let i = 0; i < 20; i++) {
      yield* appendAll([["team-c", `load-${i}`, [
        new Defined({ workspace: "team-c", name: `load-${i}`, curated: false, definition: trainDraft }),
        new PackageAdded({ spec: numpy })
      ]]])
    }
  })

/** All three steps of the history, catching up after each (a foreign event among them); returns the hashes. */
export const writeAndCatchUp = Effect.gen(function* () {
  const h = yield* hashes
  const projections = yield* ProjectionsService
  const store = yield* EventStore
  for (const [i, step] of history(h).entries()) {
    yield* appendAll(step)
    if (i === 1) yield* appendForeign
    const checkpoint = yield* projections.catchUp
    assert.strictEqual(checkpoint, yield* store.head, `after step ${i + 1} the checkpoint is the head`)
  }
  return h
})
