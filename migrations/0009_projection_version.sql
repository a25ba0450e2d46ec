-- The version of the projection code that built each read model (PROJECTION_VERSION in
-- packages/adapters/src/read-model/Projection.ts), beside how far it has applied the log. A
-- release that changes what the projection produces, or adds an upcaster, bumps that constant;
-- a projector that finds another version here knows the stored rows are stale and rebuilds them
-- (shadow tables of 0007, atomic swap) before it serves a read.
--
-- The rows that exist when this migration runs were built by version 1: the projection had not
-- changed since it was introduced. The default is for them only; the projector always writes its
-- own version, for the live checkpoint ('environments') and the rebuild's ('environments:rebuild').

ALTER TABLE projection_checkpoints ADD COLUMN projection_version integer NOT NULL DEFAULT 1;
