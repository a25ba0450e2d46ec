import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Result } from "effect"
import { ALGORITHM_VERSION } from "../src/CanonicalHash.ts"
import {
  AddPackage, Archive, ArchiveEnvironment, ConfigureDocker, Create, Define, MoveLabel, RecordShare, Register, RegisterShared, RemoveLabel,
  RemovePackage, Restore, RestoreEnvironment, SetVariable, UnsetVariable, UpdateMetadata, VoidEvent
} from "../src/Command.ts"
import type { EnvironmentCommand } from "../src/Command.ts"
import { fold } from "../src/Decider.ts"
import type { Definition } from "../src/Definition.ts"
import { emptyDefinition } from "../src/Definition.ts"
import {
  decider, environmentStream, evolve, initialState, latest, nextVersion, notFound, resolve, versionByHash,
  versionWithContent
} from "../src/Environment.ts"
import type { State } from "../src/Environment.ts"
import type { EnvironmentError } from "../src/EnvironmentError.ts"
import {
  Archived, Defined, DockerConfigured, EnvironmentArchived, EnvironmentRestored, EventVoided, ImageBuildFailed, ImageBuilt, LabelMoved, LabelRemoved, MetadataUpdated, PackageAdded, PackageRemoved,
  Redefined, Registered, Restored, Shared, VariableSet, VariableUnset
} from "../src/Event.ts"
import type { EnvironmentEvent } from "../src/Event.ts"
import { MAX_TAGS } from "../src/Limits.ts"
import { DeciderSpecification } from "../src/testing/index.ts"
import { conda, pip } from "./fixtures.ts"

const spec = DeciderSpecification.for(decider)

