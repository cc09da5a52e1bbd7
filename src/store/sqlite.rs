//! The SQLite datastore (rusqlite, bundled SQLite): one file, WAL, mode 0600, a schema version
//! in `PRAGMA user_version` with forward migrations. One connection, used by one thread (the
//! sweep's writer); readers (`sweep status`, `report`) open their own.
//!
//! Opening never changes a file it cannot read: the header, the schema version and the tables
//! are checked on a read-only connection first, so a datastore from a newer patrol or a
//! damaged file is an error that leaves the file exactly as it was.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::common::{self, Cols, Dialect, Totals, ENTRY_COLS, HIT_COLS, SWEEP_COLS};
use super::{
    FindingQuery, ObjectHit, Outcome, PlanRow, RefTip, RepoEntry, RepoResult, RepoState, Store,
    StoreError, StoredFinding, SweepInfo, SweepStatus,
};
use crate::clock;
use crate::finding::Fingerprint;

/// The schema a new file gets, whole (version [`SCHEMA_VERSION`]).
const SCHEMA: &str = include_str!("schema/sqlite.sql");

/// `UPGRADES[n - 1]` takes a file from version `n` to `n + 1`.
const UPGRADES: &[&str] = &[
    // 2: the exact bytes of a path that is not UTF-8.
    "ALTER TABLE locations ADD COLUMN path_raw BLOB;",
];

/// The schema this build writes: version 1 and one more per upgrade step.
pub const SCHEMA_VERSION: i64 = 1 + UPGRADES.len() as i64;

const DIALECT: Dialect = Dialect {
    param: "?",
    collate: "",
};

/// The SQLite backend.
pub struct SqliteStore {
    conn: Connection,
    path: String,
    store_secrets: bool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (or creates, mode 0600) the datastore at `path`, migrating an older schema.
    /// `store_secrets`: keep whole secrets (`--store-secrets`).
    pub fn open(path: &Path, store_secrets: bool) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let exists = path.exists();
        if exists {
            check_readable(path, &name)?;
        } else {
            create_private(path).map_err(|e| StoreError::Db {
                path: name.clone(),
                reason: format!("cannot create: {e}"),
            })?;
        }
        let conn = Connection::open(path).map_err(|e| db(&name, e))?;
        let s = Self {
            conn,
            path: name,
            store_secrets,
        };
        s.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| db(&s.path, e))?;
        s.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| db(&s.path, e))?;
        s.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| db(&s.path, e))?;
        s.migrate()?;
        Ok(s)
    }

    /// Opens an existing datastore for reading only (`sweep status`, `report`).
    pub fn open_existing(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        if !path.exists() {
            return Err(StoreError::Invalid {
                path: name,
                reason: "no such datastore (run `patrol sweep` first)".into(),
            });
        }
        check_readable(path, &name)?;
        let conn = Connection::open(path).map_err(|e| db(&name, e))?;
        let v = version(&conn).map_err(|e| corrupt(&name, e))?;
        if v < SCHEMA_VERSION {
            return Err(StoreError::Invalid {
                path: name,
                reason: format!(
                    "schema version {v} is older than {SCHEMA_VERSION}: run `patrol sweep` once to migrate it"
                ),
            });
        }
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| db(&name, e))?;
        Ok(Self {
            conn,
            path: name,
            store_secrets: false,
        })
    }

    /// Gives a new file the whole schema, or takes an older one up step by step, each step
    /// in its own transaction with its version.
    fn migrate(&self) -> Result<(), StoreError> {
        let v = version(&self.conn).map_err(|e| corrupt(&self.path, e))?;
        let steps: Vec<(&str, i64)> = if v == 0 {
            vec![(SCHEMA, SCHEMA_VERSION)]
        } else {
            UPGRADES
                .iter()
                .zip(2..)
                .skip(v as usize - 1)
                .map(|(sql, to)| (*sql, to))
                .collect()
        };
        let e = |e| db(&self.path, e);
        for (sql, to) in steps {
            let tx = self.conn.unchecked_transaction().map_err(e)?;
            tx.execute_batch(sql).map_err(e)?;
            tx.pragma_update(None, "user_version", to).map_err(e)?;
            tx.commit().map_err(e)?;
        }
        Ok(())
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| db(&self.path, e)
    }
}

