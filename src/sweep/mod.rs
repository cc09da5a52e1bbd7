//! A sweep: every repository of an organisation, incremental and resumable.
//!
//! Steps of [`run`], each a function below:
//! 1. `plan`: continue the unfinished sweep of the same target and rule set, or list the
//!    repositories ([`inventory`]), decide which are skipped and why, and write the plan
//!    BEFORE anything is fetched;
//! 2. fetch workers (`jobs` of them) take claimed repositories: the remote's advertised refs
//!    ([`refs`]: one smart-HTTP request; `git ls-remote` for local paths) against the
//!    watermark (equal: unchanged, no pack fetched), else an incremental mirror fetch
//!    ([`crate::source::remote`]); the credential goes only to the listing API's git host;
//! 3. the calling thread, the only one that writes to the store, scans each fetched mirror
//!    through [`scan`] (only objects never read under this rule set) and commits its results
//!    with its new watermark in one transaction; a failure is recorded with its reason and the
//!    sweep goes on;
//! 4. [`Store::close_sweep`] once nothing is pending.
//!
//! Nothing here prints: progress and per-repository outcomes go to an [`Events`] callback.

pub mod inventory;
pub mod refs;
pub mod scan;
mod shared;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use base64::Engine;

use crate::finding::Secret;
use crate::provider::http::{Auth, HttpClient, HttpPolicy};
use crate::provider::ProviderError;
use crate::scan::Counters;
use crate::source::remote::{GitCredential, GitRunner, Tip};
use crate::store::{RepoEntry, RepoState, Store, StoreError, SweepInfo, SweepStatus};

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

