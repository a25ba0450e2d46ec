/**
 * The curated catalog: the environments that ship with Terrarium (AzureML's curated environments,
 * `AzureML-…`), published into the log as ordinary environment events (`Defined`, `Registered`,
 * with `curated: true`) in a workspace of their own, `azureml` (the name of AzureML's own registry
 * of curated environments), readable from every workspace and read-only for users.
 *
 * A release of the catalog is a set of `name:version` entries, each with its definition and the
 * canonical hash it must have. Publishing a release registers each entry at its exact version: a
 * version that is already registered with the same content is left as it is; one registered with
 * other content is refused (versions are immutable) and reported, never rewritten. That the
 * release was published is recorded on the catalog's own stream (`catalog/curated`, which the
 * environment projections skip) by a `CuratedCatalogPublished` event: every start compares the
 * release it ships with the last one recorded there, one short read, and reads the catalog's
 * data only when they differ.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Sha256Digest } from "./CanonicalHash.ts"
import { Definition, EnvironmentName, VersionString } from "./Definition.ts"
import type { StreamRef } from "./ports/EventStore.ts"

/**
 * The workspace the curated catalog is published in; users cannot write to it.
 *
 * @since 0.1.0
 * @category catalog
 */
export const CURATED_WORKSPACE = "azureml"

/**
 * The stream that records each release of the catalog published into this database.
 *
 * @since 0.1.0
 * @category catalog
 */
export const catalogStream: StreamRef = { workspace: CURATED_WORKSPACE, stream: "catalog/curated" }

/**
 * One curated version of a release: `name:version` with its definition and its canonical hash.
 *
 * @since 0.1.0
 * @category catalog
 */
export const CatalogEntry = Schema.Struct({
  name: EnvironmentName,
  version: VersionString,
  canonicalHash: Sha256Digest,
  definition: Definition
})
export type CatalogEntry = typeof CatalogEntry.Type

/**
 * A release of the catalog, as its data file holds it (`packages/app/catalog/`).
 *
 * @since 0.1.0
 * @category catalog
 */
export const CatalogRelease = Schema.Struct({
  format: Schema.Literal(1),
  release: Schema.String,
  source: Schema.Struct({ repository: Schema.String, commit: Schema.String }),
  environments: Schema.Array(CatalogEntry)
})
export type CatalogRelease = typeof CatalogRelease.Type

/**
 * A curated version a release could not publish, and why (its version is registered with other
 * content, or its stored hash is not its definition's).
 *
 * @since 0.1.0
 * @category catalog
 */
export const CatalogRefusal = Schema.Struct({ name: Schema.String, version: Schema.String, reason: Schema.String })
export type CatalogRefusal = typeof CatalogRefusal.Type

/**
 * A release of the curated catalog was published into this database: which release (and the
 * digest of its data), the versions it added, and the ones it refused.
 *
 * @since 0.1.0
 * @category catalog
 */
export class CuratedCatalogPublished extends Schema.TaggedClass<CuratedCatalogPublished>()("CuratedCatalogPublished", {
  release: Schema.String,
  digest: Sha256Digest,
  versions: Schema.Int,
  added: Schema.Array(Schema.Struct({ name: Schema.String, version: Schema.String })),
  refused: Schema.Array(CatalogRefusal)
}) {}

/** @since 0.1.0 @category catalog */
export const CuratedCatalogPublishedJson = Schema.toCodecJson(CuratedCatalogPublished)
