/**
 * The `ReadModel` port on SQL: reads of the projection tables, as typed rows. Failures of the
 * database are mapped to `ReadModelError` here, so nothing of the SQL layer leaks.
 *
 * @since 0.1.0
 */
import {
  type AuditEntry,
  type BuildRow,
  type CacheEntryRow,
  type CuratedCatalogRow,
  Environment,
  type EnvironmentSummary,
  type EnvironmentType,
  type ImageBuildRow,
  type PushedImageRow,
  type LabelRow,
  type QuarantinedEvent,
  QueryFailed,
  ReadModel,
  ReadModelError,
  type VersionRow
} from "@terrarium/domain"
import { Effect } from "effect"
import { type Kysely, sql } from "kysely"
import { Database } from "../../sql/Database.ts"
import type { ProjectionTables } from "./Tables.ts"

const date = (d: Date | string): Date => (d instanceof Date ? d : new Date(d))

/**
 * The queries over the `Database` of the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function* () {
  const database = yield* Database
  const query = <A>(operation: string, f: (db: Kysely<ProjectionTables>) => Promise<A>) =>
    database.use(operation, (db) => f(db as Kysely<ProjectionTables>)).pipe(
      Effect.mapError((error) => new ReadModelError({ reason: new QueryFailed({ operation: error.operation, cause: error.cause }) }))
    )

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
        on l.workspace = e.workspace and l.name = e.name and l.label = ${Environment.LATEST_LABEL}
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

  const imageBuilds: ReadModel["Service"]["imageBuilds"] = ({ canonicalHash }) =>
    query("read image cache", async (db) => {
      let q = db.selectFrom("images").selectAll()
      let p = db.selectFrom("image_pushes").selectAll()
      if (canonicalHash !== undefined) {
        q = q.where("canonical_hash", "=", canonicalHash)
        p = p.where("canonical_hash", "=", canonicalHash)
      }
      return { rows: await q.orderBy("canonical_hash").execute(), pushes: await p.orderBy("position").execute() }
    }).pipe(Effect.map(({ rows, pushes }) => {
      const pushesOf = new Map<string, Array<PushedImageRow>>()
      for (const r of pushes) {
        const list = pushesOf.get(r.canonical_hash) ?? []
        list.push({
          reference: r.reference, registry: r.registry, repository: r.repository, tag: r.tag, digest: r.digest, buildId: r.build_id,
          imageId: r.image_id, pushedAt: date(r.pushed_at), position: Number(r.position)
        })
        pushesOf.set(r.canonical_hash, list)
      }
      return rows.map((r): ImageBuildRow => ({
        canonicalHash: r.canonical_hash, image: r.image, status: r.status, buildId: r.build_id, leaseHolder: r.lease_holder,
        leaseExpiresAt: r.lease_expires_at === null ? null : date(r.lease_expires_at),
        failure: r.failure === null ? null : { ...r.failure, failedAt: new Date(r.failure.failedAt) },
        built: r.built === null ? null : { ...r.built, builtAt: new Date(r.built.builtAt) },
        pushes: pushesOf.get(r.canonical_hash) ?? [],
        updatedAt: date(r.updated_at), updatedPosition: Number(r.updated_position)
      }))
    }))

  const builds: ReadModel["Service"]["builds"] = (q) =>
    query("read builds", async (db) => {
      const rows = "buildId" in q
        ? await db.selectFrom("builds").selectAll().where("build_id", "=", q.buildId).execute()
        : await db.selectFrom("builds").selectAll().where("canonical_hash", "=", q.canonicalHash).orderBy("started_position", "desc").execute()
      const pushes = rows.length === 0 ? [] : await db.selectFrom("image_pushes").selectAll()
        .where("build_id", "in", rows.map((r) => r.build_id)).orderBy("position").execute()
      return { rows, pushes }
    }).pipe(Effect.map(({ rows, pushes }) =>
      rows.map((r): BuildRow => ({
        buildId: r.build_id, canonicalHash: r.canonical_hash, image: r.image, status: r.status, cause: r.cause, noCache: r.no_cache,
        leaseHolder: r.lease_holder, leaseExpiresAt: date(r.lease_expires_at), startedAt: date(r.started_at),
        startedPosition: Number(r.started_position), endedAt: r.ended_at === null ? null : date(r.ended_at),
        failure: r.failure === null ? null : { ...r.failure, failedAt: new Date(r.failure.failedAt) },
        built: r.built === null ? null : { ...r.built, builtAt: new Date(r.built.builtAt) },
        pushes: pushes.filter((p) => p.build_id === r.build_id).map((p): PushedImageRow => ({
          reference: p.reference, registry: p.registry, repository: p.repository, tag: p.tag, digest: p.digest, buildId: p.build_id,
          imageId: p.image_id, pushedAt: date(p.pushed_at), position: Number(p.position)
        })),
        updatedPosition: Number(r.updated_position)
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

  const quarantine: ReadModel["Service"]["quarantine"] = ({ workspace }) =>
    query("read quarantined events", (db) => {
      let q = db.selectFrom("quarantined_events").selectAll()
      if (workspace !== undefined) q = q.where("workspace", "=", workspace)
      return q.orderBy("position").execute()
    }).pipe(Effect.map((rows) => rows.map((r): QuarantinedEvent => ({
      position: Number(r.position), workspace: r.workspace, name: r.name, stream: r.stream, eventType: r.event_type,
      schemaVersion: r.schema_version, error: r.error, occurredAt: date(r.occurred_at), actor: r.actor,
      resolution: r.voided_position === null || r.voided_at === null || r.voided_by === null || r.void_reason === null
        ? null
        : { position: Number(r.voided_position), voidedAt: date(r.voided_at), voidedBy: r.voided_by, reason: r.void_reason }
    }))))

  return ReadModel.of({ versions, environments, labels, curatedCatalog, cacheLookup, imageBuilds, builds, audit, quarantine })
})
