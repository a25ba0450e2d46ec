/**
 * The Kysely row types of the projection tables created by `migrations/0002_projections.sql` (and
 * `0008_quarantined_events.sql`, `0010_image_builds.sql`, `0011_cache_images.sql`, `0012_image_pushes.sql`,
 * `0016_builds.sql`), and the names of their shadows (`0007_projection_rebuild_tables.sql`).
 *
 * Drivers disagree on `bigint`: node-postgres returns a string, PGlite a number. Select types say
 * so, and the read side converts with `Number`.
 *
 * @since 0.1.0
 */
import type { Build, BuildFailureRow, BuiltImageRow } from "@terrarium/domain"
import type { ColumnType } from "kysely"

/** A `bigint` column: whatever the driver returns, written as a number. @internal */
export type Int8 = ColumnType<number | string | bigint, number, number>
/** A `jsonb` column: parsed on read, written as JSON text. @internal */
export type Jsonb<A> = ColumnType<A, string, string>
/** A `timestamptz` column. @internal */
export type Timestamp = ColumnType<Date, Date, Date>

/** @since 0.1.0 @category tables */
export interface ProjectionTables {
  readonly projection_checkpoints: {
    name: string
    position: Int8
    updated_at: ColumnType<Date, Date | undefined, Date>
    /** The projection version that built the rows (migration 0009). */
    projection_version: number
  }
  readonly environments: {
    workspace: string
    name: string
    curated: boolean
    draft_type: string
    created_at: Timestamp
    created_by: string
    updated_at: Timestamp
    updated_position: Int8
  }
  readonly environment_versions: {
    workspace: string
    name: string
    version: string
    canonical_hash: string
    hash_algorithm: number
    environment_type: string
    description: string | null
    tags: Jsonb<Record<string, string>>
    created_at: Timestamp
    created_by: string
    registered_position: Int8
    archived: ColumnType<boolean, boolean | undefined, boolean>
    archived_at: ColumnType<Date | null, Date | null | undefined, Date | null>
  }
  readonly environment_labels: {
    workspace: string
    name: string
    label: string
    version: string
    moved_at: Timestamp
    moved_by: string
    position: Int8
  }
  /** One row per registration (migration 0011; was `cache_lookup`, with the image on every row). */
  readonly cache_entries: {
    canonical_hash: string
    workspace: string
    name: string
    version: string
    registered_position: Int8
  }
  /** The newest image built for a canonical hash (migration 0011). */
  readonly cache_images: {
    canonical_hash: string
    registry: string
    repository: string
    tag: string
    digest: string
    built_at: Timestamp
    build_id: string
  }
  /** A view: each entry with the image of its hash (migration 0011). */
  readonly cache_lookup: {
    canonical_hash: string
    workspace: string
    name: string
    version: string
    registered_position: Int8
    registry: string | null
    repository: string | null
    tag: string | null
    digest: string | null
    built_at: Date | null
    build_id: string | null
  }
  readonly audit_trail: {
    position: Int8
    workspace: string
    name: string
    event_type: string
    version: string | null
    actor: string
    occurred_at: Timestamp
    correlation_id: string
    causation_id: string | null
    summary: string
    details: Jsonb<unknown>
  }
  readonly quarantined_events: {
    position: Int8
    workspace: string
    name: string
    stream: string
    event_type: string
    schema_version: number
    error: string
    occurred_at: Timestamp
    actor: string
    voided_position: ColumnType<number | string | bigint | null, number | null | undefined, number | null>
    voided_at: ColumnType<Date | null, Date | null | undefined, Date | null>
    voided_by: string | null
    void_reason: string | null
  }
  /** The image cache (migration 0010). */
  readonly images: {
    canonical_hash: string
    image: string
    status: "building" | "built" | "failed"
    build_id: string
    lease_holder: string | null
    lease_expires_at: Date | null
    failure: Jsonb<(Omit<BuildFailureRow, "failedAt"> & { failedAt: string }) | null>
    built: Jsonb<(Omit<BuiltImageRow, "builtAt"> & { builtAt: string }) | null>
    updated_at: Timestamp
    updated_position: Int8
  }
  /** Every build, by id (migration 0016). */
  readonly builds: {
    build_id: string
    canonical_hash: string
    image: string
    status: "building" | "built" | "failed"
    cause: Build.StartCause
    no_cache: boolean
    lease_holder: string
    lease_expires_at: Timestamp
    started_at: Timestamp
    started_position: Int8
    ended_at: ColumnType<Date | null, Date | null | undefined, Date | null>
    failure: Jsonb<(Omit<BuildFailureRow, "failedAt"> & { failedAt: string }) | null>
    built: Jsonb<(Omit<BuiltImageRow, "builtAt"> & { builtAt: string }) | null>
    updated_position: Int8
  }
  /** The pushes of the hashes' images (migration 0012). */
  readonly image_pushes: {
    position: Int8
    canonical_hash: string
    build_id: string
    image_id: string
    registry: string
    repository: string
    tag: string
    reference: string
    digest: string
    pushed_at: Timestamp
  }
  readonly curated_catalog: {
    workspace: string
    name: string
    latest_version: string
    description: string | null
    tags: Record<string, string>
    canonical_hash: string
    hash_algorithm: number
    latest_created_at: Date
  }
}

/**
 * The tables a rebuild replaces, children before parents (there are no foreign keys, but the
 * order is the one to keep if some are added).
 *
 * @since 0.1.0
 * @category tables
 */
export const PROJECTION_TABLES = [
  "builds", "image_pushes", "images", "quarantined_events", "audit_trail", "cache_images", "cache_entries", "environment_labels",
  "environment_versions", "environments"
] as const

/** @since 0.1.0 @category tables */
export type ProjectionTable = typeof PROJECTION_TABLES[number]

/**
 * The shadow of a projection table (`migrations/0007_projection_rebuild_tables.sql`): same
 * shape, where a rebuild builds the read model before swapping it in.
 *
 * @since 0.1.0
 * @category tables
 */
export const shadowOf = <T extends ProjectionTable>(table: T): `rebuild_${T}` => `rebuild_${table}`
