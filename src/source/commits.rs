//! The commits of a history for the parallel walk: read once, handed to the walking threads
//! newest first while they are still being read, and put in libgit2's order afterwards.
//!
//! Why not libgit2's revision walk: its topological order is known only once every commit
//! has been read, so the walking threads waited for it. On the long benchmark history
//! (`scripts/history-bench.py`, 99,751 commits) that was 0.55 s on one core before the
//! other started, a tenth of the scan. Here the commits are read through gitoxide's store
//! by one thread, in the order libgit2's walk reads them (newest first by committer date),
//! and the walking threads take each run as soon as it is read.
//!
//! Attribution needs the order libgit2 gives (parents before children): the first commit in
//! it that holds a (blob, path) pair is where the pair entered history, and `--threads 1`,
//! which walks libgit2's order, must say the same. [`read_commits`] replays libgit2's
//! algorithm (`limit_list`, then `sort_in_topological_order`, reversed) over what it read;
//! a test checks it against libgit2 on histories with merges and equal dates.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

use git2::Oid;

use super::objects::Objects;
use crate::error::Diagnostics;

/// The most commits a walking thread takes at a time.
const WALK_BLOCK: usize = 256;

/// Commits (or their root trees) on their way to the walking threads, newest first, in runs
/// of successive ones, not every n-th oldest first. git deltifies older versions of a file
/// or directory against newer ones, so reading a version newest first finds its delta base
/// in the reading thread's own cache. Oldest first, each read resolved most of a delta chain
/// again (every tree of the long benchmark history: 1.4 s newest first, 6.6 s oldest first,
/// one thread); taken every n-th, each read missed the other thread's cache.
pub(crate) struct Feed {
    state: Mutex<FeedState>,
    more: Condvar,
}

#[derive(Default)]
struct FeedState {
    commits: Vec<Oid>,
    taken: usize,
    done: bool,
    waiting: usize,
}

impl Feed {
    /// A feed its reader fills (and then finishes).
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(FeedState::default()),
            more: Condvar::new(),
        }
    }

    /// A feed of commits already known, given newest first.
    pub(crate) fn filled(newest_first: Vec<Oid>) -> Self {
        let feed = Self::new();
        {
            let mut s = feed.lock();
            s.commits = newest_first;
            s.done = true;
        }
        feed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, oid: Oid) {
        let mut s = self.lock();
        s.commits.push(oid);
        if s.waiting > 0 {
            self.more.notify_all();
        }
    }

    /// No more commits will come.
    pub(crate) fn finish(&self) {
        self.lock().done = true;
        self.more.notify_all();
    }

    /// Every commit given, newest first (the positions [`Feed::take`] counts in).
    #[cfg(test)]
    pub(crate) fn commits(&self) -> Vec<Oid> {
        self.lock().commits.clone()
    }

    /// How many commits were given.
    pub(crate) fn len(&self) -> usize {
        self.lock().commits.len()
    }

    /// The next run of successive commits for one of `threads` walking threads: its first
    /// position and the commits, newest first. Waits while the reader is behind; `None` once
    /// every commit is taken. A run is at most [`WALK_BLOCK`] long and shorter when few are
    /// waiting, so that every thread has some of a short history.
    pub(crate) fn take(&self, threads: usize) -> Option<(usize, Vec<Oid>)> {
        let mut s = self.lock();
        loop {
            let waiting = s.commits.len() - s.taken;
            if waiting > 0 {
                let n = (waiting / (threads.max(1) * 8)).clamp(1, WALK_BLOCK);
                let n = if s.done { n } else { waiting.min(WALK_BLOCK) };
                let start = s.taken;
                s.taken += n;
                return Some((start, s.commits[start..start + n].to_vec()));
            }
            if s.done {
                return None;
            }
            s.waiting += 1;
            s = self.more.wait(s).unwrap_or_else(|e| e.into_inner());
            s.waiting -= 1;
        }
    }
}

/// One commit of the graph being read.
struct Node {
    oid: Oid,
    time: i64,
    /// Node indices; `None` until read.
    parents: Option<Vec<u32>>,
    seen: bool,
    added: bool,
    /// It cannot be read (then it has no parents and is never queued).
    bad: bool,
    /// Position in the feed, once given to it.
    pos: Option<u32>,
    in_degree: u32,
}

