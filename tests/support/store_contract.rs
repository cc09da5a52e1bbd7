//! The store contract, one check per behaviour, written against the library's public API so
//! that it runs on both backends from two places: on SQLite in the library's unit tests
//! (`src/store/tests.rs`), and on PostgreSQL in `tests/postgres/`, whose harness counts it as
//! not run when PostgreSQL's server programs are missing (a fresh database on the server that
//! `PATROL_TEST_PG_URL` names for each test).
#![allow(dead_code)]

use std::collections::HashSet;

use patrol::finding::{ChecksumStatus, CommitMeta, Fingerprint, Secret, VerificationStatus};
use patrol::store::postgres::{PgOptions, PgStore};
use patrol::store::sqlite::SqliteStore;
use patrol::store::*;

/// Runs `check` on a new SQLite store.
pub fn on_sqlite(store_secrets: bool, check: fn(&mut dyn Store, &str)) {
    let d = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&d.path().join("s.db"), store_secrets).unwrap();
    check(&mut s, "sqlite");
}

/// Runs `check` on a new PostgreSQL store in a fresh database.
pub fn on_postgres(test: &str, store_secrets: bool, check: fn(&mut dyn Store, &str)) {
    let mut p = pg(&pg_database(test), store_secrets, 600);
    check(&mut p, "postgres");
}