/// Runs (or continues) a sweep; see the module doc.
pub fn run(
    store: &mut dyn Store,
    http: &HttpClient,
    opts: &SweepOptions,
    setup: &scan::ScanSetup,
    counters: &Counters,
    cancel: &AtomicBool,
    events: Events<'_>,
) -> Result<SweepRun, SweepError> {
    if store.worker_id().is_some() {
        // A datastore shared by many workers: claim one repository at a time.
        return shared::run(store, http, opts, setup, counters, cancel, events);
    }
    let api = inventory::api(&opts.source, opts.token.clone())?;
    let sweep = plan(store, http, opts, api.as_ref(), setup, events)?;
    let worker = format!(
        "{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let mut work = VecDeque::new();
    while let Some(r) = store.claim_next(sweep.id, &worker)? {
        if let Some(reason) = &r.skip {
            store.finish_repo(sweep.id, &r.key, RepoState::Skipped, Some(reason))?;
            events(&Event::Finished {
                repo: r.key.clone(),
                state: RepoState::Skipped,
                reason: Some(reason.clone()),
            });
            continue;
        }
        work.push_back(r);
    }
    let mut marks = HashMap::new();
    if !opts.full {
        for r in &work {
            marks.insert(r.key.clone(), store.watermark(&r.key, &setup.ruleset)?);
        }
    }
    let cred_header = opts.token.as_ref().map(|t| git_header(&opts.source, t));
    let cred_auth = opts.token.as_ref().map(|t| git_auth(&opts.source, t));
    // Ref checks are git traffic, paced like git (no per-host interval), one per job.
    let ref_client = HttpClient::new(HttpPolicy {
        min_interval: std::time::Duration::ZERO,
        max_in_flight: opts.jobs.max(1),
        ..HttpPolicy::default()
    })?;
    let git_origins: Vec<String> = api
        .as_ref()
        .map(|a| a.git_origins.clone())
        .unwrap_or_default();
    for r in &work {
        if cred_header.is_some() && !git_origins.contains(&inventory::origin(&r.clone_url)) {
            events(&Event::Note(format!(
                "{}: clone URL is not on the listing API's host: fetched without a credential",
                r.key
            )));
        }
    }

    let queue = Mutex::new(work);
    let (tx, rx) = mpsc::channel::<Fetched>();
    let mut secrets = HashMap::new();
    let mut fatal: Option<SweepError> = None;
    std::thread::scope(|sc| {
        for _ in 0..opts.jobs.max(1) {
            let tx = tx.clone();
            let queue = &queue;
            let marks = &marks;
            let cred_header = &cred_header;
            let cred_auth = &cred_auth;
            let git_origins = &git_origins;
            let ref_client = &ref_client;
            sc.spawn(move || loop {
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                let Some(r) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else {
                    return;
                };
                let ours = git_origins.contains(&inventory::origin(&r.clone_url));
                let cred = cred_header.as_ref().filter(|_| ours);
                let auth = match cred_auth {
                    Some(a) if ours => a.clone(),
                    _ => Auth::None,
                };
                let out = fetch_one(opts, ref_client, &r, marks.get(&r.key), cred, &auth);
                if tx
                    .send(Fetched {
                        repo: r,
                        outcome: out,
                    })
                    .is_err()
                {
                    return;
                }
            });
        }
        drop(tx);
        for f in rx {
            if fatal.is_some() || cancel.load(Ordering::Relaxed) {
                continue;
            }
            events(&Event::Started(f.repo.key.clone()));
            let res = finish_one(
                store,
                sweep.id,
                opts.full,
                setup,
                counters,
                cancel,
                &f,
                &mut secrets,
            );
            match res {
                Ok((state, reason)) => events(&Event::Finished {
                    repo: f.repo.key.clone(),
                    state,
                    reason,
                }),
                Err(SweepError::Interrupted) => {}
                Err(e) => {
                    // The datastore itself failed: fetch nothing more.
                    queue.lock().unwrap_or_else(|p| p.into_inner()).clear();
                    fatal = Some(e)
                }
            }
        }
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    let interrupted = cancel.load(Ordering::Relaxed);
    store.close_sweep(sweep.id)?;
    let status = store.status(Some(sweep.id))?;
    let sweep = store.sweep(Some(sweep.id))?;
    Ok(SweepRun {
        sweep,
        status,
        secrets,
        interrupted,
    })
}

/// The watermark of a repository scanned with no refs at all (so that it is `unchanged`
/// next time, not "never scanned").
static NO_REFS: std::sync::LazyLock<Tip> =
    std::sync::LazyLock::new(|| ("(no refs)".to_string(), String::new()));

/// What a fetch worker hands to the writer.
struct Fetched {
    repo: RepoEntry,
    outcome: Result<FetchOutcome, String>,
}

enum FetchOutcome {
    /// The remote's refs equal the watermark: nothing fetched.
    Unchanged,
    /// The mirror is up to date at `tips`.
    Fetched { mirror: PathBuf, tips: Vec<Tip> },
}

fn fetch_one(
    opts: &SweepOptions,
    ref_client: &HttpClient,
    r: &RepoEntry,
    mark: Option<&Vec<crate::store::RefTip>>,
    cred: Option<&GitCredential>,
    auth: &Auth,
) -> Result<FetchOutcome, String> {
    let mirror = mirror_dir(&opts.cache, &r.key);
    if let Some(mark) = mark.filter(|m| !m.is_empty()) {
        let is_http = r.clone_url.starts_with("https://") || r.clone_url.starts_with("http://");
        // One in-process request for HTTP remotes; `git ls-remote` for the rest. A failed
        // check is not a verdict: the fetch below says what is wrong.
        let remote = if is_http {
            refs::advertised(ref_client, &r.clone_url, auth).ok()
        } else {
            opts.git.ls_remote(&r.clone_url, cred).ok()
        };
        let Some(remote) = remote else {
            return fetch_mirror(opts, r, &mirror, cred);
        };
        if &remote == mark || (remote.is_empty() && mark == std::slice::from_ref(&*NO_REFS)) {
            return Ok(FetchOutcome::Unchanged);
        }
    }
    fetch_mirror(opts, r, &mirror, cred)
}

fn fetch_mirror(
    opts: &SweepOptions,
    r: &RepoEntry,
    mirror: &Path,
    cred: Option<&GitCredential>,
) -> Result<FetchOutcome, String> {
    opts.git
        .mirror(&r.clone_url, mirror, cred)
        .map_err(|e| e.to_string())?;
    let tips = opts.git.local_tips(mirror).map_err(|e| e.to_string())?;
    Ok(FetchOutcome::Fetched {
        mirror: mirror.to_path_buf(),
        tips,
    })
}

/// Scans and commits one fetched repository, or records why it failed. An error returned
/// here is the datastore's own (the sweep cannot go on) or an interruption.
#[allow(clippy::too_many_arguments)]
fn finish_one(
    store: &mut dyn Store,
    sweep: i64,
    full: bool,
    setup: &scan::ScanSetup,
    counters: &Counters,
    cancel: &AtomicBool,
    f: &Fetched,
    secrets: &mut HashMap<String, Secret>,
) -> Result<(RepoState, Option<String>), SweepError> {
    let key = &f.repo.key;
    let fail = |store: &mut dyn Store, reason: String| -> Result<_, SweepError> {
        store.finish_repo(sweep, key, RepoState::Failed, Some(&reason))?;
        Ok((RepoState::Failed, Some(reason)))
    };
    match &f.outcome {
        Err(reason) => fail(store, reason.clone()),
        Ok(FetchOutcome::Unchanged) => {
            store.finish_repo(sweep, key, RepoState::Unchanged, None)?;
            Ok((RepoState::Unchanged, None))
        }
        Ok(FetchOutcome::Fetched { mirror, tips }) => {
            let before = counters.bytes.load(Ordering::Relaxed);
            let since = if full { sweep } else { 0 };
            let scanned = scan::scan_mirror(setup, &*store, key, mirror, since, counters, cancel);
            let mut scanned = match scanned {
                Ok(s) => s,
                Err(SweepError::Interrupted) => return Err(SweepError::Interrupted),
                Err(e) => return fail(store, e.to_string()),
            };
            let incomplete = (!scanned.errors.is_empty())
                .then(|| format!("incomplete scan: {}", scanned.errors.join("; ")));
            scanned.result.tips = if incomplete.is_some() {
                // What was found is kept, but with no watermark: the next sweep retries it.
                Vec::new()
            } else if tips.is_empty() {
                // A repository with no refs is still "scanned at these tips".
                vec![NO_REFS.clone()]
            } else {
                tips.clone()
            };
            scanned.result.bytes = counters.bytes.load(Ordering::Relaxed) - before;
            match store.commit_repo(sweep, key, &setup.ruleset, &scanned.result) {
                Ok(()) => {
                    secrets.extend(scanned.secrets);
                    match incomplete {
                        Some(reason) => fail(store, reason),
                        None => Ok((RepoState::Scanned, None)),
                    }
                }
                // Disk full and the like: this repository fails, what is committed stays.
                Err(e) => fail(store, format!("cannot record results: {e}")),
            }
        }
    }
}

/// The plan of this run: the unfinished sweep of the same target and rule set, or a new one
/// written before anything is fetched.
fn plan(
    store: &mut dyn Store,
    http: &HttpClient,
    opts: &SweepOptions,
    api: Option<&inventory::Api>,
    setup: &scan::ScanSetup,
    events: Events<'_>,
) -> Result<SweepInfo, SweepError> {
    let target = opts.source.target();
    if !opts.full {
        if let Some(s) = store.unfinished_sweep(&target)? {
            if s.ruleset == setup.ruleset {
                let rows = store.plan(s.id)?;
                let done = rows
                    .iter()
                    .filter(|r| r.state != RepoState::Pending)
                    .count();
                events(&Event::Planned {
                    sweep: s.id,
                    total: rows.len(),
                    done,
                    resumed: true,
                });
                return Ok(s);
            }
        }
    }
    let mut repos = inventory::list(http, &opts.source, api)?;
    let globs = exclude_set(&opts.exclude)?;
    for r in &mut repos {
        if r.skip.is_some() {
            continue;
        }
        r.skip = if globs.as_ref().is_some_and(|g| g.is_match(&r.key)) {
            Some("excluded by --exclude-repo".into())
        } else if r.is_fork && !opts.include_forks {
            Some("fork (use --include-forks)".into())
        } else if r.archived && !opts.include_archived {
            Some("archived (use --include-archived)".into())
        } else if let (Some(max), Some(size)) = (opts.max_repo_size, r.size) {
            (size > max).then(|| format!("{size} bytes, over --max-repo-size {max}"))
        } else if r.clone_url.is_empty() {
            Some("no clone URL in the listing".into())
        } else {
            None
        };
    }
    let s = store.begin_sweep(&target, &setup.ruleset, &repos)?;
    events(&Event::Planned {
        sweep: s.id,
        total: repos.len(),
        done: 0,
        resumed: false,
    });
    Ok(s)
}

fn exclude_set(globs: &[String]) -> Result<Option<globset::GlobSet>, SweepError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        b.add(
            globset::Glob::new(g)
                .map_err(|e| SweepError::Listing(format!("--exclude-repo {g}: {e}")))?,
        );
    }
    b.build()
        .map(Some)
        .map_err(|e| SweepError::Listing(format!("--exclude-repo: {e}")))
}

/// The mirror directory of a repository: a readable name plus a digest of the key.
pub fn mirror_dir(cache: &Path, key: &str) -> PathBuf {
    use sha2::Digest;
    let d = sha2::Sha256::digest(key.as_bytes());
    let tail: String = key
        .rsplit(['/', ':', '\\'])
        .next()
        .unwrap_or("repo")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    cache.join(format!("{tail}-{hex}.git"))
}

/// `Basic <base64(user:token)>` as the provider's git host takes it.
fn basic_value(source: &Source, token: &Secret) -> String {
    let user = match source {
        Source::Ado { .. } | Source::Urls { .. } => "",
        Source::GitHub { .. } => "x-access-token",
        Source::GitLab { .. } => "oauth2",
    };
    let b64 =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", token.expose()));
    format!("Basic {b64}")
}

/// The `http.extraHeader` line for the provider's git host.
fn git_header(source: &Source, token: &Secret) -> GitCredential {
    GitCredential::header(format!("Authorization: {}", basic_value(source, token)))
}

/// The same credential for the in-process ref check.
fn git_auth(source: &Source, token: &Secret) -> Auth {
    Auth::Header("authorization", Secret::new(basic_value(source, token)))
}
