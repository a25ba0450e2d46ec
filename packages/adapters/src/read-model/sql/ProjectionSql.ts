/**
 * Applies the row operations of `Projection.ts` to the projection tables, keeps the checkpoints,
 * and swaps a rebuilt read model in. Everything here runs inside a transaction that the projector
 * opens; nothing here decides anything.
 *
 * Inserts are plain INSERTs on purpose: an event applied twice fails on a primary key instead of
 * quietly merging, so a checkpoint bug cannot hide.
 *
 * Speed: one statement per row operation was slow. A batch is folded in memory and written in one
 * statement (`applyOps`), and the projector reads, decodes, folds and serialises the next batch
 * while this one commits (`prepareBatch`): only the labels wait for the transaction, which reads
 * what they depend on in one query (`applyPrepared`). A rebuild fills its shadow tables without
 * their secondary indexes and builds those once at the end (`dropShadowIndexes`, `indexShadow`).
 * Figures: bench/README.md, "Measurements behind code choices".
 * The audit trail, one row per event, is most of what a batch writes: only what the projection
 * computed (a summary, a version) is sent, and the rest of each row is copied from the event's
 * row in the log, which lives in the same database (the `events` table of the SQL event store:
 * this adapter projects that log, and refuses a batch whose events are not in it).
 *
 * @since 0.1.0
 */
import { type Kysely, sql } from "kysely"
import { Environment } from "@terrarium/domain"
import { ENVIRONMENT_STREAM_PREFIX, type EnvironmentKey, type RowOp } from "../Projection.ts"
import { PROJECTION_TABLES, type ProjectionTable, type ProjectionTables, shadowOf } from "./Tables.ts"

type Db = Kysely<ProjectionTables>

/** The checkpoint row of the environment projections. @since 0.1.0 @category checkpoint */
export const CHECKPOINT_NAME = "environments"

/**
 * Where a projector writes: a set of projection tables and the checkpoint row that says how far
 * the log has been applied to them.
 *
 * @since 0.1.0
 * @category targets
 */
export interface ProjectionTarget {
  /** Its row in `projection_checkpoints`. */
  readonly checkpoint: string
  /** The table each projection table is written to. */
  readonly tables: { readonly [T in ProjectionTable]: string }
}

/** The read model that queries read. @since 0.1.0 @category targets */
export const LIVE: ProjectionTarget = {
  checkpoint: CHECKPOINT_NAME,
  tables: Object.fromEntries(PROJECTION_TABLES.map((table) => [table, table])) as ProjectionTarget["tables"]
}

/**
 * The shadow tables a rebuild replays the log into before `swapInShadow` (migration 0007).
 *
 * @since 0.1.0
 * @category targets
 */
export const SHADOW: ProjectionTarget = {
  checkpoint: `${CHECKPOINT_NAME}:rebuild`,
  tables: Object.fromEntries(PROJECTION_TABLES.map((table) => [table, shadowOf(table)])) as ProjectionTarget["tables"]
}

const byKey = (key: EnvironmentKey) => ({ workspace: key.workspace, name: key.name })

/**
 * How far a read model has applied the log, and the projection version that built it
 * (`PROJECTION_VERSION`, migration 0009).
 *
 * @since 0.1.0
 * @category checkpoint
 */
export interface Checkpoint {
  readonly position: number
  readonly version: number
}

/**
 * Locks the checkpoint row until the transaction ends (creating it at 0, built by `version`, on
 * first use) and returns it. Another process's batch waits here, then sees the moved position
 * (or another version) and backs off.
 *
 * @since 0.1.0
 * @category checkpoint
 */
export const lockCheckpoint = async (db: Db, name: string, version: number): Promise<Checkpoint> => {
  // One round trip: the no-op update of an existing row locks it as `FOR UPDATE` would, and
  // returns it as committed by whoever held the lock before.
  const row = await db.insertInto("projection_checkpoints").values({ name, position: 0, projection_version: version })
    .onConflict((oc) => oc.column("name").doUpdateSet({ name: (eb) => eb.ref("excluded.name") }))
    .returning(["position", "projection_version"]).executeTakeFirstOrThrow()
  return { position: Number(row.position), version: row.projection_version }
}

/**
 * `lockCheckpoint` for a batch, which also lets the caller's transaction commit without waiting
 * for its WAL to reach the disk (`synchronous_commit` off, for this transaction only), in the
 * same round trip. The read model is disposable and its checkpoint is committed with its rows: a
 * crash can lose the last batches applied, never half of one, and the projector applies them
 * again. Readers see the commit at once either way.
 *
 * @since 0.1.0
 * @category checkpoint
 */
export const lockCheckpointForBatch = async (db: Db, name: string, version: number): Promise<Checkpoint> => {
  const { rows } = await sql<{ position: number | string; projection_version: number }>`
    insert into projection_checkpoints (name, position, projection_version) values (${name}, 0, ${version})
    on conflict (name) do update set name = excluded.name
    returning position, projection_version, set_config('synchronous_commit', 'off', true) as synchronous_commit`.execute(db)
  const row = rows[0]!
  return { position: Number(row.position), version: row.projection_version }
}

/**
 * Reads the checkpoint without locking: undefined when there is none yet (nothing was ever
 * projected, so there is nothing stale either).
 *
 * @since 0.1.0
 * @category checkpoint
 */
export const readCheckpoint = async (db: Db, name: string = CHECKPOINT_NAME): Promise<Checkpoint | undefined> => {
  const row = await db.selectFrom("projection_checkpoints").select(["position", "projection_version"])
    .where("name", "=", name).executeTakeFirst()
  return row === undefined ? undefined : { position: Number(row.position), version: row.projection_version }
}

