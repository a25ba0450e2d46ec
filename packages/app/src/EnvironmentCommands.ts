/**
 * The write use cases of environments: each builds a command of the environment decider from
 * the caller's input and runs it through the command handler. After a committed append the read
 * models are brought along, as a courtesy: the command has succeeded once the append committed,
 * so a projection failure then is logged as a warning for the next read to repair.
 *
 * @since 0.1.0
 */
import {
  type BuildContext,
  BuildContextStore,
  CanonicalHash,
  CheckedText,
  CuratedCatalog,
  Environment,
  environmentType,
  EventStore,
  hasReservedPrefix,
  isCuratedName,
  type PackageManager,
  type PackageSpec,
  Projections
} from "@terrarium/domain"
import type { Definition } from "@terrarium/domain"
import { Effect, Equal, Option, Result, Schema } from "effect"
import { v7 as uuidv7 } from "uuid"
import { commandHandler, type CommandTarget } from "./CommandHandler.ts"
import type { EnvironmentRef } from "./EnvironmentRef.ts"
import {
  active,
  draftOf,
  environmentCodec,
  loadEnvironment,
  loadReadable,
  notFound,
  readRows,
  registration,
  repairCodec,
  versionView,
  workspaceOf
} from "./EnvironmentViews.ts"
import type { TerrariumError } from "./Errors.ts"
import { build, InvalidInput } from "./InvalidInput.ts"
import type { Caller, Clone, Draft, EnvironmentArchive, EnvironmentVersion, Registration, Repair, Share, VersionMetadata, WriteScope } from "./Results.ts"

/**
 * @since 0.1.0
 * @category use cases
 */
