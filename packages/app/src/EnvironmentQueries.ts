/**
 * The read use cases of environments. A read of one environment (`show`, `draft`, `diff`) folds
 * its stream, as of a point of the log if asked; a read across environments (`environments`,
 * `versions`, the curated catalog, the cache lookup, `audit`) asks the read model, after bringing
 * it up to the head of the log so that it also sees what other processes appended (when nothing
 * is new that costs a head and a checkpoint lookup). A read across environments as of a point
 * replays the log up to it through the read model's projection instead (`RegistryAsOf.ts`), so
 * that every field (description, tags, archived, latest version, image) is what it was then.
 *
 * @since 0.1.0
 */
import type { AuditEntry, BuildContext, CacheEntryRow, CuratedCatalogRow, EnvironmentSummary, QuarantinedEvent, VersionRow } from "@terrarium/domain"
import { BuildContextStore, CuratedCatalog, Diff, EventStore, isCuratedName, Projections, ReadModel, Storage } from "@terrarium/domain"
import { Effect } from "effect"
import type { AsOf } from "./AsOf.ts"
import type { EnvironmentRef } from "./EnvironmentRef.ts"
import { draftOf, loadEnvironment, loadReadable, notFound, repairCommand, versionView, workspaceOf } from "./EnvironmentViews.ts"
import { buildAuditEntries } from "./ImageBuilds.ts"
import type { TerrariumError } from "./Errors.ts"
import { pastWorkspaces, replayEnvironment } from "./RegistryAsOf.ts"
import type { Draft, EnvironmentVersion, PastRegistry, Scope, Status, VersionDiff } from "./Results.ts"

/**
 * @since 0.1.0
 * @category use cases
 */
export interface EnvironmentQueries {
  readonly show: (input: Scope & { readonly ref: EnvironmentRef; readonly asOf?: AsOf | undefined }) => Effect.Effect<EnvironmentVersion, TerrariumError>
  readonly draft: (input: Scope & { readonly name: string }) => Effect.Effect<Draft, TerrariumError>
  /**
   * The stored build context of a Dockerfile-based version: the files its `contextDigest` covers,
   * verified against it (what a rebuild or an export sends). `undefined` for a version without a
   * local build context; `ContextNotFound` for one registered before contexts were stored.
   */
  readonly buildContext: (input: Scope & { readonly ref: EnvironmentRef }) => Effect.Effect<BuildContext | undefined, TerrariumError>
  /** One row per environment: latest version, number of versions, type (as they were then, `asOf` a point). */
  readonly environments: (input: Scope & { readonly includeArchived?: boolean | undefined; readonly asOf?: AsOf | undefined }) => Effect.Effect<ReadonlyArray<EnvironmentSummary>, TerrariumError>
  /** The versions of one environment, oldest first (archived or not, described and tagged as then, `asOf` a point). */
  readonly versions: (input: Scope & { readonly name: string; readonly includeArchived?: boolean | undefined; readonly asOf?: AsOf | undefined }) => Effect.Effect<ReadonlyArray<VersionRow>, TerrariumError>
  /**
   * The rows the read model had at a point of the log, replayed from the log (`RegistryAsOf.ts`):
   * of a workspace (the log up to the point, or today's rows with the streams changed since the
   * point replayed, whichever reads less; remembered for that point), or of one
   * environment (its stream and its hashes' build streams). A curated name the workspace lacks
   * then is the curated catalog's, as for `show`.
   */
  readonly registryAsOf: (input: Scope & { readonly asOf: AsOf; readonly name?: string | undefined }) => Effect.Effect<PastRegistry, TerrariumError>
  /** Curated (`AzureML-`) environments of every workspace, with their latest version. */
  readonly curatedCatalog: Effect.Effect<ReadonlyArray<CuratedCatalogRow>, TerrariumError>
  /** Every registered version with this canonical hash (and its image, once built). */
  readonly cacheLookup: (canonicalHash: string) => Effect.Effect<ReadonlyArray<CacheEntryRow>, TerrariumError>
  /** Two versions compared; `asOf` a point, each as it was then (a label or `latest` as it pointed then). */
  readonly diff: (input: Scope & { readonly from: EnvironmentRef; readonly to: EnvironmentRef; readonly asOf?: AsOf | undefined }) => Effect.Effect<VersionDiff, TerrariumError>
  readonly audit: (input: Scope & { readonly name: string; readonly asOf?: AsOf | undefined }) => Effect.Effect<ReadonlyArray<AuditEntry>, TerrariumError>
  /** The events set aside because their rows are damaged, resolved or not: of one workspace, or of all. */
  readonly quarantine: (input: { readonly workspace?: string | undefined }) => Effect.Effect<ReadonlyArray<QuarantinedEvent>, TerrariumError>
  /** Where the log stands: head position, read-model checkpoint, database kind, migrations, quarantine. */
  readonly status: Effect.Effect<Status, TerrariumError>
  /** The names of every migration applied to the database, oldest first. */
  readonly migrations: Effect.Effect<ReadonlyArray<string>, TerrariumError>
  /** The migrations this service's database applied when it was opened (empty if it was up to date). */
  readonly appliedMigrations: ReadonlyArray<string>
  /** Bring the read models up to the head of the log. */
  readonly catchUp: Effect.Effect<number, TerrariumError>
  /** Rebuild every read model from position 0. */
  readonly rebuildProjections: Effect.Effect<number, TerrariumError>
}

