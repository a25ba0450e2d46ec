/**
 * Reads of the projection tables, as typed rows. They are as current as the projector's
 * checkpoint (`Projections.checkpoint`); a caller that just appended and needs to read its own
 * write should catch up first.
 *
 * @since 0.1.0
 */
import { type EnvironmentType, LATEST_LABEL } from "@terrarium/domain"
import { Context, Effect, Layer } from "effect"
import { type Kysely, sql } from "kysely"
import { Database, type DatabaseError } from "../sql/Database.ts"
import type { ProjectionTables } from "./Tables.ts"

/**
 * One registered version (the version history).
 *
 * @since 0.1.0
 * @category rows
 */
export interface VersionRow {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly hashAlgorithm: number
  readonly environmentType: EnvironmentType
  readonly description: string | null
  readonly tags: Readonly<Record<string, string>>
  readonly createdAt: Date
  readonly createdBy: string
  /** The log position of its `Registered` event: the order of versions. */
  readonly registeredPosition: number
  readonly archived: boolean
  readonly archivedAt: Date | null
}

/**
 * One environment of a workspace, registered or still a draft.
 *
 * @since 0.1.0
 * @category rows
 */
export interface EnvironmentSummary {
  readonly workspace: string
  readonly name: string
  readonly curated: boolean
  /** The type of the latest version, or of the draft when no version is active. */
  readonly environmentType: EnvironmentType
  /** The newest non-archived version (the `latest` label); null if none. */
  readonly latestVersion: string | null
  /** Non-archived versions. */
  readonly versionCount: number
  readonly archivedVersionCount: number
  /** True when it has versions and every one is archived. */
  readonly archived: boolean
  readonly createdAt: Date
  /** When its stream last got an event (draft edits, registrations, labels, builds). */
  readonly updatedAt: Date
  readonly updatedPosition: number
}

/**
 * A label, `latest` included (it is maintained by the projector).
 *
 * @since 0.1.0
 * @category rows
 */
export interface LabelRow {
  readonly workspace: string
  readonly name: string
  readonly label: string
  readonly version: string
  readonly movedAt: Date
  readonly movedBy: string
  readonly position: number
}

/** @since 0.1.0 @category rows */
export interface CuratedCatalogRow {
  readonly workspace: string
  readonly name: string
  readonly latestVersion: string
  readonly description: string | null
  readonly tags: Readonly<Record<string, string>>
  readonly canonicalHash: string
  readonly hashAlgorithm: number
  readonly latestCreatedAt: Date
}

/** The newest image built for a canonical hash. @since 0.1.0 @category rows */
export interface ImageRow {
  readonly registry: string
  readonly repository: string
  readonly tag: string
  readonly digest: string
  readonly builtAt: Date
  readonly buildId: string
}

/** A registered version with a given canonical hash. @since 0.1.0 @category rows */
export interface CacheEntryRow {
  readonly canonicalHash: string
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly registeredPosition: number
  /** Null until an image has been built for the hash. */
  readonly image: ImageRow | null
}

/** @since 0.1.0 @category rows */
export interface AuditEntry {
  readonly position: number
  readonly workspace: string
  readonly name: string
  readonly eventType: string
  readonly version: string | null
  readonly actor: string
  readonly occurredAt: Date
  readonly correlationId: string
  readonly causationId: string | null
  /** One human line, e.g. "moved label prod 2 → 3". */
  readonly summary: string
  /** The event's payload as JSON in today's schema (upcast if it was stored under an older one). */
  readonly details: unknown
}

/**
 * The read side of the projections.
 *
 * @since 0.1.0
 * @category port
 */
export class ReadModel extends Context.Service<ReadModel, {
  /** Version history, oldest first (by registration); archived versions only if asked. */
  readonly versions: (query: { readonly workspace: string; readonly name?: string; readonly includeArchived: boolean }) => Effect.Effect<ReadonlyArray<VersionRow>, DatabaseError>
  /** One row per environment, by name; fully archived ones only if asked. */
  readonly environments: (query: { readonly workspace: string; readonly includeArchived: boolean }) => Effect.Effect<ReadonlyArray<EnvironmentSummary>, DatabaseError>
  /** The labels of one environment, by label name. */
  readonly labels: (query: { readonly workspace: string; readonly name: string }) => Effect.Effect<ReadonlyArray<LabelRow>, DatabaseError>
  /** Curated environments of every workspace at their latest version, by workspace and name. */
  readonly curatedCatalog: () => Effect.Effect<ReadonlyArray<CuratedCatalogRow>, DatabaseError>
  /** Every registered version with this canonical hash, oldest first, with its image if built. */
  readonly cacheLookup: (canonicalHash: string) => Effect.Effect<ReadonlyArray<CacheEntryRow>, DatabaseError>
  /** The audit trail of a workspace or one environment, by position, optionally up to a position. */
  readonly audit: (query: { readonly workspace: string; readonly name?: string; readonly untilPosition?: number }) => Effect.Effect<ReadonlyArray<AuditEntry>, DatabaseError>
}>()("terrarium/adapters/ReadModel") {
  /**
   * Queries over the `Database` of the context.
   *
   * @since 0.1.0
   * @category layers
   */
  static readonly layer: Layer.Layer<ReadModel, never, Database> = Layer.effect(ReadModel, Effect.suspend(() => make))
}

const date = (d: Date | string): Date => (d instanceof Date ? d : new Date(d))

