-- The image cache: one row per canonical hash, projected from its build stream (`build/<hash>` in
-- the workspace `*`, packages/domain/src/Build.ts). It says whether the hash is being built (and
-- who holds the lease until when), built (the image and what it holds, as the last ImageBuilt
-- recorded it, drift included) or failed (the reason, the step, the log). The lookup before a
-- build and `image list` read it; the build stream stays the authority for who may build.
--
-- `built` outlives a later failure or a rebuild in progress: it is the last image built, still
-- on the engine unless pruned (the app checks the engine before it answers from the cache).

CREATE TABLE images (
  canonical_hash text PRIMARY KEY,
  image text NOT NULL,
  status text NOT NULL CHECK (status IN ('building', 'built', 'failed')),
  build_id text NOT NULL,
  lease_holder text,
  lease_expires_at timestamptz,
  failure jsonb,
  built jsonb,
  updated_at timestamptz NOT NULL,
  updated_position bigint NOT NULL
);

-- Its shadow, for rebuilds (see 0007_projection_rebuild_tables.sql).
CREATE TABLE rebuild_images (LIKE images INCLUDING ALL);
