-- Scoped admin API keys (`/v1/admin/api-keys`): only a SHA-256 digest of
-- each key is kept (keys are 32 random bytes, so a plain digest suffices);
-- `prefix` is the key's first characters, shown so the operator can tell
-- keys apart. A revoked key stays listed, marked, and never authenticates.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_digest    BLOB NOT NULL UNIQUE CHECK (length(key_digest) = 32),
    scopes        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
) STRICT;
