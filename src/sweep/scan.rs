//! The sweep's ONE adapter to the scanner: everything the sweep asks of `scan/`, `source/git`
//! and the finding types goes through this file, so a change of the scanner's front door is a
//! change here only.
//!
//! [`scan_mirror`] plans a mirror's whole history (each unique blob once, with every commit
//! and path that introduced it), drops the objects already read under the same rule set in
//! ANY repository of the datastore (that is the blob-level incrementality: a fork's shared
//! history is read once in the organisation), has the [`Scanner`] read and match the rest
//! into a `Recorder` (the sink that turns findings into the datastore's rows, as a report
//! writer turns them into lines), and turns the hits of skipped objects, recorded when they
//! were first read, into this repository's locations.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::ScanConfig;
use crate::error::Diagnostics;
use crate::finding::{Finding, FindingSink, Fingerprint, Location, RuleId, ScanSummary, Secret};
use crate::scan::{Counters, GitTarget, GitWhat, Objects, RunContext, ScanPlan, Scanner, Target};
use crate::source::git::{plan_history, HistoryPlan, Selection};
use crate::source::tips;
use crate::source::{CommitMeta, Origin};
use crate::store::{FindingRow, LocationRow, ObjectHit, RepoResult, Store, StoredFinding};

use super::SweepError;

/// What every repository of a sweep is scanned with.
pub struct ScanSetup {
    /// The scanner, with the team's validated scan configuration: rules (with `--rules` and
    /// the team's `disable_rules`), threads; inline markers only with
    /// `--honour-repo-config`. It suppresses nothing: see `accepted`.
    pub scanner: Scanner,
    /// The team's accepted set (its `--config` allow-list and `--baseline`), applied here
    /// and not by the scanner, so that an accepted finding's hits are still recorded and a
    /// later, smaller baseline finds it without reading its objects again.
    pub accepted: BTreeSet<Fingerprint>,
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
        let accepted = std::mem::take(&mut config.accepted);
        Self {
            scanner: Scanner::new(config),
            accepted,
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
    let split = Split::of(plan, &seen, repo);

    let hidden = Hidden {
        accepted: &setup.accepted,
        own: if setup.honour_repo_config {
            RepoConfig::read(mirror)
        } else {
            RepoConfig::default()
        },
    };
    let mut rec = Recorder {
        repo,
        object_of: &split.object_of,
        hidden: &hidden,
        out: RepoScan::default(),
        fp_objects: Vec::new(),
    };
    let blobs = split.objects.blobs.len() as u64;
    let plan = objects_plan(mirror, split.objects);
    let ctx = RunContext {
        diagnostics: &diags,
        counters,
        cancel,
    };
    let Ok(_) = setup.scanner.run(&plan, &mut rec, &ctx);
    if cancel.load(Ordering::Relaxed) {
        return Err(SweepError::Interrupted);
    }
    rec.sort_hits();
    // Objects read before (here or in another repository): their recorded hits, at this
    // repository's origins.
    let seen_here: Vec<String> = seen.iter().cloned().collect();
    for (oid, h) in store.object_hits(&setup.ruleset, &seen_here)? {
        if !hidden.hides(&h.fingerprint, &h.rule) {
            rec.seen_hit(&oid, &h, split.seen_origins.get(&oid));
        }
    }

    let Recorder {
        mut out,
        fp_objects,
        ..
    } = rec;
    let tip_blobs = tips::branch_tip_blobs(mirror);
    let at_tip: BTreeSet<Fingerprint> = fp_objects
        .into_iter()
        .filter(|(_, oid)| tip_blobs.contains(oid))
        .map(|(fp, _)| fp)
        .collect();
    out.result.at_tip = at_tip.into_iter().collect();
    out.result.objects = split.fresh;
    out.result.blobs = blobs;
    out.errors = diags
        .entries()
        .iter()
        .filter(|d| d.incomplete)
        .map(|d| d.to_string())
        .collect();
    Ok(out)
}

/// A scan plan of exactly `objects` of the repository at `mirror`.
fn objects_plan(mirror: &Path, objects: Objects) -> ScanPlan {
    let target = Target {
        name: objects.repository.clone(),
        files: Vec::new(),
        repositories: vec![GitTarget {
            repo: mirror.to_path_buf(),
            what: GitWhat::Objects(Arc::new(objects)),
        }],
    };
    ScanPlan {
        targets: vec![target],
        problems: Vec::new(),
    }
}

/// A repository's history plan split by what the datastore has read already.
struct Split {
    /// What to read now: the objects not read before.
    objects: Objects,
    /// Their ids: the messages' commits and tags first, then the blobs.
    fresh: Vec<String>,
    /// (commit, path bytes or `<what>`) -> the object there, to tie a location back to it.
    object_of: HashMap<(String, Vec<u8>), String>,
    /// Objects read before -> every place they entered this repository's history.
    seen_origins: HashMap<String, Vec<Origin>>,
}

impl Split {
    fn of(plan: HistoryPlan, seen: &HashSet<String>, repo: &str) -> Self {
        let mut s = Self {
            objects: Objects {
                repository: repo.to_string(),
                ..Objects::default()
            },
            fresh: Vec::new(),
            object_of: HashMap::new(),
            seen_origins: HashMap::new(),
        };
        let mut fresh_messages: HashSet<String> = HashSet::new();
        for (bytes, o) in plan.messages {
            let id = meta_of(&o).id.clone();
            if seen.contains(&id) {
                s.seen_origins.entry(id).or_default().push(o);
                continue;
            }
            if fresh_messages.insert(id.clone()) {
                s.fresh.push(id.clone());
            }
            s.object_of.insert(key_of(&o), id);
            s.objects.messages.push((bytes, o));
        }
        for b in plan.blobs {
            let oid = b.oid.to_string();
            if seen.contains(&oid) {
                s.seen_origins.entry(oid).or_default().extend(b.origins);
                continue;
            }
            for o in &b.origins {
                s.object_of.insert(key_of(o), oid.clone());
            }
            s.fresh.push(oid);
            s.objects.blobs.push(b);
        }
        s
    }
}

/// What the sweep does not show: the team's accepted set, and with `--honour-repo-config`
/// what the repository's own `patrol.toml` allows or disables.
struct Hidden<'a> {
    accepted: &'a BTreeSet<Fingerprint>,
    own: RepoConfig,
}

