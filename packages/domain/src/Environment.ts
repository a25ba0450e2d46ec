/**
 * The environment decider: the rules of one environment stream, as plain functions.
 *
 * A stream holds a mutable draft definition and immutable registered versions. Registering is
 * content-addressed: content whose canonical hash equals an existing version is that version (no
 * new events), so re-running `environment create` on an unchanged file is a no-op, and an
 * explicit version number can be given once and never re-pointed.
 *
 * The queries below (`latest`, `resolve`, `versionWithContent`, `nextVersion`) are how the handler
 * and the read side interpret a state; `latest` is derived, never stored. `versionByHash` looks a
 * stored (algorithm, hash) pair up as it is; to find a definition's version, the handler asks
 * `versionWithContent`, which also finds one registered under an earlier algorithm.
 *
 * Hashes are compared only within one hash-algorithm version (docs/canonical-hash.md): a version
 * registered under another algorithm is compared by re-hashing its stored definition with the
 * current one.
 *
 * @since 0.1.0
 */
import { Equal, Option, Result } from "effect"
import { ALGORITHM_VERSION, canonicalDocument, canonicalJson, canonicalSpec } from "./CanonicalHash.ts"
import type { EnvironmentCommand } from "./Command.ts"
import type { Decider } from "./Decider.ts"
import { emptyPipOptions, hasReservedPrefix, isCuratedName } from "./Definition.ts"
import type { CondaDependencies, Definition } from "./Definition.ts"
import { definitionLimitProblems } from "./DefinitionCheck.ts"
import {
  AlreadyArchived, AlreadyDefined, AlreadyRegistered, CuratedNameRequired, CuratedReadOnly, DraftOverLimit, EnvironmentAlreadyArchived, EnvironmentError,
  EnvironmentNotArchived, EnvironmentNotFound,
  LabelNotFound, NoActiveVersion, NotArchived, NoVersionToArchive, NotQuarantined, PackageNotFound, ReservedLabel, ReservedPrefix,
  ShareConflict, UserManagedDependencies,
  VariableNotFound, VersionArchived, VersionConflict, VersionNotFound
} from "./EnvironmentError.ts"
import type { EnvironmentErrorReason } from "./EnvironmentError.ts"
import {
  Archived, Defined, DockerConfigured, EnvironmentArchived, EnvironmentRestored, EventVoided, LabelMoved, LabelRemoved, MetadataUpdated, PackageAdded, PackageRemoved, Redefined,
  Registered, Restored, Shared, VariableSet, VariableUnset
} from "./Event.ts"
import type { EnvironmentEvent, ShareSource, ShareTarget } from "./Event.ts"
import type { StreamRef } from "./ports/EventStore.ts"
import { normalizePackageName } from "./PackageSpec.ts"
import type { PackageManager, PackageSpec } from "./PackageSpec.ts"

// The commands and errors are re-exported here so that `Environment.Create`,
// `Environment.EnvironmentError`, … read naturally next to `Environment.decide`.
export * from "./Command.ts"
export * from "./EnvironmentError.ts"

/**
 * Alias of `EnvironmentError`, the decider's one error type.
 *
 * @since 0.1.0
 * @category errors
 */
export type EnvironmentErrorType = EnvironmentError

/**
 * The `EnvironmentNotFound` error for a stream the handler knows by name.
 *
 * @since 0.1.0
 * @category errors
 */
export const notFound = (name: string, workspace?: string, command = "using it"): EnvironmentError =>
  new EnvironmentError({
    reason: new EnvironmentNotFound(workspace === undefined ? { command, name } : { command, name, workspace })
  })

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/**
 * A registered version as the state keeps it.
 *
 * @since 0.1.0
 * @category state
 */
export interface RegisteredVersion {
  readonly version: string
  readonly canonicalHash: string
  readonly hashAlgorithm: number
  readonly definition: Definition
  readonly archived: boolean
  /** Where it was shared to (`Shared` events), so that a share is recorded once. */
  readonly sharedTo?: ReadonlyArray<ShareTarget>
}

/** A stream with no `Defined` event yet. @since 0.1.0 @category state */
export interface NewEnvironment {
  readonly _tag: "New"
}

