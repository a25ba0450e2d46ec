/**
 * The results of the environment use cases, computed from a folded environment stream: the
 * version a reference resolves to, the draft, a registration. Shared by the commands (what they
 * return after a write) and the queries.
 *
 * @since 0.1.0
 */
import {
  CanonicalHash,
  CuratedCatalog,
  Environment,
  type EnvironmentEvent,
  environmentType,
  EventCodec,
  isCuratedName,
  type RecordedEvent,
  WorkspaceName
} from "@terrarium/domain"
import { Effect, Option, Result, Schema } from "effect"
import { loadStream } from "./CommandHandler.ts"
import type { EnvironmentRef } from "./EnvironmentRef.ts"
import { EventDecodeFailure } from "./Errors.ts"
import { build } from "./InvalidInput.ts"
import type { Draft, EnvironmentVersion, Registration } from "./Results.ts"

const ENVIRONMENT_PREFIX = "environment/"

/** The environment of a stream id (`environment/<name>`), or the id itself for another kind of stream. */
const nameOf = (stream: string) => (stream.startsWith(ENVIRONMENT_PREFIX) ? stream.slice(ENVIRONMENT_PREFIX.length) : stream)

/**
 * The command that voids a damaged row, as the user types it (the default workspace unsaid).
 *
 * @since 0.1.0
 * @category repair
 */
export const repairCommand = (workspace: string, name: string, position: number) =>
  `terrarium environment repair ${name}${workspace === "default" ? "" : ` --workspace ${workspace}`} ` +
  `--void-position ${position} --reason "…"`

/**
 * A row that cannot be read, as the failure of a read of its stream: which environment, which
 * position, what is wrong, and what to do (a damaged row is voided by an appended event; a row
 * too new for this code needs a newer Terrarium). One line: the decoder's complaint may span
 * several.
 *
 * @since 0.1.0
 * @category codec
 */
export const decodeFailure = (error: EventCodec.EventDecodeError): EventDecodeFailure => {
  const name = nameOf(error.stream)
  const what = `environment '${error.workspace}/${name}' cannot be read: its event at position ${error.position} ` +
    `(${error.type}, schema version ${error.schemaVersion}, #${error.streamVersion} of the stream)`
  const detail = error.detail.replace(/\s*\n\s*/g, "; ")
  const message = error.isMalformed
    ? `${what} is malformed: ${detail}. It is quarantined (see terrarium db status); the log is append-only, so repair ` +
      `it by voiding it with an audited event: ${repairCommand(error.workspace, name, error.position)}`
    : `${what}: ${detail}. It was written by a newer Terrarium, or this one is incomplete: upgrade Terrarium to read it`
  return new EventDecodeFailure({
    message, workspace: error.workspace, stream: error.stream, position: error.position, malformed: error.isMalformed
  })
}

/**
 * A stream's rows, decoded, with what a fold must know of them: the events to fold (rows voided
 * by a later `EventVoided` skipped), and the rows that cannot be read and are not voided.
 *
 * @since 0.1.0
 * @category codec
 */
export const readRows = (recorded: ReadonlyArray<RecordedEvent>) =>
  Effect.gen(function*() {
    const decoded = yield* Effect.forEach(recorded, (row) => Effect.result(EventCodec.decode(row)))
    const voided = new Set<number>()
    for (const result of decoded) {
      if (Result.isSuccess(result) && result.success._tag === "EventVoided") voided.add(result.success.position)
    }
    const events: Array<EnvironmentEvent> = []
    const unreadable: Array<EventCodec.EventDecodeError> = []
    for (const [i, result] of decoded.entries()) {
      if (voided.has(recorded[i]!.position)) continue
      if (Result.isSuccess(result)) events.push(result.success)
      else unreadable.push(result.failure)
    }
    return { events, unreadable }
  })

/**
 * How environment events are stored. A stream is read as a whole: a row voided by a later
 * `EventVoided` is skipped, and any other row that does not decode fails the read of its stream
 * (only of its stream) with an `EventDecodeFailure` naming it.
 *
 * @since 0.1.0
 * @category codec
 */
export const environmentCodec = {
  decode: (recorded: RecordedEvent) => EventCodec.decode(recorded).pipe(Effect.mapError(decodeFailure)),
  encode: EventCodec.encode,
  decodeStream: (recorded: ReadonlyArray<RecordedEvent>) =>
    Effect.flatMap(readRows(recorded), ({ events, unreadable }) =>
      unreadable.length === 0 ? Effect.succeed(events) : Effect.fail(decodeFailure(unreadable[0]!)))
}

/**
 * The codec a repair folds its stream with: damaged rows are what it is there to void, so they
 * are left out of the fold instead of failing it (a row too new for this code still fails it).
 *
 * @since 0.1.0
 * @category codec
 */
export const repairCodec = {
  ...environmentCodec,
  decodeStream: (recorded: ReadonlyArray<RecordedEvent>) =>
    Effect.flatMap(readRows(recorded), ({ events, unreadable }) => {
      const tooNew = unreadable.find((e) => !e.isMalformed)
      return tooNew === undefined ? Effect.succeed(events) : Effect.fail(decodeFailure(tooNew))
    })
}

