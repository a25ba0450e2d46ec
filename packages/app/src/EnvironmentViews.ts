/**
 * The results of the environment use cases, computed from a folded environment stream: the
 * version a reference resolves to, the draft, a registration. Shared by the commands (what they
 * return after a write) and the queries.
 *
 * @since 0.1.0
 */
import {
  CanonicalHash,
  Environment,
  type EnvironmentEvent,
  environmentType,
  EventCodec,
  type RecordedEvent,
  WorkspaceName
} from "@terrarium/domain"
import { Effect, Option, Schema } from "effect"
import { loadStream } from "./CommandHandler.ts"
import type { EnvironmentRef } from "./EnvironmentRef.ts"
import { EventDecodeFailure } from "./Errors.ts"
import { build } from "./InvalidInput.ts"
import type { Draft, EnvironmentVersion, Registration } from "./Results.ts"

/**
 * How environment events are stored; a row that does not decode is an `EventDecodeFailure`.
 *
 * @since 0.1.0
 * @category codec
 */
export const environmentCodec = {
  decode: (recorded: RecordedEvent) =>
    EventCodec.decode(recorded).pipe(Effect.mapError((e) => new EventDecodeFailure({ message: e.message }))),
  encode: EventCodec.encode
}

/**
 * Reads and folds one environment's stream, up to a log position if given.
 *
 * @since 0.1.0
 * @category reading
 */
export const loadEnvironment = (workspace: string, name: string, untilPosition?: number) =>
  loadStream(Environment.decider, environmentCodec)(Environment.environmentStream(workspace, name), untilPosition)

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
export const versionOf = (state: Environment.State, workspace: string, ref: EnvironmentRef, asOfPosition: number) =>
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