impl Hidden<'_> {
    fn hides(&self, fp: &Fingerprint, rule: &RuleId) -> bool {
        self.accepted.contains(fp)
            || self.own.allowed.contains(fp.as_str())
            || self.own.disabled.iter().any(|d| d == rule.as_str())
    }
}

/// The sink a repository's scan goes into: each finding becomes its rows (a hit per object
/// for every finding, so that a later, smaller baseline finds a hidden one without reading
/// the object again; locations and the secret only for the findings not hidden).
struct Recorder<'a> {
    repo: &'a str,
    object_of: &'a HashMap<(String, Vec<u8>), String>,
    hidden: &'a Hidden<'a>,
    out: RepoScan,
    /// (finding, object) of every location recorded, for the branch-tip check.
    fp_objects: Vec<(Fingerprint, String)>,
}

impl FindingSink for Recorder<'_> {
    type Error = Infallible;

    fn finding(&mut self, f: &Finding) -> Result<(), Infallible> {
        let hidden = self.hidden.hides(&f.fingerprint, &f.rule);
        for l in &f.locations {
            let Some(commit) = &l.commit else { continue };
            let path = l
                .path_raw
                .clone()
                .unwrap_or_else(|| l.path.clone().into_bytes());
            let Some(oid) = self.object_of.get(&(commit.id.clone(), path)) else {
                continue;
            };
            self.out.result.hits.push((
                oid.clone(),
                ObjectHit {
                    fingerprint: f.fingerprint.clone(),
                    rule: f.rule.clone(),
                    line: l.line,
                    column: l.column,
                    encoding: l.encoding,
                },
            ));
            if !hidden {
                let row = LocationRow::of(&f.fingerprint, self.repo, commit, l, oid);
                self.out.result.locations.push(row);
                self.fp_objects.push((f.fingerprint.clone(), oid.clone()));
            }
        }
        let row = FindingRow::of(f, mask(f.secret.expose()));
        self.out.result.findings.push(row);
        if !hidden {
            let fp = f.fingerprint.to_string();
            self.out.secrets.insert(fp, f.secret.clone());
        }
        Ok(())
    }

    fn finish(&mut self, _: &ScanSummary) -> Result<(), Infallible> {
        Ok(())
    }
}

