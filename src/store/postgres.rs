//! The PostgreSQL datastore: the SQLite schema and behaviour behind the same [`Store`] trait,
//! shared by many workers on many machines (the `postgres` crate, synchronous).
//!
//! What sharing adds to the single-process contract of [`super`]:
//! - **Leases.** [`Store::claim_next`] takes one pending repository with `SELECT ... FOR
//!   UPDATE SKIP LOCKED` and leases it to this worker for `lease` seconds. A heartbeat
//!   thread with its own connection renews every lease this worker holds (and its row in
//!   `workers`) every third of the lease, so short leases work while a repository is being
//!   fetched or scanned. A worker that dies stops renewing; once its lease is past, another
//!   worker's `claim_next` takes the repository.
//! - **Ownership checked at commit.** [`Store::commit_repo`] and [`Store::finish_repo`] lock
//!   the plan row and write only while this worker still holds its lease: a worker whose
//!   lease expired and was taken by another gets [`StoreError::LeaseLost`] and nothing is
//!   written, so nothing is recorded twice.
//! - **One plan.** [`Store::begin_sweep`] runs under an advisory lock: the first worker writes
//!   the plan, the others find it and join. A running sweep of another target in the same
//!   database is an error.
//! - **Reconnects.** Every method is one transaction; when the connection drops (the server
//!   restarts), it reconnects with backoff and runs the transaction again. A commit whose
//!   acknowledgement was lost finds its lease released on the second try and writes nothing.
//! - **Schema.** Version [`SCHEMA_VERSION`] is SQLite's; an empty database gets it from the
//!   first worker; an older one is migrated only when asked (`--migrate`), a newer one is an
//!   error. Nothing is changed in either error case.
//! - **Credentials.** The password comes from `PGPASSWORD` or the password file (`PGPASSFILE`,
//!   else `~/.pgpass`), never from the URL (refused) and is never printed: the datastore is
//!   named `postgres://USER@HOST:PORT/DB` in every message.
//!
//! - **TLS.** `sslmode` and `sslrootcert` as libpq reads them (the URL's query, else
//!   `PGSSLMODE`/`PGSSLROOTCERT`; `prefer` by default): see [`super::tls`].

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, Config, GenericClient, Row};

use super::common::{self, Cols, Dialect, Totals, ENTRY_COLS, HIT_COLS, SWEEP_COLS};
use super::tls::{self, Tls};
use super::{
    FindingQuery, FindingRow, InFlight, ObjectHit, Outcome, PlanRow, RefTip, RepoEntry, RepoResult,
    RepoState, Store, StoreError, StoredFinding, SweepInfo, SweepStatus, WorkerInfo,
};
use crate::clock;
use crate::finding::Fingerprint;

/// The schema version: always SQLite's, so both backends move in step.
pub const SCHEMA_VERSION: i64 = super::sqlite::SCHEMA_VERSION;

/// The schema an empty database gets, whole (version [`SCHEMA_VERSION`]).
const SCHEMA: &str = include_str!("schema/postgres.sql");

/// `UPGRADES[n - 1]` takes a database from version `n` to `n + 1` (with `--migrate`).
const UPGRADES: &[&str] = &[
    // 2: the exact bytes of a path that is not UTF-8.
    "ALTER TABLE locations ADD COLUMN path_raw BYTEA;",
];

const _: () = assert!(1 + UPGRADES.len() as i64 == SCHEMA_VERSION);

const DIALECT: Dialect = Dialect {
    param: "$",
    collate: " COLLATE \"C\"",
};

/// The advisory-lock key patrol's schema changes and plan writes serialise on.
const LOCK_KEY: i64 = 0x7061_7472_6f6c; // "patrol"

/// How a worker opens the shared datastore.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Keep whole secrets (`--store-secrets`).
    pub store_secrets: bool,
    /// Seconds a claimed repository stays leased without a heartbeat (`--lease`).
    pub lease_secs: u64,
    /// Migrate an older schema forward (`--migrate`); otherwise an older schema is an error.
    pub migrate: bool,
    /// How long one operation keeps reconnecting while the server is away.
    pub retry_for: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            store_secrets: false,
            lease_secs: 600,
            migrate: false,
            retry_for: Duration::from_secs(120),
        }
    }
}

/// Whether a `--datastore` value names a PostgreSQL database rather than a file.
pub fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// A connection that comes back: reconnects with backoff and reruns the failed transaction.
struct Conn {
    config: Config,
    tls: Tls,
    client: Option<Client>,
    name: String,
    retry_for: Duration,
    /// Set when the owner goes away: stop retrying (the heartbeat's connection).
    stop: Option<Arc<AtomicBool>>,
}

impl Conn {
    fn connect(
        config: Config,
        tls: Tls,
        name: &str,
        retry_for: Duration,
    ) -> Result<Self, StoreError> {
        let mut c = Self {
            config,
            tls,
            client: None,
            name: name.to_string(),
            retry_for,
            stop: None,
        };
        c.with(|_| Ok(()))?;
        Ok(c)
    }