/** How many past registries (of a workspace at a position) a service remembers. */
const PAST_REGISTRIES = 8

/**
 * The read use cases over the ports of the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const store = yield* EventStore
  const projections = yield* Projections
  const readModel = yield* ReadModel
  const storage = yield* Storage
  const contexts = yield* BuildContextStore

  const load = (workspace: string, name: string, untilPosition?: number) =>
    loadEnvironment(workspace, name, untilPosition).pipe(Effect.provideService(EventStore, store))

  /** A read of one environment: a curated name the workspace lacks is read from the curated catalog. */
  const loadForReading = (workspace: string, name: string, untilPosition?: number) =>
    loadReadable(workspace, name, untilPosition).pipe(Effect.provideService(EventStore, store))

  /**
   * A read-model query about one environment, with the same fallback: when the workspace has
   * nothing for a curated name, the curated catalog's workspace is asked.
   */
  const withCuratedFallback = <A>(workspace: string, name: string, read: (workspace: string) => Effect.Effect<ReadonlyArray<A>, TerrariumError>) =>
    Effect.flatMap(read(workspace), (rows) =>
      rows.length > 0 || workspace === CuratedCatalog.CURATED_WORKSPACE || !isCuratedName(name)
        ? Effect.succeed(rows)
        : read(CuratedCatalog.CURATED_WORKSPACE))

  const positionOf = (asOf: AsOf | undefined) =>
    asOf === undefined ? store.head : "position" in asOf ? Effect.succeed(asOf.position) : store.positionAt(asOf.time)

  /**
   * Says, on every read of the read models, which events of the workspace read (of every one
   * when the read spans them) are quarantined and not yet repaired: their streams are missing
   * what those rows held, so the answer is incomplete, and nothing is skipped silently.
   */
  const warnQuarantined = (workspace: string | undefined) =>
    readModel.quarantine(workspace === undefined ? {} : { workspace }).pipe(
      Effect.flatMap((entries) =>
        Effect.forEach(entries.filter((q) => q.resolution === null), (q) =>
          Effect.logWarning(
            `the ${q.eventType} event at position ${q.position} of environment '${q.workspace}/${q.name}' cannot be read ` +
              `and is quarantined, so that environment cannot be read until it is repaired: ` +
              repairCommand(q.workspace, q.name, q.position)
          ), { discard: true })
      )
    )

  /**
   * The registries of workspaces at past points, by workspace and position: what was at a
   * position at or before the head never changes (the log is append-only), so a past view paged
   * through, or asked again, replays the log once. The least recently used is forgotten first.
   */
  const past = new Map<string, PastRegistry>()
  const remember = (registry: PastRegistry, position: number) => {
    const key = `${registry.workspace}\u0000${position}`
    past.delete(key)
    past.set(key, registry)
    while (past.size > PAST_REGISTRIES) past.delete(past.keys().next().value!)
  }

  const registryAsOf = (workspace: string, asOf: AsOf, name: string | undefined, images = true) =>
    Effect.gen(function*() {
      const ws = yield* workspaceOf(workspace)
      const asked = yield* positionOf(asOf)
      // Beyond the head the log may still grow: what is there is read, and not remembered.
      const head = yield* store.head
      const position = Math.min(asked, head)
      if (name !== undefined) {
        const readable = (w: string) => replayEnvironment(w, name, position, { images }).pipe(Effect.provideService(EventStore, store))
        const own = yield* readable(ws)
        const found = own ?? (ws === CuratedCatalog.CURATED_WORKSPACE || !isCuratedName(name) ? undefined : yield* readable(CuratedCatalog.CURATED_WORKSPACE))
        if (found === undefined) return yield* Effect.fail(notFound(ws, name))
        return { ...found, asOfPosition: asked }
      }
      const known = past.get(`${ws}\u0000${position}`)
      if (known !== undefined) {
        remember(known, position)
        return { ...known, asOfPosition: asked }
      }
      // Every workspace's list shows the curated catalog too: one pass serves both.
      const workspaces = ws === CuratedCatalog.CURATED_WORKSPACE ? [ws] : [ws, CuratedCatalog.CURATED_WORKSPACE]
      // Backward from the read model's rows only once they include the point (see `rewindWorkspaces`).
      const projected = yield* projections.checkpoint
      const checkpoint = projected >= position ? projected : yield* projections.catchUp
      const registries = yield* pastWorkspaces(workspaces, position, head, checkpoint >= position).pipe(
        Effect.provideService(EventStore, store),
        Effect.provideService(ReadModel, readModel)
      )
      for (const registry of registries) remember(registry, position)
      return { ...past.get(`${ws}\u0000${position}`)!, asOfPosition: asked }
    })

  /** A read of the read models, after they have caught up with the log (other processes' appends included). */
  const current = <A>(read: Effect.Effect<A, TerrariumError>, workspace?: string) =>
    Effect.andThen(projections.catchUp, Effect.tap(read, () => warnQuarantined(workspace)))

  const queries: EnvironmentQueries = {
    show: ({ workspace, ref, asOf }) =>
      Effect.gen(function*() {
        const ws = yield* workspaceOf(workspace)
        const position = yield* positionOf(asOf)
        const { state, workspace: found } = yield* loadForReading(ws, ref.name, asOf === undefined ? undefined : position)
        return yield* versionView(state, found, ref, position)
      }),
    buildContext: ({ workspace, ref }) =>
      Effect.gen(function*() {
        const ws = yield* workspaceOf(workspace)
        const { state } = yield* load(ws, ref.name)
        const { definition } = yield* versionView(state, ws, ref, 0)
        const base = definition.docker.base
        return base.kind === "dockerfile" && base.contextDigest !== undefined ? yield* contexts.get(base.contextDigest) : undefined
      }),
    draft: ({ workspace, name }) =>
      workspaceOf(workspace).pipe(
        Effect.flatMap((ws) => load(ws, name).pipe(Effect.flatMap(({ state }) => draftOf(state, ws, name))))
      ),
    environments: ({ workspace, includeArchived, asOf }) =>
      asOf !== undefined
        ? Effect.map(registryAsOf(workspace, asOf, undefined), (r) => r.environments.filter((e) => includeArchived === true || !e.archived))
        : workspaceOf(workspace).pipe(Effect.flatMap((ws) =>
          current(readModel.environments({ workspace: ws, includeArchived: includeArchived ?? false }), ws)
        )),
    versions: ({ workspace, name, includeArchived, asOf }) =>
      asOf !== undefined
        ? Effect.map(registryAsOf(workspace, asOf, name, false), (r) => r.versions.filter((v) => includeArchived === true || !v.archived))
        : workspaceOf(workspace).pipe(Effect.flatMap((ws) =>
          withCuratedFallback(ws, name, (w) => current(readModel.versions({ workspace: w, name, includeArchived: includeArchived ?? false }), w))
        )),
    registryAsOf: ({ workspace, asOf, name }) => registryAsOf(workspace, asOf, name),
    curatedCatalog: current(readModel.curatedCatalog()),
    cacheLookup: (canonicalHash) => current(readModel.cacheLookup(canonicalHash)),
    diff: ({ workspace, from, to, asOf }) =>
      Effect.gen(function*() {
        const ws = yield* workspaceOf(workspace)
        const position = yield* positionOf(asOf)
        const until = asOf === undefined ? undefined : position
        const source = yield* loadForReading(ws, from.name, until)
        const a = yield* versionView(source.state, source.workspace, from, position)
        // Two versions of one environment (`x:1` against `x:2`) are one stream: read it once.
        const target = to.name === from.name ? source : yield* loadForReading(ws, to.name, until)
        const b = yield* versionView(target.state, target.workspace, to, position)
        return { from: a, to: b, diff: Diff.diff(a.definition, b.definition) } satisfies VersionDiff
      }),
    audit: ({ workspace, name, asOf }) =>
      Effect.gen(function*() {
        const ws = yield* workspaceOf(workspace)
        const untilPosition = asOf === undefined ? undefined : yield* positionOf(asOf)
        const entries = yield* withCuratedFallback(ws, name, (w) =>
          current(readModel.audit({ workspace: w, name, ...(untilPosition === undefined ? {} : { untilPosition }) }), w))
        // Every environment's trail starts with its Defined event: no entries, no environment
        // (then); no need to read and fold the whole stream just to say so.
        if (entries.length === 0) return yield* Effect.fail(notFound(ws, name))
        // The builds of the environment the trail is of: the curated catalog's, when it fell back to it.
        const builds = yield* buildAuditEntries(entries[0]!.workspace, name, untilPosition).pipe(Effect.provideService(EventStore, store))
        return builds.length === 0 ? entries : [...entries, ...builds].sort((a, b) => a.position - b.position)
      }),
    migrations: storage.migrations,
    appliedMigrations: storage.appliedAtOpen,
    quarantine: ({ workspace }) =>
      workspace === undefined
        ? Effect.andThen(projections.catchUp, readModel.quarantine({}))
        : workspaceOf(workspace).pipe(Effect.flatMap((ws) => Effect.andThen(projections.catchUp, readModel.quarantine({ workspace: ws })))),
    status: Effect.all({
      head: store.head,
      checkpoint: projections.checkpoint,
      version: projections.version,
      migrations: storage.migrations,
      quarantine: readModel.quarantine({})
    }).pipe(
      Effect.map(({ head, checkpoint, version, migrations, quarantine }) => {
        const positions = quarantine.filter((q) => q.resolution === null).map((q) => q.position)
        return {
          database: storage.kind,
          schema: storage.schema,
          headPosition: head,
          projectionCheckpoint: checkpoint,
          projectionVersion: version,
          migrations,
          quarantined: { count: positions.length, positions }
        } satisfies Status
      })
    ),
    catchUp: projections.catchUp,
    rebuildProjections: projections.rebuild
  }
  return queries
})