/**
 * A defined environment: its draft, its versions in registration order, and its labels
 * (label → version; `latest` is not stored here).
 *
 * @since 0.1.0
 * @category state
 */
export interface ActiveEnvironment {
  readonly _tag: "Active"
  readonly workspace: string
  readonly name: string
  readonly curated: boolean
  readonly draft: Definition
  readonly versions: ReadonlyArray<RegisteredVersion>
  readonly labels: Readonly<Record<string, string>>
  /**
   * Set while the whole environment is archived: the versions its archive covers (archived by it,
   * or registered since), which `RestoreEnvironment` restores. Absent when it is not archived.
   */
  readonly archivedWithEnvironment?: ReadonlyArray<string>
}

/** @since 0.1.0 @category state */
export type State = NewEnvironment | ActiveEnvironment

/** @since 0.1.0 @category state */
export const initialState: State = { _tag: "New" }

/**
 * The built-in label: always the newest registered version that is not archived.
 *
 * @since 0.1.0
 * @category labels
 */
export const LATEST_LABEL = "latest"

/**
 * The stream of an environment in the event store.
 *
 * @since 0.1.0
 * @category streams
 */
export const environmentStream = (workspace: string, name: string): StreamRef => ({
  workspace,
  stream: `environment/${name}`
})

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

const versionsOf = (state: State): ReadonlyArray<RegisteredVersion> => (state._tag === "Active" ? state.versions : [])

/**
 * The version with exactly this version string, archived or not.
 *
 * @since 0.1.0
 * @category queries
 */
export const findVersion = (state: State, version: string): Option.Option<RegisteredVersion> =>
  Option.fromUndefinedOr(versionsOf(state).find((v) => v.version === version))

/**
 * The newest registered version that is not archived (what `latest` points at).
 *
 * @since 0.1.0
 * @category queries
 */
export const latest = (state: State): Option.Option<RegisteredVersion> =>
  Option.fromUndefinedOr(versionsOf(state).findLast((v) => !v.archived))

/**
 * The version registered with this canonical hash under this hash-algorithm version (the current
 * one by default), archived or not. A hash means nothing outside its algorithm version, so a
 * version hashed under another algorithm never matches, even with an equal string.
 *
 * @since 0.1.0
 * @category queries
 */
export const versionByHash = (
  state: State,
  canonicalHash: string,
  hashAlgorithm: number = ALGORITHM_VERSION
): Option.Option<RegisteredVersion> =>
  Option.fromUndefinedOr(
    versionsOf(state).find((v) => v.hashAlgorithm === hashAlgorithm && v.canonicalHash === canonicalHash)
  )

/**
 * The test "this registered version has the content of `definition`", whose hash under the
 * current algorithm is `canonicalHash`. A version hashed under the current algorithm is compared
 * by hash; one hashed under another is re-hashed from its stored definition. That compares
 * canonical JSON texts rather than digests, which is the same test (the hash is SHA-256 of that
 * text) and keeps the decider synchronous. The text of `definition` is computed once, when the
 * first such version is met.
 */
const hasContentOf = (definition: Definition, canonicalHash: string): (version: RegisteredVersion) => boolean => {
  let candidate: string | undefined
  return (version) =>
    version.hashAlgorithm === ALGORITHM_VERSION
      ? version.canonicalHash === canonicalHash
      : canonicalJson(canonicalDocument(version.definition)) === (candidate ??= canonicalJson(canonicalDocument(definition)))
}

/**
 * The version whose content is `definition` (hashing to `canonicalHash` under the current
 * algorithm), archived or not, whichever algorithm it was registered under. Registration never
 * gives two versions the same content, so there is at most one. This is what the handler looks up
 * after a `Create` or `Register` that appended nothing.
 *
 * @since 0.1.0
 * @category queries
 */
export const versionWithContent = (
  state: State,
  definition: Definition,
  canonicalHash: string
): Option.Option<RegisteredVersion> =>
  Option.fromUndefinedOr(versionsOf(state).find(hasContentOf(definition, canonicalHash)))

/**
 * The version a new registration without an explicit version gets: one more than the largest
 * all-digit version ("1" for the first), archived versions included so numbers are never reused.
 *
 * @since 0.1.0
 * @category queries
 */