    /// Runs `f` (one transaction) until it succeeds, fails for a reason other than the
    /// connection, or `retry_for` has passed.
    fn with<T>(
        &mut self,
        mut f: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            if self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Err(StoreError::Db {
                    path: self.name.clone(),
                    reason: "stopped".into(),
                });
            }
            if self.client.as_ref().is_none_or(|c| c.is_closed()) {
                match self.tls.connect(&self.config) {
                    Ok(c) => self.client = Some(c),
                    Err(e) if transient(&e) && start.elapsed() < self.retry_for => {
                        std::thread::sleep(delay);
                        delay = (delay * 2).min(Duration::from_secs(5));
                        continue;
                    }
                    Err(e) => {
                        return Err(match self.tls.explain(&e) {
                            Some(reason) => StoreError::Db {
                                path: self.name.clone(),
                                reason,
                            },
                            None => db(&self.name, e),
                        })
                    }
                }
            }
            let Some(client) = self.client.as_mut() else {
                continue;
            };
            match f(client) {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) && start.elapsed() < self.retry_for => {
                    if client.is_closed() || e.as_db_error().is_none() {
                        self.client = None;
                    }
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(db(&self.name, e)),
            }
        }
    }
}

/// Errors worth another try: the connection (class 08, the server shutting down or
/// starting) and the conflicts PostgreSQL asks clients to retry.
fn transient(e: &postgres::Error) -> bool {
    match e.code() {
        Some(c) => {
            c.code().starts_with("08")
                || *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
        }
        // No server error: the connection closed, or the socket failed (refused, reset,
        // timed out). A parameter or type mismatch is neither and is not retried.
        // A failed TLS handshake (a refused certificate) fails the same way again.
        None if tls::is_tls(e) => false,
        None => {
            e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        }
    }
}

fn db(path: &str, e: postgres::Error) -> StoreError {
    // The server's message, with its detail: never the connection parameters.
    let reason = match e.as_db_error() {
        Some(d) => format!("{}: {}", d.severity(), d.message()),
        None => e.to_string(),
    };
    StoreError::Db {
        path: path.to_string(),
        reason,
    }
}

/// The heartbeat: renews this worker's leases on its own thread and connection.
struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The PostgreSQL backend.
pub struct PgStore {
    conn: RefCell<Conn>,
    name: String,
    store_secrets: bool,
    worker: Option<String>,
    lease_secs: i64,
    heartbeat: Option<Heartbeat>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("datastore", &self.name)
            .field("worker", &self.worker)
            .finish()
    }
}

/// Parses `postgres://USER@HOST:PORT/DB`, refusing a password in it, and adds the password
/// from `PGPASSWORD` or the password file. Returns the config and its printable name.
pub fn config(url: &str) -> Result<(Config, String), StoreError> {
    config_tls(url).map(|(cfg, _, name)| (cfg, name))
}

/// [`config`] with the TLS settings of the URL (`sslmode`, `sslrootcert`) or the environment.
fn config_tls(url: &str) -> Result<(Config, Tls, String), StoreError> {
    let (url, tls) = tls::from_url(url)?;
    let url = url.as_str();
    let bad = |reason: String| StoreError::Invalid {
        path: "postgres datastore URL".into(),
        reason,
    };
    let mut cfg: Config = url
        .parse()
        .map_err(|_| bad("not a postgres://USER@HOST:PORT/DB URL".into()))?;
    if cfg.get_password().is_some() {
        return Err(bad(
            "a password in the datastore URL is refused (it would end up in process lists and \
             logs): set PGPASSWORD or use ~/.pgpass"
                .into(),
        ));
    }
    let host = match cfg.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => return Err(bad("the URL names no host".into())),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let user = cfg
        .get_user()
        .map(str::to_string)
        .or_else(|| std::env::var("PGUSER").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "postgres".into());
    cfg.user(&user);
    let dbname = cfg.get_dbname().unwrap_or(&user).to_string();
    cfg.dbname(&dbname);
    let name = format!("postgres://{user}@{host}:{port}/{dbname}");
    let password = std::env::var("PGPASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .or_else(|| pgpass_lookup(&host, port, &dbname, &user));
    if let Some(p) = password {
        cfg.password(p);
    }
    cfg.application_name("patrol");
    cfg.connect_timeout(Duration::from_secs(10));
    cfg.ssl_mode(tls.pg_mode());
    Ok((cfg, tls, name))
}

/// The password for (host, port, db, user) from `PGPASSFILE` or `~/.pgpass`, as libpq reads
/// it: `host:port:database:username:password`, `*` matches anything, `\` escapes `:` and `\`;
/// a file others can read is ignored.
fn pgpass_lookup(host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    pgpass_match(&text, host, port, db, user)
}

fn pgpass_match(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => cur.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let ok = |f: &str, v: &str| f == "*" || f == v;
        let host_ok = ok(&fields[0], host)
            || (fields[0] == "localhost" && (host == "127.0.0.1" || host == "::1"));
        if host_ok && ok(&fields[1], &port) && ok(&fields[2], db) && ok(&fields[3], user) {
            return Some(fields[4].clone());
        }
    }
    None
}

