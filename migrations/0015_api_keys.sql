-- API keys of the HTTP API (`terrarium apikey create --workspace W`): each opens one workspace.
-- Only the SHA-256 of a key is kept: the key itself is shown once, when it is made. A key has
-- 256 random bits, so a fast hash is enough (no password to guess). Not an event-sourced record:
-- a key is a credential, not a fact of the registry's history, and a revoked key's hash stays so
-- that the list says who made it and when it was revoked.

CREATE TABLE api_keys (
  id text PRIMARY KEY,
  workspace text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  description text,
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  revoked_at timestamptz
);

CREATE INDEX api_keys_workspace ON api_keys (workspace);