/** @since 0.1.0 @category checkpoint */
export const writeCheckpoint = async (db: Db, position: number, name: string, version: number): Promise<void> => {
  await db.updateTable("projection_checkpoints")
    .set({ position, projection_version: version, updated_at: sql<Date>`now()` })
    .where("name", "=", name).execute()
}

/**
 * Empties every table of the live read model. DELETE rather than TRUNCATE:
 * it takes row locks only, so on PostgreSQL readers of the tables go on seeing the old rows until
 * the caller's transaction commits, where TRUNCATE would make them wait for it.
 *
 * @since 0.1.0
 * @category rebuild
 */
export const clearProjections = async (db: Db): Promise<void> => {
  for (const table of PROJECTION_TABLES) await sql`delete from ${sql.table(LIVE.tables[table])}`.execute(db)
}

/**
 * Starts a rebuild by projection `version`: empties the shadow tables and puts their checkpoint
 * at 0, stamped with that version. TRUNCATE is fine
 * here (nothing reads the shadow) and gives the space of a previous rebuild back at once. A
 * rebuild running concurrently finds the shadow checkpoint moved and goes on from 0 with this
 * one, as two projectors of the live tables would.
 *
 * @since 0.1.0
 * @category rebuild
 */
export const resetShadow = async (db: Db, version: number): Promise<void> => {
  await lockCheckpoint(db, SHADOW.checkpoint, version)
  await sql`truncate ${sql.join(PROJECTION_TABLES.map((table) => sql.table(SHADOW.tables[table])))}`.execute(db)
  await writeCheckpoint(db, 0, SHADOW.checkpoint, version)
}

/**
 * The indexes of `table` that back no constraint (its primary key and unique constraints stay), by
 * name, each with its definition as `CREATE INDEX` without its name and table.
 */
const secondaryIndexes = async (db: Db, table: string): Promise<Map<string, string>> => {
  const { rows } = await sql<{ name: string; definition: string }>`
    select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i
    where i.indrelid = to_regclass(${table}) and not exists (select from pg_constraint c where c.conindid = i.indexrelid)`.execute(db)
  // "CREATE INDEX name ON [schema.]table USING …": the part after the table is the index itself.
  return new Map(rows.map((row) => [row.name, row.definition.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+ /, "CREATE $1INDEX ON ")]))
}

/**
 * Drops the shadow tables' secondary indexes, at the start of a rebuild (after `resetShadow`):
 * the rebuild inserts every row of the log into them, and maintaining an index row by row cost
 * more than building it once at the end (`indexShadow`; figures in bench/README.md, "Measurements
 * behind code choices"). Primary keys and unique constraints stay: they keep inserts strict.
 *
 * @since 0.1.0
 * @category rebuild
 */
export const dropShadowIndexes = async (db: Db): Promise<void> => {
  for (const table of PROJECTION_TABLES) {
    for (const name of (await secondaryIndexes(db, SHADOW.tables[table])).keys()) await sql`drop index ${sql.raw(name)}`.execute(db)
  }
}

/**
 * Gives each shadow table every secondary index its live table has and it lacks (those
 * `dropShadowIndexes` dropped), built in one pass over its rows. Before a swap, so that the tables
 * swapped in have the indexes the migrations gave the live ones; a shadow that has them all is
 * left as it is. Its new indexes are named by PostgreSQL (nothing refers to an index by name).
 *
 * @since 0.1.0
 * @category rebuild
 */
export const indexShadow = async (db: Db): Promise<void> => {
  for (const table of PROJECTION_TABLES) {
    const shadow = SHADOW.tables[table]
    const present = new Set((await secondaryIndexes(db, shadow)).values())
    for (const definition of (await secondaryIndexes(db, LIVE.tables[table])).values()) {
      if (!present.has(definition)) {
        await sql.raw(definition.replace(/^CREATE (UNIQUE )?INDEX ON /, `CREATE $1INDEX ON ${shadow} `)).execute(db)
      }
    }
  }
}

/**
 * Swaps every live projection table with its shadow by renaming them, in the caller's
 * transaction: the rebuilt rows become the live ones whatever their number, where copying them
 * took time in proportion (and the old live rows become the shadow's, emptied by `resetShadow`).
 * The views over the live tables (the curated catalog, the cache lookup) follow a renamed table,
 * so each is defined again, as it was, over the names. A reader waits for the transaction (the
 * renames lock the tables) and then reads the rebuilt tables by the same names.
 *
 * The tables' index and constraint names swap with them: refer to them through their table.
 */
const swapTables = async (db: Db): Promise<void> => {
  const live = PROJECTION_TABLES.map((table) => LIVE.tables[table])
  const { rows: views } = await sql<{ name: string; definition: string }>`
    select distinct v.oid::regclass::text as name, pg_get_viewdef(v.oid) as definition
    from pg_depend d
    join pg_rewrite r on r.oid = d.objid
    join pg_class v on v.oid = r.ev_class
    where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass and v.relkind = 'v'
      and d.refobjid in (select to_regclass(t)::oid from unnest(${live}::text[]) as t)`.execute(db)
  for (const table of PROJECTION_TABLES) {
    const [current, rebuilt] = [LIVE.tables[table], SHADOW.tables[table]]
    const parked = `swapping_${current}`
    await sql`alter table ${sql.table(current)} rename to ${sql.id(parked)}`.execute(db)
    await sql`alter table ${sql.table(rebuilt)} rename to ${sql.id(current)}`.execute(db)
    await sql`alter table ${sql.table(parked)} rename to ${sql.id(rebuilt)}`.execute(db)
  }
  for (const view of views) {
    await sql`create or replace view ${sql.raw(view.name)} as ${sql.raw(view.definition.replace(/;\s*$/, ""))}`.execute(db)
  }
}

