/**
 * Applies the row operations of `Projection.ts` to the projection tables, and keeps the
 * checkpoint. Everything here runs inside a transaction that the projector opens; nothing here
 * decides anything.
 *
 * Inserts are plain INSERTs on purpose: an event applied twice fails on a primary key instead of
 * quietly merging, so a checkpoint bug cannot hide.
 *
 * @since 0.1.0
 */
import { type Kysely, sql } from "kysely"
import { LATEST_LABEL } from "@terrarium/domain"
import type { EnvironmentKey, RowOp } from "./Projection.ts"
import { PROJECTION_TABLES, type ProjectionTables } from "./Tables.ts"

type Db = Kysely<ProjectionTables>

/** The checkpoint row of the environment projections. @since 0.1.0 @category checkpoint */
export const CHECKPOINT_NAME = "environments"

/** Rows per multi-row audit INSERT: 11 parameters each, far below PostgreSQL's 65535. */
const AUDIT_CHUNK = 1000

const byKey = (key: EnvironmentKey) => ({ workspace: key.workspace, name: key.name })

/**
 * Locks the checkpoint row until the transaction ends (creating it at 0 on first use) and
 * returns its position. Another process's batch waits here, then sees the moved position and
 * backs off.
 *
 * @since 0.1.0
 * @category checkpoint
 */
export const lockCheckpoint = async (db: Db, name: string = CHECKPOINT_NAME): Promise<number> => {
  await db.insertInto("projection_checkpoints").values({ name, position: 0 })
    .onConflict((oc) => oc.column("name").doNothing()).execute()
  const row = await db.selectFrom("projection_checkpoints").select("position")
    .where("name", "=", name).forUpdate().executeTakeFirstOrThrow()
  return Number(row.position)
}

/** Reads the checkpoint without locking (0 when none yet). @since 0.1.0 @category checkpoint */
export const readCheckpoint = async (db: Db, name: string = CHECKPOINT_NAME): Promise<number> => {
  const row = await db.selectFrom("projection_checkpoints").select("position")
    .where("name", "=", name).executeTakeFirst()
  return row === undefined ? 0 : Number(row.position)
}

/** @since 0.1.0 @category checkpoint */
export const writeCheckpoint = async (db: Db, position: number, name: string = CHECKPOINT_NAME): Promise<void> => {
  await db.updateTable("projection_checkpoints")
    .set({ position, updated_at: sql<Date>`now()` })
    .where("name", "=", name).execute()
}

/**
 * Empties every projection table. DELETE rather than TRUNCATE: it takes row locks only, so
 * readers keep working on the old rows until the rebuild commits.
 *
 * @since 0.1.0
 * @category rebuild
 */
export const clearProjections = async (db: Db): Promise<void> => {
  for (const table of PROJECTION_TABLES) await db.deleteFrom(table).execute()
}