impl Recorder<'_> {
    /// Orders the hits by object, finding, line and column, each once.
    fn sort_hits(&mut self) {
        let hits = &mut self.out.result.hits;
        hits.sort_by(|a, b| {
            (&a.0, &a.1.fingerprint, a.1.line, a.1.column).cmp(&(
                &b.0,
                &b.1.fingerprint,
                b.1.line,
                b.1.column,
            ))
        });
        hits.dedup();
    }

    /// The locations of a hit recorded when object `oid` was first read, at each of
    /// `origins` (where it entered this repository's history).
    fn seen_hit(&mut self, oid: &str, h: &ObjectHit, origins: Option<&Vec<Origin>>) {
        for o in origins.into_iter().flatten() {
            let (commit, path) = match o {
                Origin::GitBlob { commit, path } => (commit, path.clone()),
                Origin::GitMessage { commit, what } => (commit, format!("<{what}>").into_bytes()),
                _ => continue,
            };
            let at = Location {
                path: String::from_utf8_lossy(&path).into_owned(),
                path_raw: std::str::from_utf8(&path).is_err().then_some(path),
                line: h.line,
                column: h.column,
                commit: None,
                encoding: h.encoding,
                repository: None,
            };
            let row = LocationRow::of(&h.fingerprint, self.repo, commit, &at, oid);
            self.out.result.locations.push(row);
            self.fp_objects
                .push((h.fingerprint.clone(), oid.to_string()));
        }
    }
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

/// What a swept repository's own `patrol.toml` (at its HEAD) accepts: applied only with
/// `--honour-repo-config`.
#[derive(Debug, Default)]
struct RepoConfig {
    allowed: BTreeSet<String>,
    disabled: Vec<String>,
}