/**
 * Puts the shadow's rows in place of the live ones (`swapTables`), moves the live checkpoint to
 * the shadow's and empties the shadow, all in the caller's transaction, so that a reader sees
 * either the old read model or the rebuilt one, never a mix.
 *
 * Refuses (returns undefined, writing nothing) when the shadow is behind the live checkpoint:
 * the live read model would go back in time, and a caller that has just read its own write could
 * then miss it. The rebuild catches the shadow up and tries again. Refuses too when the shadow is
 * no longer being built by `version` (a rebuild of another release reset it meanwhile). The live
 * checkpoint takes the shadow's version with its position.
 *
 * Locks the live checkpoint row, then the shadow's. It is the only transaction that locks both,
 * always in that order, so it cannot deadlock with projectors, which lock one.
 *
 * @since 0.1.0
 * @category rebuild
 */
export const swapInShadow = async (db: Db, version: number): Promise<number | undefined> => {
  const live = (await lockCheckpoint(db, LIVE.checkpoint, version)).position
  const shadow = await lockCheckpoint(db, SHADOW.checkpoint, version)
  const built = shadow.position
  if (built < live || shadow.version !== version) return undefined
  // Normally done already, outside this transaction (see the projector's rebuild); here so that a
  // shadow whose indexes another rebuild dropped meanwhile is never swapped in without them.
  await indexShadow(db)
  await swapTables(db)
  await writeCheckpoint(db, built, LIVE.checkpoint, version)
  await resetShadow(db, version)
  return built
}

// ---------------------------------------------------------------------------------------------
// Applying a batch: load, fold, write

type Op<Tag extends RowOp["_tag"]> = Extract<RowOp, { _tag: Tag }>

/** Rows as written: snake_case keys, the column names of `jsonb_to_recordset` below. */
interface EnvironmentRow {
  readonly workspace: string
  readonly name: string
  readonly curated: boolean
  draft_type: string
  readonly created_at: Date
  readonly created_by: string
  updated_at: Date
  updated_position: number
}

interface VersionRow {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonical_hash: string
  readonly hash_algorithm: number
  readonly environment_type: string
  description: string | null
  tags: Readonly<Record<string, string>>
  readonly created_at: Date
  readonly created_by: string
  readonly registered_position: number
  archived: boolean
  archived_at: Date | null
}

/** The newest image of a hash (`cache_images`, migration 0011). */
interface ImageRow {
  readonly canonical_hash: string
  readonly registry: string
  readonly repository: string
  readonly tag: string
  readonly digest: string
  readonly built_at: Date
  readonly build_id: string
}

/** A registration in the cache (`cache_entries`); its image is its hash's, joined by the view. */
interface CacheRow {
  readonly canonical_hash: string
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly registered_position: number
}

interface LabelRow {
  readonly workspace: string
  readonly name: string
  readonly label: string
  readonly version: string
  readonly moved_at: Date
  readonly moved_by: string
  readonly position: number
}

/** A label's net change: its final row, or its removal. */
type LabelWrite =
  | { readonly _tag: "Set"; readonly row: LabelRow }
  | { readonly _tag: "Remove"; readonly workspace: string; readonly name: string; readonly label: string }

/**
 * What a batch needs to know of the rows written before it: the versions (registration
 * position, archived) and the `latest` label of every stream whose latest it recomputes.
 */
interface Before {
  readonly versions: Map<string, Map<string, { readonly position: number; archived: boolean }>>
  readonly labels: Map<string, string | null>
}

/** The net effect of a batch: new rows with their final values, and updates of older rows. */
interface Plan {
  readonly environments: Array<EnvironmentRow>
  readonly touches: Array<{ readonly workspace: string; readonly name: string; readonly updated_at: Date; readonly updated_position: number; readonly draft_type?: string }>
  readonly versions: Array<VersionRow>
  readonly archives: Array<{ readonly workspace: string; readonly name: string; readonly version: string; readonly archived_at: Date | null }>
  readonly metadata: Array<{
    readonly workspace: string
    readonly name: string
    readonly version: string
    readonly description: string | null
    readonly tags: Readonly<Record<string, string>>
  }>
  readonly cache: Array<CacheRow>
  readonly images: Array<ImageRow>
  readonly audit: Array<Op<"InsertAudit">>
  readonly quarantined: Array<QuarantineRow>
  readonly resolutions: Array<Resolution>
  readonly imageBuilds: Array<ImageBuildWrite>
  readonly pushes: Array<PushRow>
  readonly builds: Array<BuildInsert>
  readonly buildUpdates: Array<BuildUpdate>
}

/** A build started in this batch (`builds`, migration 0016), with what the batch did to it since. */
interface BuildInsert {
  readonly build_id: string
  readonly canonical_hash: string
  readonly image: string
  status: string
  readonly cause: string
  readonly no_cache: boolean
  readonly lease_holder: string
  lease_expires_at: Date
  readonly started_at: Date
  readonly started_position: number
  ended_at: Date | null
  failure: unknown
  built: unknown
  updated_position: number
}

