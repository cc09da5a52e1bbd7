//! The sweep datastore: what was listed, what was scanned with which rule set, every secret
//! once with every location, and what acting found out. One trait, [`Store`]; SQLite in
//! [`sqlite`], PostgreSQL in [`postgres`]. Each dialect's schema is one file,
//! `schema/{sqlite,postgres}.sql`, with its upgrade steps beside it in the backend; what both
//! compute alike (reading rows, status, grouping locations under findings, the conversions
//! between a [`Finding`](crate::finding::Finding) and its rows) is written once in
//! `common.rs`. Rows carry the finding's own types ([`Fingerprint`], [`RuleId`], enums), so a
//! finding read back equals the finding written, field by field.
//!
//! Contract shared by every backend:
//! - a sweep's plan (its repository list) is written in one transaction before any fetch;
//! - [`Store::commit_repo`] writes one repository's results (objects read, hits, findings,
//!   locations, the ref-tip watermark and the plan row's final state) in ONE transaction, so a
//!   crash leaves either all of it or none of it;
//! - object ids are scanned once per rule set across the whole datastore (the blob table);
//! - locations are unique per (finding, repository, commit, path, line, column): writing one
//!   twice is a no-op, so a repository retried after a crash never doubles anything;
//! - whole secrets are written only when the store was opened with `store_secrets`; otherwise
//!   the redacted value and the fingerprint.
//!
//! [`Store::claim_next`] hands out the next pending repository of a sweep together with a
//! lease holder name: a single-process backend just marks it, a shared backend (PostgreSQL,
//! `FOR UPDATE SKIP LOCKED`) gives each worker a different one and lets expired leases be taken
//! again. Committing a repository releases its lease.
//!
//! What a shared backend adds behind this trait (not needed by SQLite, where one process owns
//! a sweep): a lease end checked against the database clock in `claim_next`; a heartbeat that
//! renews it from its own connection; `commit_repo` / `finish_repo` that fail when the lease
//! was lost (so an expired worker records nothing); one unfinished sweep per target (the plan
//! is written under an advisory lock) so that the first worker writes the plan and the others
//! join it; and object
//! rows inserted `ON CONFLICT DO NOTHING` so two workers never record one blob twice.
//!
//! A shared backend ([`postgres`]) also answers [`Store::worker_id`], [`Store::workers`],
//! [`Store::in_flight`] and [`Store::pending_elsewhere`] (who works on the sweep, what they
//! hold, whether to wait for them); the single-process defaults say "nobody else".

mod common;
pub mod postgres;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod tests;
pub mod tls;

use serde::{Deserialize, Serialize};

use crate::finding::{
    ChecksumStatus, CommitMeta, Fingerprint, ProviderId, RuleId, Secret, VerificationStatus,
};

/// Errors of the datastore. Each names the datastore file (or URL) it is about.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is not a datastore patrol can read (not SQLite, damaged, or another schema).
    #[error("datastore {path}: not a readable patrol datastore ({reason}); nothing was changed")]
    Corrupt {
        /// The datastore.
        path: String,
        /// What the database engine said.
        reason: String,
    },
    /// The file was written by a newer patrol.
    #[error(
        "datastore {path}: schema version {found} is newer than this patrol supports ({supported}); \
         upgrade patrol (nothing was changed)"
    )]
    TooNew {
        /// The datastore.
        path: String,
        /// The schema version in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// Any other database error.
    #[error("datastore {path}: {reason}")]
    Db {
        /// The datastore.
        path: String,
        /// What failed.
        reason: String,
    },
    /// This worker's lease on a repository expired and another worker took it: nothing of
    /// this worker's result was written (the other worker records the repository).
    #[error("datastore {path}: lease on {repo} was lost to another worker; its results were not recorded here")]
    LeaseLost {
        /// The datastore.
        path: String,
        /// The repository.
        repo: String,
    },
    /// A request the datastore cannot answer (unknown sweep id...).
    #[error("datastore {path}: {reason}")]
    Invalid {
        /// The datastore.
        path: String,
        /// Why.
        reason: String,
    },
}

/// State of one repository in one sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepoState {
    /// Listed, not done yet.
    Pending,
    /// Fetched and scanned (its new objects, at least).
    Scanned,
    /// Its ref tips equal the watermark of this rule set: nothing fetched, nothing scanned.
    Unchanged,
    /// Not scanned by choice (disabled, empty, fork, archived, too large, excluded).
    Skipped,
    /// Could not be fetched or scanned; `reason` says why.
    Failed,
}