const workspace = "team-a"
const name = "pytorch-train"
const h = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`

const def1: Definition = {
  ...emptyDefinition,
  python: {
    userManagedDependencies: false,
    interpreterPath: "python",
    conda: { channels: ["conda-forge"], conda: [conda("python", "3.11.*")], pip: [pip("torch", "==2.3.1")], pipOptions: { extraIndexUrls: [], findLinks: [], constraints: [], flags: [] } }
  },
  variables: { MODE: "train" }
}
const def2: Definition = { ...def1, variables: { MODE: "serve" } }
const userManaged: Definition = { ...emptyDefinition, python: { userManagedDependencies: true, interpreterPath: "/opt/venv/bin/python" } }

const defined = (definition: Definition = def1, curated = false, n = name) =>
  new Defined({ workspace, name: n, curated, definition })
const registered = (version: string, canonicalHash: string, definition: Definition = def1) =>
  new Registered({ name, version, canonicalHash, hashAlgorithm: ALGORITHM_VERSION, definition })
const create = (definition: Definition, canonicalHash: string, version?: string, curated = false, n = name) =>
  new Create({ workspace, name: n, curated, definition, canonicalHash, ...(version === undefined ? {} : { version }) })
const register = (canonicalHash: string, version?: string) =>
  new Register({ canonicalHash, ...(version === undefined ? {} : { version }) })

/** Stream: defined with def1, registered as 1 (h1). */
const v1: ReadonlyArray<EnvironmentEvent> = [defined(), registered("1", h(1))]
/** Stream: versions 1 (def1) and 2 (def2); the draft is def2. */
const v2: ReadonlyArray<EnvironmentEvent> = [...v1, new Redefined({ definition: def2 }), registered("2", h(2), def2)]

const stateOf = (events: ReadonlyArray<EnvironmentEvent>): State => fold(decider, events)
const active = (events: ReadonlyArray<EnvironmentEvent>) => {
  const state = stateOf(events)
  if (state._tag !== "Active") throw new Error("expected an active environment")
  return state
}

describe("Environment decider", () => {
  describe("VoidEvent", () => {
    const voidAt = (position: number, unreadable: ReadonlyArray<number>) =>
      new VoidEvent({ position, reason: "row written by hand", unreadable })

    it.effect("voids an unreadable event of the stream", () =>
      spec.given(v1).when(voidAt(58, [58])).then([new EventVoided({ position: 58, reason: "row written by hand" })]))

    it.effect("repairs a stream whose only event is unreadable (nothing defined it)", () =>
      spec.given([]).when(voidAt(3, [3])).then([new EventVoided({ position: 3, reason: "row written by hand" })]))

    it.effect("never voids a readable event, naming the positions that could be", () =>
      spec.given(v1).when(voidAt(2, [58, 60])).thenFails((e) =>
        e.reason._tag === "NotQuarantined" && e.message.includes("position 2") && e.message.includes("58, 60")))

    it.effect("refuses on a stream with nothing unreadable (a second repair of the same row)", () =>
      spec.given([...v1, new EventVoided({ position: 58, reason: "x" })]).when(voidAt(58, []))
        .thenFails((e) => e.reason._tag === "NotQuarantined" && e.message.includes("it has none")))

    it.effect("changes nothing the decider keeps: the fold skips the voided row before evolve sees events", () =>
      spec.given([...v1, new EventVoided({ position: 58, reason: "x" })]).when(register(h(1))).thenNothingHappened())

    it("refuses an empty reason", () => {
      assert.throws(() => new VoidEvent({ position: 1, reason: "  ", unreadable: [1] }))
    })
  })

  describe("Define", () => {
    it.effect("starts a stream", () =>
      spec.given([]).when(new Define({ workspace, name, curated: false, definition: def1 })).then([defined()]))

    it.effect("refuses a stream that is already defined", () =>
      spec.given(v1).when(new Define({ workspace, name, curated: false, definition: def2 })).thenFails("AlreadyDefined"))

    it.effect("reserves the AzureML- prefix for curated environments", () =>
      spec.given([]).when(new Define({ workspace, name: "AzureML-sklearn", curated: false, definition: def1 }))
        .thenFails((e) => e.reason._tag === "ReservedPrefix" && e.message.includes("'AzureML-sklearn'") && e.message.includes("reserved")))

    for (const reserved of ["azureml-sklearn", "AZUREML-sklearn", "Azureml-sklearn", "azuremlfoo", "Azure_ML-x", "Microsoft_x", "microsoft-x", "MICROSOFTtools", "M1crosoft"]) {
      it.effect(`reserves the prefix in any letter case: ${reserved}`, () =>
        spec.given([]).when(new Define({ workspace, name: reserved, curated: false, definition: def1 }))
          .thenFails((e) =>
            e.reason._tag === "ReservedPrefix" && e.message.includes(`'${reserved}'`) && e.message.includes("any letter case")
          ))
    }

    it.effect("spells the prefix of a curated environment exactly", () =>
      spec.given([]).when(new Define({ workspace, name: "azureml-sklearn", curated: true, definition: def1 }))
        .thenFails((e) => e.reason._tag === "CuratedNameRequired" && e.message.includes("'AzureML-'")))

    it.effect("requires the AzureML- prefix on curated environments", () =>
      spec.given([]).when(new Define({ workspace, name: "sklearn", curated: true, definition: def1 }))
        .thenFails((e) => e.reason._tag === "CuratedNameRequired" && e.message.includes("'sklearn'")))

    it.effect("accepts a curated environment with the prefix", () =>
      spec.given([]).when(new Define({ workspace, name: "AzureML-sklearn", curated: true, definition: def1 }))
        .then([defined(def1, true, "AzureML-sklearn")]))

    it.effect("records where a clone's definition came from", () => {
      const clonedFrom = { workspace: "azureml", name: "AzureML-sklearn", version: "1", canonicalHash: h(7), hashAlgorithm: 1 }
      return spec.given([]).when(new Define({ workspace, name, curated: false, definition: def1, clonedFrom }))
        .then([new Defined({ workspace, name, curated: false, definition: def1, clonedFrom })])
    })

    it.effect("refuses a clone under a reserved name", () =>
      spec.given([]).when(new Define({
        workspace,
        name: "microsoft-sklearn",
        curated: false,
        definition: def1,
        clonedFrom: { workspace: "azureml", name: "AzureML-sklearn", version: "1", canonicalHash: h(7), hashAlgorithm: 1 }
      })).thenFails("ReservedPrefix"))
  })

  describe("a curated environment", () => {
    const curatedName = "AzureML-sklearn"
    const curatedV1: ReadonlyArray<EnvironmentEvent> = [
      defined(def1, true, curatedName),
      new Registered({ name: curatedName, version: "1", canonicalHash: h(1), hashAlgorithm: 1, definition: def1 })
    ]
    const curatedCreate = (definition: Definition, hash: string, version: string) => create(definition, hash, version, true, curatedName)

    it.effect("gets a new version from a new release of the catalog", () =>
      spec.given(curatedV1).when(curatedCreate(def2, h(2), "2")).then([
        new Redefined({ definition: def2 }),
        new Registered({ name: curatedName, version: "2", canonicalHash: h(2), hashAlgorithm: ALGORITHM_VERSION, definition: def2 })
      ]))

    it.effect("keeps a version the catalog publishes again unchanged", () =>
      spec.given(curatedV1).when(curatedCreate(def1, h(1), "1")).thenNothingHappened())

    it.effect("never rewrites a version: other content under its number is refused", () =>
      spec.given(curatedV1).when(curatedCreate(def2, h(2), "1")).thenFails((e) =>
        e.reason._tag === "VersionConflict" && e.message.includes("immutable")))

    const userCommands: ReadonlyArray<readonly [string, EnvironmentCommand]> = [
      ["add-package", new AddPackage({ spec: pip("numpy") })],
      ["remove-package", new RemovePackage({ manager: "pip", name: "torch" })],
      ["set-variable", new SetVariable({ variable: "MODE", value: "x" })],
      ["set-variable (unset)", new UnsetVariable({ variable: "MODE" })],
      ["changing its Docker section", new ConfigureDocker({ docker: { ...def1.docker, gpuSupport: true } })],
      ["register", register(h(1))],
      ["archive", new Archive({ version: "1" })],
      ["archive", new ArchiveEnvironment()],
      ["update", new UpdateMetadata({ version: "1", description: "mine", setTags: {}, removeTags: [] })],
      ["label", new MoveLabel({ label: "prod", version: "1" })],
      ["removing a label", new RemoveLabel({ label: "prod" })]
    ]
    for (const [word, command] of userCommands) {
      it.effect(`is read-only: ${command._tag} is refused, naming the command and the way out (clone)`, () =>
        spec.given(curatedV1).when(command).thenFails((e) =>
          e.reason._tag === "CuratedReadOnly" && e.message.includes(`${word} is refused`) && e.message.includes("clone AzureML-sklearn")))
    }

    it.effect("is read-only: restore is refused too", () =>
      spec.given([...curatedV1, new Archived({ version: "1" })]).when(new Restore({ version: "1" })).thenFails("CuratedReadOnly"))

    it.effect("cannot be created over by a non-curated create (its name is reserved)", () =>
      spec.given(curatedV1).when(create(def2, h(2), undefined, false, curatedName)).thenFails("ReservedPrefix"))

    it.effect("can still have a damaged row voided (a repair is not a change of it)", () =>
      spec.given(curatedV1).when(new VoidEvent({ position: 9, reason: "damaged", unreadable: [9] }))
        .then([new EventVoided({ position: 9, reason: "damaged" })]))
  })

  describe("Create", () => {
    it.effect("defines and registers version 1 on a new stream", () =>
      spec.given([]).when(create(def1, h(1))).then([defined(), registered("1", h(1))]))

    it.effect("registers an explicit version on a new stream", () =>
      spec.given([]).when(create(def1, h(1), "2024.1")).then([defined(), registered("2024.1", h(1))]))

    it.effect("applies the name rules too", () =>
      spec.given([]).when(create(def1, h(1), undefined, false, "AzureML-x")).thenFails("ReservedPrefix"))

    it.effect("applies the reserved prefix in any letter case too", () =>
      spec.given([]).when(create(def1, h(1), undefined, false, "azureml-x")).thenFails("ReservedPrefix"))

    it.effect("registers nothing when the content equals an existing version", () =>
      spec.given(v2).when(create(def1, h(1))).thenNothingHappened())

    it.effect("registers nothing when the content equals an archived version (the handler reports it)", () => {
      const events = [...v2, new Archived({ version: "1" })]
      assert.strictEqual(Option.getOrThrow(versionByHash(stateOf(events), h(1))).archived, true)
      return spec.given(events).when(create(def1, h(1))).thenNothingHappened()
    })

    it.effect("redefines the draft and registers the next version on any change", () =>
      spec.given(v1).when(create(def2, h(2))).then([new Redefined({ definition: def2 }), registered("2", h(2), def2)]))

    it.effect("does not redefine a draft that already holds the content", () => {
      const withPackage: Definition = { ...def1, python: { ...def1.python, conda: { ...def1.python.conda!, pip: [...def1.python.conda!.pip, pip("numpy")] } } }
      return spec.given([...v1, new PackageAdded({ spec: pip("numpy") })]).when(create(withPackage, h(3)))
        .then([registered("2", h(3), withPackage)])
    })

    it.effect("refuses to reuse an explicit version for different content, naming both hashes", () =>
      spec.given([defined(), registered("1.0", h(1))]).when(create(def2, h(2), "1.0"))
        .thenFails((e) =>
          e.reason._tag === "VersionConflict" && e.reason.version === "1.0" && e.message.includes(h(1)) &&
          e.message.includes(h(2)) && e.message.includes(name)
        ))

    it.effect("accepts an explicit version again for identical content, registering nothing", () =>
      spec.given([defined(), registered("1.0", h(1))]).when(create(def1, h(1), "1.0")).thenNothingHappened())

    it.effect("refuses an explicit new version for content that already has a version", () =>
      spec.given(v2).when(create(def1, h(1), "3.0"))
        .thenFails((e) =>
          e.reason._tag === "AlreadyRegistered" && e.reason.existingVersion === "1" &&
          e.message.includes("already registered as version 1") && e.message.includes("3.0")
        ))
  })

  describe("Register", () => {
    it.effect("registers the changed draft as the next version", () =>
      spec.given([...v1, new VariableSet({ variable: "MODE", value: "serve" })]).when(register(h(2)))
        .then([registered("2", h(2), def2)]))

    it.effect("registers nothing when the draft has not changed since a version", () =>
      spec.given(v2).when(register(h(2))).thenNothingHappened())

    it.effect("registers nothing when the draft was changed back to an older version", () =>
      spec.given([...v2, new VariableSet({ variable: "MODE", value: "train" })]).when(register(h(1))).thenNothingHappened())

    it.effect("registers the first version of a defined draft", () =>
      spec.given([defined()]).when(register(h(1))).then([registered("1", h(1))]))

    it.effect("takes an explicit version", () =>
      spec.given([...v1, new VariableSet({ variable: "MODE", value: "serve" })]).when(register(h(2), "2.0-rc1"))
        .then([registered("2.0-rc1", h(2), def2)]))

    it.effect("refuses an explicit version that exists with other content", () =>
      spec.given([...v1, new VariableSet({ variable: "MODE", value: "serve" })]).when(register(h(2), "1")).thenFails("VersionConflict"))

    it.effect("accepts an explicit version that exists with this content", () =>
      spec.given(v1).when(register(h(1), "1")).thenNothingHappened())

    it.effect("refuses an explicit new version for content that has a version", () =>
      spec.given(v1).when(register(h(1), "9")).thenFails("AlreadyRegistered"))

    it("numbers after the largest numeric version, ignoring other versions", () => {
      const events = [defined(), registered("7", h(7)), registered("beta", h(8), def2)]
      assert.strictEqual(nextVersion(stateOf(events)), "8")
      const draft = { ...def2, variables: { ...def2.variables, X: "1" } }
      spec.given([...events, new VariableSet({ variable: "X", value: "1" })]).when(register(h(9))).then([registered("8", h(9), draft)])
    })
  })

  describe("hashes from another hash-algorithm version", () => {
    // A version registered before an algorithm change: its hash was computed by other rules, so
    // the string means nothing next to a current hash. h(9) is that old hash of def1.
    const otherAlgorithm = ALGORITHM_VERSION - 1
    const registeredBefore = (version: string, canonicalHash: string, definition: Definition = def1) =>
      new Registered({ name, version, canonicalHash, hashAlgorithm: otherAlgorithm, definition })
    const before = [defined(), registeredBefore("1", h(9))]

    it.effect("never match a current hash with the same text", () =>
      // def2's current hash happens to be the text of version 1's old hash: still new content.
      spec.given([defined(), registeredBefore("1", h(2))]).when(create(def2, h(2)))
        .then([new Redefined({ definition: def2 }), registered("2", h(2), def2)]))

    it.effect("recognise unchanged content by re-hashing the stored definition", () =>
      spec.given(before).when(create(def1, h(1))).thenNothingHappened())

    it.effect("accept an explicit version again for the same content", () =>
      spec.given(before).when(create(def1, h(1), "1")).thenNothingHappened())

    it.effect("accept registering the unchanged draft under its version", () =>
      spec.given(before).when(register(h(1), "1")).thenNothingHappened())

    it.effect("refuse an explicit version that exists with other content", () =>
      spec.given(before).when(create(def2, h(2), "1"))
        .thenFails((e) => e.reason._tag === "VersionConflict" && e.reason.existingHash === h(9) && e.reason.requestedHash === h(2)))

    it.effect("refuse an explicit new version for content that has one", () =>
      spec.given(before).when(create(def1, h(1), "2.0"))
        .thenFails((e) => e.reason._tag === "AlreadyRegistered" && e.reason.existingVersion === "1"))

    it("versionByHash compares the algorithm version too; versionWithContent finds the version either way", () => {
      const state = stateOf(before)
      assert.isTrue(Option.isNone(versionByHash(state, h(9))))
      assert.strictEqual(Option.getOrThrow(versionByHash(state, h(9), otherAlgorithm)).version, "1")
      assert.strictEqual(Option.getOrThrow(versionWithContent(state, def1, h(1))).version, "1")
      assert.isTrue(Option.isNone(versionWithContent(state, def2, h(9))))
    })

    // Algorithm 1 left inference routes out; algorithm 2 hashes them. A version 1 registration
    // with routes is matched by its routes now: the same routes find it, other routes do not.
    const routed = (port: number): Definition => ({ ...def1, inferenceConfig: { scoringRoute: { path: "/score", port } } })
    const beforeRoutes = [defined(routed(5001)), new Registered({ name, version: "1", canonicalHash: h(9), hashAlgorithm: 1, definition: routed(5001) })]

    it.effect("a version 1 registration with the same routes is the same content", () =>
      spec.given(beforeRoutes).when(create(routed(5001), h(1))).thenNothingHappened())

    it.effect("a version 1 registration with other routes is other content: a new version", () =>
      spec.given(beforeRoutes).when(create(routed(8080), h(2)))
        .then([new Redefined({ definition: routed(8080) }), registered("2", h(2), routed(8080))]))
  })

  describe("AddPackage", () => {
    it.effect("refuses a user-managed definition (Terrarium installs nothing there)", () =>
      spec.given([defined(userManaged)]).when(new AddPackage({ spec: pip("numpy") }))
        .thenFails((e) => e.reason._tag === "UserManagedDependencies" && e.message.includes("'numpy'") && e.message.includes("user-managed")))

    it.effect("adds a pip package", () =>
      spec.given(v1).when(new AddPackage({ spec: pip("numpy", ">=1.26") })).then([new PackageAdded({ spec: pip("numpy", ">=1.26") })]))

    it("creates an empty conda section when there is none", () => {
      const state = active([defined(emptyDefinition), new PackageAdded({ spec: pip("numpy") })])
      assert.deepStrictEqual(state.draft.python.conda, {
        channels: [],
        conda: [],
        pip: [pip("numpy")],
        pipOptions: { extraIndexUrls: [], findLinks: [], constraints: [], flags: [] }
      })
    })

    it("adds a conda package to the conda list", () => {
      const state = active([...v1, new PackageAdded({ spec: conda("numpy", "1.26.*") })])
      assert.deepStrictEqual(state.draft.python.conda?.conda.map((s) => s.name), ["python", "numpy"])
      assert.deepStrictEqual(state.draft.python.conda?.pip.map((s) => s.name), ["torch"])
    })

    it.effect("replaces the spec of a package that is there, with one event", () =>
      spec.given(v1).when(new AddPackage({ spec: pip("torch", "==2.4.0") })).then([new PackageAdded({ spec: pip("torch", "==2.4.0") })]))

    it("keeps one entry, in place, when a package is replaced", () => {
      const state = active([...v1, new PackageAdded({ spec: pip("numpy") }), new PackageAdded({ spec: pip("torch", "==2.4.0") })])
      assert.deepStrictEqual(state.draft.python.conda?.pip.map((s) => s.specifier), ["==2.4.0", ""])
    })

    it.effect("does nothing for an identical spec", () =>
      spec.given(v1).when(new AddPackage({ spec: pip("torch", "==2.3.1") })).thenNothingHappened())

    it.effect("does nothing for a spec that only differs in spelling", () =>
      spec.given(v1).when(new AddPackage({ spec: pip("torch", "==2.3.1", { text: "Torch == 2.3.1" }) })).thenNothingHappened())
  })

  describe("RemovePackage", () => {
    it.effect("removes a package", () =>
      spec.given(v1).when(new RemovePackage({ manager: "pip", name: "torch" })).then([new PackageRemoved({ manager: "pip", name: "torch" })]))

    it.effect("finds a pip package by its normalised name", () =>
      spec.given([...v1, new PackageAdded({ spec: pip("scikit-learn") })]).when(new RemovePackage({ manager: "pip", name: "Scikit_Learn" }))
        .then([new PackageRemoved({ manager: "pip", name: "scikit-learn" })]))

    it.effect("removes a conda package", () =>
      spec.given(v1).when(new RemovePackage({ manager: "conda", name: "python" })).then([new PackageRemoved({ manager: "conda", name: "python" })]))

    it.effect("refuses a package that is not there", () =>
      spec.given(v1).when(new RemovePackage({ manager: "conda", name: "torch" }))
        .thenFails((e) => e.reason._tag === "PackageNotFound" && e.message.includes("conda package 'torch'") && e.message.includes(name)))

    it("drops the package from the draft", () => {
      const state = active([...v1, new PackageRemoved({ manager: "pip", name: "torch" })])
      assert.deepStrictEqual(state.draft.python.conda?.pip, [])
    })
  })

  describe("variables", () => {
    it.effect("sets a variable", () =>
      spec.given(v1).when(new SetVariable({ variable: "OMP_NUM_THREADS", value: "4" })).then([new VariableSet({ variable: "OMP_NUM_THREADS", value: "4" })]))

    it.effect("does nothing when the variable already has the value", () =>
      spec.given(v1).when(new SetVariable({ variable: "MODE", value: "train" })).thenNothingHappened())

    it.effect("unsets a variable", () =>
      spec.given(v1).when(new UnsetVariable({ variable: "MODE" })).then([new VariableUnset({ variable: "MODE" })]))

    it.effect("refuses to unset a variable that is not set", () =>
      spec.given(v1).when(new UnsetVariable({ variable: "NOPE" })).thenFails((e) => e.reason._tag === "VariableNotFound" && e.message.includes("'NOPE'")))

    it("applies set and unset to the draft", () => {
      const state = active([...v1, new VariableSet({ variable: "A", value: "1" }), new VariableUnset({ variable: "MODE" })])
      assert.deepStrictEqual(state.draft.variables, { A: "1" })
    })
  })

  describe("ConfigureDocker", () => {
    const gpu = { ...def1.docker, gpuSupport: true }
    it.effect("replaces the docker section", () =>
      spec.given(v1).when(new ConfigureDocker({ docker: gpu })).then([new DockerConfigured({ docker: gpu })]))

    it.effect("does nothing when it is unchanged", () =>
      spec.given(v1).when(new ConfigureDocker({ docker: { ...def1.docker } })).thenNothingHappened())
  })

  describe("UpdateMetadata", () => {
    const described: Definition = { ...def1, description: "training", tags: { team: "vision", stage: "dev" } }
    const v1Described: ReadonlyArray<EnvironmentEvent> = [defined(described), registered("1", h(1), described)]
    const update = (fields: { description?: string; setTags?: Record<string, string>; removeTags?: Array<string> }, version = "1") =>
      new UpdateMetadata({ version, setTags: {}, removeTags: [], ...fields })

    it.effect("records the version's description and tags as they are after the change", () =>
      spec.given(v1Described).when(update({ description: "serving", setTags: { stage: "prod" } }))
        .then([new MetadataUpdated({ version: "1", description: "serving", tags: { team: "vision", stage: "prod" } })]))

    it.effect("removes tags, keeping the description", () =>
      spec.given(v1Described).when(update({ removeTags: ["stage"] }))
        .then([new MetadataUpdated({ version: "1", description: "training", tags: { team: "vision" } })]))

    it.effect("updates an archived version too (it stays resolvable)", () =>
      spec.given([...v1Described, new Archived({ version: "1" })]).when(update({ setTags: { owner: "ml" } }))
        .then([new MetadataUpdated({ version: "1", description: "training", tags: { team: "vision", stage: "dev", owner: "ml" } })]))

    it.effect("does nothing when the metadata would not change", () =>
      spec.given(v1Described).when(update({ description: "training", setTags: { team: "vision" }, removeTags: ["absent"] }))
        .thenNothingHappened())

    it.effect("refuses an unknown version", () =>
      spec.given(v1Described).when(update({ description: "x" }, "9"))
        .thenFails((e) => e.reason._tag === "VersionNotFound" && e.message.includes("version 9")))

    it.effect("refuses on an environment that does not exist", () =>
      spec.given([]).when(update({ description: "x" })).thenFails("EnvironmentNotFound"))

    it.effect("refuses more tags than a definition may have", () =>
      spec.given(v1Described).when(update({ setTags: Object.fromEntries(Array.from({ length: MAX_TAGS }, (_, i) => [`k${i}`, "v"])) }))
        .thenFails("DraftOverLimit"))

    it("changes the version's description and tags, never its content, hash or the draft", () => {
      const before = active(v1Described)
      const after = active([...v1Described, new MetadataUpdated({ version: "1", tags: { owner: "ml" } })])
      const version = after.versions[0]!
      assert.strictEqual(version.definition.description, undefined)
      assert.deepStrictEqual(version.definition.tags, { owner: "ml" })
      assert.strictEqual(version.canonicalHash, h(1))
      assert.deepStrictEqual({ ...version.definition, description: "training", tags: described.tags }, before.versions[0]!.definition)
      assert.deepStrictEqual(after.draft, before.draft)
    })
  })

  describe("Archive and Restore", () => {
    it.effect("archives a version", () => spec.given(v2).when(new Archive({ version: "1" })).then([new Archived({ version: "1" })]))

    it.effect("refuses to archive an archived version", () =>
      spec.given([...v2, new Archived({ version: "1" })]).when(new Archive({ version: "1" }))
        .thenFails((e) => e.reason._tag === "AlreadyArchived" && e.message.includes("version 1")))

    it.effect("refuses an unknown version", () =>
      spec.given(v2).when(new Archive({ version: "9" })).thenFails((e) => e.reason._tag === "VersionNotFound" && e.message.includes("version 9")))

    it.effect("restores an archived version", () =>
      spec.given([...v2, new Archived({ version: "1" })]).when(new Restore({ version: "1" })).then([new Restored({ version: "1" })]))

    it.effect("refuses to restore a version that is not archived", () =>
      spec.given(v2).when(new Restore({ version: "1" })).thenFails("NotArchived"))

    it.effect("refuses to restore an unknown version", () =>
      spec.given(v2).when(new Restore({ version: "9" })).thenFails("VersionNotFound"))

    it.effect("archives a version whose image build failed", () =>
      spec.given([...v2, new ImageBuildFailed({ version: "1", canonicalHash: h(1), buildId: "b-1", reason: "pip failed" })])
        .when(new Archive({ version: "1" })).then([new Archived({ version: "1" })]))
  })

  describe("ArchiveEnvironment and RestoreEnvironment", () => {
    const def3: Definition = { ...def1, variables: { MODE: "eval" } }
    const archivedEnv = [...v2, new Archived({ version: "1" }), new EnvironmentArchived(), new Archived({ version: "2" })]

    it.effect("archives every version not archived yet, after the environment", () =>
      spec.given([...v2, new Archived({ version: "1" })]).when(new ArchiveEnvironment())
        .then([new EnvironmentArchived(), new Archived({ version: "2" })]))

    it.effect("archives an environment whose image build failed", () =>
      spec.given([...v1, new ImageBuildFailed({ version: "1", canonicalHash: h(1), buildId: "b-1", reason: "pip failed" })])
        .when(new ArchiveEnvironment()).then([new EnvironmentArchived(), new Archived({ version: "1" })]))

    it.effect("refuses to archive an archived environment", () =>
      spec.given(archivedEnv).when(new ArchiveEnvironment())
        .thenFails((e) => e.reason._tag === "EnvironmentAlreadyArchived" && e.message.includes("already archived")))

    it.effect("refuses an environment that does not exist", () =>
      spec.given([]).when(new ArchiveEnvironment()).thenFails("EnvironmentNotFound"))

    it.effect("refuses an environment with no registered version (a draft alone)", () =>
      spec.given([defined()]).when(new ArchiveEnvironment())
        .thenFails((e) => e.reason._tag === "NoVersionToArchive" && e.message.includes("nothing to archive")))

    it.effect("a version registered while archived starts archived", () =>
      spec.given([...archivedEnv, new Redefined({ definition: def3 })]).when(register(h(3)))
        .then([registered("3", h(3), def3), new Archived({ version: "3" })]))

    it.effect("a version created while archived starts archived", () =>
      spec.given(archivedEnv).when(create(def3, h(3)))
        .then([new Redefined({ definition: def3 }), registered("3", h(3), def3), new Archived({ version: "3" })]))

    it.effect("restores what the archive covered, not versions archived before it", () =>
      spec.given([...archivedEnv, registered("3", h(3), def3), new Archived({ version: "3" })])
        .when(new RestoreEnvironment())
        .then([new EnvironmentRestored(), new Restored({ version: "2" }), new Restored({ version: "3" })]))

    it.effect("refuses to restore an environment that is not archived", () =>
      spec.given(v2).when(new RestoreEnvironment())
        .thenFails((e) => e.reason._tag === "EnvironmentNotArchived" && e.message.includes("not archived")))

    it("keeps exact versions resolvable; latest has none left", () => {
      const state = active(archivedEnv)
      assert.strictEqual(Result.getOrThrow(resolve(state, { version: "2" })).version, "2")
      assert.isTrue(Option.isNone(latest(stateOf(archivedEnv))))
      const restored = [...archivedEnv, new EnvironmentRestored(), new Restored({ version: "2" })]
      assert.strictEqual(Option.getOrThrow(latest(stateOf(restored))).version, "2")
      assert.isTrue(Result.isSuccess(decider.decide(new ArchiveEnvironment(), stateOf(restored))))
    })
  })

  describe("labels", () => {
    it.effect("points a new label at a version", () =>
      spec.given(v2).when(new MoveLabel({ label: "prod", version: "1" })).then([new LabelMoved({ label: "prod", version: "1" })]))

    it.effect("moves a label, recording where it pointed", () =>
      spec.given([...v2, new LabelMoved({ label: "prod", version: "1" })]).when(new MoveLabel({ label: "prod", version: "2" }))
        .then([new LabelMoved({ label: "prod", version: "2", previous: "1" })]))

    it.effect("does nothing when the label already points there", () =>
      spec.given([...v2, new LabelMoved({ label: "prod", version: "1" })]).when(new MoveLabel({ label: "prod", version: "1" })).thenNothingHappened())

    it.effect("reserves latest", () =>
      spec.given(v2).when(new MoveLabel({ label: "latest", version: "1" }))
        .thenFails((e) => e.reason._tag === "ReservedLabel" && e.message.includes("'latest'")))

    it.effect("refuses a version that does not exist", () =>
      spec.given(v2).when(new MoveLabel({ label: "prod", version: "3" })).thenFails("VersionNotFound"))

    it.effect("refuses an archived version", () =>
      spec.given([...v2, new Archived({ version: "1" })]).when(new MoveLabel({ label: "prod", version: "1" }))
        .thenFails((e) => e.reason._tag === "VersionArchived" && e.message.includes("'prod'") && e.message.includes("version 1")))

    it.effect("removes a label", () =>
      spec.given([...v2, new LabelMoved({ label: "prod", version: "1" })]).when(new RemoveLabel({ label: "prod" }))
        .then([new LabelRemoved({ label: "prod", previous: "1" })]))

    it.effect("refuses to remove a label that is not there", () =>
      spec.given(v2).when(new RemoveLabel({ label: "prod" })).thenFails((e) => e.reason._tag === "LabelNotFound" && e.message.includes("'prod'")))

    it.effect("refuses to remove latest", () => spec.given(v2).when(new RemoveLabel({ label: "latest" })).thenFails("ReservedLabel"))
  })

  describe("share: RegisterShared on the stream shared to, RecordShare on the source", () => {
    const from = { workspace: "team-b", name: "torch-base", version: "4", canonicalHash: h(1) }
    const to = { workspace, name, version: "4" }
    const registerShared = (definition: Definition, canonicalHash: string, version: string, n = name) =>
      new RegisterShared({ workspace, name: n, definition, version, canonicalHash, from })
    const sharedCopy = (version: string, canonicalHash: string, definition: Definition = def1) =>
      new Registered({ name, version, canonicalHash, hashAlgorithm: ALGORITHM_VERSION, definition, sharedFrom: from })

    it.effect("defines a new environment and registers the copy, naming where it came from", () =>
      spec.given([]).when(registerShared(def1, h(1), "4")).then([defined(def1), sharedCopy("4", h(1))]))

    it.effect("registers the copy as a version of an existing environment, its draft replaced", () =>
      spec.given(v1).when(registerShared(def2, h(2), "4"))
        .then([new Redefined({ definition: def2 }), sharedCopy("4", h(2), def2)]))

    it.effect("the same content at the same version already there: nothing (sharing again is safe)", () =>
      spec.given([defined(), sharedCopy("4", h(1))]).when(registerShared(def1, h(1), "4")).thenNothingHappened())

    it.effect("a version there with other content: ShareConflict naming the workspace and the flag", () =>
      spec.given(v1).when(registerShared(def2, h(2), "1")).thenFails((e) =>
        e.reason._tag === "ShareConflict" && e.message.includes("workspace 'team-a'") && e.message.includes(h(1)) &&
        e.message.includes(h(2)) && e.message.includes("--share-with-version")))

    it.effect("the content there as another version: ShareConflict saying which", () =>
      spec.given(v1).when(registerShared(def1, h(1), "4"))
        .thenFails((e) => e.reason._tag === "ShareConflict" && e.message.includes("share it as version 1")))

    it.effect("a copy shared into an archived environment starts archived", () =>
      spec.given([...v1, new EnvironmentArchived(), new Archived({ version: "1" })]).when(registerShared(def2, h(2), "4"))
        .then([new Redefined({ definition: def2 }), sharedCopy("4", h(2), def2), new Archived({ version: "4" })]))

    it.effect("a copy is never curated: a reserved name is refused", () =>
      spec.given([]).when(registerShared(def1, h(1), "4", "AzureML-copy")).thenFails("ReservedPrefix"))

    it.effect("records on the source that a version was shared, with its hash", () =>
      spec.given(v2).when(new RecordShare({ version: "2", to }))
        .then([new Shared({ version: "2", canonicalHash: h(2), to })]))

    it.effect("records a share once; another target is another record", () =>
      Effect.gen(function*() {
        const once = [...v2, new Shared({ version: "2", canonicalHash: h(2), to })]
        yield* spec.given(once).when(new RecordShare({ version: "2", to })).thenNothingHappened()
        const elsewhere = { ...to, workspace: "team-c" }
        yield* spec.given(once).when(new RecordShare({ version: "2", to: elsewhere }))
          .then([new Shared({ version: "2", canonicalHash: h(2), to: elsewhere })])
      }))

    it.effect("refuses to record a share of a version that does not exist", () =>
      spec.given(v2).when(new RecordShare({ version: "3", to })).thenFails("VersionNotFound"))

    it("a share changes nothing else of the source's state", () => {
      const before = active(v2)
      const after = active([...v2, new Shared({ version: "2", canonicalHash: h(2), to })])
      assert.deepStrictEqual({ ...after, versions: after.versions.map(({ sharedTo: _, ...v }) => v) }, before)
      assert.deepStrictEqual(after.versions[1]?.sharedTo, [to])
    })
  })

  describe("a stream that does not exist", () => {
    const commands: ReadonlyArray<EnvironmentCommand> = [
      new AddPackage({ spec: pip("numpy") }), new RemovePackage({ manager: "pip", name: "numpy" }),
      new SetVariable({ variable: "A", value: "1" }), new UnsetVariable({ variable: "A" }),
      new ConfigureDocker({ docker: def1.docker }), register(h(1)), new Archive({ version: "1" }),
      new Restore({ version: "1" }), new MoveLabel({ label: "prod", version: "1" }), new RemoveLabel({ label: "prod" }),
      new RecordShare({ version: "1", to: { workspace, name, version: "1" } })
    ]
    for (const command of commands) {
      it.effect(`refuses ${command._tag}`, () =>
        spec.given([]).when(command).thenFails((e) =>
          e.reason._tag === "EnvironmentNotFound" && e.message === `the environment does not exist; define or create it before ${command._tag}`
        ))
    }

    it("notFound names the environment", () => {
      const e = notFound(name, workspace)
      assert.strictEqual(e.reason._tag, "EnvironmentNotFound")
      assert.include(e.message, `'${workspace}/${name}' does not exist`)
    })
  })
})

describe("Environment state and queries", () => {
  it("starts new", () => assert.deepStrictEqual(initialState, { _tag: "New" }))

  it("keeps versions in registration order with their hash, algorithm and definition", () => {
    const state = active(v2)
    assert.deepStrictEqual(state.versions.map((v) => [v.version, v.canonicalHash, v.hashAlgorithm, v.archived]), [
      ["1", h(1), ALGORITHM_VERSION, false],
      ["2", h(2), ALGORITHM_VERSION, false]
    ])
    assert.deepStrictEqual(state.versions[1]?.definition, def2)
    assert.strictEqual(state.workspace, workspace)
    assert.strictEqual(state.name, name)
  })

  it("ignores image events", () => {
    const built = new ImageBuilt({ version: "1", canonicalHash: h(1), buildId: "b1", registry: "r", repository: "x", tag: "t", digest: "sha256:d", durationMs: 1 })
    assert.deepStrictEqual(evolve(stateOf(v1), built), stateOf(v1))
  })

  it("latest is the newest version that is not archived", () => {
    assert.isTrue(Option.isNone(latest(initialState)))
    assert.strictEqual(Option.getOrThrow(latest(stateOf(v2))).version, "2")
    assert.strictEqual(Option.getOrThrow(latest(stateOf([...v2, new Archived({ version: "2" })]))).version, "1")
    assert.isTrue(Option.isNone(latest(stateOf([...v2, new Archived({ version: "2" }), new Archived({ version: "1" })]))))
    const restoredOld = [...v2, new Archived({ version: "1" }), new Restored({ version: "1" })]
    assert.strictEqual(Option.getOrThrow(latest(stateOf(restoredOld))).version, "2")
  })

  it("resolves versions and labels", () => {
    const events = [...v2, new LabelMoved({ label: "prod", version: "1" }), new Archived({ version: "1" })]
    const state = stateOf(events)
    const version = (r: Result.Result<{ readonly version: string }, EnvironmentError>) => Result.getOrThrow(r).version
    const reason = (r: Result.Result<unknown, EnvironmentError>) => (Result.isFailure(r) ? r.failure.reason._tag : "success")
    assert.strictEqual(version(resolve(state, { version: "1" })), "1") // archived, still resolvable by exact version
    assert.strictEqual(version(resolve(state, { label: "latest" })), "2")
    assert.strictEqual(version(resolve(state, { label: "prod" })), "1")
    assert.strictEqual(reason(resolve(state, { version: "3" })), "VersionNotFound")
    assert.strictEqual(reason(resolve(state, { label: "staging" })), "LabelNotFound")
    assert.strictEqual(reason(resolve(stateOf([...events, new Archived({ version: "2" })]), { label: "latest" })), "NoActiveVersion")
    assert.strictEqual(reason(resolve(stateOf([defined()]), { label: "latest" })), "NoActiveVersion")
    assert.strictEqual(reason(resolve(initialState, { version: "1" })), "EnvironmentNotFound")
  })

  it("finds a version by hash", () => {
    assert.strictEqual(Option.getOrThrow(versionByHash(stateOf(v2), h(2))).version, "2")
    assert.isTrue(Option.isNone(versionByHash(stateOf(v2), h(3))))
  })

  it("numbers versions 1, 2, … counting archived ones", () => {
    assert.strictEqual(nextVersion(initialState), "1")
    assert.strictEqual(nextVersion(stateOf(v2)), "3")
    assert.strictEqual(nextVersion(stateOf([...v2, new Archived({ version: "2" })])), "3")
  })

  it("names the stream environment/<name> in the workspace", () => {
    assert.deepStrictEqual(environmentStream(workspace, name), { workspace, stream: `environment/${name}` })
  })
})