/** The net change of a build started before this batch: its lease renewed, or its end (null keeps the stored). */
interface BuildUpdate {
  readonly build_id: string
  status: string | null
  lease_expires_at: Date | null
  ended_at: Date | null
  failure: unknown
  built: unknown
  updated_position: number
}

/** A push of a hash's image (`image_pushes`, migration 0012): only ever inserted. */
interface PushRow {
  readonly position: number
  readonly canonical_hash: string
  readonly build_id: string
  readonly image_id: string
  readonly registry: string
  readonly repository: string
  readonly tag: string
  readonly reference: string
  readonly digest: string
  readonly pushed_at: Date
}

/**
 * The net change of a hash's image-cache row: its status columns as the batch left them, and
 * its last image built when the batch built one (null keeps the stored one).
 */
interface ImageBuildWrite {
  readonly canonical_hash: string
  image: string
  status: string
  build_id: string
  lease_holder: string | null
  lease_expires_at: Date | null
  failure: unknown
  built: unknown
  updated_at: Date
  updated_position: number
}

interface Resolution {
  readonly workspace: string
  readonly name: string
  readonly position: number
  readonly voided_position: number
  readonly voided_at: Date
  readonly voided_by: string
  readonly void_reason: string
}

interface QuarantineRow {
  readonly position: number
  readonly workspace: string
  readonly name: string
  readonly stream: string
  readonly event_type: string
  readonly schema_version: number
  readonly error: string
  readonly occurred_at: Date
  readonly actor: string
  voided_position: number | null
  voided_at: Date | null
  voided_by: string | null
  void_reason: string | null
}

const streamId = (key: EnvironmentKey) => `${key.workspace}\u0000${key.name}`
const rowId = (key: EnvironmentKey, part: string) => `${key.workspace}\u0000${key.name}\u0000${part}`

/**
 * Folds a batch, in order, into its net effect on every table but the labels (`foldLabels`),
 * which needs nothing from before the batch. Each step mirrors what the SQL of one operation did
 * (see `applyOps`); rows inserted by the batch are changed in memory, rows from before it by one
 * UPDATE per table at the end. Duplicate inserts are kept as they are, so that the database still
 * rejects them.
 */