impl RepoState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scanned => "scanned",
            Self::Unchanged => "unchanged",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "scanned" => Self::Scanned,
            "unchanged" => Self::Unchanged,
            "skipped" => Self::Skipped,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One repository as the listing API described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoEntry {
    /// Stable key across sweeps (`ado:org/project/name`, `github:org/name`, a URL...).
    pub key: String,
    /// The clone URL (never with a credential in it).
    pub clone_url: String,
    /// Size the API reported, in bytes.
    pub size: Option<u64>,
    /// Whether the API says it is a fork.
    pub is_fork: bool,
    /// The fork's parent, as the API names it.
    pub parent: Option<String>,
    /// Whether the API says it is archived.
    pub archived: bool,
    /// Why it will not be scanned, decided at listing time (disabled, empty...).
    pub skip: Option<String>,
}

/// A repository of a sweep's plan, with its progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// The repository.
    pub repo: RepoEntry,
    /// Where it stands.
    pub state: RepoState,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
}

/// A sweep's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepInfo {
    /// Id, increasing.
    pub id: i64,
    /// What was swept (`ado:org`, `github:org`, `urls:FILE`...).
    pub target: String,
    /// The rule-set id the sweep scans with.
    pub ruleset: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// Whether every planned repository reached a final state.
    pub complete: bool,
}

/// A ref and the object it points at (hex).
pub type RefTip = (String, String);

/// One hit inside one object (blob or commit/tag message), kept so that another repository
/// holding the same object gets its locations without reading the object again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectHit {
    /// The finding's fingerprint.
    pub fingerprint: Fingerprint,
    /// The finding's rule id.
    pub rule: RuleId,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// Encoding the secret was decoded from (`base64`, `url`, ...), if any.
    pub encoding: Option<&'static str>,
}

/// A finding as the datastore writes it (no locations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    /// Fingerprint (the key).
    pub fingerprint: Fingerprint,
    /// Rule id.
    pub rule: RuleId,
    /// Rule name.
    pub name: String,
    /// Provider id.
    pub provider: ProviderId,
    /// Whether the token's checksum was checked.
    pub checksum: ChecksumStatus,
    /// The whole secret: written only when the store keeps secrets. Read back, it holds the
    /// redacted value unless [`StoredFinding::secret_stored`].
    pub secret: Secret,
    /// The redacted value (always written).
    pub redacted: String,
}

/// One place a secret occurs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationRow {
    /// The finding's fingerprint.
    pub fingerprint: Fingerprint,
    /// The repository key.
    pub repo: String,
    /// The commit that introduced it, with its author.
    pub commit: CommitMeta,
    /// Path (lossy UTF-8) or `<commit message>`.
    pub path: String,
    /// The exact path bytes when they are not UTF-8.
    pub path_raw: Option<Vec<u8>>,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// Encoding, if decoded (`base64`, `url`, ...).
    pub encoding: Option<&'static str>,
    /// The object (hex) this location is in.
    pub object: String,
}

/// Everything one repository's scan produced, written by [`Store::commit_repo`] at once.
#[derive(Debug, Default, Clone)]
pub struct RepoResult {
    /// The ref tips now scanned (the new watermark for the sweep's rule set).
    pub tips: Vec<RefTip>,
    /// Objects read and matched for the first time under this rule set (hex ids).
    pub objects: Vec<String>,
    /// Hits inside those objects.
    pub hits: Vec<(String, ObjectHit)>,
    /// Findings seen in this repository.
    pub findings: Vec<FindingRow>,
    /// Every location found in this repository.
    pub locations: Vec<LocationRow>,
    /// Fingerprints whose secret is in a branch tip's tree of this repository.
    pub at_tip: Vec<Fingerprint>,
    /// Of `objects`, how many are blobs (the rest are commits and tags, read for their
    /// messages): `blobs_scanned` counts these.
    pub blobs: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Totals of one sweep, as `sweep status` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepStatus {
    /// The sweep id.
    pub sweep: i64,
    /// Every repository reached a final state.
    pub complete: bool,
    /// Per-state counts.
    pub repositories: RepoCounts,
    /// Distinct objects read and matched in this sweep.
    pub blobs_scanned: u64,
    /// Bytes read in this sweep.
    pub bytes_scanned: u64,
    /// Distinct secrets with a location in a repository of this sweep's plan.
    pub findings: u64,
    /// Of those, the ones first seen in this sweep.
    pub new_findings: u64,
    /// What was swept.
    pub target: String,
    /// When it started.
    pub started_at: String,
    /// Skipped and failed repositories with their reasons.
    pub not_scanned: Vec<NotScanned>,
}

/// A repository of the plan that was not scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotScanned {
    /// The repository key.
    pub repository: String,
    /// `skipped`, `failed` or `pending`.
    pub state: RepoState,
    /// Why.
    pub reason: String,
}

