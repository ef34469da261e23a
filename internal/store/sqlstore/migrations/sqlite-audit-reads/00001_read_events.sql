-- +goose Up
-- The read-event audit chain (SQLite only): the same tables as the main
-- chain's, in a file of their own so that writing read events never changes
-- the directory's file (ADR 0003).
CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY,
    event_id      TEXT NOT NULL UNIQUE,
    event_time    INTEGER NOT NULL,
    event_source  TEXT NOT NULL,
    event_name    TEXT NOT NULL,
    read_only     INTEGER NOT NULL,
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
CREATE INDEX audit_events_time ON audit_events(event_time);
CREATE INDEX audit_events_name ON audit_events(event_name, event_time);
CREATE INDEX audit_events_source ON audit_events(event_source, event_time);
CREATE INDEX audit_events_resource ON audit_events(resource_id, event_time);
CREATE INDEX audit_events_resource_name ON audit_events(resource_name, event_time);
CREATE INDEX audit_events_user ON audit_events(user_name, event_time);
CREATE INDEX audit_events_error ON audit_events(error_code, event_time) WHERE error_code IS NOT NULL;
CREATE INDEX audit_events_directory ON audit_events(directory_id, event_time);

CREATE TABLE audit_chain_cuts (
    cut_at    INTEGER NOT NULL,
    first_seq INTEGER NOT NULL PRIMARY KEY,
    prev_hash TEXT NOT NULL,
    pruned    INTEGER NOT NULL
);

-- +goose Down
-- Forward-only: no down migration.
