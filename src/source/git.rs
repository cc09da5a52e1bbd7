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

use super::commits::{read_commits, Feed};
use super::holdings::{Holdings, Scratch};
use super::key::{Key, KeyMap, KeySet};
use super::objects::{EntryKind, Objects};
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

/// The selected commits of a repository, in topological order (parents first), with what
/// selecting them found on the way: the messages of annotated tags, and whether the
/// selection has an excluded boundary.
struct Selected {
    repo: Repository,
    commits: Vec<Oid>,
    tag_messages: Vec<(Vec<u8>, Origin)>,
    ranged: bool,
}

/// A selection resolved to the commits it starts from and those it hides.
struct Tips {
    repo: Repository,
    tips: Vec<Oid>,
    hidden: Vec<Oid>,
    tag_messages: Vec<(Vec<u8>, Origin)>,
}

impl Tips {
    /// Whether [`commits::read_commits`] gives the commits libgit2's walk gives: nothing
    /// hidden, and no shallow or grafts file that libgit2 would cut parents with.
    fn readable_by_hand(&self) -> bool {
        self.hidden.is_empty()
            && !self.repo.is_shallow()
            && !self.repo.path().join("info").join("grafts").exists()
    }

    /// Orders the commits with libgit2's walk. Unreadable commits are recorded in `diags`
    /// (naming the object id) and skipped.
    fn order(self, path: &Path, diags: &Diagnostics) -> Selected {
        let subject = path.display().to_string();
        let Self {
            repo,
            tips,
            hidden,
            tag_messages,
        } = self;
        let commits = match revwalk_order(&repo, &tips, &hidden) {
            Ok(c) => c,
            // libgit2 gives up on the whole walk at the first unreadable commit: walk by
            // hand, naming each unreadable commit and keeping everything else.
            Err(e) => {
                let before = diags.entries().len();
                let c = robust_order(&repo, &tips, &hidden, diags);
                if diags.entries().len() == before {
                    diags.error(format!("git history of {subject}"), e.message());
                }
                c
            }
        };
        if commits.is_empty() && tag_messages.is_empty() {
            diags.note(subject, "no commits to scan");
        }
        Selected {
            repo,
            commits,
            tag_messages,
            ranged: !hidden.is_empty(),
        }
    }
}

/// Opens the repository, notes a shallow clone, resolves `selection` and orders its commits.
/// Unreadable commits are recorded in `diags` (naming the object id) and skipped.
fn select(
    path: &Path,
    selection: &Selection,
    diags: &Diagnostics,
) -> Result<Selected, SourceError> {
    Ok(select_tips(path, selection, diags)?.order(path, diags))
}

/// Opens the repository, notes a shallow clone and resolves `selection`.
fn select_tips(
    path: &Path,
    selection: &Selection,
    diags: &Diagnostics,
) -> Result<Tips, SourceError> {
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
    match selection {
        Selection::AllRefs => {
            tips = all_ref_tips(&repo, &mut plan, diags)?;
        }
        Selection::AllRefsAndUnreachable => {
            tips = all_ref_tips(&repo, &mut plan, diags)?;
            tips.extend(unreachable_tips(&repo, diags));
        }
        Selection::Revs { include, exclude } => {
            for r in include {
                tips.push(resolve_commit(&repo, r)?);
            }
            for r in exclude {
                hidden.push(resolve_commit(&repo, r)?);
            }
        }
    }
    Ok(Tips {
        repo,
        tips,
        hidden,
        tag_messages: plan.messages,
    })
}

/// Lists what to scan in the selected history of the repository at `path`. Unreadable commits
/// and trees are recorded in `diags` (naming the object id) and skipped; the walk goes on.
/// Fails only when the repository cannot be opened or a given revision does not resolve.
///
/// The plan holds every origin of every blob before any is read; [`enumerate_history`] and
/// [`attribute`] give the same result in far less memory when no boundary is excluded.
pub fn plan_history(
    path: &Path,
    selection: &Selection,
    diags: &Diagnostics,
    cancel: &AtomicBool,
) -> Result<HistoryPlan, SourceError> {
    let Selected {
        repo,
        commits,
        tag_messages,
        ranged,
    } = select(path, selection, diags)?;
    let mut plan = HistoryPlan {
        messages: tag_messages,
        ..HistoryPlan::default()
    };
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

/// One thing to scan met by [`enumerate_history`], in the order met.
#[derive(Debug)]
pub enum HistoryItem {
    /// A blob not met before in this walk (each unique blob comes once), with the path it
    /// was first met at: only a hint for the reading order (successive versions of one file
    /// are usually one delta chain); [`attribute`] says where it really entered history.
    Blob(Oid, Vec<u8>),
    /// A commit message or an annotated tag's message, with its origin.
    Message(Vec<u8>, Origin),
}

/// Where one walking thread of the parallel walk hands its items, when the caller scans them
/// on the walking threads themselves ([`enumerate_history`]'s `per_thread`): each thread gets
/// its own, so a walking thread reads and scans what it met, with no hand-over between
/// threads (on 2 cores, two walkers and two workers spent a quarter of their time waking
/// each other).
pub trait ThreadSink {
    /// An item met by this thread, in the order met.
    fn item(&mut self, item: HistoryItem);
    /// This thread's walk is over (also after a cancel): nothing more comes.
    fn finish(&mut self);
}

/// Makes one [`ThreadSink`] per walking thread, on that thread.
pub type SinkFactory<'a> = &'a (dyn Fn() -> Box<dyn ThreadSink + 'a> + Sync);

/// What [`attribute`] needs from an [`enumerate_history`] walk: the walked commits in order
/// with their root trees, and the trees of the excluded boundary (about 40 bytes a commit).
#[derive(Debug, Default)]
pub struct HistoryWalk {
    commits: Vec<(Oid, Oid)>,
    boundary: Vec<Oid>,
}

impl HistoryWalk {
    /// Commits walked.
    pub fn commits(&self) -> u64 {
        self.commits.len() as u64
    }
}

/// A hasher for object ids, which are already uniformly distributed: the first 8 bytes are
/// the hash. Probing the seen-sets is most of the enumeration's work.
#[derive(Default, Clone, Copy)]
pub(crate) struct OidHasher(u64);

impl std::hash::Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // `Oid` hashes its 20 bytes in one call (after no length prefix); anything else
        // (a path in a pair key) is folded in too, so the hasher stays correct for any key.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

pub(crate) type OidSet = HashSet<Oid, std::hash::BuildHasherDefault<OidHasher>>;

/// Whether a path (exact bytes, relative to the repository root) is excluded from a scan.
pub type PathFilter<'a> = &'a (dyn Fn(&[u8]) -> bool + Sync);

/// (object, path) pairs, looked up without allocating: the objects met at each path.
#[derive(Default)]
struct PathPairs(HashMap<Box<[u8]>, OidSet>);

impl PathPairs {
    fn contains(&self, oid: Oid, path: &[u8]) -> bool {
        self.0.get(path).is_some_and(|s| s.contains(&oid))
    }

    fn insert(&mut self, oid: Oid, path: &[u8]) -> bool {
        match self.0.get_mut(path) {
            Some(s) => s.insert(oid),
            None => {
                self.0.insert(path.into(), OidSet::from_iter([oid]));
                true
            }
        }
    }
}

/// Which (blob, path) pairs of the selected commits are left out: those already in the
/// excluded boundary of a range, and those whose path an exclude glob matches.
#[derive(Default)]
struct LeftOut<'x> {
    /// The (tree, prefix) and (blob, path) pairs of the boundary commits' trees.
    boundary_trees: PathPairs,
    boundary_blobs: PathPairs,
    excluded: Option<PathFilter<'x>>,
}

impl LeftOut<'_> {
    fn is_active(&self) -> bool {
        self.excluded.is_some() || !self.boundary_trees.0.is_empty()
    }

    fn has_blob(&self, oid: Oid, path: &[u8]) -> bool {
        self.boundary_blobs.contains(oid, path) || self.excluded.is_some_and(|f| f(path))
    }

    /// Marks every pair under `tree` as in the boundary.
    fn add_boundary(&mut self, repo: &Repository, tree: Oid, prefix: &mut Vec<u8>) {
        if !self.boundary_trees.insert(tree, prefix) {
            return;
        }
        let Ok(t) = repo.find_tree(tree) else { return };
        let base = prefix.len();
        for entry in t.iter() {
            push_name(prefix, base, entry.name_bytes());
            match entry.kind() {
                Some(ObjectType::Blob) => {
                    self.boundary_blobs.insert(entry.id(), prefix);
                }
                Some(ObjectType::Tree) => self.add_boundary(repo, entry.id(), prefix),
                _ => {}
            }
        }
        prefix.truncate(base);
    }
}

