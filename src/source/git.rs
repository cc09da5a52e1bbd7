//! Git repositories as a source: which blobs to read, where each entered history, and reading
//! them. Reading only (libgit2 through `git2`); nothing here matches or reports.
//!
//! [`plan_history`] walks the selected commits in topological order, oldest first, and walks
//! each commit's tree, skipping any (tree, path prefix) pair already walked: an unchanged
//! subtree costs one hash-set probe. Each (blob, path) pair is attributed to the first commit
//! that has it, and every unique blob appears once in the plan with all its origins, so the
//! scanner reads and matches it exactly once. Commit and annotated tag messages are collected
//! alongside. [`staged_blobs`] compares the index with HEAD (or with nothing, on an unborn HEAD).
//! [`BlobReader`] reads blobs; `git2::Repository` is not `Sync`, so each worker opens its own.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use git2::{ObjectType, Oid, Repository, Sort};

use super::{CommitMeta, Origin};
use crate::error::{Diagnostics, SourceError};

/// Which commits to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every ref: branches, tags, remote-tracking refs, the stash, and a detached HEAD.
    AllRefs,
    /// Every ref, plus the commits only a reflog reaches (amended-away, reset-away) and the
    /// commits no ref or reflog reaches but that are still in the object database (until
    /// `git gc` prunes them): `--include-unreachable`.
    AllRefsAndUnreachable,
    /// Commits reachable from any of `include` and from none of `exclude` (revisions as
    /// `git rev-parse` takes them). Blobs already present in the excluded boundary commits
    /// (the parents of the selected commits that are not selected) are not reported.
    Revs {
        /// Starting points.
        include: Vec<String>,
        /// Commits whose history is left out.
        exclude: Vec<String>,
    },
}

/// What a repository on disk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoKind {
    /// A repository with a working tree.
    WorkTree,
    /// A bare repository (no files to walk).
    Bare,
}

/// Whether `path` itself is a git repository (its working tree, its `.git`, or a bare
/// repository). Parent directories are not searched.
///
/// `Ok(None)`: not a repository. `Err`: it is one (it has a `.git`, or looks like a git
/// directory) but cannot be opened (a broken config, a repository owned by another user...):
/// the caller must report that, not quietly scan it as plain files.
pub fn probe(path: &Path) -> Result<Option<RepoKind>, SourceError> {
    match Repository::open_ext(
        path,
        git2::RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&std::ffi::OsStr>(),
    ) {
        Ok(repo) => Ok(Some(if repo.is_bare() {
            RepoKind::Bare
        } else {
            RepoKind::WorkTree
        })),
        Err(e) if e.code() == git2::ErrorCode::NotFound && !looks_like_repo(path) => Ok(None),
        Err(e) => Err(git_err(format!("repository {}", path.display()), e)),
    }
}

/// A `.git` entry, or the `HEAD` + `objects` of a git directory.
fn looks_like_repo(path: &Path) -> bool {
    path.join(".git").exists() || (path.join("HEAD").is_file() && path.join("objects").is_dir())
}

/// One unique blob and every place it entered history.
#[derive(Debug)]
pub struct PlannedBlob {
    /// The blob's object id.
    pub oid: Oid,
    /// Each (commit, path) that introduced it, in discovery order.
    pub origins: Vec<Origin>,
}

/// Everything to scan in a repository's selected history.
#[derive(Debug, Default)]
pub struct HistoryPlan {
    /// Unique blobs, in the order they were first met (oldest commits first).
    pub blobs: Vec<PlannedBlob>,
    /// Commit and annotated tag messages.
    pub messages: Vec<(Vec<u8>, Origin)>,
    /// Commits walked.
    pub commits: u64,
}

fn git_err(oid: impl ToString, e: git2::Error) -> SourceError {
    SourceError::Git {
        oid: oid.to_string(),
        reason: e.message().to_string(),
    }
}

/// Opens a repository for reading. Turns off libgit2's re-hashing of every object read
/// (process-wide): hashing with the collision-detecting SHA-1 cost about a third of a history
/// scan, and `git cat-file` does not do it either; zlib still catches damaged data.
fn open(path: &Path) -> Result<Repository, SourceError> {
    git2::opts::strict_hash_verification(false);
    // Every blob is read once, so libgit2's object cache only holds memory (the delta-base
    // cache that resolves successive versions is separate). Measured on the crates history
    // corpus: 0.32 s / 49 MiB without it, 0.34-0.37 s / 62 MiB with it.
    git2::opts::enable_caching(false);
    Repository::open(path).map_err(|e| git_err(path.display(), e))
}