const foldRows = (ops: ReadonlyArray<RowOp>): Plan => {
  const plan: Plan = {
    environments: [], touches: [], versions: [], archives: [], metadata: [], cache: [], images: [], audit: [],
    quarantined: [], resolutions: [], imageBuilds: [], pushes: [], builds: [], buildUpdates: []
  }
  const builds = new Map<string, BuildInsert>()
  const buildUpdates = new Map<string, BuildUpdate>()
  /** The row of a build: the one this batch inserts, or the net change of one inserted before. */
  const buildOf = (buildId: string, position: number): BuildInsert | BuildUpdate => {
    const row = builds.get(buildId) ?? buildUpdates.get(buildId)
    if (row !== undefined) return row
    const update: BuildUpdate = {
      build_id: buildId, status: null, lease_expires_at: null, ended_at: null, failure: null, built: null, updated_position: position
    }
    buildUpdates.set(buildId, update)
    return update
  }
  const imageBuilds = new Map<string, ImageBuildWrite>()
  const quarantined = new Map<number, QuarantineRow>()
  const environments = new Map<string, EnvironmentRow>()
  const touches = new Map<string, Op<"TouchEnvironment">>()
  const versions = new Map<string, VersionRow>()
  const archives = new Map<string, Plan["archives"][number]>()
  const metadata = new Map<string, Plan["metadata"][number]>()
  const images = new Map<string, ImageRow>()

  for (const op of ops) {
    switch (op._tag) {
      case "InsertAudit":
        plan.audit.push(op)
        break
      case "InsertQuarantine": {
        const row: QuarantineRow = {
          position: op.position, ...byKey(op.key), stream: op.stream, event_type: op.eventType,
          schema_version: op.schemaVersion, error: op.error, occurred_at: op.at, actor: op.by,
          voided_position: null, voided_at: null, voided_by: null, void_reason: null
        }
        plan.quarantined.push(row)
        quarantined.set(op.position, row)
        break
      }
      case "ResolveQuarantine": {
        // A row of this batch is resolved in memory; one of an earlier batch by an UPDATE. Only
        // the first void counts, and only within its own stream.
        const resolution = {
          voided_position: op.voidedPosition, voided_at: op.at, voided_by: op.by, void_reason: op.reason
        }
        const inserted = quarantined.get(op.position)
        if (inserted !== undefined) {
          if (inserted.workspace === op.key.workspace && inserted.name === op.key.name && inserted.voided_position === null) {
            Object.assign(inserted, resolution)
          }
        } else if (!plan.resolutions.some((r) => r.position === op.position && r.workspace === op.key.workspace && r.name === op.key.name)) {
          plan.resolutions.push({ ...byKey(op.key), position: op.position, ...resolution })
        }
        break
      }
      case "InsertEnvironment": {
        const row: EnvironmentRow = {
          ...byKey(op.key), curated: op.curated, draft_type: op.draftType, created_at: op.at, created_by: op.by,
          updated_at: op.at, updated_position: op.position
        }
        plan.environments.push(row)
        environments.set(streamId(op.key), row)
        break
      }
      case "TouchEnvironment": {
        // Merged as before: the last time and position, the last draft type given.
        const id = streamId(op.key)
        const draftType = op.draftType ?? touches.get(id)?.draftType
        touches.set(id, draftType === undefined ? op : { ...op, draftType })
        break
      }
      case "InsertVersion": {
        const row: VersionRow = {
          ...byKey(op.key), version: op.version, canonical_hash: op.canonicalHash, hash_algorithm: op.hashAlgorithm,
          environment_type: op.environmentType, description: op.description, tags: op.tags, created_at: op.at,
          created_by: op.by, registered_position: op.position, archived: false, archived_at: null
        }
        plan.versions.push(row)
        versions.set(rowId(op.key, op.version), row)
        break
      }
      case "SetArchived": {
        const id = rowId(op.key, op.version)
        const inserted = versions.get(id)
        if (inserted !== undefined) {
          inserted.archived = op.archivedAt !== null
          inserted.archived_at = op.archivedAt
        } else archives.set(id, { ...byKey(op.key), version: op.version, archived_at: op.archivedAt })
        break
      }
      case "SetMetadata": {
        const id = rowId(op.key, op.version)
        const inserted = versions.get(id)
        if (inserted !== undefined) {
          inserted.description = op.description
          inserted.tags = op.tags
        } else metadata.set(id, { ...byKey(op.key), version: op.version, description: op.description, tags: op.tags })
        break
      }
      case "InsertCacheEntry":
        plan.cache.push({
          canonical_hash: op.canonicalHash, ...byKey(op.key), version: op.version, registered_position: op.position
        })
        break
      case "SetBuildStatus": {
        const row: ImageBuildWrite = {
          canonical_hash: op.canonicalHash, image: op.image, status: op.status, build_id: op.buildId,
          lease_holder: op.leaseHolder, lease_expires_at: op.leaseExpiresAt, failure: op.failure,
          built: imageBuilds.get(op.canonicalHash)?.built ?? null, updated_at: op.at, updated_position: op.position
        }
        imageBuilds.set(op.canonicalHash, row)
        break
      }
      case "SetBuiltImage": {
        const row = imageBuilds.get(op.canonicalHash)
        if (row !== undefined) row.built = op.built
        break
      }
      case "InsertImagePush": {
        const p = op.push
        plan.pushes.push({
          position: p.position, canonical_hash: op.canonicalHash, build_id: p.buildId, image_id: p.imageId, registry: p.registry,
          repository: p.repository, tag: p.tag, reference: p.reference, digest: p.digest, pushed_at: p.pushedAt
        })
        break
      }
      case "InsertBuild": {
        // Kept as it is when it repeats, so that the database still rejects the duplicate.
        const row: BuildInsert = {
          build_id: op.buildId, canonical_hash: op.canonicalHash, image: op.image, status: "building", cause: op.cause,
          no_cache: op.noCache, lease_holder: op.leaseHolder, lease_expires_at: op.leaseExpiresAt, started_at: op.at,
          started_position: op.position, ended_at: null, failure: null, built: null, updated_position: op.position
        }
        plan.builds.push(row)
        builds.set(op.buildId, row)
        break
      }
      case "RenewBuildLease": {
        const row = buildOf(op.buildId, op.position)
        row.lease_expires_at = op.leaseExpiresAt
        row.updated_position = op.position
        break
      }
      case "EndBuild": {
        const row = buildOf(op.buildId, op.position)
        Object.assign(row, { status: op.status, ended_at: op.at, failure: op.failure, built: op.built, updated_position: op.position })
        break
      }
      case "SetImage":
        // The last image of a hash in the batch wins, as it would have one by one.
        images.set(op.canonicalHash, {
          canonical_hash: op.canonicalHash, registry: op.registry, repository: op.repository, tag: op.tag,
          digest: op.digest, built_at: op.builtAt, build_id: op.buildId
        })
        break
    }
  }
  for (const [id, touch] of touches) {
    const inserted = environments.get(id)
    if (inserted !== undefined) {
      inserted.updated_at = touch.at
      inserted.updated_position = touch.position
      if (touch.draftType !== undefined) inserted.draft_type = touch.draftType
    } else {
      plan.touches.push({
        ...byKey(touch.key), updated_at: touch.at, updated_position: touch.position,
        ...(touch.draftType !== undefined ? { draft_type: touch.draftType } : {})
      })
    }
  }
  plan.archives.push(...archives.values())
  plan.metadata.push(...metadata.values())
  plan.images.push(...images.values())
  plan.imageBuilds.push(...imageBuilds.values())
  plan.buildUpdates.push(...buildUpdates.values())
  return plan
}

/**
 * Folds a batch's label operations (and the version changes that `latest` follows), in order,
 * into the net change of each label, given the versions and `latest` of its streams from before
 * the batch (`loadBefore`).
 */
const foldLabels = (ops: ReadonlyArray<RowOp>, before: Before): Array<LabelWrite> => {
  const labels = new Map<string, LabelWrite>()
  const streamVersions = (key: EnvironmentKey) => {
    const id = streamId(key)
    let found = before.versions.get(id)
    if (found === undefined) before.versions.set(id, found = new Map())
    return found
  }
  for (const op of ops) {
    switch (op._tag) {
      case "InsertVersion":
        streamVersions(op.key).set(op.version, { position: op.position, archived: false })
        break
      case "SetArchived": {
        const known = streamVersions(op.key).get(op.version)
        if (known !== undefined) known.archived = op.archivedAt !== null
        break
      }
      case "SetLabel": {
        const id = rowId(op.key, op.label)
        labels.set(id, { _tag: "Set", row: { ...byKey(op.key), label: op.label, version: op.version, moved_at: op.at, moved_by: op.by, position: op.position } })
        before.labels.set(id, op.version)
        break
      }
      case "RemoveLabel": {
        const id = rowId(op.key, op.label)
        labels.set(id, { _tag: "Remove", ...byKey(op.key), label: op.label })
        before.labels.set(id, null)
        break
      }
      case "RecomputeLatest": {
        let newest: string | undefined
        let newestPosition = Number.NEGATIVE_INFINITY
        for (const [version, { archived, position }] of streamVersions(op.key)) {
          if (!archived && position > newestPosition) [newest, newestPosition] = [version, position]
        }
        const id = rowId(op.key, Environment.LATEST_LABEL)
        const current = before.labels.get(id) ?? null
        if (newest === undefined) {
          if (current !== null) {
            labels.set(id, { _tag: "Remove", ...byKey(op.key), label: Environment.LATEST_LABEL })
            before.labels.set(id, null)
          }
        } else if (current !== newest) {
          // Only a change of version is a move, as in the SQL this replaces.
          labels.set(id, { _tag: "Set", row: { ...byKey(op.key), label: Environment.LATEST_LABEL, version: newest, moved_at: op.at, moved_by: op.by, position: op.position } })
          before.labels.set(id, newest)
        }
        break
      }
    }
  }
  return [...labels.values()]
}