/// Counts per state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepoCounts {
    /// In the plan.
    pub listed: u64,
    /// Fetched and scanned.
    pub scanned: u64,
    /// Refs unchanged since last scanned.
    pub unchanged: u64,
    /// Skipped by choice.
    pub skipped: u64,
    /// Failed.
    pub failed: u64,
    /// Not done yet.
    pub pending: u64,
}

/// Which findings `report` wants.
#[derive(Debug, Clone, Default)]
pub struct FindingQuery {
    /// The sweep (latest when `None`): findings with a location in its plan's repositories.
    pub sweep: Option<i64>,
    /// Only findings first seen in that sweep.
    pub only_new: bool,
}

/// A finding read back, with every location.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    /// The finding.
    pub row: FindingRow,
    /// Whether the whole secret is in `row.secret` (else it holds the redacted value).
    pub secret_stored: bool,
    /// Every location.
    pub locations: Vec<LocationRow>,
    /// The sweep that first saw it.
    pub first_seen_sweep: i64,
    /// When it was first seen, RFC 3339.
    pub first_seen_at: String,
    /// Whether it is in a branch tip of any repository, as of its last scan.
    pub at_tip: bool,
    /// The last acting outcome.
    pub outcome: Option<Outcome>,
}

/// What verification or revocation found out about a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// What the provider said.
    pub status: VerificationStatus,
    /// The owner, when the provider tells.
    pub owner: Option<String>,
    /// When checked, RFC 3339.
    pub checked_at: String,
    /// When revoked, RFC 3339.
    pub revoked_at: Option<String>,
}

/// A worker of a shared datastore, as `sweep status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerInfo {
    /// The worker's name (host, process id and a random tail).
    pub worker: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id there.
    pub pid: i64,
    /// When it joined the sweep.
    pub started_at: String,
    /// Its last heartbeat.
    pub heartbeat_at: String,
    /// Whether the heartbeat is younger than its lease (a killed worker turns `false`).
    pub live: bool,
}

/// A repository claimed by a worker and not finished yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InFlight {
    /// The repository key.
    pub repository: String,
    /// The lease holder.
    pub worker: String,
    /// When it was claimed.
    pub since: String,
    /// When the lease runs out unless renewed.
    pub lease_until: String,
    /// Whether the lease has run out (another worker may take it).
    pub expired: bool,
    /// How many times it was claimed in this sweep (more than 1: a lease was taken over).
    pub claims: u64,
}

/// The datastore. Every method is one transaction; see the module doc for the contract.
pub trait Store {
    /// The sweep of `target` that is not complete, if any (the one a rerun continues).
    fn unfinished_sweep(&self, target: &str) -> Result<Option<SweepInfo>, StoreError>;

    /// Starts a sweep and writes its plan, all at once, before anything is fetched.
    fn begin_sweep(
        &mut self,
        target: &str,
        ruleset: &str,
        plan: &[RepoEntry],
    ) -> Result<SweepInfo, StoreError>;

    /// The plan of `sweep` with each repository's state.
    fn plan(&self, sweep: i64) -> Result<Vec<PlanRow>, StoreError>;

    /// Takes the next pending repository of `sweep` for `worker` (a lease in shared
    /// backends, where `worker` is [`Store::worker_id`]: commits are checked against it).
    /// `None` when nothing is pending.
    fn claim_next(&mut self, sweep: i64, worker: &str) -> Result<Option<RepoEntry>, StoreError>;

    /// The ref tips last scanned in `repo` under `ruleset` (empty when never).
    fn watermark(&self, repo: &str, ruleset: &str) -> Result<Vec<RefTip>, StoreError>;

