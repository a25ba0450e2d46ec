-- The pushes of the image cache: one row per ImagePushed of a build stream (`build/<hash>`,
-- packages/domain/src/Build.ts), by log position: the reference (`registry/repository:tag`) the
-- image was pushed as, the manifest digest the registry stored, and which build's image it was.
-- `image show`, `image list` and `environment show` print them; the build stream stays the
-- authority (a build that finds its image gone pulls it by digest from there: docs/images.md).
--
-- No event before this migration projects into it, so an existing read model needs no rebuild
-- (the projection version stays): the table starts empty and only ImagePushed fills it.

CREATE TABLE image_pushes (
  position bigint PRIMARY KEY,
  canonical_hash text NOT NULL,
  build_id text NOT NULL,
  image_id text NOT NULL,
  registry text NOT NULL,
  repository text NOT NULL,
  tag text NOT NULL,
  reference text NOT NULL,
  digest text NOT NULL,
  pushed_at timestamptz NOT NULL
);

CREATE INDEX image_pushes_by_hash ON image_pushes (canonical_hash, position);

-- Its shadow, for rebuilds (see 0007_projection_rebuild_tables.sql).
CREATE TABLE rebuild_image_pushes (LIKE image_pushes INCLUDING ALL);
