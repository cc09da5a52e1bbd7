//! Git repositories: each unique blob once, with every (commit, path) that introduced it, or
//! only what is staged.
//!
//! Steps of [`scan_repository`], each a function below or in `source::git`:
//! 0. a history (but `--include-unreachable`) goes through the pipeline of `pipeline.rs`
//!    instead (same result, blobs scanned while the walk goes on);
//! 1. `plan_history` (or `staged_blobs`): each unique blob once, with its origins; commit and
//!    tag messages are scanned on the caller's thread;
//! 2. [`without_excluded`]: patrol.toml's excludes apply to history and `--staged` too;
//! 3. [`scan_planned`]: worker threads, each with its own repository handle and
//!    [`BlobScanner`], take blobs from a shared counter.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::blob::BlobScanner;
use super::collect::Job;
use super::plan::{GitTarget, GitWhat, Objects};
use crate::source::git::{plan_history, staged_blobs, BlobReader, PlannedBlob};
use crate::source::Origin;

/// Scans one repository into the job's collector. A repository that cannot be opened (or a
/// revision that does not resolve) is one error line; the caller goes on with the next.
pub(crate) fn scan_repository(job: &Job<'_>, t: &GitTarget) {
    if let GitWhat::Objects(o) = &t.what {
        return scan_objects(job, t, o);
    }
    let repository = t.repo.display().to_string();
    let planned = match &t.what {
        GitWhat::History(sel) if super::pipeline::applies(sel) => {
            scan_own_config(job, t, &repository);
            super::pipeline::scan_history(job, &t.repo, &repository, sel).map(|()| Vec::new())
        }
        GitWhat::History(sel) => plan_history(&t.repo, sel, job.diags, job.cancel).map(|p| {
            let mut s = BlobScanner::new(job, Some(repository.clone()));
            for (bytes, origin) in &p.messages {
                s.scan_bytes(bytes, std::slice::from_ref(origin));
            }
            drop(s);
            scan_own_config(job, t, &repository);
            p.blobs
        }),
        GitWhat::Staged => staged_blobs(&t.repo, job.diags),
        GitWhat::Objects(_) => unreachable!("scanned above"),
    };
    match planned.map(|b| without_excluded(b, &job.config.exclude_set)) {
        Ok(blobs) => scan_planned(job, &t.repo, &repository, &blobs),
        Err(e) => {
            job.counters.errors.fetch_add(1, Ordering::Relaxed);
            job.diags.error(repository, e);
        }
    }
}

/// Exactly the caller's objects: the messages on this thread, then the blobs, every location
/// named `o.repository`. What to read was decided by the caller, so no exclude applies.
fn scan_objects(job: &Job<'_>, t: &GitTarget, o: &Objects) {
    let mut s = BlobScanner::new(job, Some(o.repository.clone()));
    for (bytes, origin) in &o.messages {
        s.scan_bytes(bytes, std::slice::from_ref(origin));
    }
    drop(s);
    scan_planned(job, &t.repo, &o.repository, &o.blobs);
}

/// The repository's own config (`.git/config`): remote URLs with credentials in them.
fn scan_own_config(job: &Job<'_>, t: &GitTarget, repository: &str) {
    let Some(path) = crate::source::git::config_file(&t.repo) else {
        return;
    };
    let mut s = BlobScanner::new(job, Some(repository.to_string()));
    let o = [Origin::File { path: path.clone() }];
    if let Err(e) = std::fs::File::open(&path).and_then(|f| s.scan_reader(f, &o, false)) {
        job.counters.errors.fetch_add(1, Ordering::Relaxed);
        job.diags.error(path.display().to_string(), e);
    }
}

/// Drops the origins whose path an exclude glob matches, and the blobs left with none: an
/// excluded path is excluded from history and from `--staged` too, not only from the walk.
fn without_excluded(
    mut blobs: Vec<PlannedBlob>,
    set: &Option<globset::GlobSet>,
) -> Vec<PlannedBlob> {
    let Some(set) = set else { return blobs };
    let excluded = |o: &Origin| match o {
        Origin::GitBlob { path, .. } => set.is_match(super::pipeline::path_of(path)),
        Origin::File { path } => set.is_match(path),
        _ => false,
    };
    for b in &mut blobs {
        b.origins.retain(|o| !excluded(o));
    }
    blobs.retain(|b| !b.origins.is_empty());
    blobs
}

