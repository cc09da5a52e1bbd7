//! A sweep: every repository of an organisation, incremental and resumable.
//!
//! Steps of [`run`], each in a file of its own (this file holds the types and the front door):
//! 1. `plan.rs`: continue the unfinished sweep of the same target and rule set, or list the
//!    repositories ([`inventory`]), decide which are skipped and why, and write the plan
//!    BEFORE anything is fetched;
//! 2. fetch workers (`jobs` of them) take repositories claimed one at a time (`claim.rs`, the
//!    same loop for one process and for many sharing a datastore; `fetch.rs`): the remote's advertised refs
//!    ([`refs`]: one smart-HTTP request; `git ls-remote` for local paths) against the
//!    watermark (equal: unchanged, no pack fetched), else an incremental mirror fetch
//!    ([`crate::source::remote`]); the credential goes only to the listing API's git host,
//!    and the URL fetched is always the clone URL that decision was taken on: mirrors are
//!    keyed by repository and clone URL, a watermark holds the clone URL it was taken at (a
//!    repository whose clone URL changed is fetched afresh, with a note), and a listing API's
//!    clone URL that is not http(s) (`file://`, a local path) is refused;
//! 3. the calling thread, the only one that writes to the store (`record.rs`), scans each fetched mirror
//!    through [`scan`] (only objects never read under this rule set) and commits its results
//!    with its new watermark in one transaction; a failure is recorded with its reason and the
//!    sweep goes on;
//! 4. [`crate::store::Store::close_sweep`] once nothing is pending.
//!
//! Nothing here prints: progress and per-repository outcomes go to an [`Events`] callback.

mod claim;
mod fetch;
pub mod inventory;
mod plan;
mod record;
pub mod refs;
pub mod scan;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::finding::Secret;
use crate::provider::ProviderError;
use crate::source::remote::GitRunner;
use crate::store::{RepoState, StoreError, SweepInfo, SweepStatus};

pub use claim::run;
pub use fetch::mirror_dir;
pub use inventory::Source;

/// Errors that stop a whole sweep (one repository's failure never does).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The datastore failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listing API failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The listing could not be read.
    #[error("listing: {0}")]
    Listing(String),
    /// A repository could not be scanned.
    #[error("scan: {0}")]
    Scan(String),
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
}

/// Which listed repositories are left out, and the other knobs of a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// What to sweep.
    pub source: Source,
    /// The listing API's token (also sent to its git host, and only there).
    pub token: Option<Secret>,
    /// Where the mirrors live.
    pub cache: PathBuf,
    /// Repositories fetched at once.
    pub jobs: usize,
    /// Scan forks too.
    pub include_forks: bool,
    /// Scan archived repositories too.
    pub include_archived: bool,
    /// Repository-key globs to leave out.
    pub exclude: Vec<String>,
    /// Skip repositories the API says are larger.
    pub max_repo_size: Option<u64>,
    /// Ignore watermarks, unfinished sweeps and the objects earlier sweeps read: plan, fetch
    /// and read everything again (each object still once in this sweep).
    pub full: bool,
    /// A shared datastore: never start a sweep, wait for one to be running and join it
    /// (`--join`).
    pub join: bool,
    /// How to run git.
    pub git: GitRunner,
}

/// One thing that happened, for progress display and stderr.
#[derive(Debug, Clone)]
pub enum Event {
    /// The plan is ready (`resumed`: an unfinished sweep is continued).
    Planned {
        /// The sweep id.
        sweep: i64,
        /// Repositories in the plan.
        total: usize,
        /// Already finished (from an earlier run of this sweep).
        done: usize,
        /// Whether an unfinished sweep is continued.
        resumed: bool,
    },
    /// Work on a repository started.
    Started(String),
    /// A repository reached a final state.
    Finished {
        /// The repository.
        repo: String,
        /// Its state.
        state: RepoState,
        /// Why (skipped, failed).
        reason: Option<String>,
    },
    /// Something worth one line (a clone URL on another host gets no credential...).
    Note(String),
}

/// The callback that receives [`Event`]s (called on the sweep's thread).
pub type Events<'a> = &'a mut dyn FnMut(&Event);

/// What a run of a sweep leaves.
#[derive(Debug)]
pub struct SweepRun {
    /// The sweep.
    pub sweep: SweepInfo,
    /// Its totals after this run.
    pub status: SweepStatus,
    /// Whole secrets seen in this run, by fingerprint (for `--verify` / `--revoke`).
    pub secrets: HashMap<String, Secret>,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
}