/**
 * One parameter, however many rows: PostgreSQL expands it with `jsonb_to_recordset`. Serialised
 * when a batch is prepared (`prepareBatch`), ahead of its transaction.
 */
const json = (rows: ReadonlyArray<unknown>): string => JSON.stringify(rows)

/**
 * A batch made ready to write before its transaction starts: everything but the labels folded and
 * serialised (`foldRows`), and the operations the labels are folded from once what they depend on
 * has been read in the transaction (`loadBefore`, `foldLabels`). Preparing is CPU work only, so
 * the projector does it while the batch before commits.
 *
 * @since 0.1.0
 * @category apply
 */
export interface PreparedBatch {
  /** Each part of the write statement's parameters, as JSON text. */
  readonly rows: Readonly<Record<RowPart, string>>
  /** How many audit rows the batch inserts: the statement must insert exactly these. */
  readonly auditRows: number
  readonly labelOps: ReadonlyArray<RowOp>
  /** The streams whose `latest` the batch recomputes, by `streamId`. */
  readonly recomputed: ReadonlyMap<string, EnvironmentKey>
}

type RowPart =
  | "touches" | "archives" | "metadata" | "images" | "environments" | "versions" | "cache" | "quarantined" | "resolutions"
  | "imageBuilds" | "pushes" | "builds" | "buildUpdates" | "audit"

const LABEL_OPS: ReadonlySet<RowOp["_tag"]> = new Set(["InsertVersion", "SetArchived", "SetLabel", "RemoveLabel", "RecomputeLatest"])

/**
 * Prepares a batch of operations for `applyPrepared` (synchronous, no database).
 *
 * @since 0.1.0
 * @category apply
 */
export const prepareBatch = (ops: ReadonlyArray<RowOp>): PreparedBatch => {
  const plan = foldRows(ops)
  // Only what the projection computed travels: the envelope's columns (and the details, when
  // stored as they are) are copied from the event's row in the log, by position.
  const audit = plan.audit.map((op) =>
    op.detailsAsStored
      ? { position: op.position, version: op.version, summary: op.summary, stored: true }
      : { position: op.position, version: op.version, summary: op.summary, stored: false, details: op.details ?? null }
  )
  const recomputed = new Map<string, EnvironmentKey>()
  for (const op of ops) {
    if (op._tag === "RecomputeLatest") recomputed.set(streamId(op.key), byKey(op.key))
  }
  return {
    rows: {
      touches: json(plan.touches), archives: json(plan.archives), metadata: json(plan.metadata), images: json(plan.images),
      environments: json(plan.environments), versions: json(plan.versions), cache: json(plan.cache),
      quarantined: json(plan.quarantined), resolutions: json(plan.resolutions), imageBuilds: json(plan.imageBuilds),
      pushes: json(plan.pushes), builds: json(plan.builds), buildUpdates: json(plan.buildUpdates), audit: json(audit)
    },
    auditRows: audit.length,
    labelOps: ops.filter((op) => LABEL_OPS.has(op._tag)),
    recomputed
  }
}

/** Reads what `foldLabels` needs from before the batch, in one query whatever the batch size. */
const loadBefore = async (db: Db, streams: ReadonlyMap<string, EnvironmentKey>, { tables }: ProjectionTarget): Promise<Before> => {
  const before: Before = { versions: new Map(), labels: new Map() }
  for (const id of streams.keys()) before.versions.set(id, new Map())
  if (streams.size === 0) return before
  // One round trip: each part comes back as a JSON array (timestamps as text).
  const keys = sql`${json([...streams.values()])}::jsonb`
  const { rows } = await sql<{
    versions: ReadonlyArray<{ workspace: string; name: string; version: string; position: number; archived: boolean }> | null
    labels: ReadonlyArray<{ workspace: string; name: string; version: string }> | null
  }>`
    select
      (select json_agg(json_build_object('workspace', v.workspace, 'name', v.name, 'version', v.version,
          'position', v.registered_position, 'archived', v.archived))
        from ${sql.table(tables.environment_versions)} v
        join jsonb_to_recordset(${keys}) as k(workspace text, name text) on v.workspace = k.workspace and v.name = k.name
      ) as versions,
      (select json_agg(json_build_object('workspace', l.workspace, 'name', l.name, 'version', l.version))
        from ${sql.table(tables.environment_labels)} l
        join jsonb_to_recordset(${keys}) as k(workspace text, name text) on l.workspace = k.workspace and l.name = k.name
        where l.label = ${Environment.LATEST_LABEL}
      ) as labels`.execute(db)
  const loaded = rows[0]
  for (const row of loaded?.versions ?? []) {
    before.versions.get(streamId(row))?.set(row.version, { position: Number(row.position), archived: row.archived })
  }
  for (const row of loaded?.labels ?? []) before.labels.set(rowId(row, Environment.LATEST_LABEL), row.version)
  return before
}