/// A fresh, empty PostgreSQL database on the test server, for one test: its URL.
pub fn pg_database(test: &str) -> String {
    let url = std::env::var("PATROL_TEST_PG_URL").expect("the harness sets PATROL_TEST_PG_URL");
    let (cfg, _) = patrol::store::postgres::config(&url).expect("PATROL_TEST_PG_URL");
    let mut c = cfg
        .connect(::postgres::NoTls)
        .expect("connect to PATROL_TEST_PG_URL");
    let name = format!(
        "t_{}_{:08x}",
        test.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(30)
            .collect::<String>()
            .to_lowercase(),
        uuid::Uuid::new_v4().as_u128() as u32
    );
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

fn pg(url: &str, store_secrets: bool, lease_secs: u64) -> PgStore {
    PgStore::open(
        url,
        &PgOptions {
            store_secrets,
            lease_secs,
            ..PgOptions::default()
        },
    )
    .unwrap()
}

/// The name to claim under: a shared backend's own worker name (its leases are checked
/// against it), any name for a single-process one.
pub fn me(s: &dyn Store) -> String {
    s.worker_id().unwrap_or_else(|| "w".into())
}

pub fn entry(key: &str) -> RepoEntry {
    RepoEntry {
        key: key.into(),
        clone_url: format!("https://example.com/{key}.git"),
        size: Some(42),
        is_fork: key.contains("fork"),
        parent: key.contains("fork").then(|| "a".to_string()),
        archived: false,
        skip: key.contains("skip").then(|| "disabled".to_string()),
    }
}

pub fn result(repo: &str) -> RepoResult {
    let fingerprint = Fingerprint("f1".into());
    RepoResult {
        tips: vec![("refs/heads/main".into(), "aa".into())],
        objects: vec!["b1".into(), "c1".into()],
        hits: vec![(
            "b1".into(),
            ObjectHit {
                fingerprint: fingerprint.clone(),
                rule: "r.x".into(),
                line: 1,
                column: 2,
                encoding: Some("base64"),
            },
        )],
        findings: vec![FindingRow {
            fingerprint: fingerprint.clone(),
            rule: "r.x".into(),
            name: "X".into(),
            provider: "r".into(),
            checksum: ChecksumStatus::None,
            secret: Secret::new("the-whole-secret-value"),
            redacted: "the-**************alue".into(),
        }],
        locations: vec![LocationRow {
            fingerprint: fingerprint.clone(),
            repo: repo.into(),
            commit: CommitMeta {
                id: "c1".into(),
                author_name: "A".into(),
                author_email: "a@example.com".into(),
                author_date: "2024-01-01T00:00:00Z".into(),
            },
            path: "p".into(),
            path_raw: None,
            line: 1,
            column: 2,
            encoding: None,
            object: "b1".into(),
        }],
        at_tip: vec![fingerprint],
        blobs: 1,
        bytes: 10,
    }
}

pub fn the_plan_is_claimed_once_each_and_a_repository_committed_twice_is_recorded_once(
    s: &mut dyn Store,
    b: &str,
) {
    assert!(s.unfinished_sweep("t").unwrap().is_none(), "{b}");
    let sw = s
        .begin_sweep("t", "rs", &[entry("a"), entry("fork-b"), entry("skip-c")])
        .unwrap();
    assert_eq!(s.unfinished_sweep("t").unwrap().unwrap().id, sw.id, "{b}");
    let plan = s.plan(sw.id).unwrap();
    assert_eq!(plan.len(), 3, "{b}");
    assert_eq!(plan[1].repo, entry("fork-b"), "{b}");
    assert!(plan.iter().all(|r| r.state == RepoState::Pending), "{b}");
    let mut claimed = Vec::new();
    while let Some(r) = s.claim_next(sw.id, &me(s)).unwrap() {
        claimed.push(r.key);
    }
    assert_eq!(claimed, ["a", "fork-b", "skip-c"], "{b}");
    assert!(
        !s.close_sweep(sw.id).unwrap(),
        "{b}: pending repositories keep it open"
    );
    s.commit_repo(sw.id, "a", "rs", &result("a")).unwrap();
    s.commit_repo(sw.id, "a", "rs", &result("a")).unwrap();
    s.finish_repo(sw.id, "fork-b", RepoState::Failed, Some("404"))
        .unwrap();
    s.finish_repo(sw.id, "skip-c", RepoState::Skipped, Some("disabled"))
        .unwrap();
    assert!(s.close_sweep(sw.id).unwrap(), "{b}");
    assert!(s.unfinished_sweep("t").unwrap().is_none(), "{b}");
    let f = s.findings(&FindingQuery::default()).unwrap();
    assert_eq!(f.len(), 1, "{b}");
    assert_eq!(f[0].locations.len(), 1, "{b}");
    assert_eq!(f[0].locations[0].repo, "a", "{b}");
    assert!(!f[0].secret_stored, "{b}");
    assert_eq!(f[0].row.secret.expose(), "the-**************alue", "{b}");
    assert!(f[0].at_tip, "{b}");
    assert_eq!(f[0].first_seen_sweep, sw.id, "{b}");
    let seen = s
        .seen_objects("rs", &["b1".into(), "b2".into(), "c1".into()], 0)
        .unwrap();
    assert_eq!(
        seen,
        HashSet::from(["b1".to_string(), "c1".to_string()]),
        "{b}"
    );
    assert!(
        s.seen_objects("other", &["b1".into()], 0)
            .unwrap()
            .is_empty(),
        "{b}"
    );
    let hits = s.object_hits("rs", &["b1".into(), "c1".into()]).unwrap();
    assert_eq!(hits, result("a").hits, "{b}");
    assert_eq!(s.watermark("a", "rs").unwrap(), result("a").tips, "{b}");
    assert!(s.watermark("a", "other").unwrap().is_empty(), "{b}");
    let st = s.status(None).unwrap();
    assert_eq!(st.sweep, sw.id, "{b}");
    assert!(st.complete, "{b}");
    assert_eq!(
        (
            st.repositories.listed,
            st.repositories.scanned,
            st.repositories.failed,
            st.repositories.skipped,
            st.repositories.pending
        ),
        (3, 1, 1, 1, 0),
        "{b}"
    );
    assert_eq!((st.blobs_scanned, st.bytes_scanned), (1, 10), "{b}");
    assert_eq!((st.findings, st.new_findings), (1, 1), "{b}");
    assert_eq!(st.not_scanned.len(), 2, "{b}");
    assert_eq!(st.not_scanned[0].reason, "404", "{b}");
}

pub fn whole_secrets_are_kept_only_when_asked_and_outcomes_merge(s: &mut dyn Store, b: &str) {
    let sw = s.begin_sweep("t", "rs", &[entry("a")]).unwrap();
    s.claim_next(sw.id, &me(s)).unwrap().unwrap();
    s.commit_repo(sw.id, "a", "rs", &result("a")).unwrap();
    assert!(s.stores_secrets(), "{b}");
    let f = s.findings(&FindingQuery::default()).unwrap();
    assert!(f[0].secret_stored, "{b}");
    assert_eq!(f[0].row.secret.expose(), "the-whole-secret-value", "{b}");
    s.record_outcome(
        &Fingerprint("f1".into()),
        &Outcome {
            status: VerificationStatus::Live,
            owner: Some("someone".into()),
            checked_at: "2024-01-01T00:00:00Z".into(),
            revoked_at: None,
        },
    )
    .unwrap();
    s.record_outcome(
        &Fingerprint("f1".into()),
        &Outcome {
            status: VerificationStatus::RevokedOrInvalid,
            owner: None,
            checked_at: "2024-01-02T00:00:00Z".into(),
            revoked_at: Some("2024-01-02T00:00:00Z".into()),
        },
    )
    .unwrap();
    let o = s.findings(&FindingQuery::default()).unwrap()[0]
        .outcome
        .clone()
        .unwrap();
    assert_eq!(o.status, VerificationStatus::RevokedOrInvalid, "{b}");
    assert_eq!(o.owner.as_deref(), Some("someone"), "{b}");
    assert!(o.revoked_at.is_some(), "{b}");
}

pub fn a_second_sweep_sees_old_findings_as_not_new(s: &mut dyn Store, b: &str) {
    let one = s.begin_sweep("t", "rs", &[entry("a")]).unwrap();
    s.claim_next(one.id, &me(s)).unwrap();
    s.commit_repo(one.id, "a", "rs", &result("a")).unwrap();
    assert!(s.close_sweep(one.id).unwrap());
    let two = s.begin_sweep("t", "rs", &[entry("a")]).unwrap();
    assert!(two.id > one.id, "{b}");
    s.claim_next(two.id, &me(s)).unwrap();
    s.finish_repo(two.id, "a", RepoState::Unchanged, None)
        .unwrap();
    assert!(s.close_sweep(two.id).unwrap());
    let all = s
        .findings(&FindingQuery {
            sweep: Some(two.id),
            only_new: false,
        })
        .unwrap();
    assert_eq!(all.len(), 1, "{b}");
    let new = s
        .findings(&FindingQuery {
            sweep: Some(two.id),
            only_new: true,
        })
        .unwrap();
    assert!(new.is_empty(), "{b}");
    let st = s.status(Some(two.id)).unwrap();
    assert_eq!((st.repositories.unchanged, st.new_findings), (1, 0), "{b}");
    assert!(s.sweep(Some(999)).is_err(), "{b}");
}

pub fn workers_share_a_plan_and_a_lost_lease_writes_nothing() {
    let url = pg_database("shared_leases");
    let mut a = pg(&url, false, 1);
    let mut b = pg(&url, false, 1);
    let wa = a.worker_id().unwrap();
    let wb = b.worker_id().unwrap();
    assert_ne!(wa, wb);
    let sw = a.begin_sweep("t", "rs", &[entry("a"), entry("b")]).unwrap();
    // The second worker finds the plan instead of writing another.
    let joined = b.begin_sweep("t", "rs", &[entry("zzz")]).unwrap();
    assert_eq!(joined.id, sw.id);
    assert_eq!(b.plan(sw.id).unwrap().len(), 2);
    let ra = a.claim_next(sw.id, &wa).unwrap().unwrap();
    let rb = b.claim_next(sw.id, &wb).unwrap().unwrap();
    assert_ne!(ra.key, rb.key);
    assert!(a.claim_next(sw.id, &wa).unwrap().is_none());
    assert_eq!(a.pending_elsewhere(sw.id, &wa).unwrap(), 1);
    // The heartbeat keeps a 1-second lease alive well past a second.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(a.claim_next(sw.id, &wa).unwrap().is_none());
    let fl = a.in_flight(sw.id).unwrap();
    assert_eq!(fl.len(), 2);
    assert!(fl.iter().all(|f| !f.expired && f.claims == 1));
    assert_eq!(
        a.workers(sw.id).unwrap().iter().filter(|w| w.live).count(),
        2
    );
    // b dies (no heartbeat): its lease runs out and a takes the repository.
    b.stop_heartbeat();
    let mut dead_b = b;
    let mut taken = None;
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        taken = a.claim_next(sw.id, &wa).unwrap();
        if taken.is_some() {
            break;
        }
    }
    assert_eq!(taken.unwrap().key, rb.key);
    // The dead worker's late commit writes nothing; the new holder's does.
    let e = dead_b
        .commit_repo(sw.id, &rb.key, "rs", &result(&rb.key))
        .unwrap_err();
    assert!(matches!(e, StoreError::LeaseLost { .. }), "{e}");
    assert!(dead_b
        .findings(&FindingQuery::default())
        .unwrap()
        .is_empty());
    assert!(dead_b
        .finish_repo(sw.id, &rb.key, RepoState::Failed, Some("x"))
        .is_err());
    a.commit_repo(sw.id, &rb.key, "rs", &result(&rb.key))
        .unwrap();
    a.finish_repo(sw.id, &ra.key, RepoState::Unchanged, None)
        .unwrap();
    assert!(a.close_sweep(sw.id).unwrap());
    let st = a.status(None).unwrap();
    assert_eq!((st.repositories.scanned, st.repositories.unchanged), (1, 1));
    let f = a.findings(&FindingQuery::default()).unwrap();
    assert_eq!((f.len(), f[0].locations.len()), (1, 1));
    let plan_claims: i64 = {
        let (cfg, _) = patrol::store::postgres::config(&url).unwrap();
        let mut c = cfg.connect(::postgres::NoTls).unwrap();
        c.query_one("SELECT sum(claims)::bigint FROM plan", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(
        plan_claims, 3,
        "one repository claimed twice, the other once"
    );
}

pub fn a_running_sweep_of_another_target_is_refused() {
    let url = pg_database("other_target");
    let mut a = pg(&url, false, 60);
    let wa = a.worker_id().unwrap();
    let sw = a.begin_sweep("ado:one", "rs", &[entry("a")]).unwrap();
    a.claim_next(sw.id, &wa).unwrap().unwrap();
    let mut b = pg(&url, false, 60);
    let e = b.begin_sweep("ado:two", "rs", &[entry("b")]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("is running in this database"), "{msg}");
    assert!(msg.contains("ado:one"), "{msg}");
}

pub fn a_newer_schema_is_refused_and_an_empty_database_gets_the_schema() {
    let url = pg_database("schema_versions");
    drop(pg(&url, false, 60));
    let (cfg, _) = patrol::store::postgres::config(&url).unwrap();
    let mut c = cfg.connect(::postgres::NoTls).unwrap();
    let v: i64 = c
        .query_one(
            "SELECT value FROM patrol_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(v, patrol::store::sqlite::SCHEMA_VERSION);
    c.execute(
        "UPDATE patrol_meta SET value = 99 WHERE key = 'schema_version'",
        &[],
    )
    .unwrap();
    let e = PgStore::open(&url, &PgOptions::default()).unwrap_err();
    assert!(matches!(e, StoreError::TooNew { found: 99, .. }), "{e}");
    let e = PgStore::open_existing(&url).unwrap_err();
    assert!(e.to_string().contains("newer than this patrol"), "{e}");
    let tables: i64 = c
        .query_one("SELECT count(*) FROM sweeps", &[])
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "nothing was changed");
    // A database with someone else's `sweeps` table is not taken over.
    let other = pg_database("schema_foreign");
    let (cfg, _) = patrol::store::postgres::config(&other).unwrap();
    let mut c = cfg.connect(::postgres::NoTls).unwrap();
    c.batch_execute("CREATE TABLE sweeps (x int)").unwrap();
    let e = PgStore::open(&other, &PgOptions::default()).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    let e = PgStore::open_existing(&other).unwrap_err();
    assert!(e.to_string().contains("no patrol datastore"), "{e}");
}

/// Rows as version 1 wrote them: one sweep of repository `a`, one finding, one location
/// decoded from a URL-encoded value.
pub const V1_ROWS: &str = "
INSERT INTO sweeps (target, ruleset, started_at) VALUES ('t', 'rs', '2024-01-01T00:00:00Z');
INSERT INTO plan (sweep, seq, repo, clone_url, is_fork, archived, state)
    VALUES (1, 0, 'a', 'https://example.com/a.git', false, false, 'scanned');
INSERT INTO findings VALUES ('f1', 'r.x', 'X', 'r', 'none', NULL, 'the-**************alue', 1,
    '2024-01-01T00:00:00Z');
INSERT INTO locations (fingerprint, repo, commit_id, path, line, col, encoding, author_name,
    author_email, author_date, object, first_seen_sweep)
    VALUES ('f1', 'a', 'c1', 'p', 1, 2, 'url', 'A', 'a@example.com', '2024-01-01T00:00:00Z',
    'b1', 1);
";

/// What a migrated version-1 datastore must do: show its rows as they were, then take a
/// second sweep whose location has a path that is not UTF-8, and give its bytes back.
pub fn check_migrated(s: &mut dyn Store, b: &str) {
    let old = s.findings(&FindingQuery::default()).unwrap();
    assert_eq!(old.len(), 1, "{b}");
    assert_eq!(old[0].row.fingerprint.as_str(), "f1", "{b}");
    assert_eq!(old[0].row.checksum, ChecksumStatus::None, "{b}");
    let l = &old[0].locations;
    assert_eq!(l.len(), 1, "{b}");
    assert_eq!(
        (l[0].path.as_str(), l[0].path_raw.as_ref()),
        ("p", None),
        "{b}"
    );
    assert_eq!(l[0].encoding, Some("url"), "{b}");
    assert!(s.close_sweep(1).unwrap(), "{b}");
    let sw = s.begin_sweep("t", "rs", &[entry("a")]).unwrap();
    assert!(sw.id > 1, "{b}");
    s.claim_next(sw.id, &me(s)).unwrap().unwrap();
    let mut res = result("a");
    let raw = b"caf\xe9.env".to_vec();
    res.locations[0].path = String::from_utf8_lossy(&raw).into_owned();
    res.locations[0].path_raw = Some(raw.clone());
    s.commit_repo(sw.id, "a", "rs", &res).unwrap();
    let f = s.findings(&FindingQuery::default()).unwrap();
    let raws: Vec<Option<&Vec<u8>>> = f[0].locations.iter().map(|l| l.path_raw.as_ref()).collect();
    assert_eq!(raws, [Some(&raw), None], "{b}");
    assert_eq!(s.status(None).unwrap().findings, 1, "{b}");
}

/// A datastore made by the previous patrol (schema version 1, its DDL copied into
/// `testdata/` as it was) still opens: SQLite is migrated on open, PostgreSQL with
/// `--migrate` (and, without it, is refused and left as it was).
pub fn a_version_1_datastore_is_migrated_and_keeps_its_rows_on_sqlite() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("v1.db");
    {
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch(include_str!("../../src/store/testdata/v1-sqlite.sql"))
            .unwrap();
        c.execute_batch(V1_ROWS).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
    }
    let mut s = SqliteStore::open(&p, false).unwrap();
    check_migrated(&mut s, "sqlite");
    drop(s);
    let v: i64 = rusqlite::Connection::open(&p)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, patrol::store::sqlite::SCHEMA_VERSION);
    assert_eq!(v, 2);
}

pub fn a_version_1_datastore_is_migrated_and_keeps_its_rows_on_postgres() {
    let url = pg_database("v1_migrated");
    let (cfg, _) = patrol::store::postgres::config(&url).unwrap();
    let mut c = cfg.connect(::postgres::NoTls).unwrap();
    c.batch_execute(include_str!("../../src/store/testdata/v1-postgres.sql"))
        .unwrap();
    c.batch_execute(V1_ROWS).unwrap();
    c.batch_execute("INSERT INTO patrol_meta (key, value) VALUES ('schema_version', 1)")
        .unwrap();
    let e = PgStore::open(&url, &PgOptions::default()).unwrap_err();
    assert!(e.to_string().contains("pass --migrate"), "{e}");
    let version = |c: &mut ::postgres::Client| -> i64 {
        c.query_one(
            "SELECT value FROM patrol_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(version(&mut c), 1, "nothing was changed");
    let mut s = PgStore::open(
        &url,
        &PgOptions {
            migrate: true,
            ..PgOptions::default()
        },
    )
    .unwrap();
    check_migrated(&mut s, "postgres");
    assert_eq!(version(&mut c), 2);
}