/// The commits reachable from `tips`, read with `objects` into `feed` as libgit2's walk
/// reads them; then finishes the feed. Returns the feed positions in libgit2's
/// `TOPOLOGICAL | REVERSE` order. A commit that cannot be read is one error in `diags`
/// naming it; it is left out, and so are the commits reached only through it.
pub(crate) fn read_commits(
    objects: &mut Objects,
    tips: &[Oid],
    feed: &Feed,
    diags: &Diagnostics,
    cancel: &AtomicBool,
) -> Vec<usize> {
    let mut g = Graph {
        nodes: Vec::new(),
        index: Default::default(),
        objects,
        diags,
    };
    // libgit2 keeps its pushed tips newest pushed first, and drops repeats.
    let mut list: VecDeque<u32> = VecDeque::new();
    for t in tips.iter().rev() {
        let n = g.node(*t);
        if g.read(n) && !g.nodes[n as usize].seen {
            g.nodes[n as usize].seen = true;
            list.push_back(n);
        }
    }
    // `limit_list`: take the first commit, queue its parents not seen yet by date (after
    // those of the same date), give it.
    let mut given: Vec<u32> = Vec::new();
    while let Some(c) = list.pop_front() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        if !g.nodes[c as usize].added {
            g.nodes[c as usize].added = true;
            for i in 0..g.parent_count(c) {
                let p = g.parent(c, i);
                if !g.read(p) || g.nodes[p as usize].seen {
                    continue;
                }
                g.nodes[p as usize].seen = true;
                let time = g.nodes[p as usize].time;
                let at = list
                    .iter()
                    .position(|q| g.nodes[*q as usize].time < time)
                    .unwrap_or(list.len());
                list.insert(at, p);
            }
        }
        g.nodes[c as usize].pos = Some(given.len() as u32);
        given.push(c);
        feed.push(g.nodes[c as usize].oid);
    }
    feed.finish();
    g.topological(&given)
}

struct Graph<'a> {
    nodes: Vec<Node>,
    index: std::collections::HashMap<Oid, u32>,
    objects: &'a mut Objects,
    diags: &'a Diagnostics,
}