export const nextVersion = (state: State): string => {
  let max = 0n
  for (const { version } of versionsOf(state)) {
    if (/^\d+$/.test(version)) {
      const n = BigInt(version)
      if (n > max) max = n
    }
  }
  return String(max + 1n)
}

/**
 * What a user names when they ask for a version: an exact version or a label.
 *
 * @since 0.1.0
 * @category queries
 */
export type VersionRef = { readonly version: string } | { readonly label: string }

/**
 * The version a reference points at. Exact versions resolve even when archived; `latest` resolves
 * to the newest non-archived version; other labels to wherever they were moved.
 *
 * @since 0.1.0
 * @category queries
 */
export const resolve = (state: State, ref: VersionRef): Result.Result<RegisteredVersion, EnvironmentError> => {
  if (state._tag === "New") return refuse(new EnvironmentNotFound({ command: "resolving a version" }))
  const { name } = state
  if ("version" in ref) {
    return Option.match(findVersion(state, ref.version), {
      onNone: () => refuse(new VersionNotFound({ name, version: ref.version })),
      onSome: Result.succeed
    })
  }
  if (ref.label === LATEST_LABEL) {
    return Option.match(latest(state), { onNone: () => refuse(new NoActiveVersion({ name })), onSome: Result.succeed })
  }
  const target = state.labels[ref.label]
  if (target === undefined) return refuse(new LabelNotFound({ name, label: ref.label }))
  return Option.match(findVersion(state, target), {
    onNone: () => refuse(new VersionNotFound({ name, version: target })),
    onSome: Result.succeed
  })
}

/**
 * The draft's packages of one manager (empty when there is no conda section).
 *
 * @since 0.1.0
 * @category queries
 */
export const packagesOf = (definition: Definition, manager: PackageManager): ReadonlyArray<PackageSpec> =>
  definition.python.conda === undefined ? [] : manager === "pip" ? definition.python.conda.pip : definition.python.conda.conda

// ---------------------------------------------------------------------------------------------
// evolve
// ---------------------------------------------------------------------------------------------

const emptyConda: CondaDependencies = { channels: [], conda: [], pip: [], pipOptions: emptyPipOptions }

/** Replaces the package of the same name in place (so the draft keeps the user's order), or appends it. */
const upsert = <S extends PackageSpec>(specs: ReadonlyArray<S>, spec: S): ReadonlyArray<S> => {
  const index = specs.findIndex((s) => s.name === spec.name)
  return index === -1 ? [...specs, spec] : specs.map((s, i) => (i === index ? spec : s))
}

const withPackage = (definition: Definition, spec: PackageSpec): Definition => {
  const conda = definition.python.conda ?? emptyConda
  const next: CondaDependencies = spec.kind === "pip"
    ? { ...conda, pip: upsert(conda.pip, spec) }
    : { ...conda, conda: upsert(conda.conda, spec) }
  return { ...definition, python: { ...definition.python, conda: next } }
}

const withoutPackage = (definition: Definition, manager: PackageManager, name: string): Definition => {
  const conda = definition.python.conda
  if (conda === undefined) return definition
  const next: CondaDependencies = manager === "pip"
    ? { ...conda, pip: conda.pip.filter((s) => s.name !== name) }
    : { ...conda, conda: conda.conda.filter((s) => s.name !== name) }
  return { ...definition, python: { ...definition.python, conda: next } }
}

/** A definition with the description and tags of `metadata` (no description when it has none). */
const withMetadata = (
  definition: Definition,
  metadata: { readonly description?: string; readonly tags: Readonly<Record<string, string>> }
): Definition => {
  const { description: _previous, ...rest } = definition
  return metadata.description === undefined
    ? { ...rest, tags: metadata.tags }
    : { ...rest, description: metadata.description, tags: metadata.tags }
}

const withoutKey = (record: Readonly<Record<string, string>>, key: string): Record<string, string> => {
  const { [key]: _removed, ...rest } = record
  return rest
}

/**
 * Folds one event into the state. Image events (`ImageBuilt`, …) do not change it: the decider
 * needs none of them. Nor does `EventVoided`: what it voids is skipped before folding, by whoever
 * reads the stream's rows (the decider sees events, never rows).
 *
 * @since 0.1.0
 * @category decider
 */
