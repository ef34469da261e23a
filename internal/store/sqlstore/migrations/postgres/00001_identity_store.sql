-- +goose Up
-- Timestamps are Unix microseconds (UTC) in both dialects so that ordering,
-- filters and round trips behave identically on SQLite and PostgreSQL.
CREATE TABLE directories (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    profile     TEXT NOT NULL,
    settings    JSONB NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);

CREATE TABLE scim_tokens (
    id           TEXT PRIMARY KEY,
    directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    secret_hash  TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX scim_tokens_directory ON scim_tokens(directory_id);

-- user_name_ci is userName case-folded by the application (Unicode-aware and
-- identical for both dialects); it carries the case-insensitive uniqueness.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    directory_id    TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    user_name       TEXT NOT NULL,
    user_name_ci    TEXT NOT NULL,
    external_id     TEXT,
    display_name    TEXT,
    display_name_ci TEXT,
    active          BOOLEAN NOT NULL,
    attrs           JSONB NOT NULL,
    password_hash   TEXT,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    modified_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_user_name ON users(directory_id, user_name_ci);
CREATE INDEX users_external_id ON users(directory_id, external_id);
CREATE INDEX users_display_name ON users(directory_id, display_name_ci);
CREATE INDEX users_modified ON users(directory_id, modified_at);
CREATE INDEX users_created ON users(directory_id, created_at);
CREATE INDEX users_directory_id ON users(directory_id, id);

-- emails.value is the second matching attribute clients use; it gets its own
-- indexed rows instead of a scan over the JSON document.
CREATE TABLE user_emails (
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ord          INTEGER NOT NULL,
    directory_id TEXT NOT NULL,
    value        TEXT NOT NULL,
    value_ci     TEXT NOT NULL,
    type         TEXT,
    is_primary   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, ord)
);
CREATE INDEX user_emails_value ON user_emails(directory_id, value_ci);

CREATE TABLE groups (
    id              TEXT PRIMARY KEY,
    directory_id    TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    display_name    TEXT NOT NULL,
    display_name_ci TEXT NOT NULL,
    external_id     TEXT,
    attrs           JSONB NOT NULL,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    modified_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_display_name ON groups(directory_id, display_name_ci);
CREATE INDEX groups_external_id ON groups(directory_id, external_id);
CREATE INDEX groups_modified ON groups(directory_id, modified_at);
CREATE INDEX groups_directory_id ON groups(directory_id, id);

-- Memberships are edges, indexed both ways: adding 100 members to a group of
-- 100k costs 100 index inserts, and "which groups is X in" is one lookup.
CREATE TABLE group_members (
    group_id     TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL,
    member_type  TEXT NOT NULL,
    directory_id TEXT NOT NULL,
    display      TEXT,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members(member_id, group_id);

-- The audit trail: one row per event, hash-chained by sequence.
CREATE TABLE audit_events (
    seq           BIGINT PRIMARY KEY,
    event_id      TEXT NOT NULL UNIQUE,
    event_time    BIGINT NOT NULL,
    event_source  TEXT NOT NULL,
    event_name    TEXT NOT NULL,
    read_only     BOOLEAN NOT NULL,
    directory_id  TEXT,
    principal_id  TEXT,
    user_name     TEXT,
    resource_id   TEXT,
    resource_name TEXT,
    error_code    TEXT,
    request_id    TEXT,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX audit_events_time ON audit_events(event_time, seq);
CREATE INDEX audit_events_name ON audit_events(event_name, event_time, seq);
CREATE INDEX audit_events_source ON audit_events(event_source, event_time, seq);
CREATE INDEX audit_events_resource ON audit_events(resource_id, event_time, seq);
CREATE INDEX audit_events_resource_name ON audit_events(resource_name, event_time, seq);
CREATE INDEX audit_events_user ON audit_events(user_name, event_time, seq);
CREATE INDEX audit_events_error ON audit_events(error_code, event_time, seq) WHERE error_code IS NOT NULL;
CREATE INDEX audit_events_directory ON audit_events(directory_id, event_time, seq);

-- +goose Down
-- Forward-only: no down migration.
