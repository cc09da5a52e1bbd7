//! Which trees hold the blobs that turn out to hold a hit, learnt during the parallel commit
//! walk, so that attribution reads only those trees instead of every tree of history again.
//!
//! A history scan attributes lazily: it scans each unique blob once while the walk goes on,
//! and only afterwards finds where the few blobs with a hit entered history. That needs the
//! trees that hold such a blob somewhere below. Reading every tree a second time to find them
//! was about half of a history scan (the long benchmark history has 1.7 GB of tree objects),
//! yet the walk has already read each tree once. What the walk keeps here instead:
//! - every tree's subtrees, as indices (4 bytes an edge, 12 a tree);
//! - each blob's state: not yet scanned, scanned without a hit, or a hit; while a blob waits
//!   in the queue for a worker, the trees met holding it are noted with it, and once it is
//!   scanned they are kept if it had a hit and dropped if not, so memory follows the queue,
//!   not the history;
//! - the trees that hold a blob with a hit directly.
//!
//! The trees that may hold a target are then those and their ancestors, a walk in memory.
//! [`crate::source::git::attribute`] reads only them, and re-reads everything for any target
//! this left unplaced, so a mistake here costs time, never a finding.

use std::collections::hash_map::Entry;
use std::sync::{Mutex, MutexGuard};

use git2::Oid;

use super::git::OidSet;
use super::key::{Key, KeyMap, KeySet};
use super::objects::{EntryKind, RawTree};

/// A blob's state: scanned without a hit.
const CLEAN: u32 = u32::MAX;
/// A blob's state: scanned, with a hit.
const TARGET: u32 = u32::MAX - 1;
/// A tree's span before it is walked.
const UNWALKED: (u32, u32) = (u32::MAX, 0);

/// The walk's shared record of trees and blobs met, and what attribution needs from it.
/// Shared by the walking threads (which meet trees) and the scanning workers (which say
/// whether each blob had a hit).
#[derive(Default)]
pub struct Holdings(Mutex<Seen>);

/// The state behind [`Holdings`]' lock.
#[derive(Default)]
pub(crate) struct Seen {
    /// Every tree met (walked or only seen as an entry), to its index.
    trees: KeyMap<u32>,
    /// Per tree index: its subtrees' indices in `children`, or [`UNWALKED`].
    spans: Vec<(u32, u32)>,
    children: Vec<u32>,
    /// Every blob met, to its state: [`CLEAN`], [`TARGET`] or a slot in `pending`.
    blobs: KeyMap<u32>,
    /// Per not-yet-scanned blob: the trees met holding it.
    pending: Vec<Vec<u32>>,
    free: Vec<u32>,
    /// The trees holding a target directly (a tree may come more than once).
    direct: Vec<u32>,
    pub(crate) bad_trees: OidSet,
    /// Whether the walk recorded (only the parallel walk does) and nothing overflowed.
    recorded: bool,
    overflowed: bool,
}

impl Holdings {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Seen> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Trees met so far, walked or not.
    #[cfg(test)]
    pub(crate) fn trees_met(&self) -> usize {
        self.lock().trees.len()
    }

    /// Marks `tree` as walked by the caller; `None` if some thread walked it already.
    pub(crate) fn start_tree(&self, tree: Oid) -> Option<u32> {
        let mut s = self.lock();
        s.recorded = true;
        let idx = s.tree_index(Key::of(tree))?;
        let span = &mut s.spans[idx as usize];
        if *span != UNWALKED {
            return None;
        }
        *span = (0, 0);
        Some(idx)
    }

    /// Meets the entries of walked tree `idx`: pushes onto `todo` the positions of the blobs
    /// met for the first time and of the subtrees not walked yet, and says whether a
    /// submodule (gitlink) is among them. One lock for the whole tree.
    pub(crate) fn meet_entries(&self, idx: u32, tree: &RawTree, todo: &mut Vec<usize>) -> bool {
        let mut s = self.lock();
        let start = s.children.len();
        let mut gitlink = false;
        for (i, entry) in tree.entries().enumerate() {
            let key = Key::from_bytes(entry.id);
            match entry.kind {
                EntryKind::Blob if s.meet_blob(key, idx) => todo.push(i),
                EntryKind::Blob => {}
                EntryKind::Tree => match s.tree_index(key) {
                    Some(child) => {
                        s.children.push(child);
                        if s.spans[child as usize] == UNWALKED {
                            todo.push(i);
                        }
                    }
                    None => todo.push(i),
                },
                EntryKind::Commit => gitlink = true,
            }
        }
        match (
            u32::try_from(start),
            u32::try_from(s.children.len() - start),
        ) {
            (Ok(from), Ok(len)) if !s.overflowed => s.spans[idx as usize] = (from, len),
            _ => s.overflowed = true,
        }
        gitlink
    }