/**
 * Where a batch moves its checkpoint: written by the batch's own statement (`write`), one round
 * trip fewer per batch.
 *
 * @since 0.1.0
 * @category apply
 */
export interface CheckpointMove {
  readonly name: string
  readonly position: number
  readonly version: number
}

/**
 * Writes a batch in one statement. Its parts are data-modifying CTEs, which all see the rows as
 * they were before the statement: the UPDATEs reach only rows of earlier batches, as the folds
 * require, and no row is written twice (they leave one net change per row). Empty parts
 * cost nothing. A duplicate insert still fails the whole statement on its key.
 */
const write = async (
  db: Db,
  batch: PreparedBatch,
  labels: ReadonlyArray<LabelWrite>,
  { tables }: ProjectionTarget,
  checkpoint: CheckpointMove | undefined
): Promise<void> => {
  const removed = labels.flatMap((l) => l._tag === "Remove" ? [{ workspace: l.workspace, name: l.name, label: l.label }] : [])
  const set = labels.flatMap((l) => l._tag === "Set" ? [l.row] : [])
  const part = (name: RowPart) => sql`${batch.rows[name]}::jsonb`
  const moved = checkpoint === undefined ? sql`` : sql`, checkpointed as (
      update projection_checkpoints set position = ${checkpoint.position}, projection_version = ${checkpoint.version},
        updated_at = now()
      where name = ${checkpoint.name}
    )`
  const result = await sql`
    with touched as (
      update ${sql.table(tables.environments)} e
      set updated_at = t.updated_at, updated_position = t.updated_position, draft_type = coalesce(t.draft_type, e.draft_type)
      from jsonb_to_recordset(${part("touches")})
        as t(workspace text, name text, updated_at timestamptz, updated_position bigint, draft_type text)
      where e.workspace = t.workspace and e.name = t.name
    ), archived as (
      update ${sql.table(tables.environment_versions)} v set archived = t.archived_at is not null, archived_at = t.archived_at
      from jsonb_to_recordset(${part("archives")}) as t(workspace text, name text, version text, archived_at timestamptz)
      where v.workspace = t.workspace and v.name = t.name and v.version = t.version
    ), described as (
      update ${sql.table(tables.environment_versions)} v set description = t.description, tags = t.tags
      from jsonb_to_recordset(${part("metadata")}) as t(workspace text, name text, version text, description text, tags jsonb)
      where v.workspace = t.workspace and v.name = t.name and v.version = t.version
    ), imaged as (
      insert into ${sql.table(tables.cache_images)} (canonical_hash, registry, repository, tag, digest, built_at, build_id)
      select * from jsonb_to_recordset(${part("images")}) as t(canonical_hash text, registry text, repository text, tag text,
        digest text, built_at timestamptz, build_id text)
      on conflict (canonical_hash) do update set registry = excluded.registry, repository = excluded.repository,
        tag = excluded.tag, digest = excluded.digest, built_at = excluded.built_at, build_id = excluded.build_id
    ), environments_ as (
      insert into ${sql.table(tables.environments)} (workspace, name, curated, draft_type, created_at, created_by, updated_at, updated_position)
      select * from jsonb_to_recordset(${part("environments")}) as t(workspace text, name text, curated boolean,
        draft_type text, created_at timestamptz, created_by text, updated_at timestamptz, updated_position bigint)
    ), versions_ as (
      insert into ${sql.table(tables.environment_versions)} (workspace, name, version, canonical_hash, hash_algorithm, environment_type,
        description, tags, created_at, created_by, registered_position, archived, archived_at)
      select * from jsonb_to_recordset(${part("versions")}) as t(workspace text, name text, version text,
        canonical_hash text, hash_algorithm integer, environment_type text, description text, tags jsonb,
        created_at timestamptz, created_by text, registered_position bigint, archived boolean, archived_at timestamptz)
    ), cache_ as (
      insert into ${sql.table(tables.cache_entries)} (canonical_hash, workspace, name, version, registered_position)
      select * from jsonb_to_recordset(${part("cache")}) as t(canonical_hash text, workspace text, name text,
        version text, registered_position bigint)
    ), unlabelled as (
      delete from ${sql.table(tables.environment_labels)} l
      using jsonb_to_recordset(${sql`${json(removed)}::jsonb`}) as t(workspace text, name text, label text)
      where l.workspace = t.workspace and l.name = t.name and l.label = t.label
    ), quarantined_ as (
      insert into ${sql.table(tables.quarantined_events)} (position, workspace, name, stream, event_type, schema_version, error,
        occurred_at, actor, voided_position, voided_at, voided_by, void_reason)
      select * from jsonb_to_recordset(${part("quarantined")}) as t(position bigint, workspace text, name text,
        stream text, event_type text, schema_version integer, error text, occurred_at timestamptz, actor text,
        voided_position bigint, voided_at timestamptz, voided_by text, void_reason text)
    ), resolved as (
      update ${sql.table(tables.quarantined_events)} q
      set voided_position = t.voided_position, voided_at = t.voided_at, voided_by = t.voided_by, void_reason = t.void_reason
      from jsonb_to_recordset(${part("resolutions")})
        as t(workspace text, name text, position bigint, voided_position bigint, voided_at timestamptz, voided_by text, void_reason text)
      where q.position = t.position and q.workspace = t.workspace and q.name = t.name and q.voided_position is null
    ), images_ as (
      insert into ${sql.table(tables.images)} as i (canonical_hash, image, status, build_id, lease_holder, lease_expires_at,
        failure, built, updated_at, updated_position)
      select * from jsonb_to_recordset(${part("imageBuilds")}) as t(canonical_hash text, image text, status text,
        build_id text, lease_holder text, lease_expires_at timestamptz, failure jsonb, built jsonb, updated_at timestamptz,
        updated_position bigint)
      on conflict (canonical_hash) do update
        set image = excluded.image, status = excluded.status, build_id = excluded.build_id, lease_holder = excluded.lease_holder,
          lease_expires_at = excluded.lease_expires_at, failure = excluded.failure, built = coalesce(excluded.built, i.built),
          updated_at = excluded.updated_at, updated_position = excluded.updated_position
    ), pushed as (
      insert into ${sql.table(tables.image_pushes)} (position, canonical_hash, build_id, image_id, registry, repository, tag,
        reference, digest, pushed_at)
      select * from jsonb_to_recordset(${part("pushes")}) as t(position bigint, canonical_hash text, build_id text,
        image_id text, registry text, repository text, tag text, reference text, digest text, pushed_at timestamptz)
    ), builds_ as (
      insert into ${sql.table(tables.builds)} (build_id, canonical_hash, image, status, cause, no_cache, lease_holder,
        lease_expires_at, started_at, started_position, ended_at, failure, built, updated_position)
      select * from jsonb_to_recordset(${part("builds")}) as t(build_id text, canonical_hash text, image text, status text,
        cause text, no_cache boolean, lease_holder text, lease_expires_at timestamptz, started_at timestamptz,
        started_position bigint, ended_at timestamptz, failure jsonb, built jsonb, updated_position bigint)
    ), built_ as (
      update ${sql.table(tables.builds)} b
      set status = coalesce(t.status, b.status), lease_expires_at = coalesce(t.lease_expires_at, b.lease_expires_at),
        ended_at = coalesce(t.ended_at, b.ended_at), failure = coalesce(t.failure, b.failure), built = coalesce(t.built, b.built),
        updated_position = t.updated_position
      from jsonb_to_recordset(${part("buildUpdates")}) as t(build_id text, status text, lease_expires_at timestamptz,
        ended_at timestamptz, failure jsonb, built jsonb, updated_position bigint)
      where b.build_id = t.build_id
    ), labelled as (
      insert into ${sql.table(tables.environment_labels)} (workspace, name, label, version, moved_at, moved_by, position)
      select * from jsonb_to_recordset(${sql`${json(set)}::jsonb`}) as t(workspace text, name text, label text, version text,
        moved_at timestamptz, moved_by text, position bigint)
      on conflict (workspace, name, label) do update
        set version = excluded.version, moved_at = excluded.moved_at, moved_by = excluded.moved_by, position = excluded.position
    )${moved}
    insert into ${sql.table(tables.audit_trail)} (position, workspace, name, event_type, version, actor, occurred_at, correlation_id,
      causation_id, summary, details)
    select t.position, e.workspace, substr(e.stream, ${sql.lit(ENVIRONMENT_STREAM_PREFIX.length + 1)}), e.event_type, t.version,
      e.metadata->>'actor', e.occurred_at, e.metadata->>'correlationId', e.metadata->>'causationId', t.summary,
      -- details are JSON null rather than SQL NULL when an event has none
      case when t.stored then e.data else coalesce(t.details, 'null'::jsonb) end
    from jsonb_to_recordset(${part("audit")}) as t(position bigint, version text, summary text, stored boolean, details jsonb)
    join events e on e.position = t.position`.execute(db)
  // Each audit row needs its event in the log of this database: one missing means the projector
  // was handed events of another log (see `applyOps`); refuse rather than lose its row.
  const inserted = Number(result.numAffectedRows ?? 0)
  if (inserted !== batch.auditRows) {
    throw new Error(`${batch.auditRows - inserted} of ${batch.auditRows} projected events are not in this database's event log`)
  }
}

