-- The PostgreSQL datastore schema, version 2 (see SCHEMA_VERSION in postgres.rs): what an
-- empty database gets at once. An older one gets the upgrade steps of postgres.rs (--migrate).
-- The tables are SQLite's (schema/sqlite.sql) in this dialect, plus the lease columns and
-- `workers` that sharing needs.
CREATE TABLE patrol_meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE sweeps (
    id BIGSERIAL PRIMARY KEY,
    target TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    complete BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE plan (
    sweep BIGINT NOT NULL REFERENCES sweeps(id),
    seq BIGINT NOT NULL,
    repo TEXT NOT NULL,
    clone_url TEXT NOT NULL,
    size BIGINT,
    is_fork BOOLEAN NOT NULL,
    parent TEXT,
    archived BOOLEAN NOT NULL,
    skip TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    lease_holder TEXT,
    lease_since TIMESTAMPTZ,
    lease_until TIMESTAMPTZ,
    claims BIGINT NOT NULL DEFAULT 0,
    finished_by TEXT,
    blobs BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    finished_at TEXT,
    PRIMARY KEY (sweep, repo)
);
CREATE INDEX plan_pending ON plan (sweep, seq) WHERE state = 'pending';
CREATE INDEX plan_repo ON plan (repo);
CREATE TABLE workers (
    worker TEXT PRIMARY KEY,
    sweep BIGINT,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_secs BIGINT NOT NULL
);
CREATE TABLE watermarks (
    repo TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    ref TEXT NOT NULL,
    oid TEXT NOT NULL,
    PRIMARY KEY (repo, ruleset, ref)
);
CREATE TABLE objects (
    ruleset TEXT NOT NULL,
    oid TEXT NOT NULL,
    sweep BIGINT NOT NULL,
    PRIMARY KEY (ruleset, oid)
);
CREATE TABLE object_hits (
    ruleset TEXT NOT NULL,
    oid TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    rule TEXT NOT NULL,
    line BIGINT NOT NULL,
    col BIGINT NOT NULL,
    encoding TEXT,
    PRIMARY KEY (ruleset, oid, fingerprint, line, col)
);
CREATE TABLE findings (
    fingerprint TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    checksum TEXT NOT NULL,
    secret TEXT,
    redacted TEXT NOT NULL,
    first_seen_sweep BIGINT NOT NULL,
    first_seen_at TEXT NOT NULL
);
CREATE TABLE locations (
    fingerprint TEXT NOT NULL,
    repo TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    path TEXT NOT NULL,
    line BIGINT NOT NULL,
    col BIGINT NOT NULL,
    encoding TEXT,
    author_name TEXT NOT NULL,
    author_email TEXT NOT NULL,
    author_date TEXT NOT NULL,
    object TEXT NOT NULL,
    first_seen_sweep BIGINT NOT NULL,
    -- The exact path bytes when they are not UTF-8 (`path` holds them lossily); version 2.
    path_raw BYTEA,
    PRIMARY KEY (fingerprint, repo, commit_id, path, line, col)
);
CREATE INDEX locations_repo ON locations (repo);
CREATE TABLE at_tip (
    repo TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (repo, fingerprint)
);
CREATE TABLE outcomes (
    fingerprint TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    owner TEXT,
    checked_at TEXT NOT NULL,
    revoked_at TEXT
);
