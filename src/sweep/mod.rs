//! A sweep: every repository of an organisation, incremental and resumable.
//!
//! Steps of [`run`], each a function below:
//! 1. `plan`: continue the unfinished sweep of the same target and rule set, or list the
//!    repositories ([`inventory`]), decide which are skipped and why, and write the plan
//!    BEFORE anything is fetched;
//! 2. fetch workers (`jobs` of them) take repositories claimed one at a time (`claim.rs`, the
//!    same loop for one process and for many sharing a datastore): the remote's advertised refs
//!    ([`refs`]: one smart-HTTP request; `git ls-remote` for local paths) against the
//!    watermark (equal: unchanged, no pack fetched), else an incremental mirror fetch
//!    ([`crate::source::remote`]); the credential goes only to the listing API's git host,
//!    and the URL fetched is always the clone URL that decision was taken on: mirrors are
//!    keyed by repository and clone URL, a watermark holds the clone URL it was taken at (a
//!    repository whose clone URL changed is fetched afresh, with a note), and a listing API's
//!    clone URL that is not http(s) (`file://`, a local path) is refused;
//! 3. the calling thread, the only one that writes to the store, scans each fetched mirror
//!    through [`scan`] (only objects never read under this rule set) and commits its results
//!    with its new watermark in one transaction; a failure is recorded with its reason and the
//!    sweep goes on;
//! 4. [`Store::close_sweep`] once nothing is pending.
//!
//! Nothing here prints: progress and per-repository outcomes go to an [`Events`] callback.

mod claim;
pub mod inventory;
pub mod refs;
pub mod scan;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine;

use crate::finding::Secret;
use crate::provider::http::{Auth, HttpClient};
use crate::provider::ProviderError;
use crate::scan::Counters;
use crate::source::remote::redact_url;
use crate::source::remote::{GitCredential, GitRunner, Mirrored, Tip};
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

/// Runs (or continues) a sweep; see the module doc. One claim loop serves every datastore:
/// a single process is a shared sweep with nobody else working (`claim.rs`).
pub fn run(
    store: &mut dyn Store,
    http: &HttpClient,
    opts: &SweepOptions,
    setup: &scan::ScanSetup,
    counters: &Counters,
    cancel: &AtomicBool,
    events: Events<'_>,
) -> Result<SweepRun, SweepError> {
    claim::run(store, http, opts, setup, counters, cancel, events)
}

/// The watermark of a repository scanned with no refs at all (so that it is `unchanged`
/// next time, not "never scanned").
static NO_REFS: std::sync::LazyLock<Tip> =
    std::sync::LazyLock::new(|| ("(no refs)".to_string(), String::new()));

/// The pseudo-ref of a watermark that holds the clone URL the tips were read from: a
/// watermark taken at one URL never says "unchanged" for another (two hosts, a moved
/// repository), and a changed URL is noticed.
const URL_REF: &str = "(clone url)";

/// The watermark of `tips` read from `clone_url`, in the store's order.
fn watermark_of(tips: &[Tip], clone_url: &str) -> Vec<Tip> {
    let mut w = if tips.is_empty() {
        vec![NO_REFS.clone()]
    } else {
        tips.to_vec()
    };
    w.push((URL_REF.to_string(), clone_url.to_string()));
    w.sort();
    w
}

/// What a fetch worker hands to the writer.
struct Fetched {
    repo: RepoEntry,
    outcome: Result<FetchOutcome, String>,
    /// Lines for the user (a clone URL that changed...).
    notes: Vec<String>,
}

