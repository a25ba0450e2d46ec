-- The cache lookup of 0002 kept the image of a canonical hash on every registration of that hash,
-- so an ImageBuilt rewrote every row of its hash (and a registration looked the image up among
-- them): with many registrations sharing hashes, projecting the log grew with the square of its
-- length. The image now has one row per hash (cache_images), the registrations keep theirs
-- (cache_entries), and cache_lookup is a view that joins them into the rows it had before.
--
-- Every registration of a hash carried the same image (the newest built for it), so the images
-- are taken from the rows as they are and the read model needs no rebuild.

CREATE TABLE cache_images (
  canonical_hash text PRIMARY KEY,
  registry text NOT NULL,
  repository text NOT NULL,
  tag text NOT NULL,
  digest text NOT NULL,
  built_at timestamptz NOT NULL,
  build_id text NOT NULL
);

INSERT INTO cache_images (canonical_hash, registry, repository, tag, digest, built_at, build_id)
SELECT DISTINCT ON (canonical_hash) canonical_hash, registry, repository, tag, digest, built_at, build_id
FROM cache_lookup
WHERE digest IS NOT NULL AND registry IS NOT NULL AND repository IS NOT NULL AND tag IS NOT NULL
  AND built_at IS NOT NULL AND build_id IS NOT NULL
ORDER BY canonical_hash, built_at DESC;

ALTER TABLE cache_lookup RENAME TO cache_entries;
ALTER TABLE cache_entries DROP COLUMN registry, DROP COLUMN repository, DROP COLUMN tag, DROP COLUMN digest,
  DROP COLUMN built_at, DROP COLUMN build_id;

-- The shadows (see 0007): a rebuild starts by emptying them, so nothing is copied.
ALTER TABLE rebuild_cache_lookup RENAME TO rebuild_cache_entries;
ALTER TABLE rebuild_cache_entries DROP COLUMN registry, DROP COLUMN repository, DROP COLUMN tag, DROP COLUMN digest,
  DROP COLUMN built_at, DROP COLUMN build_id;
CREATE TABLE rebuild_cache_images (LIKE cache_images INCLUDING ALL);

CREATE VIEW cache_lookup AS
SELECT e.canonical_hash, e.workspace, e.name, e.version, e.registered_position,
       i.registry, i.repository, i.tag, i.digest, i.built_at, i.build_id
FROM cache_entries e
LEFT JOIN cache_images i ON i.canonical_hash = e.canonical_hash;