    /// Which of `objects` (hex ids) were already read under `ruleset`, in any repository,
    /// in sweep `since` or later (`0`: ever; a `--full` sweep passes its own id, so it reads
    /// everything again, yet each object once).
    fn seen_objects(
        &self,
        ruleset: &str,
        objects: &[String],
        since: i64,
    ) -> Result<std::collections::HashSet<String>, StoreError>;

    /// The hits recorded in `objects` under `ruleset`.
    fn object_hits(
        &self,
        ruleset: &str,
        objects: &[String],
    ) -> Result<Vec<(String, ObjectHit)>, StoreError>;

    /// Finishes a repository as `scanned` with everything it produced, in one transaction.
    fn commit_repo(
        &mut self,
        sweep: i64,
        repo: &str,
        ruleset: &str,
        result: &RepoResult,
    ) -> Result<(), StoreError>;

    /// Finishes a repository as unchanged, skipped or failed (with a reason).
    fn finish_repo(
        &mut self,
        sweep: i64,
        repo: &str,
        state: RepoState,
        reason: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Marks the sweep complete when no repository is pending; returns whether it is.
    fn close_sweep(&mut self, sweep: i64) -> Result<bool, StoreError>;

    /// The given sweep, or the latest.
    fn sweep(&self, sweep: Option<i64>) -> Result<SweepInfo, StoreError>;

    /// Totals of a sweep.
    fn status(&self, sweep: Option<i64>) -> Result<SweepStatus, StoreError>;

    /// Findings with every location.
    fn findings(&self, q: &FindingQuery) -> Result<Vec<StoredFinding>, StoreError>;

    /// Records what acting found out about a secret.
    fn record_outcome(
        &mut self,
        fingerprint: &Fingerprint,
        outcome: &Outcome,
    ) -> Result<(), StoreError>;

    /// Whether whole secrets are kept.
    fn stores_secrets(&self) -> bool;

    /// The name this process claims under, when the backend gives one (shared backends
    /// name workers so that leases, `sweep status` and log lines agree).
    fn worker_id(&self) -> Option<String> {
        None
    }

    /// Pending repositories of `sweep` leased by workers other than `worker`: while there
    /// are some, a worker with nothing to claim waits (their leases finish or expire).
    fn pending_elsewhere(&self, _sweep: i64, _worker: &str) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// How long to wait before claiming again while others hold the rest.
    fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(500)
    }

    /// The workers that joined `sweep` (empty for single-process backends).
    fn workers(&self, _sweep: i64) -> Result<Vec<WorkerInfo>, StoreError> {
        Ok(Vec::new())
    }

    /// The repositories of `sweep` claimed and not finished, with their lease holders.
    fn in_flight(&self, _sweep: i64) -> Result<Vec<InFlight>, StoreError> {
        Ok(Vec::new())
    }
}

/// How to open a datastore named by `--datastore`: a `postgres://` URL or a SQLite file.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Keep whole secrets.
    pub store_secrets: bool,
    /// Lease seconds (shared backends; 600 when `None`).
    pub lease_secs: Option<u64>,
    /// Migrate an older shared schema forward.
    pub migrate: bool,
}

/// Opens the datastore for a sweep (creating it when needed).
pub fn open(datastore: &str, o: &OpenOptions) -> Result<Box<dyn Store>, StoreError> {
    if postgres::is_url(datastore) {
        let opts = postgres::PgOptions {
            store_secrets: o.store_secrets,
            lease_secs: o.lease_secs.unwrap_or(600),
            migrate: o.migrate,
            ..postgres::PgOptions::default()
        };
        return Ok(Box::new(postgres::PgStore::open(datastore, &opts)?));
    }
    Ok(Box::new(sqlite::SqliteStore::open(
        std::path::Path::new(datastore),
        o.store_secrets,
    )?))
}

/// Opens an existing datastore for reading (`sweep status`, `report`).
pub fn open_existing(datastore: &str) -> Result<Box<dyn Store>, StoreError> {
    if postgres::is_url(datastore) {
        return Ok(Box::new(postgres::PgStore::open_existing(datastore)?));
    }
    Ok(Box::new(sqlite::SqliteStore::open_existing(
        std::path::Path::new(datastore),
    )?))
}