/// The commit facts a location carries.
pub fn commit_meta(c: &git2::Commit<'_>) -> CommitMeta {
    let a = c.author();
    CommitMeta {
        id: c.id().to_string(),
        author_name: String::from_utf8_lossy(a.name_bytes()).into_owned(),
        author_email: String::from_utf8_lossy(a.email_bytes()).into_owned(),
        author_date: rfc3339(a.when()),
    }
}

/// A git time as RFC 3339 with its own UTC offset.
pub fn rfc3339(t: git2::Time) -> String {
    let off = time::UtcOffset::from_whole_seconds(t.offset_minutes() * 60)
        .unwrap_or(time::UtcOffset::UTC);
    // A hostile commit can carry any timestamp and offset: never panic on one that the
    // calendar cannot hold (fall back to UTC, then to the raw seconds).
    time::OffsetDateTime::from_unix_timestamp(t.seconds())
        .ok()
        .map(|d| d.checked_to_offset(off).unwrap_or(d))
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.seconds().to_string())
}

/// Attribution state: what has been walked and which blobs were found where.
struct Walker<'r> {
    repo: &'r Repository,
    seen_trees: HashSet<(Oid, Box<[u8]>)>,
    seen_blobs: HashSet<(Oid, Box<[u8]>)>,
    index: HashMap<Oid, usize>,
    blobs: Vec<PlannedBlob>,
    submodules: HashSet<Box<[u8]>>,
    bad_trees: HashSet<Oid>,
}

impl<'r> Walker<'r> {
    fn new(repo: &'r Repository) -> Self {
        Self {
            repo,
            seen_trees: HashSet::new(),
            seen_blobs: HashSet::new(),
            index: HashMap::new(),
            blobs: Vec::new(),
            submodules: HashSet::new(),
            bad_trees: HashSet::new(),
        }
    }