/// Creates an empty file readable and writable by its owner only, so the database (and the
/// `-wal` / `-shm` files SQLite creates with the same mode) never exists world-readable.
fn create_private(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map(drop)
}

/// Read-only checks of an existing file: SQLite header, schema version, our tables.
fn check_readable(path: &Path, name: &str) -> Result<(), StoreError> {
    let mut head = [0u8; 16];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| StoreError::Db {
            path: name.to_string(),
            reason: e.to_string(),
        })?;
        f.read(&mut head).unwrap_or(0)
    };
    if n == 0 {
        // An empty file is what `create_private` leaves before the first write.
        return Ok(());
    }
    if n < 16 || head != *b"SQLite format 3\0" {
        return Err(StoreError::Corrupt {
            path: name.to_string(),
            reason: "not an SQLite database".into(),
        });
    }
    let ro = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| corrupt(name, e))?;
    let v = version(&ro).map_err(|e| corrupt(name, e))?;
    if v > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: name.to_string(),
            found: v,
            supported: SCHEMA_VERSION,
        });
    }
    let check: String = ro
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| corrupt(name, e))?;
    if check != "ok" {
        return Err(StoreError::Corrupt {
            path: name.to_string(),
            reason: check,
        });
    }
    if v >= 1 {
        ro.query_row("SELECT count(*) FROM sweeps", [], |r| r.get::<_, i64>(0))
            .map_err(|e| corrupt(name, e))?;
    }
    Ok(())
}

fn version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA user_version", [], |r| r.get(0))
}

fn db(path: &str, e: rusqlite::Error) -> StoreError {
    StoreError::Db {
        path: path.to_string(),
        reason: e.to_string(),
    }
}

fn corrupt(path: &str, e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt {
        path: path.to_string(),
        reason: e.to_string(),
    }
}

impl Cols for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.get(i)
    }
    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        self.get(i)
    }
    fn flag(&self, i: usize) -> rusqlite::Result<bool> {
        Ok(self.get::<_, i64>(i)? != 0)
    }
    fn opt_bytes(&self, i: usize) -> rusqlite::Result<Option<Vec<u8>>> {
        self.get(i)
    }
}