const applyOne = async (db: Db, op: Exclude<RowOp, { _tag: "InsertAudit" }>): Promise<void> => {
  switch (op._tag) {
    case "InsertEnvironment":
      await db.insertInto("environments").values({
        ...byKey(op.key), curated: op.curated, draft_type: op.draftType, created_at: op.at,
        created_by: op.by, updated_at: op.at, updated_position: op.position
      }).execute()
      return
    case "TouchEnvironment":
      await db.updateTable("environments")
        .set({ updated_at: op.at, updated_position: op.position, ...(op.draftType !== undefined ? { draft_type: op.draftType } : {}) })
        .where("workspace", "=", op.key.workspace).where("name", "=", op.key.name).execute()
      return
    case "InsertVersion":
      await db.insertInto("environment_versions").values({
        ...byKey(op.key), version: op.version, canonical_hash: op.canonicalHash, hash_algorithm: op.hashAlgorithm,
        environment_type: op.environmentType, description: op.description, tags: JSON.stringify(op.tags),
        created_at: op.at, created_by: op.by, registered_position: op.position
      }).execute()
      return
    case "SetArchived":
      await db.updateTable("environment_versions")
        .set({ archived: op.archivedAt !== null, archived_at: op.archivedAt })
        .where("workspace", "=", op.key.workspace).where("name", "=", op.key.name)
        .where("version", "=", op.version).execute()
      return
    case "SetLabel":
      await db.insertInto("environment_labels").values({
        ...byKey(op.key), label: op.label, version: op.version, moved_at: op.at, moved_by: op.by, position: op.position
      }).onConflict((oc) => oc.columns(["workspace", "name", "label"]).doUpdateSet({
        version: op.version, moved_at: op.at, moved_by: op.by, position: op.position
      })).execute()
      return
    case "RemoveLabel":
      await db.deleteFrom("environment_labels")
        .where("workspace", "=", op.key.workspace).where("name", "=", op.key.name)
        .where("label", "=", op.label).execute()
      return
    case "RecomputeLatest":
      // One statement (a round trip per event matters on replay): find the newest non-archived
      // version; point latest at it, or drop latest when there is none. Only a change of
      // version counts as a move: archiving an older version leaves latest untouched.
      await sql`
        with newest as (
          select version from environment_versions
          where workspace = ${op.key.workspace} and name = ${op.key.name} and not archived
          order by registered_position desc limit 1
        ), dropped as (
          delete from environment_labels
          where workspace = ${op.key.workspace} and name = ${op.key.name} and label = ${LATEST_LABEL}
            and not exists (select 1 from newest)
        )
        insert into environment_labels (workspace, name, label, version, moved_at, moved_by, position)
        select ${op.key.workspace}, ${op.key.name}, ${LATEST_LABEL}, version, ${op.at}, ${op.by}, ${op.position} from newest
        on conflict (workspace, name, label) do update
          set version = excluded.version, moved_at = excluded.moved_at, moved_by = excluded.moved_by, position = excluded.position
          where environment_labels.version <> excluded.version`.execute(db)
      return
    case "InsertCacheEntry":
      // Inherit the newest image already built for the same hash, in the same statement.
      await sql`
        insert into cache_lookup
          (canonical_hash, workspace, name, version, registered_position, registry, repository, tag, digest, built_at, build_id)
        select ${op.canonicalHash}, ${op.key.workspace}, ${op.key.name}, ${op.version}, ${op.position},
               image.registry, image.repository, image.tag, image.digest, image.built_at, image.build_id
        from (select 1) as one
        left join lateral (
          select registry, repository, tag, digest, built_at, build_id from cache_lookup
          where canonical_hash = ${op.canonicalHash} and digest is not null
          order by built_at desc limit 1
        ) as image on true`.execute(db)
      return
    case "SetImage":
      await db.updateTable("cache_lookup").set({
        registry: op.registry, repository: op.repository, tag: op.tag, digest: op.digest,
        built_at: op.builtAt, build_id: op.buildId
      }).where("canonical_hash", "=", op.canonicalHash).execute()
      return
  }
}

type Touch = Extract<RowOp, { _tag: "TouchEnvironment" }>

/**
 * Applies operations in order, with two exceptions that only save round trips:
 *
 * - Audit rows depend on nothing and nothing depends on them, so they are collected and written
 *   with a few multi-row INSERTs at the end. They are most of the rows.
 * - `TouchEnvironment` only sets when a stream last changed (and its draft type), which no other
 *   operation reads, so the touches of one stream are merged into one UPDATE, applied after the
 *   other operations: the last time and position, the last draft type given. Draft edits
 *   (packages, variables) then cost no query at all besides their audit row.
 *
 * @since 0.1.0
 * @category apply
 */
export const applyOps = async (db: Db, ops: Iterable<RowOp>): Promise<void> => {
  const audit: Array<Extract<RowOp, { _tag: "InsertAudit" }>> = []
  const touches = new Map<string, Touch>()
  for (const op of ops) {
    if (op._tag === "InsertAudit") audit.push(op)
    else if (op._tag === "TouchEnvironment") {
      const id = `${op.key.workspace}\u0000${op.key.name}`
      const draftType = op.draftType ?? touches.get(id)?.draftType
      touches.set(id, draftType === undefined ? op : { ...op, draftType })
    } else await applyOne(db, op)
  }
  for (const touch of touches.values()) await applyOne(db, touch)
  for (let i = 0; i < audit.length; i += AUDIT_CHUNK) {
    await db.insertInto("audit_trail").values(audit.slice(i, i + AUDIT_CHUNK).map((op) => ({
      position: op.position, ...byKey(op.key), event_type: op.eventType, version: op.version, actor: op.actor,
      occurred_at: op.occurredAt, correlation_id: op.correlationId, causation_id: op.causationId,
      summary: op.summary, details: JSON.stringify(op.details ?? null)
    }))).execute()
  }
}
