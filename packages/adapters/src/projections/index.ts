/**
 * Read models projected from the event log: the projector and the queries.
 *
 * @since 0.1.0
 */
export { Projections, ProjectionError, type ProjectionsOptions } from "./Projector.ts"
export {
  ReadModel,
  type AuditEntry,
  type CacheEntryRow,
  type CuratedCatalogRow,
  type EnvironmentSummary,
  type ImageRow,
  type LabelRow,
  type VersionRow
} from "./Queries.ts"
export { project, summarize, shortHash, envelopeOf, type Envelope, type RowOp } from "./Projection.ts"