    /// Walks `tree` under `prefix`; with `commit` = `None` only marks what it sees (the
    /// boundary of a range), so those blobs are not reported later.
    fn walk(
        &mut self,
        tree: Oid,
        prefix: &mut Vec<u8>,
        commit: Option<&Arc<CommitMeta>>,
        diags: &Diagnostics,
    ) {
        if !self
            .seen_trees
            .insert((tree, prefix.clone().into_boxed_slice()))
        {
            return;
        }
        let t = match self.repo.find_tree(tree) {
            Ok(t) => t,
            Err(e) => {
                if self.bad_trees.insert(tree) && commit.is_some() {
                    diags.error(format!("git object {tree}"), e.message());
                }
                return;
            }
        };
        let base = prefix.len();
        for entry in t.iter() {
            prefix.truncate(base);
            if base > 0 {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(entry.name_bytes());
            match entry.kind() {
                Some(ObjectType::Blob) => {
                    let oid = entry.id();
                    if !self
                        .seen_blobs
                        .insert((oid, prefix.clone().into_boxed_slice()))
                    {
                        continue;
                    }
                    let Some(c) = commit else { continue };
                    let origin = Origin::GitBlob {
                        commit: c.clone(),
                        path: prefix.clone(),
                    };
                    match self.index.get(&oid) {
                        Some(&i) => self.blobs[i].origins.push(origin),
                        None => {
                            self.index.insert(oid, self.blobs.len());
                            self.blobs.push(PlannedBlob {
                                oid,
                                origins: vec![origin],
                            });
                        }
                    }
                }
                Some(ObjectType::Tree) => self.walk(entry.id(), prefix, commit, diags),
                Some(ObjectType::Commit)
                    if commit.is_some() && self.submodules.insert(prefix.clone().into()) =>
                {
                    diags.note(
                        String::from_utf8_lossy(prefix).into_owned(),
                        "submodule: not followed (scan its repository on its own)",
                    );
                }
                _ => {}
            }
        }
        prefix.truncate(base);
    }
}

/// Lists what to scan in the selected history of the repository at `path`. Unreadable commits
/// and trees are recorded in `diags` (naming the object id) and skipped; the walk goes on.
/// Fails only when the repository cannot be opened or a given revision does not resolve.
pub fn plan_history(
    path: &Path,
    selection: &Selection,
    diags: &Diagnostics,
    cancel: &AtomicBool,
) -> Result<HistoryPlan, SourceError> {
    let repo = open(path)?;
    let subject = path.display().to_string();
    if repo.is_shallow() {
        diags.note(
            subject.clone(),
            "shallow clone: history is truncated; scanning the commits that exist",
        );
    }
    let mut plan = HistoryPlan::default();
    let mut tips = Vec::new();
    let mut hidden = Vec::new();
    let ranged = match selection {
        Selection::AllRefs => {
            tips = all_ref_tips(&repo, &mut plan, diags)?;
            false
        }
        Selection::AllRefsAndUnreachable => {
            tips = all_ref_tips(&repo, &mut plan, diags)?;
            tips.extend(unreachable_tips(&repo, diags));
            false
        }
        Selection::Revs { include, exclude } => {
            for r in include {
                tips.push(resolve_commit(&repo, r)?);
            }
            for r in exclude {
                hidden.push(resolve_commit(&repo, r)?);
            }
            !exclude.is_empty()
        }
    };
    let commits = match revwalk_order(&repo, &tips, &hidden) {
        Ok(c) => c,
        // libgit2 gives up on the whole walk at the first unreadable commit: walk by hand,
        // naming each unreadable commit and keeping everything else.
        Err(e) => {
            let before = diags.entries().len();
            let c = robust_order(&repo, &tips, &hidden, diags);
            if diags.entries().len() == before {
                diags.error(format!("git history of {subject}"), e.message());
            }
            c
        }
    };
    if commits.is_empty() && plan.messages.is_empty() {
        diags.note(subject.clone(), "no commits to scan");
    }
    let mut w = Walker::new(&repo);
    if ranged {
        let selected: HashSet<Oid> = commits.iter().copied().collect();
        let mut boundary = HashSet::new();
        for oid in &commits {
            if let Ok(c) = repo.find_commit(*oid) {
                boundary.extend(c.parent_ids().filter(|p| !selected.contains(p)));
            }
        }
        for p in boundary {
            if let Ok(c) = repo.find_commit(p) {
                w.walk(c.tree_id(), &mut Vec::new(), None, diags);
            }
        }
    }
    let mut prefix = Vec::new();
    for oid in commits {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let c = match repo.find_commit(oid) {
            Ok(c) => c,
            Err(e) => {
                diags.error(format!("git object {oid}"), e.message());
                continue;
            }
        };
        plan.commits += 1;
        let meta = Arc::new(commit_meta(&c));
        prefix.clear();
        w.walk(c.tree_id(), &mut prefix, Some(&meta), diags);
        plan.messages.push((
            c.message_raw_bytes().to_vec(),
            Origin::GitMessage {
                commit: meta,
                what: "commit message".to_string(),
            },
        ));
    }
    plan.blobs = w.blobs;
    // Successive versions of one file are usually one delta chain in a pack: reading them
    // one after another lets libgit2's delta-base cache resolve each from the last.
    plan.blobs.sort_by(|a, b| first_path(a).cmp(first_path(b)));
    Ok(plan)
}

/// The path of the first place `b` entered history (empty for a staged-only blob).
pub fn first_path(b: &PlannedBlob) -> &[u8] {
    match b.origins.first() {
        Some(Origin::GitBlob { path, .. }) => path,
        _ => &[],
    }
}

fn resolve_commit(repo: &Repository, rev: &str) -> Result<Oid, SourceError> {
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|e| git_err(rev, e))
}

/// Every ref's commit (and a detached HEAD's); annotated tags add their message.
fn all_ref_tips(
    repo: &Repository,
    plan: &mut HistoryPlan,
    diags: &Diagnostics,
) -> Result<Vec<Oid>, SourceError> {
    let refs = repo
        .references()
        .map_err(|e| git_err(repo.path().display(), e))?;
    let mut tags_seen = HashSet::new();
    let mut tips = Vec::new();
    for r in refs {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                diags.error(format!("ref in {}", repo.path().display()), e.message());
                continue;
            }
        };
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        if let Some(target) = r.resolve().ok().and_then(|r| r.target()) {
            if let Ok(tag) = repo.find_tag(target) {
                if tags_seen.insert(tag.id()) {
                    plan.messages
                        .push((tag_message(&tag), tag_origin(&tag, &name)));
                }
            }
        }
        match r.peel(ObjectType::Commit) {
            Ok(obj) => tips.push(obj.id()),
            // Only a target that reads and is simply not a commit (a tree, a blob) is a note;
            // anything unreadable (missing object, broken pack index, a symbolic-ref cycle)
            // loses history and makes the scan incomplete.
            Err(e) if is_missing(&e) || !target_is_readable(repo, &r) => {
                diags.error(format!("ref {name}"), e.message());
            }
            Err(_) => diags.note(
                format!("ref {name}"),
                "does not point to a commit: not walked",
            ),
        }
    }
    if let Ok(true) = repo.head_detached() {
        if let Ok(c) = repo.head().and_then(|h| h.peel_to_commit()) {
            tips.push(c.id());
        }
    }
    Ok(tips)
}