/// What a walk met below a tree.
#[derive(Debug, Clone, Copy, Default)]
struct Below {
    /// A submodule.
    gitlink: bool,
    /// A blob left out at this path that is not given yet: the tree may give more at
    /// another path, so it is deduplicated by (tree, prefix), not by tree alone.
    partial: bool,
}

/// Tree deduplication: each unique tree is read once, whatever path it sits at, unless a
/// blob below was left out at that path (a range's boundary, an exclude glob).
struct Enumerator<'r, 'x> {
    repo: &'r Repository,
    seen_trees: OidSet,
    seen_blobs: OidSet,
    bad_trees: OidSet,
    /// Trees with a submodule somewhere below them, and the (tree, prefix) pairs they were
    /// walked at: a submodule is noted at every path it appears at, as `plan_history` does.
    gitlink_trees: OidSet,
    gitlink_pairs: HashSet<(Oid, Box<[u8]>)>,
    submodules: HashSet<Box<[u8]>>,
    left_out: LeftOut<'x>,
    /// The (tree, prefix) pairs walked of trees that are partial there.
    partial_pairs: PathPairs,
}

impl<'r> Enumerator<'r, '_> {
    /// Walks `tree` under `prefix`, giving each blob not met before (and not left out) to
    /// `sink`.
    fn walk(
        &mut self,
        tree: Oid,
        prefix: &mut Vec<u8>,
        diags: &Diagnostics,
        sink: &mut dyn FnMut(HistoryItem),
    ) -> Below {
        if self.seen_trees.contains(&tree) {
            if self.gitlink_trees.contains(&tree) {
                self.notes_only(tree, prefix, diags);
                return Below {
                    gitlink: true,
                    partial: false,
                };
            }
            return Below::default();
        }
        let filtering = self.left_out.is_active();
        if filtering
            && (self.left_out.boundary_trees.contains(tree, prefix)
                || self.partial_pairs.contains(tree, prefix))
        {
            return Below {
                gitlink: false,
                partial: true,
            };
        }
        let t = match self.repo.find_tree(tree) {
            Ok(t) => t,
            Err(e) => {
                if self.bad_trees.insert(tree) {
                    diags.error(format!("git object {tree}"), e.message());
                }
                self.seen_trees.insert(tree);
                return Below::default();
            }
        };
        let base = prefix.len();
        let mut below = Below::default();
        for entry in t.iter() {
            match entry.kind() {
                Some(ObjectType::Blob) if !self.seen_blobs.contains(&entry.id()) => {
                    push_name(prefix, base, entry.name_bytes());
                    if filtering && self.left_out.has_blob(entry.id(), prefix) {
                        below.partial = true;
                        continue;
                    }
                    self.seen_blobs.insert(entry.id());
                    sink(HistoryItem::Blob(entry.id(), prefix.clone()));
                }
                Some(ObjectType::Tree) => {
                    push_name(prefix, base, entry.name_bytes());
                    let b = self.walk(entry.id(), prefix, diags, sink);
                    below.gitlink |= b.gitlink;
                    below.partial |= b.partial;
                }
                Some(ObjectType::Commit) => {
                    push_name(prefix, base, entry.name_bytes());
                    below.gitlink = true;
                    self.note_submodule(prefix, diags);
                }
                _ => {}
            }
        }
        prefix.truncate(base);
        if below.partial {
            self.partial_pairs.insert(tree, prefix);
        } else {
            self.seen_trees.insert(tree);
        }
        if below.gitlink {
            self.gitlink_trees.insert(tree);
            self.gitlink_pairs
                .insert((tree, prefix.clone().into_boxed_slice()));
        }
        below
    }

    /// A tree already walked that holds a submodule, met at another path: only the
    /// submodule notes are due.
    fn notes_only(&mut self, tree: Oid, prefix: &mut Vec<u8>, diags: &Diagnostics) {
        if !self
            .gitlink_pairs
            .insert((tree, prefix.clone().into_boxed_slice()))
        {
            return;
        }
        let Ok(t) = self.repo.find_tree(tree) else {
            return;
        };
        let base = prefix.len();
        for entry in t.iter() {
            match entry.kind() {
                Some(ObjectType::Tree) if self.gitlink_trees.contains(&entry.id()) => {
                    push_name(prefix, base, entry.name_bytes());
                    self.notes_only(entry.id(), prefix, diags);
                }
                Some(ObjectType::Commit) => {
                    push_name(prefix, base, entry.name_bytes());
                    self.note_submodule(prefix, diags);
                }
                _ => {}
            }
        }
        prefix.truncate(base);
    }

    fn note_submodule(&mut self, path: &[u8], diags: &Diagnostics) {
        if self.submodules.insert(path.into()) {
            diags.note(
                String::from_utf8_lossy(path).into_owned(),
                "submodule: not followed (scan its repository on its own)",
            );
        }
    }
}

/// `prefix` truncated to `base`, then `/name` (or `name` at the root).
fn push_name(prefix: &mut Vec<u8>, base: usize, name: &[u8]) {
    prefix.truncate(base);
    if base > 0 {
        prefix.push(b'/');
    }
    prefix.extend_from_slice(name);
}