const make = Effect.gen(function* () {
  const database = yield* Database
  const query = <A>(operation: string, f: (db: Kysely<ProjectionTables>) => Promise<A>) =>
    database.use(operation, (db) => f(db as Kysely<ProjectionTables>))

  const versions: ReadModel["Service"]["versions"] = ({ workspace, name, includeArchived }) =>
    query("read versions", (db) => {
      let q = db.selectFrom("environment_versions").selectAll().where("workspace", "=", workspace)
      if (name !== undefined) q = q.where("name", "=", name)
      if (!includeArchived) q = q.where("archived", "=", false)
      return q.orderBy("registered_position").execute()
    }).pipe(Effect.map((rows) => rows.map((r): VersionRow => ({
      workspace: r.workspace, name: r.name, version: r.version, canonicalHash: r.canonical_hash,
      hashAlgorithm: r.hash_algorithm, environmentType: r.environment_type as EnvironmentType,
      description: r.description, tags: r.tags, createdAt: date(r.created_at), createdBy: r.created_by,
      registeredPosition: Number(r.registered_position), archived: r.archived,
      archivedAt: r.archived_at === null ? null : date(r.archived_at)
    }))))

  const environments: ReadModel["Service"]["environments"] = ({ workspace, includeArchived }) =>
    query("read environments", (db) => sql<{
      workspace: string; name: string; curated: boolean; environment_type: string; latest_version: string | null
      active: number | string; archived_count: number | string; created_at: Date; updated_at: Date; updated_position: number | string
    }>`
      select e.workspace, e.name, e.curated,
             coalesce(lv.environment_type, e.draft_type) as environment_type,
             l.version as latest_version,
             (select count(*) from environment_versions v
               where v.workspace = e.workspace and v.name = e.name and not v.archived) as active,
             (select count(*) from environment_versions v
               where v.workspace = e.workspace and v.name = e.name and v.archived) as archived_count,
             e.created_at, e.updated_at, e.updated_position
      from environments e
      left join environment_labels l
        on l.workspace = e.workspace and l.name = e.name and l.label = ${LATEST_LABEL}
      left join environment_versions lv
        on lv.workspace = l.workspace and lv.name = l.name and lv.version = l.version
      where e.workspace = ${workspace}
      order by e.name`.execute(db)
    ).pipe(Effect.map(({ rows }) => rows.map((r): EnvironmentSummary => {
      const versionCount = Number(r.active)
      const archivedVersionCount = Number(r.archived_count)
      return {
        workspace: r.workspace, name: r.name, curated: r.curated,
        environmentType: r.environment_type as EnvironmentType, latestVersion: r.latest_version,
        versionCount, archivedVersionCount, archived: versionCount === 0 && archivedVersionCount > 0,
        createdAt: date(r.created_at), updatedAt: date(r.updated_at), updatedPosition: Number(r.updated_position)
      }
    }).filter((r) => includeArchived || !r.archived)))

  const labels: ReadModel["Service"]["labels"] = ({ workspace, name }) =>
    query("read labels", (db) =>
      db.selectFrom("environment_labels").selectAll()
        .where("workspace", "=", workspace).where("name", "=", name).orderBy("label").execute()
    ).pipe(Effect.map((rows) => rows.map((r): LabelRow => ({
      workspace: r.workspace, name: r.name, label: r.label, version: r.version,
      movedAt: date(r.moved_at), movedBy: r.moved_by, position: Number(r.position)
    }))))

  const curatedCatalog: ReadModel["Service"]["curatedCatalog"] = () =>
    query("read curated catalog", (db) =>
      db.selectFrom("curated_catalog").selectAll().orderBy("workspace").orderBy("name").execute()
    ).pipe(Effect.map((rows) => rows.map((r): CuratedCatalogRow => ({
      workspace: r.workspace, name: r.name, latestVersion: r.latest_version, description: r.description,
      tags: r.tags, canonicalHash: r.canonical_hash, hashAlgorithm: r.hash_algorithm,
      latestCreatedAt: date(r.latest_created_at)
    }))))

  const cacheLookup: ReadModel["Service"]["cacheLookup"] = (canonicalHash) =>
    query("read cache lookup", (db) =>
      db.selectFrom("cache_lookup").selectAll().where("canonical_hash", "=", canonicalHash)
        .orderBy("registered_position").execute()
    ).pipe(Effect.map((rows) => rows.map((r): CacheEntryRow => ({
      canonicalHash: r.canonical_hash, workspace: r.workspace, name: r.name, version: r.version,
      registeredPosition: Number(r.registered_position),
      image: r.digest === null || r.registry === null || r.repository === null || r.tag === null ||
          r.built_at === null || r.build_id === null
        ? null
        : { registry: r.registry, repository: r.repository, tag: r.tag, digest: r.digest, builtAt: date(r.built_at), buildId: r.build_id }
    }))))

  const audit: ReadModel["Service"]["audit"] = ({ workspace, name, untilPosition }) =>
    query("read audit trail", (db) => {
      let q = db.selectFrom("audit_trail").selectAll().where("workspace", "=", workspace)
      if (name !== undefined) q = q.where("name", "=", name)
      if (untilPosition !== undefined) q = q.where("position", "<=", untilPosition)
      return q.orderBy("position").execute()
    }).pipe(Effect.map((rows) => rows.map((r): AuditEntry => ({
      position: Number(r.position), workspace: r.workspace, name: r.name, eventType: r.event_type,
      version: r.version, actor: r.actor, occurredAt: date(r.occurred_at), correlationId: r.correlation_id,
      causationId: r.causation_id, summary: r.summary, details: r.details
    }))))

  return ReadModel.of({ versions, environments, labels, curatedCatalog, cacheLookup, audit })
})
