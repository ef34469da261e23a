-- +goose Up
-- App roles: an assignment may carry the name of an app role; the users it
-- brings into scope (directly or through the assigned group) have that role,
-- which SingleAppRoleAssignment and AppRoleAssignmentsComplex map. Empty: no
-- role (every assignment made before this migration).
ALTER TABLE prov_assignments ADD COLUMN role TEXT NOT NULL DEFAULT '';

-- Why an application was disabled by the engine (JSON: reason, detail, at),
-- e.g. after more than four weeks in quarantine; cleared when it is started
-- again. NULL: not disabled by the engine.
ALTER TABLE prov_state ADD COLUMN disabled TEXT;

-- +goose Down
-- Forward-only: no down migration.