impl Store for SqliteStore {
    fn unfinished_sweep(&self, target: &str) -> Result<Option<SweepInfo>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {SWEEP_COLS} FROM sweeps
                     WHERE target = ?1 AND complete = 0 ORDER BY id DESC LIMIT 1"
                ),
                [target],
                |r| common::sweep_info(r),
            )
            .optional()
            .map_err(self.err())
    }

    fn begin_sweep(
        &mut self,
        target: &str,
        ruleset: &str,
        plan: &[RepoEntry],
    ) -> Result<SweepInfo, StoreError> {
        let path = self.path.clone();
        let e = |e| db(&path, e);
        let tx = self.conn.transaction().map_err(e)?;
        let started = clock::now_precise();
        tx.execute(
            "INSERT INTO sweeps (target, ruleset, started_at) VALUES (?1, ?2, ?3)",
            params![target, ruleset, started],
        )
        .map_err(e)?;
        let id = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare(
                    "INSERT OR IGNORE INTO plan (sweep, seq, repo, clone_url, size, is_fork, parent,
                     archived, skip, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
                )
                .map_err(e)?;
            for (i, r) in plan.iter().enumerate() {
                st.execute(params![
                    id,
                    i as i64,
                    r.key,
                    r.clone_url,
                    r.size.map(|s| s as i64),
                    r.is_fork as i64,
                    r.parent,
                    r.archived as i64,
                    r.skip,
                ])
                .map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        Ok(SweepInfo {
            id,
            target: target.to_string(),
            ruleset: ruleset.to_string(),
            started_at: started,
            complete: false,
        })
    }

    fn plan(&self, sweep: i64) -> Result<Vec<PlanRow>, StoreError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {ENTRY_COLS}, state, reason FROM plan WHERE sweep = ?1 ORDER BY seq"
            ))
            .map_err(self.err())?;
        let rows = st
            .query_map([sweep], |r| common::plan_row(r))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    fn claim_next(&mut self, sweep: i64, worker: &str) -> Result<Option<RepoEntry>, StoreError> {
        // One process owns a SQLite sweep: the lease only says who holds the repository, and
        // a pending repository whose holder died is simply taken again by the next run.
        let path = self.path.clone();
        let e = |e| db(&path, e);
        let tx = self.conn.transaction().map_err(e)?;
        let next = tx
            .query_row(
                &format!(
                    "SELECT {ENTRY_COLS} FROM plan WHERE sweep = ?1 AND state = 'pending'
                     AND (lease_holder IS NULL OR lease_holder <> ?2) ORDER BY seq LIMIT 1"
                ),
                params![sweep, worker],
                |r| common::repo_entry(r),
            )
            .optional()
            .map_err(e)?;
        if let Some(r) = &next {
            tx.execute(
                "UPDATE plan SET lease_holder = ?3, lease_until = ?4 WHERE sweep = ?1 AND repo = ?2",
                params![sweep, r.key, worker, clock::minutes_from_now(10)],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(next)
    }

    fn watermark(&self, repo: &str, ruleset: &str) -> Result<Vec<RefTip>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT ref, oid FROM watermarks WHERE repo = ?1 AND ruleset = ?2 ORDER BY ref",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map([repo, ruleset], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    fn seen_objects(
        &self,
        ruleset: &str,
        objects: &[String],
        since: i64,
    ) -> Result<HashSet<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT 1 FROM objects WHERE ruleset = ?1 AND oid = ?2 AND sweep >= ?3")
            .map_err(self.err())?;
        let mut out = HashSet::new();
        for o in objects {
            if st.exists(params![ruleset, o, since]).map_err(self.err())? {
                out.insert(o.clone());
            }
        }
        Ok(out)
    }

    fn object_hits(
        &self,
        ruleset: &str,
        objects: &[String],
    ) -> Result<Vec<(String, ObjectHit)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT oid, {HIT_COLS} FROM object_hits WHERE ruleset = ?1 AND oid = ?2"
            ))
            .map_err(self.err())?;
        let mut out = Vec::new();
        for o in objects {
            let rows = st
                .query_map([ruleset, o], |r| common::object_hit(r))
                .map_err(self.err())?;
            for h in rows {
                out.push(h.map_err(self.err())?);
            }
        }
        Ok(out)
    }

    fn commit_repo(
        &mut self,
        sweep: i64,
        repo: &str,
        ruleset: &str,
        res: &RepoResult,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let e = |e| db(&path, e);
        let keep = self.store_secrets;
        let at = clock::now_precise();
        let tx = self.conn.transaction().map_err(e)?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO objects (ruleset, oid, sweep) VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET sweep = excluded.sweep",
                )
                .map_err(e)?;
            for o in &res.objects {
                st.execute(params![ruleset, o, sweep]).map_err(e)?;
            }
            let mut st = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO object_hits (ruleset, oid, fingerprint, line, col, encoding, rule)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(e)?;
            for (o, h) in &res.hits {
                st.execute(params![
                    ruleset,
                    o,
                    h.fingerprint.as_str(),
                    h.line as i64,
                    h.column as i64,
                    h.encoding,
                    h.rule.as_str()
                ])
                .map_err(e)?;
            }
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO findings (fingerprint, rule, name, provider, checksum, secret,
                     redacted, first_seen_sweep, first_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (fingerprint) DO UPDATE SET secret = COALESCE(findings.secret, excluded.secret)",
                )
                .map_err(e)?;
            for f in &res.findings {
                let secret = keep.then_some(f.secret.expose());
                st.execute(params![
                    f.fingerprint.as_str(),
                    f.rule.as_str(),
                    f.name,
                    f.provider.as_str(),
                    f.checksum.as_str(),
                    secret,
                    f.redacted,
                    sweep,
                    at
                ])
                .map_err(e)?;
            }
            let mut st = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO locations (fingerprint, repo, commit_id, path, line, col,
                     encoding, author_name, author_email, author_date, object, first_seen_sweep,
                     path_raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(e)?;
            for l in &res.locations {
                st.execute(params![
                    l.fingerprint.as_str(),
                    repo,
                    l.commit.id,
                    l.path,
                    l.line as i64,
                    l.column as i64,
                    l.encoding,
                    l.commit.author_name,
                    l.commit.author_email,
                    l.commit.author_date,
                    l.object,
                    sweep,
                    l.path_raw
                ])
                .map_err(e)?;
            }
            tx.execute("DELETE FROM at_tip WHERE repo = ?1", [repo])
                .map_err(e)?;
            let mut st = tx
                .prepare_cached("INSERT OR IGNORE INTO at_tip (repo, fingerprint) VALUES (?1, ?2)")
                .map_err(e)?;
            for f in &res.at_tip {
                st.execute([repo, f.as_str()]).map_err(e)?;
            }
            tx.execute(
                "DELETE FROM watermarks WHERE repo = ?1 AND ruleset = ?2",
                [repo, ruleset],
            )
            .map_err(e)?;
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO watermarks (repo, ruleset, ref, oid) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(e)?;
            for (r, o) in &res.tips {
                st.execute([repo, ruleset, r, o]).map_err(e)?;
            }
        }
        // Only blobs count as `blobs_scanned`; commit and tag ids (their messages) do not.
        tx.execute(
            "UPDATE plan SET state = 'scanned', reason = NULL, lease_holder = NULL,
             blobs = ?3, bytes = ?4, finished_at = ?5 WHERE sweep = ?1 AND repo = ?2",
            params![sweep, repo, res.blobs as i64, res.bytes as i64, at],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    fn finish_repo(
        &mut self,
        sweep: i64,
        repo: &str,
        state: RepoState,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE plan SET state = ?3, reason = ?4, lease_holder = NULL, finished_at = ?5
                 WHERE sweep = ?1 AND repo = ?2",
                params![sweep, repo, state.as_str(), reason, clock::now_precise()],
            )
            .map(drop)
            .map_err(self.err())
    }

    fn close_sweep(&mut self, sweep: i64) -> Result<bool, StoreError> {
        let pending: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM plan WHERE sweep = ?1 AND state = 'pending'",
                [sweep],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        if pending == 0 {
            self.conn
                .execute(
                    "UPDATE sweeps SET complete = 1, finished_at = ?2 WHERE id = ?1",
                    params![sweep, clock::now_precise()],
                )
                .map_err(self.err())?;
        }
        Ok(pending == 0)
    }

    fn sweep(&self, sweep: Option<i64>) -> Result<SweepInfo, StoreError> {
        let r = match sweep {
            Some(id) => self.conn.query_row(
                &format!("SELECT {SWEEP_COLS} FROM sweeps WHERE id = ?1"),
                [id],
                |r| common::sweep_info(r),
            ),
            None => self.conn.query_row(
                &format!("SELECT {SWEEP_COLS} FROM sweeps ORDER BY id DESC LIMIT 1"),
                [],
                |r| common::sweep_info(r),
            ),
        };
        r.optional()
            .map_err(self.err())?
            .ok_or_else(|| common::no_sweep(&self.path, sweep))
    }

    fn status(&self, sweep: Option<i64>) -> Result<SweepStatus, StoreError> {
        let info = self.sweep(sweep)?;
        let plan = self.plan(info.id)?;
        let totals = self
            .conn
            .query_row(&common::totals_sql(&DIALECT), [info.id], |r| {
                Totals::read(r)
            })
            .map_err(self.err())?;
        Ok(common::status(info, plan, totals))
    }

    fn findings(&self, q: &FindingQuery) -> Result<Vec<StoredFinding>, StoreError> {
        let info = self.sweep(q.sweep)?;
        let mut st = self
            .conn
            .prepare(&common::findings_sql(&DIALECT))
            .map_err(self.err())?;
        let findings = st
            .query_map(params![info.id, q.only_new], |r| common::stored_finding(r))
            .map_err(self.err())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err())?;
        let mut st = self
            .conn
            .prepare(&common::locations_sql(&DIALECT))
            .map_err(self.err())?;
        let locations = st
            .query_map([info.id], |r| common::location_row(r))
            .map_err(self.err())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err())?;
        Ok(common::group(findings, locations))
    }

    fn record_outcome(&mut self, fingerprint: &Fingerprint, o: &Outcome) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO outcomes (fingerprint, status, owner, checked_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (fingerprint) DO UPDATE SET status = excluded.status,
                   owner = COALESCE(excluded.owner, outcomes.owner), checked_at = excluded.checked_at,
                   revoked_at = COALESCE(excluded.revoked_at, outcomes.revoked_at)",
                params![
                    fingerprint.as_str(),
                    o.status.as_str(),
                    o.owner,
                    o.checked_at,
                    o.revoked_at
                ],
            )
            .map(drop)
            .map_err(self.err())
    }

    fn stores_secrets(&self) -> bool {
        self.store_secrets
    }
}