/// Gives `sink` every unique blob of the selected history once and every commit and annotated
/// tag message, while walking (so blobs can be scanned while the walk goes on), and keeps
/// only what [`attribute`] needs later: two object ids per commit, not an origin per blob.
/// The walk skips every tree already walked, at any path, like `git rev-list --objects`.
///
/// Diagnostics, notes and errors are those of [`plan_history`]: the shallow-clone note,
/// unreadable commits and trees named by object id, a note per submodule path. A blob is
/// given when it sits at one (blob, path) pair at least that is neither in the excluded
/// boundary of a range nor at a path `excluded` matches: the blobs a planned scan with the
/// same exclusions reads, no more.
///
/// The parallel walk (`threads` > 1, no range, no excludes) records in `holdings` which trees
/// hold which blobs; the caller says of each blob given whether it had a hit
/// ([`Holdings::resolve`]), and [`attribute`] then reads only the trees that may hold one.
/// With `per_thread`, the parallel walk gives each thread's items to that thread's own sink
/// instead of to `sink` on the caller's thread (the serial walk always uses `sink`).
#[allow(clippy::too_many_arguments)]
pub fn enumerate_history(
    path: &Path,
    selection: &Selection,
    excluded: Option<PathFilter<'_>>,
    threads: usize,
    holdings: &Holdings,
    diags: &Diagnostics,
    cancel: &AtomicBool,
    sink: &mut dyn FnMut(HistoryItem),
    per_thread: Option<SinkFactory<'_>>,
) -> Result<HistoryWalk, SourceError> {
    let tips = select_tips(path, selection, diags)?;
    // The parallel walk reads the commits itself, as it walks them; otherwise libgit2
    // orders them first.
    let (selected, by_hand) = if threads > 1 && excluded.is_none() && tips.readable_by_hand() {
        let Tips {
            repo,
            tips,
            tag_messages,
            ..
        } = tips;
        let s = Selected {
            repo,
            commits: Vec::new(),
            tag_messages,
            ranged: false,
        };
        (s, Some(tips))
    } else {
        (tips.order(path, diags), None)
    };
    let Selected {
        repo,
        commits,
        tag_messages,
        ranged,
    } = selected;
    let no_tags = tag_messages.is_empty();
    for (bytes, origin) in tag_messages {
        sink(HistoryItem::Message(bytes, origin));
    }
    let mut walk = HistoryWalk {
        commits: Vec::with_capacity(commits.len()),
        boundary: if ranged {
            boundary_trees(&repo, &commits)
        } else {
            Vec::new()
        },
    };
    let mut e = Enumerator {
        repo: &repo,
        seen_trees: OidSet::default(),
        seen_blobs: OidSet::default(),
        bad_trees: OidSet::default(),
        gitlink_trees: OidSet::default(),
        gitlink_pairs: HashSet::new(),
        submodules: HashSet::new(),
        left_out: LeftOut {
            excluded,
            ..LeftOut::default()
        },
        partial_pairs: PathPairs::default(),
    };
    for tree in &walk.boundary {
        e.left_out.add_boundary(&repo, *tree, &mut Vec::new());
    }
    if threads > 1 && !e.left_out.is_active() {
        // `Tips::order` notes an empty selection; read by hand, it is noted here.
        let noted = by_hand.is_none();
        let source = match by_hand {
            Some(tips) => CommitSource::Read(tips),
            None => CommitSource::Listed(commits),
        };
        let par = walk_in_parallel(
            path, source, threads, holdings, diags, cancel, sink, per_thread,
        );
        walk.commits = par.commits;
        if walk.commits.is_empty() && no_tags && !noted {
            diags.note(path.display().to_string(), "no commits to scan");
        }
        if par.gitlink {
            // NOTE: a submodule is noted at every path it sits at, which the parallel walk
            // cannot tell without racing; with submodules the serial walk runs once more,
            // giving nothing but the notes.
            e.bad_trees = par.bad_trees;
            e.seen_blobs = par.seen_blobs;
            let mut prefix = Vec::new();
            for (_, tree) in &walk.commits {
                prefix.clear();
                e.walk(*tree, &mut prefix, diags, &mut |_| {});
            }
        }
        return Ok(walk);
    }
    let mut prefix = Vec::new();
    for oid in commits {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let c = match repo.find_commit(oid) {
            Ok(c) => c,
            Err(err) => {
                diags.error(format!("git object {oid}"), err.message());
                continue;
            }
        };
        let tree = c.tree_id();
        walk.commits.push((oid, tree));
        prefix.clear();
        e.walk(tree, &mut prefix, diags, sink);
        sink(HistoryItem::Message(
            c.message_raw_bytes().to_vec(),
            Origin::GitMessage {
                commit: Arc::new(commit_meta(&c)),
                what: "commit message".to_string(),
            },
        ));
    }
    Ok(walk)
}

/// The stack of a thread that walks trees recursively: the main thread's on Linux, which the
/// serial walk had, so a deeply nested tree does not overflow a spawned thread's 2 MiB.
const WALK_STACK_BYTES: usize = 8 << 20;

fn spawn_walker<'scope, T: Send + 'scope>(
    sc: &'scope std::thread::Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    std::thread::Builder::new()
        .stack_size(WALK_STACK_BYTES)
        .spawn_scoped(sc, f)
        .unwrap_or_else(|e| panic!("cannot start a walking thread: {e}"))
}

/// Where [`walk_in_parallel`] takes its commits from.
enum CommitSource {
    /// Commits ordered already, oldest first.
    Listed(Vec<Oid>),
    /// The tips to read the commits from, while walking ([`commits::read_commits`]).
    Read(Vec<Oid>),
}

/// What [`walk_in_parallel`] leaves behind.
struct ParallelWalk {
    /// The commits walked, in the given order, with their root trees.
    commits: Vec<(Oid, Oid)>,
    seen_blobs: OidSet,
    bad_trees: OidSet,
    /// Whether a submodule was met (only then are the two sets above filled).
    gitlink: bool,
}

/// The enumeration's walk on `threads` threads, each with its own repository, taking every
/// `threads`-th commit and sharing the trees and blobs met, so each unique tree is read
/// once by one of them: reading trees was the serial part of a history scan (1.7 GB of tree
/// objects against 2.3 GB of blobs on the long benchmark history). Gives `sink` what the
/// serial walk gives (blobs at a first path met, in an order that varies), and every message.
#[allow(clippy::too_many_arguments)]
fn walk_in_parallel(
    path: &Path,
    source: CommitSource,
    threads: usize,
    seen: &Holdings,
    diags: &Diagnostics,
    cancel: &AtomicBool,
    sink: &mut dyn FnMut(HistoryItem),
    per_thread: Option<SinkFactory<'_>>,
) -> ParallelWalk {
    let gitlink = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::sync_channel::<HistoryItem>(1024);
    let n = threads.max(1);
    let (feed, tips) = match source {
        CommitSource::Listed(c) => (Feed::filled(c.into_iter().rev().collect()), None),
        CommitSource::Read(tips) => (Feed::new(), Some(tips)),
    };
    let mut mine_all = Vec::new();
    let order = std::thread::scope(|sc| {
        let feed = &feed;
        // The reader: one thread, far ahead of the walking threads (a commit is read in
        // microseconds, its new trees in tens of them).
        let reader = tips.as_ref().map(|tips| {
            sc.spawn(move || {
                let opened = open(path).and_then(|r| Objects::open(r.commondir()));
                match opened {
                    Ok(mut objects) => read_commits(&mut objects, tips, feed, diags, cancel),
                    Err(e) => {
                        diags.error(path.display().to_string(), e);
                        feed.finish();
                        Vec::new()
                    }
                }
            })
        });
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (tx, gitlink) = (tx.clone(), &gitlink);
                spawn_walker(sc, move || {
                    let mut mine = Vec::new();
                    let mut own = per_thread.map(|f| f());
                    let mut out = |item: HistoryItem| match &mut own {
                        Some(sink) => sink.item(item),
                        None => {
                            let _ = tx.send(item);
                        }
                    };
                    let opened =
                        open(path).and_then(|r| Objects::open(r.commondir()).map(|o| (r, o)));
                    let (repo, mut objects) = match opened {
                        Ok(r) => r,
                        Err(e) => {
                            diags.error(path.display().to_string(), e);
                            if let Some(sink) = &mut own {
                                sink.finish();
                            }
                            return mine;
                        }
                    };
                    let mut w = SharedWalker {
                        objects: &mut objects,
                        seen,
                        scratch: Scratch::default(),
                        gitlink,
                        diags,
                        out: &mut out,
                    };
                    let mut prefix = Vec::new();
                    let runs = std::iter::from_fn(|| feed.take(n));
                    let commits = runs.flat_map(|(start, run)| (start..).zip(run));
                    for (i, oid) in commits {
                        let oid = &oid;
                        if cancel.load(Ordering::Relaxed) {
                            break;
                        }
                        let c = match repo.find_commit(*oid) {
                            Ok(c) => c,
                            Err(err) => {
                                diags.error(format!("git object {oid}"), err.message());
                                continue;
                            }
                        };
                        mine.push((i, *oid, c.tree_id()));
                        prefix.clear();
                        w.walk(c.tree_id(), &mut prefix);
                        (w.out)(HistoryItem::Message(
                            c.message_raw_bytes().to_vec(),
                            Origin::GitMessage {
                                commit: Arc::new(commit_meta(&c)),
                                what: "commit message".to_string(),
                            },
                        ));
                    }
                    if let Some(sink) = &mut own {
                        sink.finish();
                    }
                    mine
                })
            })
            .collect();
        drop(tx);
        for item in rx {
            sink(item);
        }
        for h in handles {
            mine_all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        reader.map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    let given = feed.len();
    let mut slots: Vec<Option<(Oid, Oid)>> = vec![None; given];
    for (i, commit, tree) in mine_all {
        slots[i] = Some((commit, tree));
    }
    // Oldest first: libgit2's order as read, or the listed order (given newest first).
    let order = order.unwrap_or_else(|| (0..given).rev().collect());
    let gitlink = gitlink.load(Ordering::Relaxed);
    let (seen_blobs, bad_trees) = if gitlink {
        (seen.blobs_met(), seen.bad_trees())
    } else {
        Default::default()
    };
    ParallelWalk {
        commits: order.into_iter().filter_map(|i| slots[i]).collect(),
        seen_blobs,
        bad_trees,
        gitlink,
    }
}

/// One thread of [`walk_in_parallel`].
struct SharedWalker<'a> {
    objects: &'a mut Objects,
    seen: &'a Holdings,
    scratch: Scratch,
    gitlink: &'a AtomicBool,
    diags: &'a Diagnostics,
    out: &'a mut dyn FnMut(HistoryItem),
}