export const evolve = (state: State, event: EnvironmentEvent): State => {
  if (event._tag === "Defined") {
    return {
      _tag: "Active",
      workspace: event.workspace,
      name: event.name,
      curated: event.curated,
      draft: event.definition,
      versions: [],
      labels: {}
    }
  }
  if (state._tag === "New") return state
  const draft = (f: (d: Definition) => Definition): State => ({ ...state, draft: f(state.draft) })
  const versions = (f: (v: RegisteredVersion) => RegisteredVersion, version: string): ActiveEnvironment => ({
    ...state,
    versions: state.versions.map((v) => (v.version === version ? f(v) : v))
  })
  switch (event._tag) {
    case "Redefined":
      return draft(() => event.definition)
    case "PackageAdded":
      return draft((d) => withPackage(d, event.spec))
    case "PackageRemoved":
      return draft((d) => withoutPackage(d, event.manager, event.name))
    case "VariableSet":
      return draft((d) => ({ ...d, variables: { ...d.variables, [event.variable]: event.value } }))
    case "VariableUnset":
      return draft((d) => ({ ...d, variables: withoutKey(d.variables, event.variable) }))
    case "DockerConfigured":
      return draft((d) => ({ ...d, docker: event.docker }))
    case "Registered":
      return {
        ...state,
        // A version is always registered from the draft; keeping them equal here makes a
        // replayed stream agree with the one that was decided on.
        draft: event.definition,
        versions: [...state.versions, {
          version: event.version,
          canonicalHash: event.canonicalHash,
          hashAlgorithm: event.hashAlgorithm,
          definition: event.definition,
          archived: false
        }]
      }
    case "Archived": {
      const next = versions((v) => ({ ...v, archived: true }), event.version)
      return state.archivedWithEnvironment === undefined
        ? next
        : { ...next, archivedWithEnvironment: [...state.archivedWithEnvironment, event.version] }
    }
    case "Restored": {
      const next = versions((v) => ({ ...v, archived: false }), event.version)
      return state.archivedWithEnvironment === undefined
        ? next
        : { ...next, archivedWithEnvironment: state.archivedWithEnvironment.filter((v) => v !== event.version) }
    }
    case "EnvironmentArchived":
      return { ...state, archivedWithEnvironment: [] }
    case "EnvironmentRestored": {
      const { archivedWithEnvironment: _covered, ...rest } = state
      return rest
    }
    case "MetadataUpdated":
      return versions((v) => ({ ...v, definition: withMetadata(v.definition, event) }), event.version)
    case "Shared":
      return versions((v) => ({ ...v, sharedTo: [...(v.sharedTo ?? []), event.to] }), event.version)
    case "LabelMoved":
      return { ...state, labels: { ...state.labels, [event.label]: event.version } }
    case "LabelRemoved":
      return { ...state, labels: withoutKey(state.labels, event.label) }
    case "PackagesResolved":
    case "ImageBuildRequested":
    case "ImageBuilt":
    case "ImageBuildFailed":
    case "EventVoided":
      return state
  }
}

// ---------------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------------

type Decision = Result.Result<ReadonlyArray<EnvironmentEvent>, EnvironmentError>

const refuse = (reason: EnvironmentErrorReason): Result.Result<never, EnvironmentError> =>
  Result.fail(new EnvironmentError({ reason }))

const emit = (...events: ReadonlyArray<EnvironmentEvent>): Decision => Result.succeed(events)

const nothing: Decision = Result.succeed([])

/** What each command is called where a user meets it (the CLI's words), for refusals. */
const COMMAND_WORDS: Record<EnvironmentCommand["_tag"], string> = {
  Create: "create (a new definition or version)",
  Define: "define",
  AddPackage: "add-package",
  RemovePackage: "remove-package",
  SetVariable: "set-variable",
  UnsetVariable: "set-variable (unset)",
  ConfigureDocker: "changing its Docker section",
  Register: "register",
  Archive: "archive",
  Restore: "restore",
  ArchiveEnvironment: "archive",
  RestoreEnvironment: "restore",
  UpdateMetadata: "update",
  MoveLabel: "label",
  RemoveLabel: "removing a label",
  RegisterShared: "share (into it)",
  RecordShare: "share",
  VoidEvent: "repair"
}

