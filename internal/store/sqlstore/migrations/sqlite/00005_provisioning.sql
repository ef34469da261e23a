-- +goose Up
-- The provisioning engine: applications (jobs) with their assignments, the
-- engine state per application (watermark, lease, quarantine), the link store
-- (source id <-> target id plus the attribute values last sent), the group
-- membership shadow, the write-ahead journal of creates and deletes, escrows,
-- staged deletes, cycles and per-object provisioning logs.
CREATE TABLE prov_apps (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    directory_id   TEXT NOT NULL REFERENCES directories(id) ON DELETE CASCADE,
    target_url     TEXT NOT NULL,
    target_profile TEXT NOT NULL,
    token_sealed   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    interval_ms    INTEGER NOT NULL,
    enabled        BOOLEAN NOT NULL,
    settings       TEXT NOT NULL,
    schema_doc     TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    modified_at    INTEGER NOT NULL
);
CREATE INDEX prov_apps_directory ON prov_apps(directory_id);

CREATE TABLE prov_assignments (
    app_id      TEXT NOT NULL REFERENCES prov_apps(id) ON DELETE CASCADE,
    object_id   TEXT NOT NULL,
    object_type TEXT NOT NULL,
    display     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, object_id)
);

CREATE TABLE prov_state (
    app_id           TEXT PRIMARY KEY REFERENCES prov_apps(id) ON DELETE CASCADE,
    watermark        INTEGER NOT NULL DEFAULT 0,
    schema_version   INTEGER NOT NULL DEFAULT 0,
    last_full_at     INTEGER,
    next_run_at      INTEGER,
    run_requested    BOOLEAN NOT NULL DEFAULT FALSE,
    quarantine       TEXT,
    deletes_approved BOOLEAN NOT NULL DEFAULT FALSE,
    last_cycle_id    TEXT,
    lease_owner      TEXT,
    lease_expires    INTEGER
);

CREATE TABLE prov_links (
    app_id      TEXT NOT NULL REFERENCES prov_apps(id) ON DELETE CASCADE,
    source_id   TEXT NOT NULL,
    object_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    display     TEXT NOT NULL,
    origin      TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    exported    TEXT NOT NULL,
    synced_at   INTEGER NOT NULL,
    PRIMARY KEY (app_id, source_id)
);
CREATE INDEX prov_links_target ON prov_links(app_id, target_id);

CREATE TABLE prov_members (
    app_id    TEXT NOT NULL REFERENCES prov_apps(id) ON DELETE CASCADE,
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (app_id, group_id, member_id)
);

CREATE TABLE prov_journal (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES prov_apps(id) ON DELETE CASCADE,
    cycle_id    TEXT NOT NULL,
    object_type TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    op          TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX prov_journal_app ON prov_journal(app_id);

CREATE TABLE prov_escrow (
    app_id          TEXT NOT NULL REFERENCES prov_apps(id) ON DELETE CASCADE,
    source_id       TEXT NOT NULL,
    object_type     TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    first_failed_at INTEGER NOT NULL,
    next_retry_at   INTEGER NOT NULL,
    code            TEXT NOT NULL,
    error           TEXT NOT NULL,
    PRIMARY KEY (app_id, source_id)
);

CREATE TABLE prov_staged (
    app_id      TEXT NOT NULL REFERENCES prov_apps(id) ON DELETE CASCADE,
    source_id   TEXT NOT NULL,
    object_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    display     TEXT NOT NULL,
    action      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    cycle_id    TEXT NOT NULL,
    staged_at   INTEGER NOT NULL,
    PRIMARY KEY (app_id, source_id)
);

CREATE TABLE prov_cycles (
    id             TEXT PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES prov_apps(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    trigger_name   TEXT NOT NULL,
    dry_run        BOOLEAN NOT NULL,
    status         TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    ended_at       INTEGER,
    watermark_from INTEGER NOT NULL,
    watermark_to   INTEGER NOT NULL,
    counts         TEXT NOT NULL,
    requests       INTEGER NOT NULL,
    error          TEXT NOT NULL,
    progress       TEXT NOT NULL
);
CREATE INDEX prov_cycles_app ON prov_cycles(app_id, started_at);

-- seq orders entries (newest first) and is the paging cursor.
CREATE TABLE prov_logs (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    app_id         TEXT NOT NULL REFERENCES prov_apps(id) ON DELETE CASCADE,
    cycle_id       TEXT NOT NULL,
    at             INTEGER NOT NULL,
    object_type    TEXT NOT NULL,
    source_id      TEXT NOT NULL,
    source_name_ci TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    action         TEXT NOT NULL,
    status         TEXT NOT NULL,
    error_code     TEXT NOT NULL,
    body           TEXT NOT NULL
);
CREATE INDEX prov_logs_app ON prov_logs(app_id, seq);
CREATE INDEX prov_logs_cycle ON prov_logs(cycle_id, seq);
CREATE INDEX prov_logs_source ON prov_logs(app_id, source_id, seq);
CREATE INDEX prov_logs_name ON prov_logs(app_id, source_name_ci, seq);
CREATE INDEX prov_logs_at ON prov_logs(at);

-- +goose Down
-- Forward-only: no down migration.