/// The default datastore path: `./patrol-sweep.db`.
pub fn default_path() -> PathBuf {
    PathBuf::from("patrol-sweep.db")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{entry, result};

    #[test]
    fn a_repository_committed_twice_is_recorded_once_and_secrets_stay_out_unless_asked() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.db");
        let mut s = SqliteStore::open(&p, false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let sw = s.begin_sweep("t", "rs", &[entry("a")]).unwrap();
        assert_eq!(s.claim_next(sw.id, "w").unwrap().unwrap().key, "a");
        s.commit_repo(sw.id, "a", "rs", &result("a")).unwrap();
        s.commit_repo(sw.id, "a", "rs", &result("a")).unwrap();
        assert!(s.close_sweep(sw.id).unwrap());
        let f = s.findings(&FindingQuery::default()).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].locations.len(), 1);
        assert!(!f[0].secret_stored);
        assert_eq!(f[0].row.secret.expose(), "the-**************alue");
        assert!(f[0].at_tip);
        let seen = s
            .seen_objects("rs", &["b1".into(), "b2".into()], 0)
            .unwrap();
        assert_eq!(seen, HashSet::from(["b1".to_string()]));
        assert!(s
            .seen_objects("other", &["b1".into()], 0)
            .unwrap()
            .is_empty());
        assert!(s
            .seen_objects("rs", &["b1".into()], sw.id + 1)
            .unwrap()
            .is_empty());
        assert_eq!(s.watermark("a", "rs").unwrap(), result("a").tips);
        let st = s.status(None).unwrap();
        assert_eq!(
            (st.repositories.scanned, st.blobs_scanned, st.findings),
            (1, 1, 1)
        );
        drop(s);
        let bytes = std::fs::read(&p).unwrap();
        assert!(!bytes.windows(22).any(|w| w == b"the-whole-secret-value"));
    }

    #[test]
    fn a_datastore_from_a_newer_patrol_is_refused_and_left_unchanged() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.db");
        drop(SqliteStore::open(&p, false).unwrap());
        {
            let c = Connection::open(&p).unwrap();
            c.pragma_update(None, "journal_mode", "DELETE").unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        let before = std::fs::read(&p).unwrap();
        let e = SqliteStore::open(&p, false).unwrap_err();
        assert!(matches!(e, StoreError::TooNew { found: 99, .. }), "{e}");
        assert!(e.to_string().contains("newer than this patrol supports"));
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }
}