impl RepoConfig {
    fn read(mirror: &Path) -> Self {
        let Some(bytes) = tips::head_file(mirror, "patrol.toml") else {
            return Self::default();
        };
        let text = String::from_utf8_lossy(&bytes);
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

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;

    use base64::Engine as _;
    use git2::{Repository, Signature, Time};

    use super::*;
    use crate::config::ScanSettings;
    use crate::finding::ChecksumStatus;
    use crate::store::{FindingQuery, RepoEntry};

    /// Commits `files` (top-level names, any bytes) on `refs/heads/main` of a bare `repo`.
    fn commit(repo: &Repository, files: &[(&[u8], String)], message: &str, n: i64) {
        let parent = repo
            .find_reference("refs/heads/main")
            .ok()
            .and_then(|r| r.peel_to_commit().ok());
        let base = parent.as_ref().map(|c| c.tree().unwrap());
        let mut tb = repo.treebuilder(base.as_ref()).unwrap();
        for (name, content) in files {
            let oid = repo.blob(content.as_bytes()).unwrap();
            tb.insert(std::ffi::OsStr::from_bytes(name), oid, 0o100644)
                .unwrap();
        }
        let tree = repo.find_tree(tb.write().unwrap()).unwrap();
        let sig = Signature::new("A", "a@example.com", &Time::new(1_700_000_000 + n, 0)).unwrap();
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(
            Some("refs/heads/main"),
            &sig,
            &sig,
            message,
            &tree,
            &parents,
        )
        .unwrap();
    }

    /// Every field of a finding, for comparing one from the scanner with one from a store.
    #[allow(clippy::type_complexity)]
    fn fields(
        f: &Finding,
    ) -> (
        String,
        String,
        String,
        String,
        String,
        ChecksumStatus,
        Vec<Location>,
        u64,
        bool,
    ) {
        (
            f.rule.to_string(),
            f.name.clone(),
            f.provider.to_string(),
            f.secret.expose().to_string(),
            f.fingerprint.to_string(),
            f.checksum,
            f.locations.clone(),
            f.locations_omitted,
            f.verification.is_none(),
        )
    }

    /// Sweeps `mirror` (named `key`) into `store` twice: the first sweep reads every object,
    /// the second none (its locations come from the hits recorded by the first). Returns
    /// each sweep's findings as the report writers get them.
    fn sweep_twice(
        setup: &ScanSetup,
        store: &mut dyn Store,
        key: &str,
        mirror: &Path,
    ) -> [Vec<Finding>; 2] {
        let entry = RepoEntry {
            key: key.into(),
            clone_url: key.into(),
            size: None,
            is_fork: false,
            parent: None,
            archived: false,
            skip: None,
        };
        let worker = store.worker_id().unwrap_or_else(|| "w".into());
        let mut out = Vec::new();
        for _ in 0..2 {
            let sw = store
                .begin_sweep("t", &setup.ruleset, std::slice::from_ref(&entry))
                .unwrap();
            store.claim_next(sw.id, &worker).unwrap().unwrap();
            let scan = scan_mirror(
                setup,
                &*store,
                key,
                mirror,
                0,
                &Counters::default(),
                &AtomicBool::new(false),
            )
            .unwrap();
            assert!(scan.errors.is_empty(), "{:?}", scan.errors);
            store
                .commit_repo(sw.id, key, &setup.ruleset, &scan.result)
                .unwrap();
            assert!(store.close_sweep(sw.id).unwrap());
            let q = FindingQuery {
                sweep: Some(sw.id),
                only_new: false,
            };
            out.push(store.findings(&q).unwrap().iter().map(to_finding).collect());
        }
        let second = out.pop().unwrap();
        [out.pop().unwrap(), second]
    }

    /// What a finding holds survives the store: scanning a repository and reading its
    /// findings back from a datastore (SQLite and PostgreSQL, with whole secrets kept) gives
    /// the scanner's own findings field by field, including each location's encoding, a
    /// path that is not UTF-8 and a commit message, whether the objects were read in this
    /// sweep or in an earlier one.
    #[test]
    fn scan_then_store_then_report_equals_scan_then_report() {
        let d = tempfile::tempdir().unwrap();
        let mirror = d.path().join("m.git");
        let repo = Repository::init_bare(&mirror).unwrap();
        let t = |n| crate::rules::sample::sample("github.pat_classic", n).unwrap();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{}", t(3)));
        commit(
            &repo,
            &[
                (b"a.env", format!("TOKEN={}\n", t(1))),
                (b"caf\xe9.env", format!("TOKEN={}\n", t(2))),
                (
                    b"curl.txt",
                    format!("curl -H 'Authorization: Basic {basic}' x\n"),
                ),
            ],
            "first",
            1,
        );
        commit(
            &repo,
            &[(b"b.env", format!("again={}\n", t(1)))],
            &format!("second, with {}", t(4)),
            2,
        );
        let settings = ScanSettings {
            no_config: true,
            threads: Some(2),
            ..Default::default()
        };
        let setup = ScanSetup::new(ScanConfig::new(&settings).unwrap(), false);
        let mut config = ScanConfig::new(&settings).unwrap();
        config.max_locations = usize::MAX;
        let (direct, _) = Scanner::new(config).collect(
            &ScanPlan::repository(&mirror, Selection::AllRefs),
            &AtomicBool::new(false),
        );
        let want: Vec<_> = direct.findings.iter().map(fields).collect();
        let encodings: BTreeSet<Option<&str>> = direct
            .findings
            .iter()
            .flat_map(|f| f.locations.iter().map(|l| l.encoding))
            .collect();
        assert_eq!(encodings, BTreeSet::from([None, Some("base64")]));
        assert!(direct
            .findings
            .iter()
            .flat_map(|f| &f.locations)
            .any(|l| l.path_raw.as_deref() == Some(&b"caf\xe9.env"[..])));
        assert!(direct
            .findings
            .iter()
            .flat_map(|f| &f.locations)
            .any(|l| l.path == "<commit message>"));
        assert_eq!(want.len(), 4);

        let key = mirror.display().to_string();
        let dir = tempfile::tempdir().unwrap();
        let mut sqlite =
            crate::store::sqlite::SqliteStore::open(&dir.path().join("s.db"), true).unwrap();
        for got in sweep_twice(&setup, &mut sqlite, &key, &mirror) {
            assert_eq!(got.iter().map(fields).collect::<Vec<_>>(), want, "sqlite");
        }
    }
}