/// Reads and scans each planned blob once, with all its origins, on up to `threads` threads.
/// A blob that cannot be read is one error line naming its object id.
pub(super) fn scan_planned(
    job: &Job<'_>,
    repo: &std::path::Path,
    repository: &str,
    blobs: &[PlannedBlob],
) {
    if blobs.is_empty() {
        return;
    }
    let c = job.config;
    let (counters, diags) = (job.counters, job.diags);
    let next = AtomicUsize::new(0);
    let threads = c.threads.clamp(1, blobs.len());
    let work = || {
        let reader = match BlobReader::open(repo) {
            Ok(r) => r,
            Err(e) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                diags.error(repository.to_string(), e);
                return;
            }
        };
        let mut s = BlobScanner::new(job, Some(repository.to_string()));
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= blobs.len() || job.cancelled() {
                break;
            }
            let b = &blobs[i];
            super::pipeline::read_and_scan(&reader, b.oid, &b.origins, None, &mut s, job);
        }
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|sc| {
            for _ in 0..threads {
                sc.spawn(work);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ScanConfig, ScanSettings};
    use crate::scan::{Counters, RunContext, ScanOutcome, ScanPlan, Scanner};
    use crate::source::git::Selection;
    use git2::{Repository, Signature, Time};
    use std::sync::atomic::{AtomicBool, Ordering};

    fn commit(repo: &Repository, files: &[(&str, &str)], n: i64) {
        let mut idx = repo.index().unwrap();
        for (p, c) in files {
            let full = repo.workdir().unwrap().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, c).unwrap();
            idx.add_path(std::path::Path::new(p)).unwrap();
        }
        idx.write().unwrap();
        let tree = repo.find_tree(idx.write_tree().unwrap()).unwrap();
        let sig = Signature::new("A", "a@example.com", &Time::new(1_700_000_000 + n, 0)).unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "m", &tree, &parents)
            .unwrap();
    }

    #[derive(Debug, PartialEq)]
    struct Found {
        rule: String,
        secret: String,
        locations: Vec<crate::finding::Location>,
        omitted: u64,
    }

    /// Findings (and the blobs and bytes counted) of one history scan of `repo` with the
    /// pipeline (`pipelined`) or the two-phase plan.
    fn history_scan(
        repo: &std::path::Path,
        sel: &Selection,
        config: &crate::config::ScanConfig,
        pipelined: bool,
    ) -> (Vec<Found>, u64, u64) {
        let collector = crate::scan::collect::Collector::spawn(config.max_locations);
        let counters = Counters::default();
        let diags = crate::error::Diagnostics::default();
        let cancel = AtomicBool::new(false);
        let job = crate::scan::collect::Job {
            config,
            collector: &collector,
            diags: &diags,
            counters: &counters,
            cancel: &cancel,
        };
        let name = repo.display().to_string();
        if pipelined {
            crate::scan::pipeline::scan_history(&job, repo, &name, sel).unwrap();
        } else {
            let p = crate::source::git::plan_history(repo, sel, &diags, &cancel).unwrap();
            let mut s = super::BlobScanner::new(&job, Some(name.clone()));
            for (bytes, origin) in &p.messages {
                s.scan_bytes(bytes, std::slice::from_ref(origin));
            }
            drop(s);
            let blobs = super::without_excluded(p.blobs, &config.exclude_set);
            super::scan_planned(&job, repo, &name, &blobs);
        }
        assert!(diags.entries().is_empty(), "{:?}", diags.entries());
        let findings = collector
            .finish(&config.matcher)
            .into_iter()
            .map(|f| Found {
                rule: f.rule.to_string(),
                secret: f.secret.expose().to_string(),
                locations: f.locations,
                omitted: f.locations_omitted,
            })
            .collect();
        let l = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        (findings, l(&counters.blobs), l(&counters.bytes))
    }

    /// Ranges and exclude globs on the pipeline give the planned scan's findings and read
    /// the same blobs: a boundary blob kept, renamed or copied under a new directory, a
    /// directory copied from an excluded path to a scanned one.
    #[test]
    fn ranges_and_excludes_on_the_pipeline_match_the_planned_scan() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let t = |n| crate::rules::sample::sample("github.pat_classic", n).unwrap();
        let (old, kept, vendored, added) = (t(1), t(2), t(3), t(4));
        let f = |tok: &str| format!("k = {tok}\n");
        commit(&repo, &[("old.txt", &f(&old)), ("lib/a.txt", &f(&kept))], 1);
        commit(&repo, &[("vendor/x/v.txt", &f(&vendored))], 2);
        let base = repo.head().unwrap().target().unwrap();
        // After the base: old.txt copied to a new path, lib/ copied whole to lib2/, vendor/x
        // copied out of vendor/, and one new token.
        commit(
            &repo,
            &[
                ("moved/old.txt", &f(&old)),
                ("lib2/a.txt", &f(&kept)),
                ("y/v.txt", &f(&vendored)),
                ("vendor/new.txt", &f(&added)),
                ("new.txt", &f(&added)),
            ],
            3,
        );
        commit(&repo, &[("lib/b.txt", "plain\n")], 4);
        std::fs::write(d.path().join("patrol.toml"), "exclude = [\"vendor/**\"]\n").unwrap();
        let sels = [
            Selection::AllRefs,
            Selection::Revs {
                include: vec!["HEAD".into()],
                exclude: vec![base.to_string()],
            },
        ];
        for with_config in [false, true] {
            let settings = ScanSettings {
                no_config: !with_config,
                config_file: with_config.then(|| d.path().join("patrol.toml")),
                threads: Some(2),
                ..Default::default()
            };
            let config = ScanConfig::new(&settings).unwrap();
            assert_eq!(config.exclude_set.is_some(), with_config);
            for sel in &sels {
                let planned = history_scan(d.path(), sel, &config, false);
                let piped = history_scan(d.path(), sel, &config, true);
                assert_eq!(piped, planned, "{sel:?}, patrol.toml: {with_config}");
                assert!(!planned.0.is_empty());
            }
        }
        // The range with the excludes: only what the new commits add outside vendor/.
        let settings = ScanSettings {
            config_file: Some(d.path().join("patrol.toml")),
            ..Default::default()
        };
        let config = ScanConfig::new(&settings).unwrap();
        let (found, _, _) = history_scan(d.path(), &sels[1], &config, true);
        let mut paths: Vec<&str> = found
            .iter()
            .flat_map(|f| f.locations.iter().map(|l| l.path.as_str()))
            .collect();
        paths.sort_unstable();
        assert_eq!(paths, ["lib2/a.txt", "moved/old.txt", "new.txt", "y/v.txt"]);
    }

    /// Three commits, five paths, but three unique blobs: each is read once, and the hits of
    /// one blob reach the collector once per origin.
    #[test]
    fn each_unique_blob_is_scanned_once_with_all_its_origins() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let tok = crate::rules::sample::sample("github.pat_classic", 1).unwrap();
        let secret = format!("t = {tok}\n");
        commit(&repo, &[("a.txt", &secret), ("b.txt", "plain\n")], 1);
        commit(&repo, &[("c/a.txt", &secret), ("d.txt", "plain\n")], 2);
        commit(&repo, &[("e.txt", "other\n")], 3);
        let settings = ScanSettings {
            no_config: true,
            threads: Some(1),
            ..Default::default()
        };
        let scanner = Scanner::new(ScanConfig::new(&settings).unwrap());
        let counters = Counters::default();
        let diags = crate::error::Diagnostics::default();
        let cancel = AtomicBool::new(false);
        let plan = ScanPlan::repository(d.path(), Selection::AllRefs);
        let mut out = ScanOutcome::default();
        let ctx = RunContext {
            diagnostics: &diags,
            counters: &counters,
            cancel: &cancel,
        };
        let Ok(_) = scanner.run(&plan, &mut out, &ctx);
        // 3 unique blobs + 3 commit messages + the repository's own .git/config.
        assert_eq!(counters.blobs.load(Ordering::Relaxed), 7);
        assert_eq!(counters.hits.load(Ordering::Relaxed), 2);
        assert_eq!(out.findings.len(), 1);
        let paths: Vec<&str> = out.findings[0]
            .locations
            .iter()
            .map(|l| l.path.as_str())
            .collect();
        assert_eq!(paths, vec!["a.txt", "c/a.txt"]);
        let repo_path = d.path().display().to_string();
        assert!(out.findings[0]
            .locations
            .iter()
            .all(|l| l.repository.as_deref() == Some(repo_path.as_str())));
        assert!(out.summary.complete, "{:?}", diags.entries());
    }
}