impl SharedWalker<'_> {
    /// Walks `tree` unless some thread has, giving each blob no thread has met.
    fn walk(&mut self, tree: Oid, prefix: &mut Vec<u8>) {
        let Some(idx) = self.seen.start_tree(tree) else {
            return;
        };
        let t = match self.objects.tree(tree) {
            Ok(t) => t,
            Err(e) => {
                if self.seen.note_bad_tree(tree) {
                    self.diags.error(format!("git object {tree}"), e.reason());
                }
                return;
            }
        };
        // Which blobs are new, which subtrees unseen: one lock per shard of the record.
        let mut todo = Vec::new();
        if self
            .seen
            .meet_entries(idx, &t, &mut todo, &mut self.scratch)
        {
            self.gitlink.store(true, Ordering::Relaxed);
        }
        let base = prefix.len();
        for i in todo {
            let Some(entry) = t.get(i) else { continue };
            push_name(prefix, base, entry.name);
            if entry.kind == EntryKind::Tree {
                self.walk(entry.oid(), prefix);
            } else {
                (self.out)(HistoryItem::Blob(entry.oid(), prefix.clone()));
            }
        }
        prefix.truncate(base);
    }
}

/// The root trees of the parents of `commits` that are not among them.
fn boundary_trees(repo: &Repository, commits: &[Oid]) -> Vec<Oid> {
    let selected: HashSet<Oid> = commits.iter().copied().collect();
    let mut boundary = HashSet::new();
    for oid in commits {
        if let Ok(c) = repo.find_commit(*oid) {
            boundary.extend(c.parent_ids().filter(|p| !selected.contains(p)));
        }
    }
    boundary
        .into_iter()
        .filter_map(|p| repo.find_commit(p).ok().map(|c| c.tree_id()))
        .collect()
}

/// Where one target blob entered the walked history, as [`attribute`] found it.
#[derive(Debug, Default)]
pub struct Placement {
    /// The (commit, path) origins kept: at most the target's cap, those first in report order
    /// (by path, as a `Location` sorts: its lossy UTF-8 string, then its raw bytes).
    pub origins: Vec<Origin>,
    /// The origins met beyond the cap: counted, never stored.
    pub omitted: u64,
}

/// Finds every place each of `targets` entered the walked history: every (commit, path)
/// pair, the commit being the first in the walk's order that has the blob at that path,
/// exactly as [`plan_history`] attributes it (pairs already in an excluded boundary get
/// none). Each target maps to its cap: of its origins only the first `cap` in report order
/// are kept, the rest only counted, so a blob at 10,000,000 paths costs `cap` origins.
///
/// Only trees that hold a target somewhere below are walked by path; which do is worked out
/// first, reading each tree once, on `threads` threads. A pair is new unless an earlier tree at the same directory
/// path held it: the pairs of a directory are only remembered once a second tree is met
/// there, so memory follows the directories walked, not the pairs. Errors were reported by
/// the enumeration; an unreadable tree or commit is simply skipped here.
///
/// A pair at a path `excluded` matches is met but placed nowhere, as in the enumeration.
///
/// With the `holdings` the walk recorded, only the trees that may hold a target are read;
/// a target that this leaves without a single origin is attributed again reading every
/// tree, so a gap in the record costs time, never a location.
pub fn attribute(
    path: &Path,
    walk: &HistoryWalk,
    targets: &HashMap<Oid, usize>,
    excluded: Option<PathFilter<'_>>,
    threads: usize,
    holdings: Option<&Holdings>,
    cancel: &AtomicBool,
) -> Result<HashMap<Oid, Placement>, SourceError> {
    let may_hold = holdings.and_then(Holdings::candidates);
    let mut placed = attribute_among(path, walk, targets, excluded, threads, may_hold, cancel)?;
    let unplaced: HashMap<Oid, usize> = targets
        .iter()
        .filter(|(oid, _)| {
            placed
                .get(*oid)
                .is_none_or(|p| p.origins.is_empty() && p.omitted == 0)
        })
        .map(|(oid, cap)| (*oid, *cap))
        .collect();
    if holdings.is_some() && !unplaced.is_empty() && !cancel.load(Ordering::Relaxed) {
        placed.extend(attribute_among(
            path, walk, &unplaced, excluded, threads, None, cancel,
        )?);
    }
    Ok(placed)
}

/// [`attribute`], reading only the trees in `may_hold` (every tree when `None`).
fn attribute_among(
    path: &Path,
    walk: &HistoryWalk,
    targets: &HashMap<Oid, usize>,
    excluded: Option<PathFilter<'_>>,
    threads: usize,
    may_hold: Option<KeySet>,
    cancel: &AtomicBool,
) -> Result<HashMap<Oid, Placement>, SourceError> {
    if targets.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted: KeySet = targets.keys().map(|oid| Key::of(*oid)).collect();
    let index = holding_trees(path, walk, &wanted, threads, may_hold.as_ref(), cancel)?;
    let repo = open(path)?;
    let mut a = Attributor {
        index: &index,
        dirs: HashMap::new(),
        kept: targets
            .iter()
            .map(|(oid, cap)| (Key::of(*oid), Kept::new(*cap)))
            .collect(),
        excluded,
    };
    for tree in &walk.boundary {
        a.walk(Key::of(*tree), &mut Vec::new(), None);
    }
    let mut prefix = Vec::new();
    for (commit, tree) in &walk.commits {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        prefix.clear();
        let mut slot = CommitSlot {
            repo: &repo,
            oid: *commit,
            meta: None,
        };
        a.walk(Key::of(*tree), &mut prefix, Some(&mut slot));
    }
    let kept = std::mem::take(&mut a.kept);
    // The index and the directories' pairs are a few hundred thousand small allocations;
    // freeing them was a tenth of a second on one core at the very end of a scan, while
    // the other core had nothing left to do. Another thread frees them while the findings go
    // out.
    let (dirs, index) = (std::mem::take(&mut a.dirs), index);
    let _ = std::thread::Builder::new()
        .name("patrol-free".into())
        .spawn(move || drop((dirs, index)));
    Ok(kept
        .into_iter()
        .map(|(key, k)| {
            let p = Placement {
                origins: k.best.into_values().collect(),
                omitted: k.omitted,
            };
            (key.oid(), p)
        })
        .collect())
}

