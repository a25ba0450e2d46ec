-- Events the projector could not decode because their row is damaged (a known type and schema
-- version whose data does not match), set aside so that one bad row no longer stops every read
-- of every workspace. Nothing is skipped silently: each is listed here (and in `db status`, and
-- in the audit trail) until an `EventVoided` event of its stream resolves it; until then its
-- stream cannot be folded. A row this code is too old to read still stops the projector.
--
-- A projection table like those of 0002: rebuilt from the log, so it has a shadow (see 0007).

CREATE TABLE quarantined_events (
  position bigint PRIMARY KEY,
  workspace text NOT NULL,
  name text NOT NULL,
  stream text NOT NULL,
  event_type text NOT NULL,
  schema_version integer NOT NULL,
  error text NOT NULL,
  occurred_at timestamptz NOT NULL,
  actor text NOT NULL,
  -- The EventVoided that resolved it; all null while unresolved.
  voided_position bigint,
  voided_at timestamptz,
  voided_by text,
  void_reason text
);
CREATE INDEX quarantined_events_workspace ON quarantined_events (workspace, position);

CREATE TABLE rebuild_quarantined_events (LIKE quarantined_events INCLUDING ALL);
