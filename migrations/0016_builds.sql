-- Every build ever started, one row per build id, projected from the build streams (`build/<hash>`
-- in the workspace `*`, packages/domain/src/Build.ts): its hash, why it started (`cause`), its
-- lease while it runs, and how it ended (the image it made, or why it failed). The image cache
-- (`images`, 0010) keeps only the last build of each hash; `GET /builds/{id}` and the build list
-- of a version (docs/http-api.md) read this table, so that earlier builds of a hash (failed ones,
-- rebuilds, builds a later one superseded) are found with their own status and log.
--
-- The rows come from events already in the log: the projection version moves with this table
-- (PROJECTION_VERSION 2), so a stored read model is rebuilt from the log, which fills it.

CREATE TABLE builds (
  build_id text PRIMARY KEY,
  canonical_hash text NOT NULL,
  image text NOT NULL,
  status text NOT NULL CHECK (status IN ('building', 'built', 'failed')),
  cause text NOT NULL,
  no_cache boolean NOT NULL,
  lease_holder text NOT NULL,
  lease_expires_at timestamptz NOT NULL,
  started_at timestamptz NOT NULL,
  started_position bigint NOT NULL,
  ended_at timestamptz,
  failure jsonb,
  built jsonb,
  updated_position bigint NOT NULL
);

CREATE INDEX builds_by_hash ON builds (canonical_hash, started_position);

-- Its shadow, for rebuilds (see 0007_projection_rebuild_tables.sql).
CREATE TABLE rebuild_builds (LIKE builds INCLUDING ALL);