impl PgStore {
    /// Opens the shared datastore as a worker: creates the schema in an empty database,
    /// migrates an older one when `opts.migrate`, and starts the lease heartbeat.
    pub fn open(url: &str, opts: &PgOptions) -> Result<Self, StoreError> {
        let (cfg, tls, name) = config_tls(url)?;
        let mut conn = Conn::connect(cfg.clone(), tls.clone(), &name, opts.retry_for)?;
        let lease_secs = opts.lease_secs.clamp(1, 86_400 * 7) as i64;
        prepare_schema(&mut conn, &name, opts.migrate)?;
        let host = hostname();
        let worker = format!(
            "{host}-{}-{:04x}",
            std::process::id(),
            uuid::Uuid::new_v4().as_u128() as u16
        );
        let hb_conn = Conn::connect(cfg, tls, &name, Duration::from_secs(86_400 * 365))?;
        let heartbeat = start_heartbeat(hb_conn, worker.clone(), lease_secs);
        Ok(Self {
            conn: RefCell::new(conn),
            name,
            store_secrets: opts.store_secrets,
            worker: Some(worker),
            lease_secs,
            heartbeat: Some(heartbeat),
        })
    }

    /// Opens an existing datastore for reading (`sweep status`, `report`): no worker, no
    /// heartbeat, nothing created or migrated.
    pub fn open_existing(url: &str) -> Result<Self, StoreError> {
        let (cfg, tls, name) = config_tls(url)?;
        let mut conn = Conn::connect(cfg, tls, &name, Duration::from_secs(30))?;
        let v = conn.with(schema_version)?;
        if v == 0 {
            return Err(StoreError::Invalid {
                path: name,
                reason: "no patrol datastore in this database (run `patrol sweep` first)".into(),
            });
        }
        if v > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: name,
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        if v < SCHEMA_VERSION {
            return Err(StoreError::Invalid {
                path: name,
                reason: format!(
                    "schema version {v} is older than {SCHEMA_VERSION}: run `patrol sweep ... --migrate` once to migrate it"
                ),
            });
        }
        Ok(Self {
            conn: RefCell::new(conn),
            name,
            store_secrets: false,
            worker: None,
            lease_secs: 600,
            heartbeat: None,
        })
    }

    fn with<T>(
        &self,
        f: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        self.conn.borrow_mut().with(f)
    }

    /// Stops renewing leases, as a worker that died would (for the store contract's tests,
    /// which run from outside the crate).
    #[doc(hidden)]
    pub fn stop_heartbeat(&mut self) {
        self.heartbeat.take();
    }

    /// `Ok` when the write happened, else the lease on `repo` was lost.
    fn lost_unless(&self, written: bool, repo: &str) -> Result<(), StoreError> {
        if written {
            return Ok(());
        }
        Err(StoreError::LeaseLost {
            path: self.name.clone(),
            repo: repo.to_string(),
        })
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.heartbeat.take();
        if let Some(w) = &self.worker {
            // A clean exit leaves no worker behind; a killed one is shown as not live once
            // its heartbeat is older than its lease.
            if let Some(c) = self.conn.get_mut().client.as_mut() {
                let _ = c.execute("DELETE FROM workers WHERE worker = $1", &[w]);
            }
        }
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and we stop at the first NUL.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    let n = buf.iter().position(|&b| b == 0).unwrap_or(0);
    if rc != 0 || n == 0 {
        return "worker".into();
    }
    String::from_utf8_lossy(&buf[..n])
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect()
}

/// The schema version recorded in the database; 0 when it holds no patrol tables.
fn schema_version<C: GenericClient>(c: &mut C) -> Result<i64, postgres::Error> {
    let has: bool = c
        .query_one("SELECT to_regclass('patrol_meta') IS NOT NULL", &[])?
        .get(0);
    if !has {
        return Ok(0);
    }
    let row = c.query_opt(
        "SELECT value FROM patrol_meta WHERE key = 'schema_version'",
        &[],
    )?;
    Ok(row.map_or(0, |r| r.get(0)))
}

/// Creates the schema in an empty database; migrates an older one only when asked.
fn prepare_schema(conn: &mut Conn, name: &str, migrate: bool) -> Result<(), StoreError> {
    enum Step {
        Done,
        TooNew(i64),
        Older(i64),
    }
    let step = conn.with(|c| {
        let mut tx = c.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])?;
        let v = schema_version(&mut tx)?;
        if v > SCHEMA_VERSION {
            return Ok(Step::TooNew(v));
        }
        if v > 0 && v < SCHEMA_VERSION && !migrate {
            return Ok(Step::Older(v));
        }
        if v == 0 {
            let other: bool = tx
                .query_one("SELECT to_regclass('sweeps') IS NOT NULL", &[])?
                .get(0);
            if other {
                // A `sweeps` table without patrol's version row: not ours to change.
                return Ok(Step::TooNew(-1));
            }
        }
        let steps: Vec<&str> = if v == 0 {
            vec![SCHEMA]
        } else {
            UPGRADES.iter().skip(v as usize - 1).copied().collect()
        };
        for sql in steps {
            tx.batch_execute(sql)?;
        }
        tx.execute(
            "INSERT INTO patrol_meta (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&SCHEMA_VERSION],
        )?;
        tx.commit()?;
        Ok(Step::Done)
    })?;
    match step {
        Step::Done => Ok(()),
        Step::TooNew(-1) => Err(StoreError::Corrupt {
            path: name.into(),
            reason: "it has a `sweeps` table but no patrol schema version".into(),
        }),
        Step::TooNew(found) => Err(StoreError::TooNew {
            path: name.into(),
            found,
            supported: SCHEMA_VERSION,
        }),
        Step::Older(found) => Err(StoreError::Invalid {
            path: name.into(),
            reason: format!(
                "schema version {found} is older than {SCHEMA_VERSION}: pass --migrate to migrate it \
                 (stop every worker of older patrol versions first); nothing was changed"
            ),
        }),
    }
}