/**
 * Reads and folds one environment's stream, up to a log position if given.
 *
 * @since 0.1.0
 * @category reading
 */
export const loadEnvironment = (workspace: string, name: string, untilPosition?: number) =>
  loadStream(Environment.decider, environmentCodec)(Environment.environmentStream(workspace, name), untilPosition)

/**
 * Reads an environment for reading (not for a change): from `workspace`, or, for a curated name
 * (`AzureML-…`) that the workspace does not have, from the curated catalog's workspace, since
 * the catalog is shared by every workspace as AzureML's registry of curated environments is.
 *
 * @since 0.1.0
 * @category reading
 */
export const loadReadable = (workspace: string, name: string, untilPosition?: number) =>
  Effect.gen(function*() {
    const own = yield* loadEnvironment(workspace, name, untilPosition)
    if (own.state._tag === "Active" || workspace === CuratedCatalog.CURATED_WORKSPACE || !isCuratedName(name)) {
      return { ...own, workspace }
    }
    const curated = yield* loadEnvironment(CuratedCatalog.CURATED_WORKSPACE, name, untilPosition)
    return curated.state._tag === "Active" ? { ...curated, workspace: CuratedCatalog.CURATED_WORKSPACE } : { ...own, workspace }
  })

const WorkspaceScope = Schema.Struct({ workspace: WorkspaceName })

/**
 * The workspace of a call, checked against the rule for workspace names.
 *
 * @since 0.1.0
 * @category input
 */
export const workspaceOf = (workspace: string) =>
  Effect.map(build(WorkspaceScope, { workspace }), (scope) => scope.workspace)

/**
 * The environment was not there (then), named as its workspace is: the default one goes unsaid.
 *
 * @since 0.1.0
 * @category views
 */
export const notFound = (workspace: string, name: string) =>
  Environment.notFound(name, workspace === "default" ? undefined : workspace)

/**
 * The environment, if it has been defined; else its not-found error.
 *
 * @since 0.1.0
 * @category views
 */
export const active = (
  state: Environment.State,
  workspace: string,
  name: string
): Effect.Effect<Environment.ActiveEnvironment, Environment.EnvironmentErrorType> =>
  state._tag === "Active" ? Effect.succeed(state) : Effect.fail(notFound(workspace, name))

/**
 * What `create` and `register` return: the version that holds the draft's content.
 *
 * @since 0.1.0
 * @category views
 */
export const registration = (
  state: Environment.State,
  workspace: string,
  name: string,
  hash: string,
  appended: ReadonlyArray<EnvironmentEvent>
) =>
  Effect.gen(function*() {
    const env = yield* active(state, workspace, name)
    // The draft is what was just registered (or found registered): look it up by content, so a
    // version registered under an earlier hash algorithm is found too.
    const version = Option.getOrThrow(Environment.versionWithContent(state, env.draft, hash))
    return {
      workspace: env.workspace,
      name: env.name,
      version: version.version,
      canonicalHash: version.canonicalHash,
      environmentType: environmentType(env.name, version.definition),
      created: appended.some((e) => e._tag === "Registered"),
      archived: version.archived
    } satisfies Registration
  })

/**
 * The draft and whether it differs from the latest version.
 *
 * @since 0.1.0
 * @category views
 */
export const draftOf = (state: Environment.State, workspace: string, name: string) =>
  Effect.gen(function*() {
    const env = yield* active(state, workspace, name)
    const canonicalHash = yield* CanonicalHash.hash(env.draft)
    const registeredAs = Option.getOrUndefined(Environment.versionWithContent(state, env.draft, canonicalHash))?.version
    const latest = Option.getOrUndefined(Environment.latest(state))
    return {
      workspace: env.workspace,
      name: env.name,
      definition: env.draft,
      canonicalHash,
      registeredAs,
      changed: latest === undefined || latest.canonicalHash !== canonicalHash
    } satisfies Draft
  })

/**
 * The version a reference resolves to, with its labels (`latest` first when it is latest).
 *
 * @since 0.1.0
 * @category views
 */
export const versionView = (state: Environment.State, workspace: string, ref: EnvironmentRef, asOfPosition: number) =>
  Effect.gen(function*() {
    const env = yield* active(state, workspace, ref.name)
    const version = yield* Effect.fromResult(Environment.resolve(state, ref))
    const labels = Object.entries(env.labels).filter(([, v]) => v === version.version).map(([l]) => l)
    if (Option.getOrUndefined(Environment.latest(state))?.version === version.version) labels.unshift(Environment.LATEST_LABEL)
    return {
      workspace: env.workspace,
      name: env.name,
      version: version.version,
      canonicalHash: version.canonicalHash,
      hashAlgorithm: version.hashAlgorithm,
      environmentType: environmentType(env.name, version.definition),
      archived: version.archived,
      labels,
      definition: version.definition,
      asOfPosition
    } satisfies EnvironmentVersion
  })
