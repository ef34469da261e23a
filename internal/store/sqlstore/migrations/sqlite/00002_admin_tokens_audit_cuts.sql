-- +goose Up
-- Admin API bearer tokens (gatehouse admin token create); hashed like SCIM
-- tokens. directory_id is empty for a token valid for every directory.
CREATE TABLE admin_tokens (
    id           TEXT PRIMARY KEY,
    directory_id TEXT NOT NULL DEFAULT '',
    secret_hash  TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
);

-- Where retention cut the audit chain: verification of the remaining events
-- starts at first_seq, whose previous hash must equal prev_hash.
CREATE TABLE audit_chain_cuts (
    cut_at    INTEGER NOT NULL,
    first_seq INTEGER NOT NULL PRIMARY KEY,
    prev_hash TEXT NOT NULL,
    pruned    INTEGER NOT NULL
);

-- +goose Down
-- Forward-only: no down migration.