/// Whether a listing API's clone URL may be fetched: http(s) only. A `file://` URL or a path
/// would make the sweep read a repository of the machine it runs on; only `sweep urls` (the
/// user's own list) does that.
fn remote_url_ok(source: &Source, clone_url: &str) -> bool {
    matches!(source, Source::Urls { .. })
        || reqwest::Url::parse(clone_url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
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
) -> Fetched {
    let mut notes = Vec::new();
    let outcome = fetch_checked(opts, ref_client, r, mark, cred, auth, &mut notes);
    Fetched {
        repo: r.clone(),
        outcome,
        notes,
    }
}

fn fetch_checked(
    opts: &SweepOptions,
    ref_client: &HttpClient,
    r: &RepoEntry,
    mark: Option<&Vec<crate::store::RefTip>>,
    cred: Option<&GitCredential>,
    auth: &Auth,
    notes: &mut Vec<String>,
) -> Result<FetchOutcome, String> {
    if !remote_url_ok(&opts.source, &r.clone_url) {
        // A plan written before this check (or by hand): refuse here too.
        return Err(format!("{NOT_HTTP}: {}", redact_url(&r.clone_url)));
    }
    let mirror = mirror_for(&opts.cache, &r.key, &r.clone_url);
    let mark = mark.filter(|m| !m.is_empty());
    let was = mark.and_then(|m| m.iter().find(|(n, _)| n == URL_REF).map(|(_, u)| u));
    if let Some(was) = was.filter(|w| *w != &r.clone_url) {
        notes.push(moved_note(&r.key, was, &r.clone_url));
    }
    if let Some(mark) = mark {
        let is_http = r.clone_url.starts_with("https://") || r.clone_url.starts_with("http://");
        // One in-process request for HTTP remotes; `git ls-remote` for the rest. A failed
        // check is not a verdict: the fetch below says what is wrong.
        let remote = if is_http {
            refs::advertised(ref_client, &r.clone_url, auth).ok()
        } else {
            opts.git.ls_remote(&r.clone_url, cred).ok()
        };
        if let Some(remote) = remote {
            // Compared in one order whatever order the datastore's collation gave.
            let mut mark = mark.clone();
            mark.sort();
            if watermark_of(&remote, &r.clone_url) == mark {
                return Ok(FetchOutcome::Unchanged);
            }
        }
    }
    let done = opts
        .git
        .mirror(&r.clone_url, &mirror, cred)
        .map_err(|e| e.to_string())?;
    if let (Mirrored::Recloned { was }, true) = (&done, notes.is_empty()) {
        notes.push(moved_note(&r.key, was, &r.clone_url));
    }
    let tips = opts.git.local_tips(&mirror).map_err(|e| e.to_string())?;
    Ok(FetchOutcome::Fetched { mirror, tips })
}

/// Why a listing API's clone URL is not fetched.
const NOT_HTTP: &str =
    "clone URL is not http(s): a listing may not point the sweep at a local repository (only `sweep urls` reads local paths)";

fn moved_note(key: &str, was: &str, now: &str) -> String {
    format!(
        "{key}: clone URL changed from {} to {}: its mirror is cloned afresh from the new URL",
        redact_url(was),
        redact_url(now)
    )
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
            } else {
                // A repository with no refs is still "scanned at these tips", from this URL.
                watermark_of(tips, &f.repo.clone_url)
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
        r.skip = if !r.clone_url.is_empty() && !remote_url_ok(&opts.source, &r.clone_url) {
            Some(NOT_HTTP.into())
        } else if globs.as_ref().is_some_and(|g| g.is_match(&r.key)) {
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

/// The mirror directory of a repository: a readable name plus a digest of the key and the
/// clone URL (host and path), so that one cache serves two hosts listing the same names, and
/// a repository that moved gets a mirror of its own instead of fetching the old one's origin.
pub fn mirror_dir(cache: &Path, key: &str, clone_url: &str) -> PathBuf {
    dir_named(cache, key, &format!("{key}\n{clone_url}"))
}

/// [`mirror_dir`] as patrol 0.x named it (digest of the key alone): such a mirror is taken
/// over rather than cloned again; its own URL is checked before any fetch.
fn legacy_mirror_dir(cache: &Path, key: &str) -> PathBuf {
    dir_named(cache, key, key)
}

/// The mirror of `key` at `clone_url`, taking over a mirror named the old way.
fn mirror_for(cache: &Path, key: &str, clone_url: &str) -> PathBuf {
    let dir = mirror_dir(cache, key, clone_url);
    let legacy = legacy_mirror_dir(cache, key);
    if !dir.exists() && legacy.is_dir() {
        let _ = std::fs::rename(&legacy, &dir);
    }
    dir
}

fn dir_named(cache: &Path, key: &str, digest_of: &str) -> PathBuf {
    use sha2::Digest;
    let d = sha2::Sha256::digest(digest_of.as_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watermark_taken_at_one_url_never_matches_another() {
        let tips = vec![("refs/heads/main".to_string(), "aa".to_string())];
        let a = watermark_of(&tips, "https://a.example/o/r.git");
        assert_eq!(a, watermark_of(&tips, "https://a.example/o/r.git"));
        assert_ne!(a, watermark_of(&tips, "https://b.example/o/r.git"));
        assert_ne!(
            a, tips,
            "a watermark without its URL (written before) is refetched"
        );
        assert!(watermark_of(&[], "https://a.example/o/r.git").contains(&NO_REFS));
    }

    #[test]
    fn mirrors_are_keyed_by_repository_and_clone_url() {
        let c = Path::new("/cache");
        let a = mirror_dir(c, "github:acme/app", "https://a.example/acme/app.git");
        let b = mirror_dir(c, "github:acme/app", "https://b.example/acme/app.git");
        assert_ne!(a, b);
        assert_ne!(a, legacy_mirror_dir(c, "github:acme/app"));
        assert!(a.file_name().unwrap().to_string_lossy().starts_with("app-"));
    }

    #[test]
    fn a_mirror_named_the_old_way_is_taken_over() {
        let cache = tempfile::tempdir().unwrap();
        let legacy = legacy_mirror_dir(cache.path(), "k");
        std::fs::create_dir_all(legacy.join("objects")).unwrap();
        let dir = mirror_for(cache.path(), "k", "https://a.example/r.git");
        assert!(dir.join("objects").is_dir() && !legacy.exists());
    }

    #[test]
    fn only_sweep_urls_may_name_local_repositories() {
        let gh = Source::GitHub {
            org: "o".into(),
            api_url: None,
        };
        assert!(remote_url_ok(&gh, "https://github.com/o/r.git"));
        assert!(remote_url_ok(&gh, "http://127.0.0.1:8080/git/r.git"));
        for bad in [
            "file:///srv/r.git",
            "FILE:///srv/r.git",
            "/srv/r.git",
            "../r.git",
            "ext::sh -c touch% /tmp/x",
            "git@github.com:o/r.git",
            "ssh://github.com/o/r.git",
        ] {
            assert!(!remote_url_ok(&gh, bad), "{bad}");
        }
        let urls = Source::Urls {
            file: "list.txt".into(),
        };
        assert!(remote_url_ok(&urls, "/srv/r.git"));
    }
}
