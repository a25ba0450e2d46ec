-- Shadow tables for rebuilding the projections of 0002_projections.sql without readers ever
-- seeing them empty or half built.
--
-- A rebuild replays the log into these tables, batch by batch, with its own checkpoint row
-- (projection_checkpoints.name = 'environments:rebuild'), while the live tables keep serving reads
-- and keep following the log. Then one transaction replaces the rows of each live table with the
-- rows of its shadow and moves the live checkpoint, so a reader sees either the old read model or
-- the rebuilt one (packages/adapters/src/projections/Projector.ts). Between rebuilds they are empty.
--
-- LIKE … INCLUDING ALL copies columns, defaults, CHECK constraints and indexes, primary keys
-- included, so an event applied twice fails here as it would in the live table. A later
-- migration that changes a projection table must change its shadow the same way: the test
-- "every projection table has a shadow of the same shape" fails until it does.

CREATE TABLE rebuild_environments (LIKE environments INCLUDING ALL);
CREATE TABLE rebuild_environment_versions (LIKE environment_versions INCLUDING ALL);
CREATE TABLE rebuild_environment_labels (LIKE environment_labels INCLUDING ALL);
CREATE TABLE rebuild_cache_lookup (LIKE cache_lookup INCLUDING ALL);
CREATE TABLE rebuild_audit_trail (LIKE audit_trail INCLUDING ALL);
