-- +goose Up
-- Admin API bearer tokens (gatehouse admin token create); hashed like SCIM
-- tokens. directory_id is empty for a token valid for every directory.
CREATE TABLE admin_tokens (
    id           TEXT PRIMARY KEY,
    directory_id TEXT NOT NULL DEFAULT '',
    secret_hash  TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

-- Where retention cut the audit chain: verification of the remaining events
-- starts at first_seq, whose previous hash must equal prev_hash.
CREATE TABLE audit_chain_cuts (
    cut_at    BIGINT NOT NULL,
    first_seq BIGINT NOT NULL PRIMARY KEY,
    prev_hash TEXT NOT NULL,
    pruned    BIGINT NOT NULL
);

-- +goose Down
-- Forward-only: no down migration.