/// One entry of a tree that holds a target: a target blob, or a tree holding one.
struct Held {
    name: Box<[u8]>,
    oid: Key,
    is_tree: bool,
}

/// For every tree of the walk, whether it holds a target somewhere below, and if it does,
/// its entries that do (`None`: it holds none). The rest of the attribution walks this in
/// memory, never reading a tree again; it is small, as few trees hold a target and those
/// keep only the entries leading to one.
type HoldingIndex = KeyMap<Option<Arc<[Held]>>>;

/// Builds the [`HoldingIndex`] of the walk's root trees (and the boundary's), reading each
/// tree once: `threads` threads, each with its own repository, take every `threads`-th
/// commit and share what they found, so each commit's new trees are read by one of them.
/// With `may_hold`, a tree not in it is taken to hold none without reading it.
fn holding_trees(
    path: &Path,
    walk: &HistoryWalk,
    targets: &KeySet,
    threads: usize,
    may_hold: Option<&KeySet>,
    cancel: &AtomicBool,
) -> Result<HoldingIndex, SourceError> {
    let index = std::sync::Mutex::new(HoldingIndex::default());
    let n = threads.max(1);
    // Newest first, as the enumeration's walk reads them (see [`Feed`]).
    let roots = Feed::filled(walk.commits.iter().rev().map(|(_, tree)| *tree).collect());
    let roots = &roots;
    let results: Vec<Result<(), SourceError>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..n)
            .map(|k| {
                let index = &index;
                spawn_walker(sc, move || {
                    let mut objects = Objects::open(open(path)?.commondir())?;
                    let roots = std::iter::from_fn(|| roots.take(n)).flat_map(|(_, run)| run);
                    let boundary = walk.boundary.iter().copied().filter(|_| k == 0);
                    for tree in boundary.chain(roots) {
                        if cancel.load(Ordering::Relaxed) {
                            break;
                        }
                        held_entries(&mut objects, targets, may_hold, index, Key::of(tree));
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for r in results {
        r?;
    }
    Ok(index.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// `tree`'s entries that hold a target, from `index` or read (and added to it).
fn held_entries(
    objects: &mut Objects,
    targets: &KeySet,
    may_hold: Option<&KeySet>,
    index: &std::sync::Mutex<HoldingIndex>,
    tree: Key,
) -> Option<Arc<[Held]>> {
    if may_hold.is_some_and(|m| !m.contains(&tree)) {
        return None;
    }
    let lock = || index.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(h) = lock().get(&tree) {
        return h.clone();
    }
    let mut held = Vec::new();
    if let Ok(t) = objects.tree(tree.oid()) {
        for entry in t.entries() {
            let oid = Key::from_bytes(entry.id);
            let is_tree = match entry.kind {
                EntryKind::Blob if targets.contains(&oid) => false,
                EntryKind::Tree => {
                    if held_entries(objects, targets, may_hold, index, oid).is_none() {
                        continue;
                    }
                    true
                }
                _ => continue,
            };
            held.push(Held {
                name: entry.name.into(),
                oid,
                is_tree,
            });
        }
    }
    let h: Option<Arc<[Held]>> = (!held.is_empty()).then(|| held.into());
    lock().insert(tree, h.clone());
    h
}

/// The commit being attributed; its facts are read once, when it first places a pair.
struct CommitSlot<'r> {
    repo: &'r Repository,
    oid: Oid,
    /// `Some(None)`: the commit cannot be read, and its pairs are placed nowhere.
    meta: Option<Option<Arc<CommitMeta>>>,
}

impl CommitSlot<'_> {
    fn meta(&mut self) -> Option<Arc<CommitMeta>> {
        let (repo, oid) = (self.repo, self.oid);
        self.meta
            .get_or_insert_with(|| {
                repo.find_commit(oid)
                    .ok()
                    .map(|c| Arc::new(commit_meta(&c)))
            })
            .clone()
    }
}

/// A location's sort key by path: its lossy UTF-8 string, then the raw bytes when the path
/// is not UTF-8 (`Location { path, path_raw, .. }`).
type PathKey = (Vec<u8>, Option<Vec<u8>>);

fn path_key(path: &[u8]) -> PathKey {
    match std::str::from_utf8(path) {
        Ok(_) => (path.to_vec(), None),
        Err(_) => (
            String::from_utf8_lossy(path).into_owned().into_bytes(),
            Some(path.to_vec()),
        ),
    }
}

/// `path`'s key against `key`, without allocating for a UTF-8 path.
fn cmp_path_key(path: &[u8], key: &PathKey) -> std::cmp::Ordering {
    match std::str::from_utf8(path) {
        Ok(_) => (path, None).cmp(&(key.0.as_slice(), key.1.as_deref())),
        Err(_) => path_key(path).cmp(key),
    }
}

/// One target's origins: the first `cap` in report order, and a count of the rest.
struct Kept {
    cap: usize,
    best: std::collections::BTreeMap<PathKey, Origin>,
    omitted: u64,
}

impl Kept {
    fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            best: Default::default(),
            omitted: 0,
        }
    }

    /// Offers the pair (this target, `path`) first met in `commit`.
    fn offer(&mut self, path: &[u8], commit: &mut CommitSlot<'_>) {
        let Some(meta) = commit.meta() else { return };
        if self.best.len() >= self.cap {
            let last = self.best.last_key_value().map(|(k, _)| k);
            if last.is_some_and(|k| cmp_path_key(path, k).is_ge()) {
                self.omitted += 1;
                return;
            }
        }
        let origin = Origin::GitBlob {
            commit: meta,
            path: path.to_vec(),
        };
        self.best.insert(path_key(path), origin);
        if self.best.len() > self.cap {
            self.best.pop_last();
            self.omitted += 1;
        }
    }
}

/// The trees [`attribute`] met at one directory path, and once it met more than one, the
/// (target, name) pairs they held: per entry name, the targets met under it (by name first,
/// so that probing a pair never copies the name).
#[derive(Default)]
struct Dir {
    first: Option<Key>,
    others: KeySet,
    pairs: Option<Pairs>,
}

/// Entry name to the targets met under that name.
type Pairs = HashMap<Box<[u8]>, KeySet>;

/// The path walk of [`attribute`], over the trees that hold a target.
struct Attributor<'r> {
    index: &'r HoldingIndex,
    dirs: HashMap<Box<[u8]>, Dir>,
    kept: KeyMap<Kept>,
    excluded: Option<PathFilter<'r>>,
}

impl Attributor<'_> {
    /// Places each (target, path) pair under `tree` not met before; with `commit` = `None`
    /// (the boundary of a range) only marks them as met.
    fn walk(&mut self, tree: Key, prefix: &mut Vec<u8>, mut commit: Option<&mut CommitSlot<'_>>) {
        let Some(Some(held)) = self.index.get(&tree) else {
            return;
        };
        // Whether this is the first tree met at this directory: then all its pairs are new.
        let first = match self.dirs.get_mut(prefix.as_slice()) {
            None => {
                let dir = Dir {
                    first: Some(tree),
                    ..Dir::default()
                };
                self.dirs.insert(prefix.clone().into_boxed_slice(), dir);
                true
            }
            Some(d) => {
                if d.first == Some(tree) || !d.others.insert(tree) {
                    return;
                }
                if d.pairs.is_none() {
                    d.pairs = Some(target_pairs(self.index, d.first));
                }
                false
            }
        };
        let base = prefix.len();
        let Self {
            dirs,
            kept,
            excluded,
            ..
        } = self;
        let mut pairs = if first {
            None
        } else {
            dirs.get_mut(&prefix[..base]).and_then(|d| d.pairs.as_mut())
        };
        for e in held.iter().filter(|e| !e.is_tree) {
            let Some(k) = kept.get_mut(&e.oid) else {
                continue;
            };
            if let Some(p) = pairs.as_deref_mut() {
                let new = match p.get_mut(&e.name[..]) {
                    Some(met) => met.insert(e.oid),
                    None => p
                        .insert(e.name.clone(), KeySet::from_iter([e.oid]))
                        .is_none(),
                };
                if !new {
                    continue;
                }
            }
            if let Some(c) = commit.as_deref_mut() {
                push_name(prefix, base, &e.name);
                if !excluded.is_some_and(|f| f(prefix)) {
                    k.offer(prefix, c);
                }
            }
        }
        for e in held.iter().filter(|e| e.is_tree) {
            push_name(prefix, base, &e.name);
            self.walk(e.oid, prefix, commit.as_deref_mut());
        }
        prefix.truncate(base);
    }
}

