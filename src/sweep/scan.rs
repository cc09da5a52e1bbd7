//! The sweep's ONE adapter to the scanner: everything the sweep asks of `scan/`, `source/git`
//! and the finding types goes through this file, so a change of the scanner's front door is a
//! change here only.
//!
//! [`scan_mirror`] plans a mirror's whole history (each unique blob once, with every commit
//! and path that introduced it), drops the objects already read under the same rule set in
//! ANY repository of the datastore (that is the blob-level incrementality: a fork's shared
//! history is read once in the organisation), reads and matches the rest, and turns the hits
//! of skipped objects, recorded when they were first read, into this repository's locations.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use crate::config::ScanConfig;
use crate::error::Diagnostics;
use crate::finding::{Finding, Fingerprint, Location, RuleId, Secret};
use crate::scan::{scan_selected, Counters};
use crate::source::git::{plan_history, PlannedBlob, Selection};
use crate::source::{CommitMeta, Origin};
use crate::store::{FindingRow, LocationRow, ObjectHit, RepoResult, Store, StoredFinding};

use super::SweepError;

/// What every repository of a sweep is scanned with.
pub struct ScanSetup {
    /// The team's validated scan configuration: rules (with `--rules` and the team's
    /// `disable_rules`), threads, and the accepted set (its `--config` allow-list and
    /// `--baseline`); inline markers only with `--honour-repo-config`.
    pub config: ScanConfig,
    /// Apply each swept repository's own `patrol.toml` and inline markers.
    pub honour_repo_config: bool,
    /// The rule-set id (see [`ruleset_id`]).
    pub ruleset: String,
}

impl ScanSetup {
    /// A setup whose rule-set id covers everything that changes what a blob yields.
    pub fn new(mut config: ScanConfig, honour_repo_config: bool) -> Self {
        config.inline_allow = honour_repo_config;
        // Every location is kept: the datastore is the place of record.
        config.max_locations = usize::MAX;
        let ruleset = ruleset_id(&config);
        Self {
            config,
            honour_repo_config,
            ruleset,
        }
    }
}