/**
 * Applies a prepared batch to the tables of `target`, with the same result as applying its
 * operations one by one in order, in at most two statements: read what the labels depend on (the
 * versions and `latest` of the streams whose latest it recomputes), fold the labels, then write
 * everything, and move `checkpoint` if given, in one statement.
 *
 * Inserts stay strict: every inserted row is in the multi-row INSERT, duplicates included, so
 * an event applied twice (across batches or within one) still fails on a key.
 *
 * @since 0.1.0
 * @category apply
 */
export const applyPrepared = async (
  db: Db,
  batch: PreparedBatch,
  target: ProjectionTarget = LIVE,
  checkpoint?: CheckpointMove
): Promise<void> => {
  const labels = batch.labelOps.length === 0 ? [] : foldLabels(batch.labelOps, await loadBefore(db, batch.recomputed, target))
  await write(db, batch, labels, target, checkpoint)
}

/**
 * Applies a batch of operations to the tables of `target` (the live read model by default):
 * `prepareBatch`, then `applyPrepared`.
 *
 * @since 0.1.0
 * @category apply
 */
export const applyOps = async (db: Db, ops: Iterable<RowOp>, target: ProjectionTarget = LIVE): Promise<void> => {
  await applyPrepared(db, prepareBatch([...ops]), target)
}