/// The (target, name) pairs of `tree`'s own entries.
fn target_pairs(index: &HoldingIndex, tree: Option<Key>) -> Pairs {
    let mut pairs = Pairs::new();
    let held = tree.and_then(|t| index.get(&t).cloned().flatten());
    for e in held.iter().flat_map(|h| h.iter()).filter(|e| !e.is_tree) {
        pairs.entry(e.name.clone()).or_default().insert(e.oid);
    }
    pairs
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
    // What each target object peels to, learnt once per object: a million tags on one commit
    // read it once, not three times each (25 s against 1 s on `scripts/hostile-bench.sh`).
    let mut peeled: HashMap<Oid, Peeled> = HashMap::new();
    for r in refs {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                diags.error(format!("ref in {}", repo.path().display()), e.message());
                continue;
            }
        };
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        // A symbolic ref is resolved each time: its target is another ref, not an object.
        let mut peel = || peel_ref(repo, &r, &name, &mut tags_seen, plan);
        let p = match r.target() {
            Some(target) => peeled.entry(target).or_insert_with(peel).clone(),
            None => peel(),
        };
        match p {
            Peeled::Commit(c) => tips.push(c),
            Peeled::Unreadable(message) => diags.error(format!("ref {name}"), message),
            Peeled::NotCommit => diags.note(
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

/// What ref `r` (called `name`) peels to; an annotated tag on the way gives its message to
/// `plan` the first time it is met.
fn peel_ref(
    repo: &Repository,
    r: &git2::Reference<'_>,
    name: &str,
    tags_seen: &mut HashSet<Oid>,
    plan: &mut HistoryPlan,
) -> Peeled {
    if let Some(target) = r.resolve().ok().and_then(|r| r.target()) {
        if let Ok(tag) = repo.find_tag(target) {
            if tags_seen.insert(tag.id()) {
                plan.messages
                    .push((tag_message(&tag), tag_origin(&tag, name)));
            }
        }
    }
    match r.peel(ObjectType::Commit) {
        Ok(obj) => Peeled::Commit(obj.id()),
        // Only a target that reads and is simply not a commit (a tree, a blob) is a note;
        // anything unreadable (missing object, broken pack index, a symbolic-ref cycle)
        // loses history and makes the scan incomplete.
        Err(e) if is_missing(&e) || !target_is_readable(repo, r) => {
            Peeled::Unreadable(e.message().to_string())
        }
        Err(_) => Peeled::NotCommit,
    }
}

/// What a ref's target object peels to, for [`all_ref_tips`].
#[derive(Clone)]
enum Peeled {
    Commit(Oid),
    /// The target cannot be read: the error's message.
    Unreadable(String),
    /// It reads, and is not a commit (a tree, a blob).
    NotCommit,
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
    // The fast path (see `staged.rs`); libgit2's diff below when git cannot answer.
    if let Some(entries) = super::staged::list_with_git(repo.path()) {
        return Ok(staged_planned(entries, diags));
    }
    staged_blobs_libgit2(&repo, path, diags)
}

/// [`staged_blobs`] through libgit2's tree-to-index diff.
pub(crate) fn staged_blobs_libgit2(
    repo: &Repository,
    path: &Path,
    diags: &Diagnostics,
) -> Result<Vec<PlannedBlob>, SourceError> {
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

/// The fast path's entries as planned blobs, submodules noted and skipped as below.
fn staged_planned(
    entries: Vec<super::staged::StagedEntry>,
    diags: &Diagnostics,
) -> Vec<PlannedBlob> {
    let mut out = Vec::new();
    for e in entries {
        if e.submodule {
            diags.note(
                String::from_utf8_lossy(&e.path).into_owned(),
                "submodule: not followed",
            );
            continue;
        }
        out.push(PlannedBlob {
            oid: e.oid,
            origins: vec![Origin::File {
                path: path_from_bytes(&e.path),
            }],
        });
    }
    out
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

/// Blobs larger than this are streamed ([`BlobReader::stream`]) rather than read whole:
/// the object store inflates an object into one buffer, so a 2 GiB blob would cost 2 GiB of memory.
pub const STREAM_ABOVE: u64 = 256 * 1024 * 1024;

/// Reads blobs from one repository; open one per worker thread.
pub struct BlobReader {
    objects: std::cell::RefCell<Objects>,
    /// The git directory, for `git cat-file` to stream from.
    git_dir: PathBuf,
    stream_above: u64,
}

/// A blob as [`BlobReader::read`] gives it: whole in memory, or as a stream when it is
/// larger than the reader's threshold.
pub enum BlobData<'r> {
    /// The whole blob, inflated.
    Whole(&'r [u8]),
    /// A large blob, read in chunks.
    Stream(BlobStream),
}

/// A blob's bytes as a stream, from `git cat-file blob` (which streams a large undeltified
/// packed or loose object in bounded memory; git stores blobs over `core.bigFileThreshold`,
/// 512 MiB by default, undeltified). Dropping it ends the child.
pub struct BlobStream {
    child: std::process::Child,
    out: std::process::ChildStdout,
}

impl std::io::Read for BlobStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.out.read(buf)?;
        if n == 0 && !buf.is_empty() {
            // End of output: a child that failed (missing object...) is an error, not an
            // empty blob.
            let status = self.child.wait()?;
            if !status.success() {
                return Err(std::io::Error::other(format!("git cat-file: {status}")));
            }
        }
        Ok(n)
    }
}

impl Drop for BlobStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BlobReader {
    /// Opens the repository at `path`.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let repo = open(path)?;
        Ok(Self {
            objects: std::cell::RefCell::new(Objects::open(repo.commondir())?),
            git_dir: repo.path().to_path_buf(),
            stream_above: STREAM_ABOVE,
        })
    }

    /// The same reader, streaming blobs over `bytes` instead of [`STREAM_ABOVE`].
    #[must_use]
    pub fn streaming_above(self, bytes: u64) -> Self {
        Self {
            stream_above: bytes,
            ..self
        }
    }

    /// Calls `f` with blob `oid`, whole, or streamed when its size (`size`, or looked up in
    /// its header) is over the reader's threshold: whatever a blob's size, reading it costs
    /// bounded memory. A missing or corrupt object is an error naming the object id.
    pub fn read<R>(
        &self,
        oid: Oid,
        size: Option<u64>,
        f: impl FnOnce(BlobData<'_>) -> R,
    ) -> Result<R, SourceError> {
        let size = match size {
            Some(n) => n,
            None => self.size(oid)?,
        };
        if size > self.stream_above {
            return self.stream(oid).map(|s| f(BlobData::Stream(s)));
        }
        let mut objects = self.objects.borrow_mut();
        Ok(f(BlobData::Whole(objects.blob(oid)?)))
    }

    /// Blob `oid` as a stream in bounded memory, through the `git` executable (libgit2 cannot
    /// stream a packed object). Fails, naming the object, when `git` cannot be started.
    pub fn stream(&self, oid: Oid) -> Result<BlobStream, SourceError> {
        let fail = |e: std::io::Error| SourceError::Git {
            oid: oid.to_string(),
            reason: format!("cannot start `git cat-file` to stream it: {e}"),
        };
        let mut child = super::git_command::command("git", super::git_command::Reach::Local, &[])
            .arg("--git-dir")
            .arg(&self.git_dir)
            .args(["cat-file", "blob"])
            .arg(oid.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(fail)?;
        let out = child.stdout.take().expect("stdout is piped");
        Ok(BlobStream { child, out })
    }

    /// The size of blob `oid` in bytes, without reading it whole.
    pub fn size(&self, oid: Oid) -> Result<u64, SourceError> {
        self.objects.borrow().size(oid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A streamed blob has exactly the bytes of the blob; a missing one is an error at the
    /// end of the stream, not an empty blob.
    #[test]
    fn a_streamed_blob_has_the_blobs_bytes_and_a_missing_one_fails() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let body: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let oid = repo.blob(&body).unwrap();
        let reader = BlobReader::open(d.path()).unwrap();
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut reader.stream(oid).unwrap(), &mut got).unwrap();
        assert_eq!(got, body);
        let missing = Oid::from_str("0123456789012345678901234567890123456789").unwrap();
        let mut sink = Vec::new();
        assert!(
            std::io::Read::read_to_end(&mut reader.stream(missing).unwrap(), &mut sink).is_err()
        );
    }

    /// A tree of `files` (path, blob), nested by `/`.
    fn tree_of(repo: &Repository, files: &[(&str, Oid)]) -> Oid {
        let mut b = repo.treebuilder(None).unwrap();
        let mut dirs: std::collections::BTreeMap<&str, Vec<(&str, Oid)>> = Default::default();
        for (p, oid) in files {
            match p.split_once('/') {
                Some((d, rest)) => dirs.entry(d).or_default().push((rest, *oid)),
                None => {
                    b.insert(p, *oid, 0o100644).unwrap();
                }
            }
        }
        for (d, sub) in dirs {
            b.insert(d, tree_of(repo, &sub), 0o040000).unwrap();
        }
        b.write().unwrap()
    }

    fn commit_tree(repo: &Repository, files: &[(&str, Oid)], n: i64) -> Oid {
        let tree = repo.find_tree(tree_of(repo, files)).unwrap();
        let sig = git2::Signature::new("A", "a@example.com", &git2::Time::new(n, 0)).unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "m", &tree, &parents)
            .unwrap()
    }

    /// The parallel walk of every ref of `dir`, telling `holdings` of each blob given whether
    /// `hit` says it has a hit, as the scan's workers do; the walk and the blobs given.
    fn recorded_walk(
        dir: &Path,
        holdings: &Holdings,
        diags: &Diagnostics,
        hit: &dyn Fn(Oid) -> bool,
    ) -> (HistoryWalk, Vec<Oid>) {
        let mut given = Vec::new();
        let walk = enumerate_history(
            dir,
            &Selection::AllRefs,
            None,
            2,
            holdings,
            diags,
            &AtomicBool::new(false),
            &mut |item| {
                if let HistoryItem::Blob(oid, _) = item {
                    holdings.resolve(&mut vec![(oid, hit(oid))]);
                    given.push(oid);
                }
            },
            None,
        )
        .unwrap();
        (walk, given)
    }

    fn placed(p: &Placement) -> Vec<(String, String)> {
        p.origins
            .iter()
            .map(|o| match o {
                Origin::GitBlob { commit, path } => (
                    String::from_utf8_lossy(path).into_owned(),
                    commit.id.clone(),
                ),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    /// A blob at more places than its cap keeps the first `cap` in report order (by path)
    /// with the commit that introduced each, and counts the rest: a pair already met at the
    /// same directory under another tree is not new, the same subtree at new directories is.
    #[test]
    fn attribution_keeps_the_cap_first_paths_and_counts_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let t = repo.blob(b"token\n").unwrap();
        let plain = repo.blob(b"plain\n").unwrap();
        let c1 = commit_tree(&repo, &[("a/x", t), ("b/x", t), ("p", plain)], 1);
        let c2 = commit_tree(&repo, &[("a/x", t), ("a/w", plain), ("e/x", t)], 2);
        let c3 = commit_tree(&repo, &[("a/x", t), ("a/z", t)], 3);
        let sub: Vec<String> = (0..5).map(|i| format!("d{i}/x")).collect();
        let files: Vec<(&str, Oid)> = sub.iter().map(|p| (p.as_str(), t)).collect();
        let c4 = commit_tree(&repo, &files, 4);
        let diags = Diagnostics::default();
        let cancel = AtomicBool::new(false);
        let holdings = Holdings::default();
        let (walk, _) = recorded_walk(d.path(), &holdings, &diags, &|b| b == t);
        assert!(holdings.candidates().is_some());
        let at = |cap: usize| {
            let targets = HashMap::from([(t, cap)]);
            let mut got = attribute(d.path(), &walk, &targets, None, 2, None, &cancel).unwrap();
            let mut recorded =
                attribute(d.path(), &walk, &targets, None, 2, Some(&holdings), &cancel).unwrap();
            assert_eq!(got.len(), 1);
            let (got, recorded) = (got.remove(&t).unwrap(), recorded.remove(&t).unwrap());
            assert_eq!(placed(&recorded), placed(&got));
            assert_eq!(recorded.omitted, got.omitted);
            got
        };
        let all = at(usize::MAX);
        let (c1, c2, c3, c4) = (
            c1.to_string(),
            c2.to_string(),
            c3.to_string(),
            c4.to_string(),
        );
        let mut want: Vec<(String, String)> = vec![
            ("a/x".into(), c1.clone()),
            ("a/z".into(), c3.clone()),
            ("b/x".into(), c1.clone()),
        ];
        want.extend((0..5).map(|i| (format!("d{i}/x"), c4.clone())));
        want.push(("e/x".into(), c2));
        assert_eq!(placed(&all), want);
        assert_eq!(all.omitted, 0);
        let capped = at(3);
        assert_eq!(placed(&capped), want[..3].to_vec());
        assert_eq!(capped.omitted, 6);
        let one = at(1);
        assert_eq!(placed(&one), want[..1].to_vec());
        assert_eq!(one.omitted, 8);
    }

    /// The walk on two threads gives the blobs, messages and commits of the walk on one:
    /// each unique blob once, the commits in the same order.
    #[test]
    fn the_parallel_walk_gives_what_the_serial_walk_gives() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let blobs: Vec<Oid> = (0..40)
            .map(|i| repo.blob(format!("b{i}\n").as_bytes()).unwrap())
            .collect();
        for c in 0..30usize {
            let names: Vec<String> = (0..8).map(|f| format!("d{}/f{f}", (c + f) % 5)).collect();
            let files: Vec<(&str, Oid)> = names
                .iter()
                .enumerate()
                .map(|(f, p)| (p.as_str(), blobs[(c * 3 + f) % blobs.len()]))
                .collect();
            commit_tree(&repo, &files, c as i64 + 1);
        }
        let diags = Diagnostics::default();
        let cancel = AtomicBool::new(false);
        let run = |threads| {
            let (mut got, mut messages) = (Vec::new(), 0);
            let walk = enumerate_history(
                d.path(),
                &Selection::AllRefs,
                None,
                threads,
                &Holdings::default(),
                &diags,
                &cancel,
                &mut |item| match item {
                    HistoryItem::Blob(oid, _) => got.push(oid),
                    HistoryItem::Message(..) => messages += 1,
                },
                None,
            )
            .unwrap();
            got.sort();
            (got, messages, walk.commits)
        };
        let serial = run(1);
        assert_eq!(serial.0.len(), 40);
        assert_eq!(serial.1, 30);
        assert_eq!(run(2), serial);
        assert!(diags.entries().is_empty(), "{:?}", diags.entries());
    }

    /// Attribution from the walk's record reads only the trees that may hold a target and
    /// places every target as reading every tree does: blobs moving between directories,
    /// kept, dropped and coming back. A target the record has no tree for (here: reported
    /// clean to the walk) is still placed, by reading every tree.
    #[test]
    fn attribution_from_the_walks_record_matches_reading_every_tree() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let blobs: Vec<Oid> = (0..23)
            .map(|i| repo.blob(format!("b{i}\n").as_bytes()).unwrap())
            .collect();
        for c in 0..40usize {
            let names: Vec<String> = (0..6)
                .map(|f| format!("d{}/e{}/f{f}", (c + f) % 4, (c * f) % 3))
                .collect();
            let files: Vec<(&str, Oid)> = names
                .iter()
                .enumerate()
                .map(|(f, p)| (p.as_str(), blobs[(c * 5 + f * 7) % blobs.len()]))
                .collect();
            commit_tree(&repo, &files, c as i64 + 1);
        }
        let (diags, cancel) = (Diagnostics::default(), AtomicBool::new(false));
        let targets: HashMap<Oid, usize> = blobs.iter().step_by(4).map(|b| (*b, 3)).collect();
        let hidden = blobs[0];
        let holdings = Holdings::default();
        let told = |b: Oid| b != hidden && targets.contains_key(&b);
        let (walk, _) = recorded_walk(d.path(), &holdings, &diags, &told);
        // The trees the record names are exactly those holding a target it was told of.
        fn holds(
            repo: &Repository,
            tree: Oid,
            hit: &dyn Fn(Oid) -> bool,
            out: &mut OidSet,
        ) -> bool {
            let t = repo.find_tree(tree).unwrap();
            let mut any = false;
            for e in t.iter() {
                any |= match e.kind() {
                    Some(ObjectType::Tree) => holds(repo, e.id(), hit, out),
                    _ => hit(e.id()),
                };
            }
            if any {
                out.insert(tree);
            }
            any
        }
        let mut want = OidSet::default();
        for (_, tree) in &walk.commits {
            holds(&repo, *tree, &told, &mut want);
        }
        let may_hold: OidSet = holdings
            .candidates()
            .unwrap()
            .iter()
            .map(|k| k.oid())
            .collect();
        let trees = holdings.trees_met();
        assert_eq!(may_hold, want);
        assert!(
            !want.is_empty() && want.len() < trees,
            "{} of {trees}",
            want.len()
        );
        let full = attribute(d.path(), &walk, &targets, None, 2, None, &cancel).unwrap();
        let recorded =
            attribute(d.path(), &walk, &targets, None, 2, Some(&holdings), &cancel).unwrap();
        assert_eq!(full.len(), targets.len());
        for (oid, p) in &full {
            assert!(!p.origins.is_empty(), "{oid}");
            assert_eq!(placed(&recorded[oid]), placed(p), "{oid}");
            assert_eq!(recorded[oid].omitted, p.omitted, "{oid}");
        }
        assert!(diags.entries().is_empty(), "{:?}", diags.entries());
    }

    /// A tree nested 3,000 deep is walked and attributed on spawned threads as on the main
    /// thread (their stack is the main thread's size, not the 2 MiB default).
    #[test]
    fn a_deeply_nested_tree_is_walked_on_threads() {
        // The calling thread gets the main thread's stack, as `patrol scan`'s walk has.
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(deeply_nested_tree)
            .unwrap()
            .join()
            .unwrap();
    }

    fn deeply_nested_tree() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let blob = repo.blob(b"deep\n").unwrap();
        let mut b = repo.treebuilder(None).unwrap();
        b.insert("f", blob, 0o100644).unwrap();
        let mut tree = b.write().unwrap();
        for _ in 0..3000 {
            let mut b = repo.treebuilder(None).unwrap();
            b.insert("d", tree, 0o040000).unwrap();
            tree = b.write().unwrap();
        }
        let sig = git2::Signature::new("A", "a@example.com", &git2::Time::new(1, 0)).unwrap();
        let t = repo.find_tree(tree).unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "m", &t, &[]).unwrap();
        let diags = Diagnostics::default();
        let cancel = AtomicBool::new(false);
        let holdings = Holdings::default();
        let (walk, got) = recorded_walk(d.path(), &holdings, &diags, &|_| true);
        assert_eq!(got, vec![blob]);
        // 3,000 nested trees, all of them holding the blob: the record is walked without
        // recursion, and attribution reads them from it.
        assert_eq!(holdings.candidates().map(|c| c.len()), Some(3001));
        let targets = HashMap::from([(blob, 10)]);
        let placed =
            attribute(d.path(), &walk, &targets, None, 2, Some(&holdings), &cancel).unwrap();
        let want = format!("{}f", "d/".repeat(3000));
        assert_eq!(placed[&blob].origins.len(), 1);
        assert!(matches!(&placed[&blob].origins[0],
            Origin::GitBlob { path, .. } if path == want.as_bytes()));
    }

    /// A blob over the reader's threshold comes as a stream with the blob's bytes, one
    /// under it whole; a missing blob is an error either way.
    #[test]
    fn a_blob_over_the_threshold_is_streamed_and_one_under_it_read_whole() {
        let d = tempfile::tempdir().unwrap();
        let repo = Repository::init(d.path()).unwrap();
        let big: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let (big_oid, small_oid) = (repo.blob(&big).unwrap(), repo.blob(b"small").unwrap());
        let reader = BlobReader::open(d.path()).unwrap().streaming_above(1000);
        let got = reader.read(big_oid, None, |data| match data {
            BlobData::Stream(mut s) => {
                let mut got = Vec::new();
                std::io::Read::read_to_end(&mut s, &mut got).unwrap();
                got
            }
            BlobData::Whole(_) => panic!("a 400,000-byte blob was read whole"),
        });
        assert_eq!(got.unwrap(), big);
        let got = reader.read(small_oid, None, |data| match data {
            BlobData::Whole(bytes) => bytes.to_vec(),
            BlobData::Stream(_) => panic!("a 5-byte blob was streamed"),
        });
        assert_eq!(got.unwrap(), b"small");
        let missing = Oid::from_str("0123456789012345678901234567890123456789").unwrap();
        assert!(reader.read(missing, None, |_| ()).is_err());
    }

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