/// Commits that the refs may not reach: every commit a reflog names (before and after each
/// update), and every commit object in the object database. Walking from them all covers
/// what an amend, a reset or a deleted branch left behind.
fn unreachable_tips(repo: &Repository, diags: &Diagnostics) -> Vec<Oid> {
    let mut tips = Vec::new();
    let mut names: Vec<String> = vec!["HEAD".to_string()];
    if let Ok(refs) = repo.references() {
        names.extend(refs.flatten().filter_map(|r| r.name().map(str::to_string)));
    }
    for n in &names {
        if let Ok(log) = repo.reflog(n) {
            for e in log.iter() {
                tips.extend(
                    [e.id_old(), e.id_new()]
                        .into_iter()
                        .filter(|o| !o.is_zero()),
                );
            }
        }
    }
    let mut all = Vec::new();
    match repo.odb() {
        Ok(odb) => {
            if let Err(e) = odb.foreach(|oid| {
                all.push(*oid);
                true
            }) {
                diags.error(
                    format!("object database of {}", repo.path().display()),
                    e.message(),
                );
            }
            for oid in all {
                if let Ok((_, ObjectType::Commit)) = odb.read_header(oid) {
                    tips.push(oid);
                }
            }
        }
        Err(e) => diags.error(
            format!("object database of {}", repo.path().display()),
            e.message(),
        ),
    }
    // Only commits that read: a reflog may name a commit gc has pruned.
    tips.retain(|o| repo.find_commit(*o).is_ok());
    tips.sort();
    tips.dedup();
    tips
}

/// The repository's own configuration file (`.git/config`, or `config` of a bare
/// repository), which may hold remote URLs with credentials in them; `None` when there is
/// none to read (a linked worktree's `.git` is a file and its config is the main one's).
pub fn config_file(path: &Path) -> Option<PathBuf> {
    let dotgit = path.join(".git");
    let cfg = if dotgit.is_dir() {
        dotgit.join("config")
    } else if path.join("HEAD").is_file() && path.join("objects").is_dir() {
        path.join("config")
    } else {
        return None;
    };
    cfg.is_file().then_some(cfg)
}

fn is_missing(e: &git2::Error) -> bool {
    e.code() == git2::ErrorCode::NotFound && e.class() == git2::ErrorClass::Odb
}

/// Whether the object a ref ends at can be read at all.
fn target_is_readable(repo: &Repository, r: &git2::Reference<'_>) -> bool {
    r.resolve()
        .ok()
        .and_then(|r| r.target())
        .is_some_and(|oid| repo.find_object(oid, None).is_ok())
}

/// libgit2's walk: reachable from `tips`, not from `hidden`, parents before children.
fn revwalk_order(repo: &Repository, tips: &[Oid], hidden: &[Oid]) -> Result<Vec<Oid>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    for t in tips {
        walk.push(*t)?;
    }
    for h in hidden {
        walk.hide(*h)?;
    }
    walk.collect()
}

/// The same order by hand (depth-first, parents emitted first), for a history with
/// unreadable commits: each is one error line (not in a shallow clone, where missing parents
/// are expected), and the walk goes on around it.
fn robust_order(repo: &Repository, tips: &[Oid], hidden: &[Oid], diags: &Diagnostics) -> Vec<Oid> {
    let shallow = repo.is_shallow();
    let mut excluded: HashSet<Oid> = HashSet::new();
    let mut stack: Vec<Oid> = hidden.to_vec();
    while let Some(oid) = stack.pop() {
        if excluded.insert(oid) {
            if let Ok(c) = repo.find_commit(oid) {
                stack.extend(c.parent_ids());
            }
        }
    }
    let mut done: HashSet<Oid> = HashSet::new();
    let mut order = Vec::new();
    let mut stack: Vec<(Oid, bool)> = tips.iter().rev().map(|t| (*t, false)).collect();
    while let Some((oid, expanded)) = stack.pop() {
        if expanded {
            order.push(oid);
            continue;
        }
        if excluded.contains(&oid) || !done.insert(oid) {
            continue;
        }
        match repo.find_commit(oid) {
            Ok(c) => {
                stack.push((oid, true));
                let parents: Vec<Oid> = c.parent_ids().collect();
                for p in parents.into_iter().rev() {
                    if !done.contains(&p) && !excluded.contains(&p) {
                        stack.push((p, false));
                    }
                }
            }
            Err(e) if !shallow => diags.error(format!("git object {oid}"), e.message()),
            Err(_) => {}
        }
    }
    order
}

