-- +goose Up
-- A directory-wide change sequence: every write to a user or group takes the
-- next value inside its transaction (the counter row serialises writers, so
-- sequence order is commit order) and deletions leave tombstones. The
-- provisioning engine's incremental cycles read "everything after my watermark".
CREATE TABLE change_counter (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO change_counter (name, value) VALUES ('directory', 0);

ALTER TABLE users ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_change_seq ON users(directory_id, change_seq);
CREATE INDEX groups_change_seq ON groups(directory_id, change_seq);

CREATE TABLE directory_tombstones (
    directory_id TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    change_seq   INTEGER NOT NULL,
    deleted_at   INTEGER NOT NULL
);
CREATE INDEX directory_tombstones_seq ON directory_tombstones(directory_id, change_seq);

-- +goose Down
-- Forward-only: no down migration.