/**
 * The curated flag and the reserved prefixes go together, both ways: a non-curated name may not
 * start with a reserved prefix in any letter case, with or without a separator, or in look-alike
 * letters (`azureml-x`, `Microsoft_x` would pass for curated), and a curated name is spelt
 * `AzureML-…` exactly.
 */
const checkName = (name: string, curated: boolean): EnvironmentErrorReason | undefined => {
  if (hasReservedPrefix(name) && !curated) return new ReservedPrefix({ name })
  if (curated && !isCuratedName(name)) return new CuratedNameRequired({ name })
  return undefined
}

/**
 * Registers `definition` (hashing to `canonicalHash`) unless its content already has a version.
 * Success with `undefined` means "already registered, nothing to do"; the handler then finds the
 * version with `versionWithContent`.
 */
const registration = (
  state: State,
  name: string,
  definition: Definition,
  canonicalHash: string,
  version: string | undefined,
  sharedFrom?: ShareSource
): Result.Result<Registered | undefined, EnvironmentError> => {
  const hasContent = hasContentOf(definition, canonicalHash)
  const sameContent = Option.fromUndefinedOr(versionsOf(state).find(hasContent))
  const registered = (v: string) =>
    Result.succeed(new Registered({
      name, version: v, canonicalHash, hashAlgorithm: ALGORITHM_VERSION, definition, ...(sharedFrom === undefined ? {} : { sharedFrom })
    }))
  if (version === undefined) {
    return Option.isSome(sameContent) ? Result.succeed(undefined) : registered(nextVersion(state))
  }
  const existing = findVersion(state, version)
  if (Option.isSome(existing)) {
    return hasContent(existing.value)
      ? Result.succeed(undefined)
      : refuse(new VersionConflict({ name, version, existingHash: existing.value.canonicalHash, requestedHash: canonicalHash }))
  }
  if (Option.isSome(sameContent)) {
    return refuse(new AlreadyRegistered({
      name,
      requestedVersion: version,
      existingVersion: sameContent.value.version,
      canonicalHash
    }))
  }
  return registered(version)
}

/**
 * `event` when the draft it leaves is within the limits on a definition's counts and size, else
 * the refusal naming the first limit broken. Each change was checked on its own when its command
 * was made; only their sum can break these. A change that leaves the draft over a limit is
 * refused even when an older draft already was (one written before the limits), so that such a
 * draft can only shrink until it is within them.
 */
const withinLimits = (name: string, next: Definition, event: EnvironmentEvent): Decision => {
  const [problem] = definitionLimitProblems(next)
  return problem === undefined ? emit(event) : refuse(new DraftOverLimit({ name, problem: problem.issue }))
}

/** A version registered while its environment is archived starts archived, as AzureML does. */
const archivedWithEnvironment = (state: State, version: string): ReadonlyArray<EnvironmentEvent> =>
  state._tag === "Active" && state.archivedWithEnvironment !== undefined ? [new Archived({ version })] : []

const sameSpec = (a: PackageSpec, b: PackageSpec): boolean => canonicalJson(canonicalSpec(a)) === canonicalJson(canonicalSpec(b))

/**
 * Registers a definition on a stream, defining the stream first if it is new and replacing its
 * draft if that differs (`Create`, and `RegisterShared` with where it came from).
 */
const create = (
  state: State,
  command: {
    readonly workspace: string
    readonly name: string
    readonly curated: boolean
    readonly definition: Definition
    readonly canonicalHash: string
    readonly version?: string | undefined
  },
  sharedFrom?: ShareSource
): Decision => {
  const invalid = checkName(command.name, command.curated)
  if (invalid !== undefined) return refuse(invalid)
  if (state._tag === "Active" && state.curated !== command.curated) {
    return refuse(new CuratedReadOnly({ name: state.name, command: COMMAND_WORDS.Create }))
  }
  const reg = registration(state, command.name, command.definition, command.canonicalHash, command.version, sharedFrom)
  if (Result.isFailure(reg)) return Result.fail(reg.failure)
  if (reg.success === undefined) return nothing
  if (state._tag === "New") {
    const defined = new Defined({
      workspace: command.workspace,
      name: command.name,
      curated: command.curated,
      definition: command.definition
    })
    return emit(defined, reg.success)
  }
  const archived = archivedWithEnvironment(state, reg.success.version)
  return Equal.equals(state.draft, command.definition)
    ? emit(reg.success, ...archived)
    : emit(new Redefined({ definition: command.definition }), reg.success, ...archived)
}