    /// Says of each blob given to a worker whether it had a hit (`true`): the trees noted
    /// holding it are kept if it had, dropped if not. A blob the walk did not give is
    /// ignored. Workers say it in batches and empty `scanned`: one lock per blob made them
    /// wait on the walking threads, which hold the lock for a whole tree.
    pub fn resolve(&self, scanned: &mut Vec<(Oid, bool)>) {
        let mut s = self.lock();
        for (oid, had_hit) in scanned.drain(..) {
            let Some(state) = s.blobs.get(&Key::of(oid)).copied() else {
                continue;
            };
            if state == CLEAN || state == TARGET {
                continue;
            }
            let trees = std::mem::take(&mut s.pending[state as usize]);
            s.free.push(state);
            s.blobs
                .insert(Key::of(oid), if had_hit { TARGET } else { CLEAN });
            if had_hit {
                s.direct.extend(trees);
            }
        }
    }

    /// The trees that may hold a target somewhere below: those holding one directly and
    /// their ancestors. `None` when the walk kept no record to tell (a serial walk), or when
    /// a blob was never resolved (then its trees are unknown).
    pub(crate) fn candidates(&self) -> Option<KeySet> {
        let s = self.lock();
        if !s.recorded || s.overflowed || s.pending.len() != s.free.len() {
            return None;
        }
        let n = s.spans.len();
        // 0: not decided, 1: holds none, 2: may hold, 3: on the stack.
        let mut state = vec![0u8; n];
        for &t in &s.direct {
            state[t as usize] = 2;
        }
        // Post-order, iteratively: trees nest as deep as a hostile history makes them.
        for root in 0..n {
            if state[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0u32)];
            state[root] = 3;
            while let Some((t, next)) = stack.last_mut() {
                let (from, len) = match s.spans[*t] {
                    UNWALKED => (0, 0),
                    span => span,
                };
                if *next < len {
                    let c = s.children[(from + *next) as usize] as usize;
                    *next += 1;
                    match state[c] {
                        0 => {
                            state[c] = 3;
                            stack.push((c, 0));
                        }
                        2 => state[*t] = 4,
                        _ => {}
                    }
                    continue;
                }
                let t = *t;
                stack.pop();
                state[t] = if state[t] == 4 { 2 } else { 1 };
                if let Some((parent, _)) = stack.last() {
                    if state[t] == 2 {
                        state[*parent] = 4;
                    }
                }
            }
        }
        Some(
            s.trees
                .iter()
                .filter(|(_, idx)| state[**idx as usize] == 2)
                .map(|(k, _)| *k)
                .collect(),
        )
    }
}

impl Seen {
    /// Every blob met.
    pub(crate) fn blobs_met(&self) -> OidSet {
        self.blobs.keys().map(|k| k.oid()).collect()
    }

    /// `tree`'s index, given one if it is new; `None` past `u32::MAX` trees (then nothing
    /// is recorded from here on, and attribution reads every tree).
    fn tree_index(&mut self, tree: Key) -> Option<u32> {
        let next = self.spans.len();
        match self.trees.entry(tree) {
            Entry::Occupied(o) => Some(*o.get()),
            Entry::Vacant(v) => {
                let Ok(idx) = u32::try_from(next) else {
                    self.overflowed = true;
                    return None;
                };
                v.insert(idx);
                self.spans.push(UNWALKED);
                Some(idx)
            }
        }
    }

    /// Meets blob `oid` in tree `tree`; true the first time it is met.
    fn meet_blob(&mut self, key: Key, tree: u32) -> bool {
        match self.blobs.get(&key).copied() {
            Some(CLEAN) => false,
            Some(TARGET) => {
                self.direct.push(tree);
                false
            }
            Some(slot) => {
                self.pending[slot as usize].push(tree);
                false
            }
            None => {
                // Slots are reused: they follow the blobs queued for a worker, not history.
                let slot = self.free.pop().unwrap_or_else(|| {
                    self.pending.push(Vec::new());
                    (self.pending.len() - 1) as u32
                });
                self.pending[slot as usize].push(tree);
                self.blobs.insert(key, slot);
                true
            }
        }
    }
}