fn tag_message(tag: &git2::Tag<'_>) -> Vec<u8> {
    tag.message_bytes().map(<[u8]>::to_vec).unwrap_or_default()
}

fn tag_origin(tag: &git2::Tag<'_>, ref_name: &str) -> Origin {
    let (name, email, date) = match tag.tagger() {
        Some(s) => (
            String::from_utf8_lossy(s.name_bytes()).into_owned(),
            String::from_utf8_lossy(s.email_bytes()).into_owned(),
            rfc3339(s.when()),
        ),
        None => Default::default(),
    };
    Origin::GitMessage {
        commit: Arc::new(CommitMeta {
            id: tag.id().to_string(),
            author_name: name,
            author_email: email,
            author_date: date,
        }),
        what: ref_name.to_string(),
    }
}

/// The blobs staged in the index that differ from HEAD (every staged blob on an unborn HEAD),
/// each with a file origin: its path relative to the repository root. Submodule entries are
/// noted and skipped.
pub fn staged_blobs(path: &Path, diags: &Diagnostics) -> Result<Vec<PlannedBlob>, SourceError> {
    let repo = open(path)?;
    let subject = path.display().to_string();
    let index = repo.index().map_err(|e| git_err(&subject, e))?;
    let head = match repo.head() {
        Ok(h) => Some(h.peel_to_tree().map_err(|e| git_err("HEAD", e))?),
        Err(e)
            if e.code() == git2::ErrorCode::UnbornBranch
                || e.code() == git2::ErrorCode::NotFound =>
        {
            None
        }
        Err(e) => return Err(git_err("HEAD", e)),
    };
    let mut opts = git2::DiffOptions::new();
    opts.ignore_submodules(true).include_typechange(true);
    let diff = repo
        .diff_tree_to_index(head.as_ref(), Some(&index), Some(&mut opts))
        .map_err(|e| git_err(&subject, e))?;
    let mut out = Vec::new();
    for d in diff.deltas() {
        use git2::Delta::*;
        if !matches!(d.status(), Added | Modified | Renamed | Copied | Typechange) {
            continue;
        }
        let f = d.new_file();
        let p = f.path_bytes().unwrap_or_default();
        if f.mode() == git2::FileMode::Commit {
            diags.note(
                String::from_utf8_lossy(p).into_owned(),
                "submodule: not followed",
            );
            continue;
        }
        out.push(PlannedBlob {
            oid: f.id(),
            origins: vec![Origin::File {
                path: path_from_bytes(p),
            }],
        });
    }
    Ok(out)
}

fn path_from_bytes(p: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(p))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(p).into_owned())
    }
}

/// Reads blobs from one repository; open one per worker thread.
pub struct BlobReader {
    repo: Repository,
}

impl BlobReader {
    /// Opens the repository at `path`.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        Ok(Self { repo: open(path)? })
    }

    /// The size of blob `oid` in bytes, without reading it whole.
    pub fn size(&self, oid: Oid) -> Result<u64, SourceError> {
        let odb = self.repo.odb().map_err(|e| git_err(oid, e))?;
        let (size, _) = odb.read_header(oid).map_err(|e| git_err(oid, e))?;
        Ok(size as u64)
    }

    /// Calls `f` with the contents of blob `oid`. A missing or corrupt object is an error
    /// naming the object id.
    pub fn with_blob<R>(&self, oid: Oid, f: impl FnOnce(&[u8]) -> R) -> Result<R, SourceError> {
        let odb = self.repo.odb().map_err(|e| git_err(oid, e))?;
        let obj = odb.read(oid).map_err(|e| git_err(oid, e))?;
        Ok(f(obj.data()))
    }
}

#[cfg(test)]
mod tests {
    /// Regression test for review item 3: a commit dated at the calendar's edge with a +14:00
    /// offset crashed the whole scan.
    #[test]
    fn rfc3339_never_panics_on_hostile_dates() {
        assert_eq!(
            super::rfc3339(git2::Time::new(1_700_000_000, 120)),
            "2023-11-15T00:13:20+02:00"
        );
        for (secs, off) in [
            (253_402_300_799, 14 * 60),
            (-62_135_596_800, -14 * 60),
            (i64::MAX, 0),
            (i64::MIN, 0),
        ] {
            assert!(!super::rfc3339(git2::Time::new(secs, off)).is_empty());
        }
    }
}
