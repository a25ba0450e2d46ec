-- The event log: one append-only table holding every stream of every workspace.
--
-- `position` is the global order: dense from 1 and assigned by `events_append` below under a
-- per-table advisory lock, so positions become visible strictly in order and a reader that
-- follows `position > checkpoint` never skips an event committed late (see docs/event-store.md).
-- The same SQL runs on PostgreSQL and on PGlite.

CREATE TABLE events (
  position       bigint      PRIMARY KEY CHECK (position > 0),
  workspace      text        NOT NULL,
  stream         text        NOT NULL,
  stream_version integer     NOT NULL CHECK (stream_version > 0),
  event_id       uuid        NOT NULL,
  event_type     text        NOT NULL,
  schema_version integer     NOT NULL,
  data           jsonb       NOT NULL,
  -- { actor, correlationId, causationId }
  metadata       jsonb       NOT NULL,
  occurred_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_event_id_key UNIQUE (event_id),
  -- Also the index for reading one stream in order and for finding its current version.
  CONSTRAINT events_stream_version_key UNIQUE (workspace, stream, stream_version)
);

-- positionAt(date): occurred_at never decreases along position (events_append ensures it), so
-- the last event at or before a time is one backward index probe.
CREATE INDEX events_occurred_at_idx ON events (occurred_at, position);

-- The log is immutable: refuse UPDATE, DELETE and TRUNCATE whatever the caller's privileges.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'restrict_violation',
          HINT = 'Record a compensating event instead of changing history.';
END
$$;

CREATE TRIGGER events_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Append a batch of appends in one statement (and so, in autocommit, one round trip and one
-- commit). `batch` is a JSON array of
--   { "workspace", "stream", "expected": int | null (null = any),
--     "events": [{ "id", "type", "schemaVersion", "data", "metadata" }] }
-- and the result is an array in the same order of
--   { "ok": true, "version", "position" }  or  { "ok": false, "actual" }  (wrong expected version).
-- A failing append is skipped and the others are written: each append is checked on its own.
--
-- Why a function: in READ COMMITTED each statement inside a PL/pgSQL function takes a fresh
-- snapshot, so the lookups that follow the advisory lock see every append committed before the
-- lock was granted. Inside a single plain statement the snapshot predates the lock and
-- max(position) could be stale.
CREATE FUNCTION events_append(batch jsonb) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  last_position   bigint;
  last_at         timestamptz;
  stamp           timestamptz;
  item            jsonb;
  current_version integer;
  n               integer;
  results         jsonb := '[]'::jsonb;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'events_append needs READ COMMITTED isolation, not %',
      current_setting('transaction_isolation');
  END IF;

  -- Serialise appenders on this table until commit. The lock is released only after the
  -- transaction is visible, so the next appender's snapshot below includes it.
  PERFORM pg_advisory_xact_lock('events'::regclass::oid::bigint);

  SELECT e.position, e.occurred_at INTO last_position, last_at
    FROM events e ORDER BY e.position DESC LIMIT 1;
  last_position := coalesce(last_position, 0);
  -- Keep occurred_at monotonic along position even if the clock steps back.
  -- Milliseconds, as a JS Date holds: positionAt(e.occurredAt) must include e.
  stamp := greatest(date_trunc('milliseconds', clock_timestamp()), coalesce(last_at, '-infinity'::timestamptz));

  FOR item IN SELECT value FROM jsonb_array_elements(batch) LOOP
    -- ORDER BY … LIMIT 1 rather than max(): without statistics (a young table) the planner
    -- turns max() into a forward scan of the whole stream; this is one backward index probe.
    SELECT e.stream_version INTO current_version
      FROM events e WHERE e.workspace = item->>'workspace' AND e.stream = item->>'stream'
      ORDER BY e.stream_version DESC LIMIT 1;
    current_version := coalesce(current_version, 0);

    IF jsonb_typeof(item->'expected') = 'number' AND (item->>'expected')::integer <> current_version THEN
      results := results || jsonb_build_array(jsonb_build_object('ok', false, 'actual', current_version));
      CONTINUE;
    END IF;

    INSERT INTO events (position, workspace, stream, stream_version, event_id, event_type,
                        schema_version, data, metadata, occurred_at)
    SELECT last_position + e.ordinality, item->>'workspace', item->>'stream',
           current_version + e.ordinality, (e.value->>'id')::uuid, e.value->>'type',
           (e.value->>'schemaVersion')::integer, e.value->'data', e.value->'metadata', stamp
      FROM jsonb_array_elements(item->'events') WITH ORDINALITY AS e(value, ordinality);
    GET DIAGNOSTICS n = ROW_COUNT;

    last_position := last_position + n;
    results := results || jsonb_build_array(jsonb_build_object(
      'ok', true, 'version', current_version + n, 'position', last_position));
  END LOOP;

  RETURN results;
END
$$;
