-- Read models (projections) derived from the event log.
--
-- Every table here is disposable: the projector can clear them all and replay the log from
-- position 0 to get an identical result. Nothing here is ever the source of truth, so nothing
-- here is ever written except by the projector (packages/adapters/src/projections).
--
-- Positions are bigint like the log's global position. The SQL is plain PostgreSQL that PGlite
-- runs unchanged: no functions, no triggers, one statement per semicolon.

-- How far each projection has applied the log. The projector locks its row (SELECT ... FOR
-- UPDATE) in the same transaction that applies a batch and advances the position, so a batch is
-- applied exactly once even with several projector processes.
CREATE TABLE projection_checkpoints (
  name text PRIMARY KEY,
  position bigint NOT NULL DEFAULT 0 CHECK (position >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per environment stream, registered or still a draft.
-- draft_type is the type of the newest definition seen (Defined, Redefined or Registered).
CREATE TABLE environments (
  workspace text NOT NULL,
  name text NOT NULL,
  curated boolean NOT NULL,
  draft_type text NOT NULL CHECK (draft_type IN ('curated', 'user-managed', 'system-managed')),
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  updated_at timestamptz NOT NULL,
  updated_position bigint NOT NULL,
  PRIMARY KEY (workspace, name)
);

-- Version history: one row per Registered event, archived / restored in place.
CREATE TABLE environment_versions (
  workspace text NOT NULL,
  name text NOT NULL,
  version text NOT NULL,
  canonical_hash text NOT NULL,
  hash_algorithm integer NOT NULL,
  environment_type text NOT NULL CHECK (environment_type IN ('curated', 'user-managed', 'system-managed')),
  description text,
  tags jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  registered_position bigint NOT NULL UNIQUE,
  archived boolean NOT NULL DEFAULT false,
  archived_at timestamptz,
  PRIMARY KEY (workspace, name, version)
);
CREATE INDEX environment_versions_newest ON environment_versions (workspace, name, registered_position);

-- Labels, including the derived label "latest": the projector recomputes it after every
-- Registered, Archived and Restored so that it is always the newest non-archived version
-- (and absent when every version is archived). Storing it keeps reads to one lookup.
CREATE TABLE environment_labels (
  workspace text NOT NULL,
  name text NOT NULL,
  label text NOT NULL,
  version text NOT NULL,
  moved_at timestamptz NOT NULL,
  moved_by text NOT NULL,
  position bigint NOT NULL,
  PRIMARY KEY (workspace, name, label)
);

-- Canonical hash -> every registered version with that hash, with the newest image built for
-- it. An image is keyed by content, so an ImageBuilt fills the image columns of every row with
-- its hash, and a later registration of the same hash starts with that image.
CREATE TABLE cache_lookup (
  canonical_hash text NOT NULL,
  workspace text NOT NULL,
  name text NOT NULL,
  version text NOT NULL,
  registered_position bigint NOT NULL,
  registry text,
  repository text,
  tag text,
  digest text,
  built_at timestamptz,
  build_id text,
  PRIMARY KEY (canonical_hash, workspace, name, version)
);

-- One human-readable line per event, in log order.
CREATE TABLE audit_trail (
  position bigint PRIMARY KEY,
  workspace text NOT NULL,
  name text NOT NULL,
  event_type text NOT NULL,
  version text,
  actor text NOT NULL,
  occurred_at timestamptz NOT NULL,
  correlation_id text NOT NULL,
  causation_id text,
  summary text NOT NULL,
  details jsonb NOT NULL
);
CREATE INDEX audit_trail_stream ON audit_trail (workspace, name, position);

-- Curated environments at their latest version: a view, so a rebuild has nothing to clear.
CREATE VIEW curated_catalog AS
SELECT v.workspace, v.name, v.version AS latest_version, v.description, v.tags,
       v.canonical_hash, v.hash_algorithm, v.created_at AS latest_created_at
FROM environment_labels l
JOIN environment_versions v
  ON v.workspace = l.workspace AND v.name = l.name AND v.version = l.version
WHERE l.label = 'latest' AND v.environment_type = 'curated';
