//! Orchestration for git repositories: working tree + history, or only what is staged.
//!
//! Steps of [`scan_git`], each a function below:
//! 1. [`Collector::spawn`]: one findings map for everything, so a secret in the working tree
//!    and in history is ONE finding with both kinds of location;
//! 2. [`walk_files_into`]: the working tree (when asked);
//! 3. per repository, [`plan_history`] (or [`staged_blobs`]): each unique blob once, with
//!    every (commit, path) that introduced it;
//! 4. [`scan_planned`]: worker threads, each with its own repository handle and
//!    [`BlobScanner`], take blobs from a shared counter; messages are scanned on the caller's
//!    thread;
//! 5. [`Collector::finish`] and [`summarize`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use super::{
    summarize, walk_files_into, BlobScanner, Collector, Counters, ScanOptions, ScanOutcome,
};
use crate::error::Diagnostics;
use crate::matcher::Matcher;
use crate::source::git::{plan_history, staged_blobs, BlobReader, PlannedBlob, Selection};
use crate::source::Origin;

/// What to read from one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitWhat {
    /// The history of the selected commits (blobs and messages).
    History(Selection),
    /// Only the blobs staged in the index that differ from HEAD.
    Staged,
}

/// One repository to scan.
#[derive(Debug, Clone)]
pub struct GitTarget {
    /// The repository (working tree, `.git` or bare).
    pub repo: PathBuf,
    /// What to read from it.
    pub what: GitWhat,
}

/// Scans the files in `opts.fs.paths` when `walk_files` is set, then each target repository,
/// into one set of findings. A repository that cannot be opened (or a revision that does not
/// resolve) is one error line; the other targets are still scanned.
pub fn scan_git(
    matcher: &Matcher,
    opts: &ScanOptions,
    targets: &[GitTarget],
    walk_files: bool,
    diags: &Diagnostics,
    counters: &Counters,
    cancel: &AtomicBool,
) -> ScanOutcome {
    let started = Instant::now();
    let collector = Collector::spawn(opts.max_locations);
    if walk_files {
        walk_files_into(matcher, opts, diags, counters, cancel, &collector);
    }
    let excluded = exclude_set(&opts.fs.exclude, diags);
    for t in targets {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let planned = match &t.what {
            GitWhat::History(sel) if excluded.is_none() && super::pipeline::applies(sel) => {
                super::pipeline::scan_history(
                    matcher, opts, &t.repo, sel, &collector, diags, counters, cancel,
                )
                .map(|()| Vec::new())
            }
            GitWhat::History(sel) => plan_history(&t.repo, sel, diags, cancel).map(|p| {
                let mut s = BlobScanner::new(matcher, collector.sender(), counters, opts);
                for (bytes, origin) in &p.messages {
                    s.scan_bytes(bytes, std::slice::from_ref(origin));
                }
                p.blobs
            }),
            GitWhat::Staged => staged_blobs(&t.repo, diags),
        };
        match planned.map(|b| without_excluded(b, &excluded)) {
            Ok(blobs) => scan_planned(
                matcher, opts, &t.repo, &blobs, &collector, diags, counters, cancel,
            ),
            Err(e) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                diags.error(t.repo.display().to_string(), e);
            }
        }
    }
    let findings = collector.finish(matcher);
    let summary = summarize(&findings, counters, diags, cancel, started);
    ScanOutcome { findings, summary }
}

/// The `exclude` globs of patrol.toml, matched against paths inside the repository, as the
/// file walker matches them against paths under the scanned root.
fn exclude_set(globs: &[String], diags: &Diagnostics) -> Option<globset::GlobSet> {
    if globs.is_empty() {
        return None;
    }
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        match globset::Glob::new(g) {
            Ok(g) => {
                b.add(g);
            }
            Err(e) => diags.error("exclude globs", e),
        }
    }
    b.build().map_err(|e| diags.error("exclude globs", e)).ok()
}

/// Drops the origins whose path an exclude glob matches, and the blobs left with none: an
/// excluded path is excluded from history and from `--staged` too, not only from the walk.
fn without_excluded(
    mut blobs: Vec<PlannedBlob>,
    set: &Option<globset::GlobSet>,
) -> Vec<PlannedBlob> {
    let Some(set) = set else { return blobs };
    let excluded = |o: &Origin| match o {
        Origin::GitBlob { path, .. } => set.is_match(path_of(path)),
        Origin::File { path } => set.is_match(path),
        _ => false,
    };
    for b in &mut blobs {
        b.origins.retain(|o| !excluded(o));
    }
    blobs.retain(|b| !b.origins.is_empty());
    blobs
}

#[cfg(unix)]
fn path_of(b: &[u8]) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn path_of(b: &[u8]) -> std::path::PathBuf {
    std::path::PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

/// Reads and scans each planned blob once, with all its origins, on up to `opts.fs.threads`
/// threads. A blob that cannot be read is one error line naming its object id.
#[allow(clippy::too_many_arguments)]
pub fn scan_planned(
    matcher: &Matcher,
    opts: &ScanOptions,
    repo: &std::path::Path,
    blobs: &[PlannedBlob],
    collector: &Collector,
    diags: &Diagnostics,
    counters: &Counters,
    cancel: &AtomicBool,
) {
    if blobs.is_empty() {
        return;
    }
    let next = AtomicUsize::new(0);
    let threads = opts.fs.threads.clamp(1, blobs.len());
    let work = || {
        let reader = match BlobReader::open(repo) {
            Ok(r) => r,
            Err(e) => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                diags.error(repo.display().to_string(), e);
                return;
            }
        };
        let mut s = BlobScanner::new(matcher, collector.sender(), counters, opts);
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= blobs.len() || cancel.load(Ordering::Relaxed) {
                break;
            }
            let b = &blobs[i];
            super::pipeline::read_and_scan(
                &reader, b.oid, &b.origins, &mut s, opts, diags, counters,
            );
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
    use super::*;
    use crate::rules::RuleSet;
    use git2::{Repository, Signature, Time};

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
        let matcher = Matcher::new(RuleSet::builtin().unwrap());
        let counters = Counters::default();
        let diags = Diagnostics::default();
        let out = scan_git(
            &matcher,
            &ScanOptions::default(),
            &[GitTarget {
                repo: d.path().to_path_buf(),
                what: GitWhat::History(Selection::AllRefs),
            }],
            false,
            &diags,
            &counters,
            &AtomicBool::new(false),
        );
        // 3 unique blobs + 3 commit messages.
        assert_eq!(counters.blobs.load(Ordering::Relaxed), 6);
        assert_eq!(counters.hits.load(Ordering::Relaxed), 2);
        assert_eq!(out.findings.len(), 1);
        let paths: Vec<&str> = out.findings[0]
            .locations
            .iter()
            .map(|l| l.path.as_str())
            .collect();
        assert_eq!(paths, vec!["a.txt", "c/a.txt"]);
        assert!(out.summary.complete, "{:?}", diags.entries());
    }
}