export interface EnvironmentCommands {
  /**
   * Define (or redefine) and register in one step, like `az ml environment create`. A
   * Dockerfile-based definition read from a folder comes with `buildContext`, the files its
   * `contextDigest` covers: they are stored by that digest before anything is appended, so the
   * version can be rebuilt without the folder (nothing is appended if they cannot be).
   */
  readonly create: (input: WriteScope & {
    readonly name: string
    readonly definition: Definition
    readonly version?: string | undefined
    readonly buildContext?: BuildContext | undefined
  }) => Effect.Effect<Registration, TerrariumError>
  /**
   * Start a new environment `name` from a copy of another's version (`source`, curated or not):
   * a draft, so that it can be changed (`addPackage`, …) before its first `register`. Its
   * `Defined` event records where it came from (workspace, name, version, canonical hash). A
   * curated source (`AzureML-…`) not defined in the workspace is read from the curated catalog.
   */
  readonly clone: (input: WriteScope & {
    readonly source: EnvironmentRef
    readonly name: string
    readonly sourceWorkspace?: string | undefined
  }) => Effect.Effect<Clone, TerrariumError>
  /** Change the draft of an existing environment; `register` turns the draft into a version. */
  readonly addPackage: (input: WriteScope & { readonly name: string; readonly spec: PackageSpec }) => Effect.Effect<Draft, TerrariumError>
  readonly removePackage: (input: WriteScope & { readonly name: string; readonly manager: PackageManager; readonly package: string }) => Effect.Effect<Draft, TerrariumError>
  readonly setVariable: (input: WriteScope & { readonly name: string; readonly variable: string; readonly value: string }) => Effect.Effect<Draft, TerrariumError>
  readonly unsetVariable: (input: WriteScope & { readonly name: string; readonly variable: string }) => Effect.Effect<Draft, TerrariumError>
  readonly register: (input: WriteScope & { readonly name: string; readonly version?: string | undefined }) => Effect.Effect<Registration, TerrariumError>
  readonly archive: (input: WriteScope & { readonly ref: EnvironmentRef }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  readonly restore: (input: WriteScope & { readonly ref: EnvironmentRef }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  /**
   * Archive the whole environment, as AzureML does (`environment archive NAME`): hidden from the
   * list, every version archived but resolvable by exact version, new versions start archived.
   * `restoreEnvironment` undoes it. Either one repeated is refused.
   */
  readonly archiveEnvironment: (input: WriteScope & { readonly name: string }) => Effect.Effect<EnvironmentArchive, TerrariumError>
  readonly restoreEnvironment: (input: WriteScope & { readonly name: string }) => Effect.Effect<EnvironmentArchive, TerrariumError>
  readonly label: (input: WriteScope & { readonly ref: EnvironmentRef; readonly label: string }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  /**
   * Change what describes a version, as `az ml environment update`: its description, tags to set
   * and tags to remove (at least one of them). Its content and hash stay; an unchanged result
   * appends nothing.
   */
  readonly update: (input: WriteScope & {
    readonly ref: EnvironmentRef
    readonly description?: string | undefined
    readonly tags?: Readonly<Record<string, string>> | undefined
    readonly removeTags?: ReadonlyArray<string> | undefined
  }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  /**
   * Copy a version into another workspace, as `az ml environment share` promotes one to a
   * registry: registered there (as `shareWithName`, default its name, and `shareWithVersion`,
   * default its version) with the same definition and canonical hash, the registration naming
   * where it came from, and a `Shared` event on the source, both under one correlation id. Its
   * build context, stored by digest, serves the copy too. Sharing the same version to the same
   * place again appends nothing; a version there with other content is a `ShareConflict`.
   */
  readonly share: (input: WriteScope & {
    readonly ref: EnvironmentRef
    readonly toWorkspace: string
    readonly shareWithName?: string | undefined
    readonly shareWithVersion?: string | undefined
  }) => Effect.Effect<Share, TerrariumError>
  /**
   * Void the damaged (quarantined) event at `position` of an environment's stream, for `reason`:
   * an appended `EventVoided`, audited like any change; its stream reads again, without it.
   */
  readonly repair: (input: WriteScope & { readonly name: string; readonly position: number; readonly reason: string }) => Effect.Effect<Repair, TerrariumError>
}

/** An `InvalidInput` about input `from` said as about `to`, as the caller named it. */
const renamed = (from: string, to: string) => (error: InvalidInput): InvalidInput =>
  error.field === from || error.field.startsWith(`${from}.`)
    ? new InvalidInput({ ...error, field: `${to}${error.field.slice(from.length)}` })
    : error

/** The description and tags of a definition: what `update` may change. */
const metadataOf = (definition: Definition): VersionMetadata =>
  definition.description === undefined ? { tags: definition.tags } : { description: definition.description, tags: definition.tags }

/** Who acts and under which correlation id, as checked before they reach the log. */
const EventMetadataInput = Schema.Struct({ actor: CheckedText, correlationId: CheckedText })

/** An environment's stream as a command target, with the caller's defaults filled in. */
interface Target extends CommandTarget {
  readonly workspace: string
  readonly name: string
}

/**
 * The write use cases over the ports of the context, acting as `caller` unless a call says
 * otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (caller: Caller) => Effect.gen(function*() {
  const projections = yield* Projections
  const store = yield* EventStore
  const contexts = yield* BuildContextStore
  const handle = commandHandler(Environment.decider, environmentCodec)
  const handleRepair = commandHandler(Environment.decider, repairCodec)

  /**
   * Where a write goes and who makes it. The actor and correlation id are stored in every event's
   * metadata, so they are held to the rules of any stored text (length, no NUL, no credentials).
   */
  const targetOf = (input: WriteScope & { readonly name: string }) =>
    Effect.gen(function*() {
      const workspace = yield* workspaceOf(input.workspace)
      if (workspace === CuratedCatalog.CURATED_WORKSPACE) {
        return yield* new InvalidInput({
          field: "workspace",
          input: workspace,
          reason: `the workspace '${workspace}' holds the curated catalog that ships with Terrarium and is read-only ` +
            `(it changes only with terrarium curated sync); clone a curated environment into your own workspace to customise it`
        })
      }
      const { actor, correlationId } = yield* build(EventMetadataInput, {
        actor: input.actor ?? caller.actor,
        correlationId: input.correlationId ?? uuidv7()
      })
      return {
        workspace,
        name: input.name,
        stream: Environment.environmentStream(workspace, input.name),
        subject: { kind: "environment", name: input.name },
        actor,
        correlationId
      } satisfies Target
    })

  /** After a committed append: bring the read models along, but never fail the command for it. */
  const catchUpAfterWrite = (target: Target) =>
    projections.catchUp.pipe(
      Effect.asVoid,
      Effect.catch((error) =>
        Effect.logWarning(
          `environment '${target.workspace}/${target.name}' was changed, but the read models could not be brought up ` +
            `to date (${error.message}); the next read will catch them up`
        )
      )
    )

  /**
   * A name a user gives a new environment: one that starts with (or imitates) a reserved prefix is
   * refused here, before the name's pattern is checked, so that a look-alike the pattern would also
   * refuse (a Cyrillic letter) is refused for what it is. The decider refuses the ASCII spellings
   * again, whoever asks.
   */
  const userName = (name: string) =>
    hasReservedPrefix(name)
      ? Effect.fail(new Environment.EnvironmentError({ reason: new Environment.ReservedPrefix({ name }) }))
      : Effect.void

  /** One command against one environment's stream, then the courtesy catch-up if it appended. */
  const execute = <C extends Environment.EnvironmentCommand>(
    target: Target,
    toCommand: (state: Environment.State) => Effect.Effect<C, TerrariumError>
  ) =>
    handle(target, toCommand).pipe(
      Effect.tap((r) => (r.appended.length > 0 ? catchUpAfterWrite(target) : Effect.void)),
      Effect.provideService(EventStore, store)
    )

  /** The damaged rows of a stream that are not voided yet (what a repair may void). */
  const unreadableOf = (target: Target) =>
    store.readStream(target.stream).pipe(
      Effect.flatMap(readRows),
      Effect.map(({ unreadable }) => unreadable.filter((e) => e.isMalformed).map((e) => e.position))
    )

  /**
   * A `toCommand` for commands on an existing environment: the decider cannot name a stream it has
   * never seen. A curated name the workspace lacks names the curated catalog's environment, which
   * no user may change: the command is decided against it, so that it is refused for that reason
   * (`CuratedReadOnly`, naming the command) rather than as an unknown environment.
   */
  const onActive = <C extends Environment.EnvironmentCommand>(
    target: Target,
    toCommand: (state: Environment.ActiveEnvironment) => Effect.Effect<C, TerrariumError>
  ) =>
  (state: Environment.State): Effect.Effect<C, TerrariumError> =>
    state._tag === "Active" || !isCuratedName(target.name)
      ? Effect.flatMap(active(state, target.workspace, target.name), toCommand)
      : loadEnvironment(CuratedCatalog.CURATED_WORKSPACE, target.name).pipe(
        Effect.provideService(EventStore, store),
        Effect.flatMap(({ state: curated }) =>
          curated._tag === "Active"
            ? Effect.flatMap(toCommand(curated), (command) =>
              Result.match(Environment.decide(command, curated), {
                onFailure: Effect.fail,
                onSuccess: () => Effect.fail(notFound(target.workspace, target.name))
              }))
            : Effect.fail(notFound(target.workspace, target.name))
        )
      )

  /**
   * A change of the draft. Its command depends on the input alone, so it is built (and checked)
   * once, before the stream is read: a value that breaks a rule is reported as such whether or not
   * the environment exists, and a retry after a lost race does not build it again.
   */
  const draftChange = <C extends Environment.EnvironmentCommand>(
    input: WriteScope & { readonly name: string },
    buildCommand: Effect.Effect<C, InvalidInput>
  ) =>
    Effect.gen(function*() {
      const target = yield* targetOf(input)
      const command = yield* buildCommand
      const { state } = yield* execute(target, onActive(target, () => Effect.succeed(command)))
      return yield* draftOf(state, target.workspace, target.name)
    })

  /**
   * A command on one version given by reference. The reference is resolved inside the retried
   * decision: after a lost race `x@latest` means the version that is latest now.
   */
  const versionCommand = <C extends Environment.Archive | Environment.Restore | Environment.MoveLabel | Environment.UpdateMetadata>(
    input: WriteScope & { readonly ref: EnvironmentRef },
    toCommand: (version: string) => Effect.Effect<C, InvalidInput>
  ) =>
    Effect.gen(function*() {
      const target = yield* targetOf({ ...input, name: input.ref.name })
      const { state, command } = yield* execute(target, onActive(target, (env) =>
        Effect.fromResult(Environment.resolve(env, input.ref)).pipe(Effect.flatMap((version) => toCommand(version.version)))))
      return yield* versionView(state, target.workspace, { name: target.name, version: command.version }, yield* store.head)
    })

  /** The environment's archive or its restore, with the versions the decider spelt out after it. */
  const environmentArchive = (
    input: WriteScope & { readonly name: string },
    command: Environment.ArchiveEnvironment | Environment.RestoreEnvironment
  ) =>
    Effect.gen(function*() {
      const target = yield* targetOf(input)
      const { appended } = yield* execute(target, onActive(target, () => Effect.succeed(command)))
      return {
        workspace: target.workspace,
        name: target.name,
        archived: command._tag === "ArchiveEnvironment",
        versions: appended.flatMap((e) => (e._tag === "Archived" || e._tag === "Restored" ? [e.version] : []))
      } satisfies EnvironmentArchive
    })

  /**
   * Stores the files of a definition's build context, which must be the context its
   * `contextDigest` names: the store checks that the files digest to it.
   */
  const storeBuildContext = (definition: Definition, context: BuildContext) => {
    const base = definition.docker.base
    const digest = base.kind === "dockerfile" ? base.contextDigest : undefined
    return digest === context.digest
      ? contexts.put(context)
      : Effect.fail(new InvalidInput({
        field: "buildContext",
        reason: digest === undefined
          ? "the definition has no build context digest (docker.base.contextDigest) for these files"
          : `its digest ${context.digest} is not the definition's build context digest ${digest}`
      }))
  }

  /** Whether the build context a definition names by digest is in the store. */
  const buildContextOf = (definition: Definition): Effect.Effect<Share["buildContext"], TerrariumError> => {
    const base = definition.docker.base
    if (base.kind !== "dockerfile" || base.contextDigest === undefined) return Effect.succeed("none")
    return contexts.has(base.contextDigest).pipe(Effect.map((stored) => (stored ? "stored" : "missing")))
  }

  const commands: EnvironmentCommands = {
    create: (input) =>
      Effect.gen(function*() {
        const target = yield* targetOf(input)
        yield* userName(target.name)
        // Checked before it is hashed: hashing would cost what the limits bound, and text the log
        // cannot keep (a lone surrogate) cannot be hashed either; `Create` checks it again below.
        yield* build(Environment.Define, { workspace: target.workspace, name: target.name, curated: false, definition: input.definition })
        const canonicalHash = yield* CanonicalHash.hash(input.definition)
        const command = yield* build(Environment.Create, {
          workspace: target.workspace,
          name: target.name,
          curated: false,
          definition: input.definition,
          canonicalHash,
          ...(input.version === undefined ? {} : { version: input.version })
        })
        if (input.buildContext !== undefined) yield* storeBuildContext(command.definition, input.buildContext)
        const { state, appended } = yield* execute(target, () => Effect.succeed(command))
        const registered = yield* registration(state, target.workspace, target.name, canonicalHash, appended)
        if (registered.created) return registered
        // Unchanged content: the description and tags given are not applied; say so rather than drop them.
        const version = Option.getOrThrow(Environment.versionWithContent(state, input.definition, canonicalHash))
        const given = metadataOf(input.definition)
        return Equal.equals(given, metadataOf(version.definition)) ? registered : { ...registered, metadataNotApplied: given }
      }),
    clone: (input) =>
      Effect.gen(function*() {
        const target = yield* targetOf(input)
        yield* userName(target.name)
        const sourceWorkspace = yield* workspaceOf(input.sourceWorkspace ?? target.workspace)
        const source = yield* loadReadable(sourceWorkspace, input.source.name).pipe(Effect.provideService(EventStore, store))
        const env = yield* active(source.state, source.workspace, input.source.name)
        const version = yield* Effect.fromResult(Environment.resolve(env, input.source))
        const clonedFrom = {
          workspace: env.workspace,
          name: env.name,
          version: version.version,
          canonicalHash: version.canonicalHash,
          hashAlgorithm: version.hashAlgorithm
        }
        const command = yield* build(Environment.Define, {
          workspace: target.workspace,
          name: target.name,
          curated: false,
          definition: version.definition,
          clonedFrom
        })
        const { state } = yield* execute(target, () => Effect.succeed(command))
        const draft = yield* draftOf(state, target.workspace, target.name)
        return { ...draft, clonedFrom } satisfies Clone
      }),
    addPackage: (input) => draftChange(input, build(Environment.AddPackage, { spec: input.spec })),
    removePackage: (input) =>
      draftChange(input, build(Environment.RemovePackage, { manager: input.manager, name: input.package })),
    setVariable: (input) =>
      draftChange(input, build(Environment.SetVariable, { variable: input.variable, value: input.value })),
    unsetVariable: (input) => draftChange(input, build(Environment.UnsetVariable, { variable: input.variable })),
    register: (input) =>
      Effect.gen(function*() {
        const target = yield* targetOf(input)
        const { state, command, appended } = yield* execute(target, onActive(target, (env) =>
          CanonicalHash.hash(env.draft).pipe(Effect.flatMap((canonicalHash) =>
            build(Environment.Register, { canonicalHash, ...(input.version === undefined ? {} : { version: input.version }) })
          ))))
        // After a registration (or a no-op) the draft is exactly the registered content.
        return yield* registration(state, target.workspace, target.name, command.canonicalHash, appended)
      }),
    archive: (input) => versionCommand(input, (version) => build(Environment.Archive, { version })),
    restore: (input) => versionCommand(input, (version) => build(Environment.Restore, { version })),
    archiveEnvironment: (input) => environmentArchive(input, new Environment.ArchiveEnvironment()),
    restoreEnvironment: (input) => environmentArchive(input, new Environment.RestoreEnvironment()),
    label: (input) => versionCommand(input, (version) => build(Environment.MoveLabel, { label: input.label, version })),
    update: (input) =>
      input.description === undefined && Object.keys(input.tags ?? {}).length === 0 && (input.removeTags ?? []).length === 0
        ? Effect.fail(new InvalidInput({ field: "description", reason: "give a description, a tag to set or a tag to remove" }))
        : versionCommand(input, (version) =>
          build(Environment.UpdateMetadata, {
            version,
            ...(input.description === undefined ? {} : { description: input.description }),
            setTags: input.tags ?? {},
            removeTags: input.removeTags ?? []
          }).pipe(
            // Named as the caller gave it: the command's `setTags` is the input's `tags`.
            Effect.mapError(renamed("setTags", "tags"))
          )),
    share: (input) =>
      Effect.gen(function*() {
        const source = yield* targetOf({ ...input, name: input.ref.name })
        const toWorkspace = yield* workspaceOf(input.toWorkspace).pipe(Effect.mapError(renamed("workspace", "toWorkspace")))
        if (toWorkspace === source.workspace) {
          return yield* new InvalidInput({
            field: "toWorkspace",
            input: toWorkspace,
            reason: "is the workspace the environment is in; share copies a version to another workspace"
          })
        }
        // One correlation id for both appends: the audit trails of both workspaces show one share.
        const target = yield* targetOf({
          workspace: toWorkspace,
          name: input.shareWithName ?? source.name,
          actor: source.actor,
          correlationId: source.correlationId
        })
        // Versions are immutable: what was read is exactly what is shared, however long it takes.
        const { state } = yield* loadEnvironment(source.workspace, source.name).pipe(Effect.provideService(EventStore, store))
        yield* active(state, source.workspace, source.name)
        const version = yield* Effect.fromResult(Environment.resolve(state, input.ref))
        const from = { workspace: source.workspace, name: source.name, version: version.version, canonicalHash: version.canonicalHash }
        const canonicalHash = yield* CanonicalHash.hash(version.definition)
        const command = yield* build(Environment.RegisterShared, {
          workspace: target.workspace,
          name: target.name,
          definition: version.definition,
          version: input.shareWithVersion ?? version.version,
          canonicalHash,
          from
        }).pipe(Effect.mapError((error) => renamed("version", "shareWithVersion")(renamed("name", "shareWithName")(error))))
        const buildContext = yield* buildContextOf(version.definition)
        const { state: copied, appended } = yield* execute(target, () => Effect.succeed(command))
        const copy = Option.getOrThrow(Environment.findVersion(copied, command.version))
        const to: Registration = {
          workspace: target.workspace,
          name: target.name,
          version: copy.version,
          canonicalHash: copy.canonicalHash,
          environmentType: environmentType(target.name, copy.definition),
          created: appended.some((e) => e._tag === "Registered"),
          archived: copy.archived
        }
        yield* execute(source, () =>
          build(Environment.RecordShare, { version: version.version, to: { workspace: to.workspace, name: to.name, version: to.version } }))
        return { from, to, buildContext } satisfies Share
      }),
    repair: (input) =>
      Effect.gen(function*() {
        const target = yield* targetOf(input)
        // Which rows are unreadable is read again on every attempt, with the stream it decides on.
        const { command } = yield* handleRepair(target, () =>
          Effect.flatMap(unreadableOf(target), (unreadable) =>
            build(Environment.VoidEvent, { position: input.position, reason: input.reason, unreadable }))).pipe(
          Effect.tap((r) => (r.appended.length > 0 ? catchUpAfterWrite(target) : Effect.void)),
          Effect.provideService(EventStore, store),
          Effect.mapError((error) =>
            error._tag === "EnvironmentError" && error.reason._tag === "NotQuarantined"
              ? new Environment.EnvironmentError({
                reason: new Environment.NotQuarantined({ ...error.reason, workspace: target.workspace, name: target.name })
              })
              : error
          )
        )
        const remaining = yield* unreadableOf(target)
        return {
          workspace: target.workspace,
          name: target.name,
          voidedPosition: command.position,
          reason: command.reason,
          unreadable: remaining
        } satisfies Repair
      })
  }
  return commands
})