impl Graph<'_> {
    fn node(&mut self, oid: Oid) -> u32 {
        let next = self.nodes.len() as u32;
        *self.index.entry(oid).or_insert_with(|| {
            self.nodes.push(Node {
                oid,
                time: 0,
                parents: None,
                seen: false,
                added: false,
                bad: false,
                pos: None,
                in_degree: 0,
            });
            next
        })
    }

    /// Reads node `n` unless it is read; false if it cannot be (named in the diagnostics
    /// the first time).
    fn read(&mut self, n: u32) -> bool {
        let node = &self.nodes[n as usize];
        if node.parents.is_some() {
            return !node.bad;
        }
        let oid = node.oid;
        match self.objects.commit_links(oid) {
            Ok(links) => {
                let parents = links.parents.iter().map(|p| self.node(*p)).collect();
                let node = &mut self.nodes[n as usize];
                node.time = links.time;
                node.parents = Some(parents);
                true
            }
            Err(e) => {
                self.diags.error(format!("git object {oid}"), e.reason());
                let node = &mut self.nodes[n as usize];
                node.parents = Some(Vec::new());
                node.bad = true;
                false
            }
        }
    }

    /// libgit2's `sort_in_topological_order` over `given` (no date order: a stack), then
    /// reversed, as feed positions.
    fn topological(&mut self, given: &[u32]) -> Vec<usize> {
        for &c in given {
            self.nodes[c as usize].in_degree = 1;
        }
        for &c in given {
            for i in 0..self.parent_count(c) {
                let p = self.parent(c, i);
                let d = &mut self.nodes[p as usize].in_degree;
                if *d != 0 {
                    *d += 1;
                }
            }
        }
        let mut stack: Vec<u32> = given
            .iter()
            .copied()
            .filter(|c| self.nodes[*c as usize].in_degree == 1)
            .collect();
        stack.reverse();
        let mut out = Vec::with_capacity(given.len());
        while let Some(next) = stack.pop() {
            for i in 0..self.parent_count(next) {
                let p = self.parent(next, i);
                let d = &mut self.nodes[p as usize].in_degree;
                if *d == 0 {
                    continue;
                }
                *d -= 1;
                if *d == 1 {
                    stack.push(p);
                }
            }
            self.nodes[next as usize].in_degree = 0;
            out.push(next);
        }
        out.iter()
            .rev()
            .filter_map(|n| self.nodes[*n as usize].pos.map(|p| p as usize))
            .collect()
    }

    fn parent_count(&self, n: u32) -> usize {
        self.nodes[n as usize].parents.as_ref().map_or(0, Vec::len)
    }

    fn parent(&self, n: u32, i: usize) -> u32 {
        self.nodes[n as usize].parents.as_ref().map_or(0, |p| p[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A history with merges, side branches, several tips and commits of equal dates.
    fn history() -> (tempfile::TempDir, git2::Repository, Vec<Oid>) {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let tree = {
            let b = repo.blob(b"x").unwrap();
            let mut t = repo.treebuilder(None).unwrap();
            t.insert("f", b, 0o100644).unwrap();
            t.write().unwrap()
        };
        let mut commits: Vec<Oid> = Vec::new();
        // A small deterministic generator: each commit has one or two earlier parents, and
        // dates repeat and go backwards now and then.
        let mut x: u64 = 7;
        for i in 0..120u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let time = 1_000_000 + (i / 3) as i64 * 60 - ((x >> 60) as i64 % 3) * 60;
            let sig =
                git2::Signature::new("T", "t@example.invalid", &git2::Time::new(time, 0)).unwrap();
            let mut parents = Vec::new();
            if i > 0 {
                parents.push(commits[(i as usize - 1) - ((x >> 33) as usize % i.min(5) as usize)]);
            }
            if i > 4 && (x >> 20).is_multiple_of(4) {
                let other = commits[(x >> 40) as usize % (i as usize)];
                if !parents.contains(&other) {
                    parents.push(other);
                }
            }
            let parents: Vec<git2::Commit<'_>> = parents
                .iter()
                .map(|p| repo.find_commit(*p).unwrap())
                .collect();
            let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
            let t = repo.find_tree(tree).unwrap();
            let c = repo
                .commit(None, &sig, &sig, &format!("c{i}"), &t, &refs)
                .unwrap();
            commits.push(c);
        }
        // Tips: some commits no other names as a parent, and one pushed twice.
        let mut tips: Vec<Oid> = commits.iter().rev().step_by(7).copied().collect();
        tips.push(commits[119]);
        (dir, repo, tips)
    }

    fn libgit2_order(repo: &git2::Repository, tips: &[Oid]) -> Vec<Oid> {
        let mut walk = repo.revwalk().unwrap();
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .unwrap();
        for t in tips {
            walk.push(*t).unwrap();
        }
        walk.map(Result::unwrap).collect()
    }

    #[test]
    fn the_order_is_libgit2s_and_the_feed_gives_every_commit_once() {
        let (_dir, repo, tips) = history();
        let mut objects = Objects::open(repo.path()).unwrap();
        let feed = Feed::new();
        let diags = Diagnostics::default();
        let order = read_commits(&mut objects, &tips, &feed, &diags, &AtomicBool::new(false));
        let given = feed.commits();
        let ours: Vec<Oid> = order.iter().map(|p| given[*p]).collect();
        assert_eq!(ours, libgit2_order(&repo, &tips));
        assert!(diags.entries().is_empty());

        let mut taken = Vec::new();
        while let Some((start, run)) = feed.take(2) {
            assert_eq!(&given[start..start + run.len()], &run[..]);
            taken.extend(run);
        }
        assert_eq!(taken, given);
        assert_eq!(taken.len(), ours.len());
    }

    #[test]
    fn an_unreadable_commit_is_named_once_and_left_out_with_what_only_it_reaches() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let sig = git2::Signature::new("T", "t@example.invalid", &git2::Time::new(1, 0)).unwrap();
        let t = repo
            .find_tree(repo.treebuilder(None).unwrap().write().unwrap())
            .unwrap();
        let a = repo.commit(None, &sig, &sig, "a", &t, &[]).unwrap();
        let b = repo
            .commit(None, &sig, &sig, "b", &t, &[&repo.find_commit(a).unwrap()])
            .unwrap();
        let c = repo
            .commit(None, &sig, &sig, "c", &t, &[&repo.find_commit(b).unwrap()])
            .unwrap();
        let hex = b.to_string();
        std::fs::remove_file(repo.path().join("objects").join(&hex[..2]).join(&hex[2..])).unwrap();

        let mut objects = Objects::open(repo.path()).unwrap();
        let feed = Feed::new();
        let diags = Diagnostics::default();
        let order = read_commits(&mut objects, &[c], &feed, &diags, &AtomicBool::new(false));
        let given = feed.commits();
        assert_eq!(given, vec![c]);
        assert_eq!(order, vec![0]);
        let named: Vec<_> = diags
            .entries()
            .into_iter()
            .filter(|e| e.subject.contains(&hex))
            .collect();
        assert_eq!(named.len(), 1);
    }
}
