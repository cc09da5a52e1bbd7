-- The SQLite datastore schema, version 2 (see SCHEMA_VERSION in sqlite.rs): what a new
-- file gets at once. An older file gets the upgrade steps of sqlite.rs instead.
CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE plan (
    sweep INTEGER NOT NULL REFERENCES sweeps(id),
    seq INTEGER NOT NULL,
    repo TEXT NOT NULL,
    clone_url TEXT NOT NULL,
    size INTEGER,
    is_fork INTEGER NOT NULL,
    parent TEXT,
    archived INTEGER NOT NULL,
    skip TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    lease_holder TEXT,
    lease_until TEXT,
    blobs INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT,
    PRIMARY KEY (sweep, repo)
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
    sweep INTEGER NOT NULL,
    PRIMARY KEY (ruleset, oid)
) WITHOUT ROWID;
CREATE TABLE object_hits (
    ruleset TEXT NOT NULL,
    oid TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    rule TEXT NOT NULL,
    line INTEGER NOT NULL,
    col INTEGER NOT NULL,
    encoding TEXT,
    PRIMARY KEY (ruleset, oid, fingerprint, line, col)
) WITHOUT ROWID;
CREATE TABLE findings (
    fingerprint TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    checksum TEXT NOT NULL,
    secret TEXT,
    redacted TEXT NOT NULL,
    first_seen_sweep INTEGER NOT NULL,
    first_seen_at TEXT NOT NULL
);
CREATE TABLE locations (
    fingerprint TEXT NOT NULL,
    repo TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    col INTEGER NOT NULL,
    encoding TEXT,
    author_name TEXT NOT NULL,
    author_email TEXT NOT NULL,
    author_date TEXT NOT NULL,
    object TEXT NOT NULL,
    first_seen_sweep INTEGER NOT NULL,
    -- The exact path bytes when they are not UTF-8 (`path` holds them lossily); version 2.
    path_raw BLOB,
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