/// A digest of patrol's version, every rule as written and the options that change what a
/// blob yields: a new patrol, `--rules` or `disable_rules` is a new rule set, so it rescans.
pub fn ruleset_id(config: &ScanConfig) -> String {
    let mut h = Sha256::new();
    h.update(concat!("patrol ", env!("CARGO_PKG_VERSION"), "\0"));
    for r in config.matcher.rules().rules() {
        h.update(format!("{:?}\0", r.spec).as_bytes());
    }
    h.update(format!(
        "inline_allow={} max_file_size={:?} skip_binary={}",
        config.inline_allow, config.max_file_size, config.skip_binary
    ));
    let d = h.finalize();
    d[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// What one repository's scan produced, ready for [`Store::commit_repo`], and the whole
/// secrets it saw (kept in memory for `--verify` / `--revoke`, stored only on request).
#[derive(Debug, Default)]
pub struct RepoScan {
    /// For the datastore.
    pub result: RepoResult,
    /// Fingerprint -> secret, for acting in this run.
    pub secrets: HashMap<String, Secret>,
    /// Problems that made the scan of this repository incomplete.
    pub errors: Vec<String>,
}

/// Scans the mirror at `mirror` (repository `repo`) incrementally; see the module doc.
/// Objects read in sweep `since` or later are not read again (`0`: ever read).
pub fn scan_mirror(
    setup: &ScanSetup,
    store: &dyn Store,
    repo: &str,
    mirror: &Path,
    since: i64,
    counters: &Counters,
    cancel: &AtomicBool,
) -> Result<RepoScan, SweepError> {
    let diags = Diagnostics::default();
    let plan = plan_history(mirror, &Selection::AllRefs, &diags, cancel)
        .map_err(|e| SweepError::Scan(e.to_string()))?;
    // Object ids: blobs, and commits / tags for their messages.
    let mut ids: Vec<String> = plan.blobs.iter().map(|b| b.oid.to_string()).collect();
    ids.extend(plan.messages.iter().map(|(_, o)| meta_of(o).id.clone()));
    let seen = store.seen_objects(&setup.ruleset, &ids, since)?;

    // Where each (commit, path) came from, to tie a location back to its object.
    let mut object_of: HashMap<(String, Vec<u8>), String> = HashMap::new();
    let mut origins_of: HashMap<String, Vec<&Origin>> = HashMap::new();
    for b in &plan.blobs {
        let oid = b.oid.to_string();
        for o in &b.origins {
            object_of.insert(key_of(o), oid.clone());
            origins_of.entry(oid.clone()).or_default().push(o);
        }
    }
    for (_, o) in &plan.messages {
        let oid = meta_of(o).id.clone();
        object_of.insert(key_of(o), oid.clone());
        origins_of.entry(oid).or_default().push(o);
    }

    let fresh: Vec<PlannedBlob> = plan
        .blobs
        .iter()
        .filter(|b| !seen.contains(&b.oid.to_string()))
        .map(|b| PlannedBlob {
            oid: b.oid,
            origins: b.origins.clone(),
        })
        .collect();
    let mut fresh_objects: Vec<String> = Vec::new();
    let mut fresh_messages: HashSet<&str> = HashSet::new();
    let mut messages: Vec<(&[u8], &Origin)> = Vec::new();
    for (bytes, o) in &plan.messages {
        let id = &meta_of(o).id;
        if !seen.contains(id) {
            if fresh_messages.insert(id) {
                fresh_objects.push(id.clone());
            }
            messages.push((bytes, o));
        }
    }
    let findings = scan_selected(
        &setup.config,
        mirror,
        repo,
        &fresh,
        &messages,
        &diags,
        counters,
        cancel,
    );
    if cancel.load(Ordering::Relaxed) {
        return Err(SweepError::Interrupted);
    }
    let blobs = fresh.len() as u64;
    fresh_objects.extend(fresh.iter().map(|b| b.oid.to_string()));

    let own = if setup.honour_repo_config {
        RepoConfig::read(mirror)
    } else {
        RepoConfig::default()
    };
    let hidden = |fp: &Fingerprint, rule: &RuleId| {
        setup.config.accepted.contains(fp)
            || own.allowed.contains(fp.as_str())
            || own.disabled.iter().any(|d| d == rule.as_str())
    };

    let mut out = RepoScan::default();
    let mut fp_objects: Vec<(Fingerprint, String)> = Vec::new();
    for f in findings {
        let fp = f.fingerprint.clone();
        for l in &f.locations {
            let Some(commit) = &l.commit else { continue };
            let path = l
                .path_raw
                .clone()
                .unwrap_or_else(|| l.path.clone().into_bytes());
            let Some(oid) = object_of.get(&(commit.id.clone(), path)) else {
                continue;
            };
            out.result.hits.push((
                oid.clone(),
                ObjectHit {
                    fingerprint: fp.clone(),
                    rule: f.rule.clone(),
                    line: l.line,
                    column: l.column,
                    encoding: l.encoding,
                },
            ));
            if !hidden(&fp, &f.rule) {
                out.result
                    .locations
                    .push(LocationRow::of(&fp, repo, commit, l, oid));
                fp_objects.push((fp.clone(), oid.clone()));
            }
        }
        // A hidden finding's hits are still recorded above, so that a later, smaller
        // baseline finds it without reading the object again.
        out.result
            .findings
            .push(FindingRow::of(&f, mask(f.secret.expose())));
        if !hidden(&fp, &f.rule) {
            out.secrets.insert(fp.0, f.secret.clone());
        }
    }
    out.result.hits.sort_by(|a, b| {
        (&a.0, &a.1.fingerprint, a.1.line, a.1.column).cmp(&(
            &b.0,
            &b.1.fingerprint,
            b.1.line,
            b.1.column,
        ))
    });
    out.result.hits.dedup();

    // Objects read before (here or in another repository): their recorded hits, at this
    // repository's origins.
    let seen_here: Vec<String> = seen.iter().cloned().collect();
    for (oid, h) in store.object_hits(&setup.ruleset, &seen_here)? {
        if hidden(&h.fingerprint, &h.rule) {
            continue;
        }
        for o in origins_of.get(&oid).into_iter().flatten() {
            let (commit, path, path_raw) = match o {
                Origin::GitBlob { commit, path } => match std::str::from_utf8(path) {
                    Ok(p) => (commit, p.to_string(), None),
                    Err(_) => (
                        commit,
                        String::from_utf8_lossy(path).into_owned(),
                        Some(path.clone()),
                    ),
                },
                Origin::GitMessage { commit, what } => (commit, format!("<{what}>"), None),
                _ => continue,
            };
            let at = Location {
                path,
                path_raw,
                line: h.line,
                column: h.column,
                commit: None,
                encoding: h.encoding,
                repository: None,
            };
            out.result
                .locations
                .push(LocationRow::of(&h.fingerprint, repo, commit, &at, &oid));
            fp_objects.push((h.fingerprint.clone(), oid.clone()));
        }
    }

    let tip_blobs = tip_objects(mirror);
    let mut at_tip: BTreeSet<Fingerprint> = BTreeSet::new();
    for (fp, oid) in &fp_objects {
        if tip_blobs.contains(oid) {
            at_tip.insert(fp.clone());
        }
    }
    out.result.at_tip = at_tip.into_iter().collect();
    out.result.objects = fresh_objects;
    out.result.blobs = blobs;
    out.errors = diags
        .entries()
        .iter()
        .filter(|d| d.incomplete)
        .map(|d| d.to_string())
        .collect();
    Ok(out)
}

fn meta_of(o: &Origin) -> &CommitMeta {
    match o {
        Origin::GitBlob { commit, .. } | Origin::GitMessage { commit, .. } => commit,
        _ => unreachable!("a history plan holds git origins only"),
    }
}

fn key_of(o: &Origin) -> (String, Vec<u8>) {
    match o {
        Origin::GitBlob { commit, path } => (commit.id.clone(), path.clone()),
        Origin::GitMessage { commit, what } => {
            (commit.id.clone(), format!("<{what}>").into_bytes())
        }
        _ => (String::new(), Vec::new()),
    }
}

/// Blob ids in the trees of every branch tip (`refs/heads/*`).
fn tip_objects(mirror: &Path) -> HashSet<String> {
    let mut out = HashSet::new();
    let Ok(repo) = git2::Repository::open_bare(mirror) else {
        return out;
    };
    let Ok(refs) = repo.references_glob("refs/heads/*") else {
        return out;
    };
    for r in refs.flatten() {
        let Ok(tree) = r.peel_to_tree() else { continue };
        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |_, e| {
            if e.kind() == Some(git2::ObjectType::Blob) {
                out.insert(e.id().to_string());
            }
            git2::TreeWalkResult::Ok
        });
    }
    out
}

/// What a swept repository's own `patrol.toml` (at its HEAD) accepts: applied only with
/// `--honour-repo-config`.
#[derive(Debug, Default)]
struct RepoConfig {
    allowed: BTreeSet<String>,
    disabled: Vec<String>,
}

impl RepoConfig {
    fn read(mirror: &Path) -> Self {
        let text = (|| {
            let repo = git2::Repository::open_bare(mirror).ok()?;
            let tree = repo.head().ok()?.peel_to_tree().ok()?;
            let entry = tree.get_name("patrol.toml")?;
            let blob = repo.find_blob(entry.id()).ok()?;
            Some(String::from_utf8_lossy(blob.content()).into_owned())
        })();
        let Some(text) = text else {
            return Self::default();
        };
        match crate::config::Config::parse("patrol.toml", &text, Path::new("/nonexistent")) {
            Ok(c) => Self {
                allowed: c.allowed(),
                disabled: c.disabled_ids(),
            },
            Err(_) => Self::default(),
        }
    }
}

/// A stored finding as the report writers take it: each location names its repository.
pub fn to_finding(f: &StoredFinding) -> Finding {
    f.to_finding()
}

/// A stand-in for a secret that is not stored: same length, every character but the first
/// and last four (or all, under 16 characters) replaced by `*`, so that it redacts exactly as
/// the secret does and gives nothing more away.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let n = chars.len();
    if n >= 16 {
        chars[..4]
            .iter()
            .chain(std::iter::repeat_n(&'*', n - 8))
            .chain(&chars[n - 4..])
            .collect()
    } else {
        "*".repeat(n)
    }
}