fn start_heartbeat(mut conn: Conn, worker: String, lease_secs: i64) -> Heartbeat {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    conn.stop = Some(stop.clone());
    let every = Duration::from_millis((lease_secs as u64 * 1000 / 3).clamp(200, 60_000));
    let thread = std::thread::spawn(move || {
        let secs = lease_secs as f64;
        while !flag.load(Ordering::SeqCst) {
            // Reconnects on its own while the server is away; gives up only when stopped.
            let _ = conn.with(|c| {
                if flag.load(Ordering::SeqCst) {
                    return Ok(0);
                }
                c.execute(
                    "WITH w AS (UPDATE workers SET heartbeat_at = now() WHERE worker = $1)
                     UPDATE plan SET lease_until = now() + make_interval(secs => $2::float8)
                     WHERE lease_holder = $1 AND state = 'pending'",
                    &[&worker, &secs],
                )
            });
            let until = Instant::now() + every;
            while Instant::now() < until && !flag.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    Heartbeat {
        stop,
        thread: Some(thread),
    }
}

impl Cols for Row {
    type Error = postgres::Error;
    fn text(&self, i: usize) -> Result<String, postgres::Error> {
        self.try_get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, postgres::Error> {
        self.try_get(i)
    }
    fn int(&self, i: usize) -> Result<i64, postgres::Error> {
        self.try_get(i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, postgres::Error> {
        self.try_get(i)
    }
    fn flag(&self, i: usize) -> Result<bool, postgres::Error> {
        self.try_get(i)
    }
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, postgres::Error> {
        self.try_get(i)
    }
}

/// Reads every row with `read`.
fn all<T>(
    rows: &[Row],
    read: impl Fn(&Row) -> Result<T, postgres::Error>,
) -> Result<Vec<T>, postgres::Error> {
    rows.iter().map(read).collect()
}

/// Locks the plan row of `repo` and says whether `worker` may write it: it holds the
/// pending repository's lease, or it is the worker that finished it (a second write of its
/// own, e.g. a transaction rerun after a lost acknowledgement, changes nothing).
fn holds(
    tx: &mut postgres::Transaction<'_>,
    sweep: i64,
    repo: &str,
    worker: Option<&str>,
) -> Result<bool, postgres::Error> {
    let row = tx.query_opt(
        "SELECT state, lease_holder, finished_by FROM plan WHERE sweep = $1 AND repo = $2 FOR UPDATE",
        &[&sweep, &repo],
    )?;
    let Some(r) = row else { return Ok(false) };
    let Some(worker) = worker else {
        return Ok(true);
    };
    let state: String = r.get(0);
    let holder: Option<String> = r.get(1);
    let finisher: Option<String> = r.get(2);
    Ok(if state == "pending" {
        holder.as_deref() == Some(worker)
    } else {
        finisher.as_deref() == Some(worker)
    })
}

impl Store for PgStore {
    fn unfinished_sweep(&self, target: &str) -> Result<Option<SweepInfo>, StoreError> {
        let q = format!(
            "SELECT {SWEEP_COLS} FROM sweeps WHERE target = $1 AND NOT complete ORDER BY id DESC LIMIT 1"
        );
        self.with(|c| {
            c.query_opt(&q, &[&target])?
                .map(|r| common::sweep_info(&r))
                .transpose()
        })
    }

    fn begin_sweep(
        &mut self,
        target: &str,
        ruleset: &str,
        plan: &[RepoEntry],
    ) -> Result<SweepInfo, StoreError> {
        enum Began {
            Sweep(SweepInfo),
            Busy(i64, String),
        }
        let started = clock::now_precise();
        let lease = self.lease_secs as f64;
        let keys: Vec<&str> = plan.iter().map(|r| r.key.as_str()).collect();
        let urls: Vec<&str> = plan.iter().map(|r| r.clone_url.as_str()).collect();
        let sizes: Vec<Option<i64>> = plan.iter().map(|r| r.size.map(|s| s as i64)).collect();
        let forks: Vec<bool> = plan.iter().map(|r| r.is_fork).collect();
        let parents: Vec<Option<&str>> = plan.iter().map(|r| r.parent.as_deref()).collect();
        let archived: Vec<bool> = plan.iter().map(|r| r.archived).collect();
        let skips: Vec<Option<&str>> = plan.iter().map(|r| r.skip.as_deref()).collect();
        let seqs: Vec<i64> = (0..plan.len() as i64).collect();
        let began = self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])?;
            // Another worker may have written the plan since this one looked: join it.
            let q = format!(
                "SELECT {SWEEP_COLS} FROM sweeps WHERE target = $1 AND ruleset = $2 AND NOT complete
                 ORDER BY id DESC LIMIT 1"
            );
            if let Some(r) = tx.query_opt(&q, &[&target, &ruleset])? {
                return Ok(Began::Sweep(common::sweep_info(&r)?));
            }
            // A sweep of another target that is being worked on right now.
            let busy = tx.query_opt(
                "SELECT s.id, s.target FROM sweeps s WHERE NOT s.complete AND s.target <> $1
                   AND EXISTS (SELECT 1 FROM workers w WHERE w.sweep = s.id
                               AND w.heartbeat_at > now() - make_interval(secs => $2::float8 * 2))
                 ORDER BY s.id DESC LIMIT 1",
                &[&target, &lease],
            )?;
            if let Some(r) = busy {
                return Ok(Began::Busy(r.get(0), r.get(1)));
            }
            let id: i64 = tx
                .query_one(
                    "INSERT INTO sweeps (target, ruleset, started_at) VALUES ($1, $2, $3) RETURNING id",
                    &[&target, &ruleset, &started],
                )?
                .get(0);
            tx.execute(
                "INSERT INTO plan (sweep, seq, repo, clone_url, size, is_fork, parent, archived, skip, state)
                 SELECT $1, * , 'pending' FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[],
                        $6::boolean[], $7::text[], $8::boolean[], $9::text[])
                 ON CONFLICT DO NOTHING",
                &[&id, &seqs, &keys, &urls, &sizes, &forks, &parents, &archived, &skips],
            )?;
            tx.commit()?;
            Ok(Began::Sweep(SweepInfo {
                id,
                target: target.to_string(),
                ruleset: ruleset.to_string(),
                started_at: started.clone(),
                complete: false,
            }))
        })?;
        match began {
            Began::Sweep(s) => Ok(s),
            Began::Busy(id, other) => Err(StoreError::Invalid {
                path: self.name.clone(),
                reason: format!(
                    "sweep {id} of {other} is running in this database: one database runs one \
                     sweep at a time (wait for it, or use another database)"
                ),
            }),
        }
    }

    fn plan(&self, sweep: i64) -> Result<Vec<PlanRow>, StoreError> {
        let q =
            format!("SELECT {ENTRY_COLS}, state, reason FROM plan WHERE sweep = $1 ORDER BY seq");
        self.with(|c| all(&c.query(&q, &[&sweep])?, common::plan_row))
    }

    fn claim_next(&mut self, sweep: i64, worker: &str) -> Result<Option<RepoEntry>, StoreError> {
        let lease = self.lease_secs as f64;
        let host = hostname();
        let pid = std::process::id() as i64;
        let lease_secs = self.lease_secs;
        let q = format!(
            "SELECT {ENTRY_COLS} FROM plan
             WHERE sweep = $1 AND state = 'pending'
               AND (lease_holder IS NULL OR (lease_until < now() AND lease_holder <> $2))
             ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED"
        );
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO workers (worker, sweep, host, pid, lease_secs) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (worker) DO UPDATE SET sweep = excluded.sweep, heartbeat_at = now()",
                &[&worker, &sweep, &host, &pid, &lease_secs],
            )?;
            let next = tx
                .query_opt(&q, &[&sweep, &worker])?
                .map(|r| common::repo_entry(&r))
                .transpose()?;
            if let Some(r) = &next {
                tx.execute(
                    "UPDATE plan SET lease_holder = $3, lease_since = now(),
                     lease_until = now() + make_interval(secs => $4::float8), claims = claims + 1
                     WHERE sweep = $1 AND repo = $2",
                    &[&sweep, &r.key, &worker, &lease],
                )?;
            }
            tx.commit()?;
            Ok(next)
        })
    }

    fn watermark(&self, repo: &str, ruleset: &str) -> Result<Vec<RefTip>, StoreError> {
        self.with(|c| {
            Ok(c.query(
                "SELECT ref, oid FROM watermarks WHERE repo = $1 AND ruleset = $2 ORDER BY ref",
                &[&repo, &ruleset],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })
    }

    fn seen_objects(
        &self,
        ruleset: &str,
        objects: &[String],
        since: i64,
    ) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        for chunk in objects.chunks(10_000) {
            let rows = self.with(|c| {
                c.query(
                    "SELECT oid FROM objects WHERE ruleset = $1 AND oid = ANY($2::text[]) AND sweep >= $3",
                    &[&ruleset, &chunk, &since],
                )
            })?;
            out.extend(rows.iter().map(|r| r.get::<_, String>(0)));
        }
        Ok(out)
    }

    fn object_hits(
        &self,
        ruleset: &str,
        objects: &[String],
    ) -> Result<Vec<(String, ObjectHit)>, StoreError> {
        let mut out = Vec::new();
        for chunk in objects.chunks(10_000) {
            let q = format!(
                "SELECT oid, {HIT_COLS} FROM object_hits WHERE ruleset = $1 AND oid = ANY($2::text[])
                 ORDER BY oid COLLATE \"C\", fingerprint COLLATE \"C\", line, col"
            );
            out.extend(self.with(|c| all(&c.query(&q, &[&ruleset, &chunk])?, common::object_hit))?);
        }
        // Keep the order `objects` was asked in, as the SQLite backend does.
        let order: HashMap<&str, usize> = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.as_str(), i))
            .collect();
        out.sort_by_key(|(o, _)| order.get(o.as_str()).copied().unwrap_or(usize::MAX));
        Ok(out)
    }

    fn commit_repo(
        &mut self,
        sweep: i64,
        repo: &str,
        ruleset: &str,
        res: &RepoResult,
    ) -> Result<(), StoreError> {
        let at = clock::now_precise();
        let keep = self.store_secrets;
        let worker = self.worker.clone();
        // Columns as arrays: one round trip per table however many rows.
        let hit_oids: Vec<&str> = res.hits.iter().map(|(o, _)| o.as_str()).collect();
        let hit_fps: Vec<&str> = res
            .hits
            .iter()
            .map(|(_, h)| h.fingerprint.as_str())
            .collect();
        let hit_rules: Vec<&str> = res.hits.iter().map(|(_, h)| h.rule.as_str()).collect();
        let hit_lines: Vec<i64> = res.hits.iter().map(|(_, h)| h.line as i64).collect();
        let hit_cols: Vec<i64> = res.hits.iter().map(|(_, h)| h.column as i64).collect();
        let hit_enc: Vec<Option<&str>> = res.hits.iter().map(|(_, h)| h.encoding).collect();
        let mut seen = HashSet::new();
        let findings: Vec<&FindingRow> = res
            .findings
            .iter()
            .filter(|f| seen.insert(f.fingerprint.as_str()))
            .collect();
        let f_fp: Vec<&str> = findings.iter().map(|f| f.fingerprint.as_str()).collect();
        let f_rule: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
        let f_name: Vec<&str> = findings.iter().map(|f| f.name.as_str()).collect();
        let f_prov: Vec<&str> = findings.iter().map(|f| f.provider.as_str()).collect();
        let f_sum: Vec<&str> = findings.iter().map(|f| f.checksum.as_str()).collect();
        let f_secret: Vec<Option<&str>> = findings
            .iter()
            .map(|f| keep.then_some(f.secret.expose()))
            .collect();
        let f_red: Vec<&str> = findings.iter().map(|f| f.redacted.as_str()).collect();
        let l = &res.locations;
        let l_fp: Vec<&str> = l.iter().map(|x| x.fingerprint.as_str()).collect();
        let l_commit: Vec<&str> = l.iter().map(|x| x.commit.id.as_str()).collect();
        let l_path: Vec<&str> = l.iter().map(|x| x.path.as_str()).collect();
        let l_line: Vec<i64> = l.iter().map(|x| x.line as i64).collect();
        let l_col: Vec<i64> = l.iter().map(|x| x.column as i64).collect();
        let l_enc: Vec<Option<&str>> = l.iter().map(|x| x.encoding).collect();
        let l_an: Vec<&str> = l.iter().map(|x| x.commit.author_name.as_str()).collect();
        let l_ae: Vec<&str> = l.iter().map(|x| x.commit.author_email.as_str()).collect();
        let l_ad: Vec<&str> = l.iter().map(|x| x.commit.author_date.as_str()).collect();
        let l_raw: Vec<Option<&[u8]>> = l.iter().map(|x| x.path_raw.as_deref()).collect();
        let at_tip: Vec<&str> = res.at_tip.iter().map(|f| f.as_str()).collect();
        let l_obj: Vec<&str> = l.iter().map(|x| x.object.as_str()).collect();
        let tip_refs: Vec<&str> = res.tips.iter().map(|(r, _)| r.as_str()).collect();
        let tip_oids: Vec<&str> = res.tips.iter().map(|(_, o)| o.as_str()).collect();
        let blobs = res.blobs as i64;
        // One row per object: an upsert may not touch a row twice in one statement.
        let mut once = HashSet::new();
        let objects: Vec<&str> = res
            .objects
            .iter()
            .map(String::as_str)
            .filter(|o| once.insert(*o))
            .collect();
        let bytes = res.bytes as i64;
        let written = self.with(|c| {
            let mut tx = c.transaction()?;
            if !holds(&mut tx, sweep, repo, worker.as_deref())? {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO objects (ruleset, oid, sweep) SELECT $1, unnest($2::text[]), $3
                 ON CONFLICT (ruleset, oid) DO UPDATE SET sweep = GREATEST(objects.sweep, excluded.sweep)",
                &[&ruleset, &objects, &sweep],
            )?;
            tx.execute(
                "INSERT INTO object_hits (ruleset, oid, fingerprint, rule, line, col, encoding)
                 SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[],
                                          $6::bigint[], $7::text[])
                 ON CONFLICT DO NOTHING",
                &[&ruleset, &hit_oids, &hit_fps, &hit_rules, &hit_lines, &hit_cols, &hit_enc],
            )?;
            tx.execute(
                "INSERT INTO findings (fingerprint, rule, name, provider, checksum, secret, redacted,
                                       first_seen_sweep, first_seen_at)
                 SELECT *, $8, $9 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                              $5::text[], $6::text[], $7::text[])
                 ON CONFLICT (fingerprint) DO UPDATE SET secret = COALESCE(findings.secret, excluded.secret)",
                &[&f_fp, &f_rule, &f_name, &f_prov, &f_sum, &f_secret, &f_red, &sweep, &at],
            )?;
            tx.execute(
                "INSERT INTO locations (fingerprint, repo, commit_id, path, line, col, encoding,
                                        author_name, author_email, author_date, object, first_seen_sweep,
                                        path_raw)
                 SELECT u.fp, $1, u.c, u.p, u.l, u.col, u.e, u.an, u.ae, u.ad, u.o, $2, u.raw
                 FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                             $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                             $13::bytea[])
                      AS u(fp, c, p, l, col, e, an, ae, ad, o, raw)
                 ON CONFLICT DO NOTHING",
                &[
                    &repo, &sweep, &l_fp, &l_commit, &l_path, &l_line, &l_col, &l_enc, &l_an,
                    &l_ae, &l_ad, &l_obj, &l_raw,
                ],
            )?;
            tx.execute("DELETE FROM at_tip WHERE repo = $1", &[&repo])?;
            tx.execute(
                "INSERT INTO at_tip (repo, fingerprint) SELECT $1, unnest($2::text[])
                 ON CONFLICT DO NOTHING",
                &[&repo, &at_tip],
            )?;
            tx.execute(
                "DELETE FROM watermarks WHERE repo = $1 AND ruleset = $2",
                &[&repo, &ruleset],
            )?;
            tx.execute(
                "INSERT INTO watermarks (repo, ruleset, ref, oid)
                 SELECT $1, $2, * FROM unnest($3::text[], $4::text[]) ON CONFLICT DO NOTHING",
                &[&repo, &ruleset, &tip_refs, &tip_oids],
            )?;
            tx.execute(
                "UPDATE plan SET state = 'scanned', reason = NULL, lease_holder = NULL,
                 lease_until = NULL, blobs = $3, bytes = $4, finished_at = $5, finished_by = $6
                 WHERE sweep = $1 AND repo = $2",
                &[&sweep, &repo, &blobs, &bytes, &at, &worker],
            )?;
            tx.commit()?;
            Ok(true)
        })?;
        self.lost_unless(written, repo)
    }

    fn finish_repo(
        &mut self,
        sweep: i64,
        repo: &str,
        state: RepoState,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let worker = self.worker.clone();
        let at = clock::now_precise();
        let written = self.with(|c| {
            let mut tx = c.transaction()?;
            if !holds(&mut tx, sweep, repo, worker.as_deref())? {
                return Ok(false);
            }
            tx.execute(
                "UPDATE plan SET state = $3, reason = $4, lease_holder = NULL, lease_until = NULL,
                 finished_at = $5, finished_by = $6 WHERE sweep = $1 AND repo = $2",
                &[&sweep, &repo, &state.as_str(), &reason, &at, &worker],
            )?;
            tx.commit()?;
            Ok(true)
        })?;
        self.lost_unless(written, repo)
    }

    fn close_sweep(&mut self, sweep: i64) -> Result<bool, StoreError> {
        let at = clock::now_precise();
        self.with(|c| {
            let mut tx = c.transaction()?;
            let pending: i64 = tx
                .query_one(
                    "SELECT count(*) FROM plan WHERE sweep = $1 AND state = 'pending'",
                    &[&sweep],
                )?
                .get(0);
            if pending == 0 {
                tx.execute(
                    "UPDATE sweeps SET complete = true, finished_at = COALESCE(finished_at, $2)
                     WHERE id = $1",
                    &[&sweep, &at],
                )?;
            }
            tx.commit()?;
            Ok(pending == 0)
        })
    }

    fn sweep(&self, sweep: Option<i64>) -> Result<SweepInfo, StoreError> {
        let row = self.with(|c| match sweep {
            Some(id) => c.query_opt(
                &format!("SELECT {SWEEP_COLS} FROM sweeps WHERE id = $1"),
                &[&id],
            ),
            None => c.query_opt(
                &format!("SELECT {SWEEP_COLS} FROM sweeps ORDER BY id DESC LIMIT 1"),
                &[],
            ),
        })?;
        row.map(|r| common::sweep_info(&r))
            .transpose()
            .map_err(|e| db(&self.name, e))?
            .ok_or_else(|| common::no_sweep(&self.name, sweep))
    }

    fn status(&self, sweep: Option<i64>) -> Result<SweepStatus, StoreError> {
        let info = self.sweep(sweep)?;
        let plan = self.plan(info.id)?;
        let q = common::totals_sql(&DIALECT);
        let totals = self.with(|c| Totals::read(&c.query_one(&q, &[&info.id])?))?;
        Ok(common::status(info, plan, totals))
    }

    fn findings(&self, q: &FindingQuery) -> Result<Vec<StoredFinding>, StoreError> {
        let info = self.sweep(q.sweep)?;
        let (fq, lq) = (
            common::findings_sql(&DIALECT),
            common::locations_sql(&DIALECT),
        );
        let (findings, locations) = self.with(|c| {
            let f = all(
                &c.query(&fq, &[&info.id, &q.only_new])?,
                common::stored_finding,
            )?;
            let l = all(&c.query(&lq, &[&info.id])?, common::location_row)?;
            Ok((f, l))
        })?;
        Ok(common::group(findings, locations))
    }

    fn record_outcome(&mut self, fingerprint: &Fingerprint, o: &Outcome) -> Result<(), StoreError> {
        let (fingerprint, status) = (fingerprint.as_str(), o.status.as_str());
        self.with(|c| {
            c.execute(
                "INSERT INTO outcomes (fingerprint, status, owner, checked_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (fingerprint) DO UPDATE SET status = excluded.status,
                   owner = COALESCE(excluded.owner, outcomes.owner), checked_at = excluded.checked_at,
                   revoked_at = COALESCE(excluded.revoked_at, outcomes.revoked_at)",
                &[&fingerprint, &status, &o.owner, &o.checked_at, &o.revoked_at],
            )
        })
        .map(drop)
    }

    fn stores_secrets(&self) -> bool {
        self.store_secrets
    }

    fn worker_id(&self) -> Option<String> {
        self.worker.clone()
    }

    fn pending_elsewhere(&self, sweep: i64, worker: &str) -> Result<u64, StoreError> {
        self.with(|c| {
            c.query_one(
                "SELECT count(*) FROM plan WHERE sweep = $1 AND state = 'pending'
                 AND lease_holder IS NOT NULL AND lease_holder <> $2",
                &[&sweep, &worker],
            )
        })
        .map(|r| r.get::<_, i64>(0) as u64)
    }

    fn poll_interval(&self) -> Duration {
        // A waiting worker's check is one count on the partial `plan_pending` index: cheap
        // enough to ask every second, so the last workers leave soon after the sweep ends.
        Duration::from_millis((self.lease_secs as u64 * 1000 / 10).clamp(100, 1_000))
    }

    fn workers(&self, sweep: i64) -> Result<Vec<WorkerInfo>, StoreError> {
        let rows = self.with(|c| {
            c.query(
                "SELECT worker, host, pid, started_at::text, heartbeat_at::text,
                        heartbeat_at > now() - make_interval(secs => lease_secs::float8)
                 FROM workers WHERE sweep = $1 ORDER BY started_at, worker",
                &[&sweep],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| WorkerInfo {
                worker: r.get(0),
                host: r.get(1),
                pid: r.get(2),
                started_at: r.get(3),
                heartbeat_at: r.get(4),
                live: r.get(5),
            })
            .collect())
    }

    fn in_flight(&self, sweep: i64) -> Result<Vec<InFlight>, StoreError> {
        let rows = self.with(|c| {
            c.query(
                "SELECT repo, lease_holder, lease_since::text, lease_until::text, lease_until < now(), claims
                 FROM plan WHERE sweep = $1 AND state = 'pending' AND lease_holder IS NOT NULL
                 ORDER BY lease_since, repo",
                &[&sweep],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| InFlight {
                repository: r.get(0),
                worker: r.get(1),
                since: r.get::<_, Option<String>>(2).unwrap_or_default(),
                lease_until: r.get::<_, Option<String>>(3).unwrap_or_default(),
                expired: r.get::<_, Option<bool>>(4).unwrap_or(false),
                claims: r.get::<_, i64>(5) as u64,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused_and_not_echoed() {
        let e = config("postgres://u:hunter2-secret@127.0.0.1:5432/db").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("password in the datastore URL is refused"),
            "{s}"
        );
        assert!(!s.contains("hunter2-secret"), "{s}");
    }

    #[test]
    fn the_printable_name_has_user_host_port_and_database() {
        let (_, name) = config("postgres://patrol@127.0.0.1:6543/sweeps").unwrap();
        assert_eq!(name, "postgres://patrol@127.0.0.1:6543/sweeps");
        assert!(is_url("postgresql://x@h/d") && !is_url("patrol-sweep.db"));
    }

    #[test]
    fn pgpass_lines_match_like_libpq() {
        let text = "# comment\n\
                    other:5432:db:u:nope\n\
                    localhost:*:db:u:pa\\:ss\\\\w\n\
                    *:*:*:*:fallback\n";
        assert_eq!(
            pgpass_match(text, "127.0.0.1", 5432, "db", "u").as_deref(),
            Some("pa:ss\\w")
        );
        assert_eq!(
            pgpass_match(text, "db.example", 1, "x", "y").as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_match("h:1:d:u\n", "h", 1, "d", "u"), None);
    }
}