/**
 * Decides what a command means for a state: the events to append (possibly none, when the
 * command changes nothing) or the rule it breaks.
 *
 * @since 0.1.0
 * @category decider
 */
export const decide = (command: EnvironmentCommand, state: State): Decision => {
  if (command._tag === "Define") {
    if (state._tag === "Active") return refuse(new AlreadyDefined({ workspace: state.workspace, name: state.name }))
    const invalid = checkName(command.name, command.curated)
    if (invalid !== undefined) return refuse(invalid)
    return emit(new Defined({
      workspace: command.workspace,
      name: command.name,
      curated: command.curated,
      definition: command.definition,
      ...(command.clonedFrom === undefined ? {} : { clonedFrom: command.clonedFrom })
    }))
  }
  if (command._tag === "VoidEvent") {
    // Any stream may need it, even one whose Defined event is the damaged row.
    const { position, reason, unreadable } = command
    return unreadable.includes(position)
      ? emit(new EventVoided({ position, reason }))
      : refuse(new NotQuarantined({ position, unreadable }))
  }
  if (command._tag === "Create") return create(state, command)
  if (command._tag === "RegisterShared") {
    const { workspace, name, definition, version, canonicalHash, from } = command
    const conflict = (existing: RegisteredVersion) =>
      refuse(new ShareConflict({
        workspace, name, version, canonicalHash, existingVersion: existing.version, existingHash: existing.canonicalHash
      }))
    // Said in the terms of a share (which workspace, which flag), not of a registration.
    const existing = findVersion(state, version)
    if (Option.isSome(existing) && !hasContentOf(definition, canonicalHash)(existing.value)) return conflict(existing.value)
    const sameContent = versionWithContent(state, definition, canonicalHash)
    if (Option.isSome(sameContent) && sameContent.value.version !== version) return conflict(sameContent.value)
    return create(state, { workspace, name, curated: false, definition, canonicalHash, version }, from)
  }
  if (state._tag === "New") return refuse(new EnvironmentNotFound({ command: command._tag }))
  const { name, draft } = state
  // Only the catalog that ships with Terrarium changes a curated environment, and only by `Create`.
  if (state.curated) return refuse(new CuratedReadOnly({ name, command: COMMAND_WORDS[command._tag] }))
  switch (command._tag) {
    case "AddPackage": {
      const { spec } = command
      if (draft.python.userManagedDependencies) return refuse(new UserManagedDependencies({ name, package: spec.name }))
      const current = packagesOf(draft, spec.kind).find((s) => s.name === spec.name)
      return current !== undefined && sameSpec(current, spec)
        ? nothing
        : withinLimits(name, withPackage(draft, spec), new PackageAdded({ spec }))
    }
    case "RemovePackage": {
      const wanted = normalizePackageName(command.manager, command.name)
      const current = packagesOf(draft, command.manager).find((s) => normalizePackageName(command.manager, s.name) === wanted)
      return current === undefined
        ? refuse(new PackageNotFound({ name, manager: command.manager, package: command.name }))
        : emit(new PackageRemoved({ manager: command.manager, name: current.name }))
    }
    case "SetVariable":
      return draft.variables[command.variable] === command.value
        ? nothing
        : withinLimits(
          name,
          { ...draft, variables: { ...draft.variables, [command.variable]: command.value } },
          new VariableSet({ variable: command.variable, value: command.value })
        )
    case "UnsetVariable":
      return Object.hasOwn(draft.variables, command.variable)
        ? emit(new VariableUnset({ variable: command.variable }))
        : refuse(new VariableNotFound({ name, variable: command.variable }))
    case "ConfigureDocker":
      return Equal.equals(draft.docker, command.docker)
        ? nothing
        : withinLimits(name, { ...draft, docker: command.docker }, new DockerConfigured({ docker: command.docker }))
    case "Register": {
      const reg = registration(state, name, draft, command.canonicalHash, command.version)
      if (Result.isFailure(reg)) return Result.fail(reg.failure)
      return reg.success === undefined ? nothing : emit(reg.success, ...archivedWithEnvironment(state, reg.success.version))
    }
    case "ArchiveEnvironment":
      // The archive is spelt out version by version, so that every reader of the log (the read
      // model, the audit trail) sees each version archived without knowing about environments.
      if (state.versions.length === 0) return refuse(new NoVersionToArchive({ name }))
      return state.archivedWithEnvironment !== undefined
        ? refuse(new EnvironmentAlreadyArchived({ name }))
        : emit(
          new EnvironmentArchived(),
          ...state.versions.filter((v) => !v.archived).map((v) => new Archived({ version: v.version }))
        )
    case "RestoreEnvironment":
      return state.archivedWithEnvironment === undefined
        ? refuse(new EnvironmentNotArchived({ name }))
        : emit(
          new EnvironmentRestored(),
          ...state.archivedWithEnvironment.map((version) => new Restored({ version }))
        )
    case "Archive": {
      const found = findVersion(state, command.version)
      if (Option.isNone(found)) return refuse(new VersionNotFound({ name, version: command.version }))
      return found.value.archived
        ? refuse(new AlreadyArchived({ name, version: command.version }))
        : emit(new Archived({ version: command.version }))
    }
    case "Restore": {
      const found = findVersion(state, command.version)
      if (Option.isNone(found)) return refuse(new VersionNotFound({ name, version: command.version }))
      return found.value.archived
        ? emit(new Restored({ version: command.version }))
        : refuse(new NotArchived({ name, version: command.version }))
    }
    case "UpdateMetadata": {
      const found = findVersion(state, command.version)
      if (Option.isNone(found)) return refuse(new VersionNotFound({ name, version: command.version }))
      const current = found.value.definition
      const tags: Record<string, string> = { ...current.tags, ...command.setTags }
      for (const key of command.removeTags) delete tags[key]
      const description = command.description ?? current.description
      const next = withMetadata(current, description === undefined ? { tags } : { description, tags })
      if (next.description === current.description && Equal.equals(next.tags, current.tags)) return nothing
      return withinLimits(
        name,
        next,
        new MetadataUpdated(description === undefined ? { version: command.version, tags } : { version: command.version, description, tags })
      )
    }
    case "MoveLabel": {
      const { label, version } = command
      if (label === LATEST_LABEL) return refuse(new ReservedLabel({ name, label }))
      const found = findVersion(state, version)
      if (Option.isNone(found)) return refuse(new VersionNotFound({ name, version }))
      if (found.value.archived) return refuse(new VersionArchived({ name, version, label }))
      const previous = state.labels[label]
      if (previous === version) return nothing
      return emit(new LabelMoved(previous === undefined ? { label, version } : { label, version, previous }))
    }
    case "RecordShare": {
      const found = findVersion(state, command.version)
      if (Option.isNone(found)) return refuse(new VersionNotFound({ name, version: command.version }))
      const { to } = command
      const recorded = (found.value.sharedTo ?? []).some((t) => t.workspace === to.workspace && t.name === to.name && t.version === to.version)
      return recorded ? nothing : emit(new Shared({ version: command.version, canonicalHash: found.value.canonicalHash, to }))
    }
    case "RemoveLabel": {
      const { label } = command
      if (label === LATEST_LABEL) return refuse(new ReservedLabel({ name, label }))
      const previous = state.labels[label]
      return previous === undefined ? refuse(new LabelNotFound({ name, label })) : emit(new LabelRemoved({ label, previous }))
    }
  }
}

/**
 * The environment decider as one value, for `DeciderSpecification.for` and the command handler.
 *
 * @since 0.1.0
 * @category decider
 */
export const decider: Decider<State, EnvironmentCommand, EnvironmentEvent, EnvironmentError> = {
  initialState,
  decide,
  evolve
}
