-- +goose Up
-- The access model: accounts, permission sets and assignments, per directory.
-- Foreign keys keep every reference an assignment holds valid (NO ACTION is
-- checked at the end of each statement, so deleting a whole directory, which
-- cascades to all of these tables at once, still works); the store removes
-- assignments explicitly, with an audit event each, before it deletes what
-- they name.

-- An account is a target: an AWS account (id = 12-digit account id) or any
-- other kind of target with a stable id. name_ci carries the case-insensitive
-- uniqueness of names within a directory.
CREATE TABLE accounts (
    directory_id TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_ci      TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    tags         TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    modified_at  INTEGER NOT NULL,
    PRIMARY KEY (directory_id, id)
);
CREATE UNIQUE INDEX accounts_name ON accounts(directory_id, name_ci);

-- Policies, boundary and tags are small JSON documents (at most 20 policies);
-- the inline policy is kept exactly as given.
CREATE TABLE permission_sets (
    id                TEXT PRIMARY KEY,
    directory_id      TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    name_ci           TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    session_duration  TEXT NOT NULL,
    relay_state       TEXT NOT NULL DEFAULT '',
    managed_policies  TEXT NOT NULL DEFAULT '[]',
    customer_policies TEXT NOT NULL DEFAULT '[]',
    inline_policy     TEXT NOT NULL DEFAULT '',
    boundary          TEXT NOT NULL DEFAULT '',
    tags              TEXT NOT NULL DEFAULT '{}',
    version           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    modified_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX permission_sets_name ON permission_sets(directory_id, name_ci);

-- An assignment names its principal twice: principal_id for uniqueness and
-- lookups, and user_id or group_id for the foreign key to the right table.
CREATE TABLE account_assignments (
    id                TEXT PRIMARY KEY,
    directory_id      TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    account_id        TEXT NOT NULL,
    permission_set_id TEXT NOT NULL REFERENCES permission_sets(id),
    principal_type    TEXT NOT NULL,
    principal_id      TEXT NOT NULL,
    user_id           TEXT REFERENCES users(id),
    group_id          TEXT REFERENCES groups(id),
    created_at        INTEGER NOT NULL,
    FOREIGN KEY (directory_id, account_id) REFERENCES accounts(directory_id, id),
    CHECK ((principal_type = 'USER' AND user_id = principal_id AND group_id IS NULL)
        OR (principal_type = 'GROUP' AND group_id = principal_id AND user_id IS NULL))
);
CREATE UNIQUE INDEX account_assignments_key ON account_assignments(directory_id, account_id, permission_set_id, principal_type, principal_id);
CREATE INDEX account_assignments_permission_set ON account_assignments(permission_set_id);
CREATE INDEX account_assignments_principal ON account_assignments(directory_id, principal_id);
CREATE INDEX account_assignments_user ON account_assignments(user_id);
CREATE INDEX account_assignments_group ON account_assignments(group_id);

-- +goose Down
-- Forward-only: no down migration.
