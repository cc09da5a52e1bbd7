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
//!
//! The record is split into 16 shards by object id, each behind its own lock: with
//! one lock for all of it, the walking threads slept on each other for a third of a second
//! of a seven-second scan (measured from `sched_switch` events), their cores idle.

use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicBool, Ordering};
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
/// How many shards the record has (a power of two), and the low bits of a tree's id that
/// name its shard: a tree's id is its index in its shard, shifted, and the shard.
const SHARDS: usize = 16;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();
/// Per shard, at most this many trees (then nothing more is recorded).
const PER_SHARD: u32 = u32::MAX >> SHARD_BITS;

/// The shard of an object id: its last byte, which the maps' hash (its first 8 bytes)
/// leaves out, so that every shard's map still uses all of its buckets.
fn shard_of(key: &Key) -> usize {
    usize::from(key.bytes()[19]) & (SHARDS - 1)
}

fn tree_id(shard: usize, local: u32) -> u32 {
    (local << SHARD_BITS) | shard as u32
}

fn split(id: u32) -> (usize, usize) {
    ((id as usize) & (SHARDS - 1), (id >> SHARD_BITS) as usize)
}

/// The walk's shared record of trees and blobs met, and what attribution needs from it.
/// Shared by the walking threads (which meet trees) and the scanning workers (which say
/// whether each blob had a hit).
pub struct Holdings {
    shards: Box<[Mutex<Shard>]>,
    bad_trees: Mutex<OidSet>,
    /// Whether the walk recorded (only the parallel walk does) and nothing overflowed.
    recorded: AtomicBool,
    overflowed: AtomicBool,
}

impl Default for Holdings {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            bad_trees: Mutex::default(),
            recorded: AtomicBool::new(false),
            overflowed: AtomicBool::new(false),
        }
    }
}

/// One shard of [`Holdings`]: the trees and blobs whose ids fall in it.
#[derive(Default)]
struct Shard {
    /// Every tree met (walked or only seen as an entry), to its index here.
    trees: KeyMap<u32>,
    /// Per tree index: its subtrees' ids in `children`, or [`UNWALKED`].
    spans: Vec<(u32, u32)>,
    children: Vec<u32>,
    /// Every blob met, to its state: [`CLEAN`], [`TARGET`] or a slot in `pending`.
    blobs: KeyMap<u32>,
    /// Per not-yet-scanned blob: the ids of the trees met holding it.
    pending: Vec<Vec<u32>>,
    free: Vec<u32>,
    /// The ids of the trees holding a target of this shard directly (a tree may come more
    /// than once).
    direct: Vec<u32>,
}

/// A walking thread's buffers for [`Holdings::meet_entries`].
#[derive(Default)]
pub(crate) struct Scratch {
    /// A tree's entries: shard, position, id, whether a tree.
    entries: Vec<(usize, usize, Key, bool)>,
    /// The ids of its subtrees.
    kids: Vec<u32>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Holdings {
    fn shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        locked(&self.shards[i])
    }

    /// Trees met so far, walked or not.
    #[cfg(test)]
    pub(crate) fn trees_met(&self) -> usize {
        (0..SHARDS).map(|i| self.shard(i).trees.len()).sum()
    }

    /// Every blob met.
    pub(crate) fn blobs_met(&self) -> OidSet {
        let mut met = OidSet::default();
        for i in 0..SHARDS {
            met.extend(self.shard(i).blobs.keys().map(|k| k.oid()));
        }
        met
    }

    /// The trees that could not be read.
    pub(crate) fn bad_trees(&self) -> OidSet {
        locked(&self.bad_trees).clone()
    }

    /// Notes that `tree` could not be read; true the first time.
    pub(crate) fn note_bad_tree(&self, tree: Oid) -> bool {
        locked(&self.bad_trees).insert(tree)
    }

    /// Marks `tree` as walked by the caller; `None` if some thread walked it already.
    pub(crate) fn start_tree(&self, tree: Oid) -> Option<u32> {
        if !self.recorded.load(Ordering::Relaxed) {
            self.recorded.store(true, Ordering::Relaxed);
        }
        let key = Key::of(tree);
        let i = shard_of(&key);
        let mut s = self.shard(i);
        let local = s.tree_index(key, &self.overflowed)?;
        let span = &mut s.spans[local as usize];
        if *span != UNWALKED {
            return None;
        }
        *span = (0, 0);
        Some(tree_id(i, local))
    }

    /// Meets the entries of walked tree `id`: pushes onto `todo` the positions of the blobs
    /// met for the first time and of the subtrees not walked yet, in entry order, and says
    /// whether a submodule (gitlink) is among them. One lock per shard the entries fall in;
    /// `scratch` is the caller's, kept between calls so that meeting a tree allocates nothing.
    pub(crate) fn meet_entries(
        &self,
        id: u32,
        tree: &RawTree,
        todo: &mut Vec<usize>,
        scratch: &mut Scratch,
    ) -> bool {
        let mut gitlink = false;
        let Scratch { entries, kids } = scratch;
        entries.clear();
        kids.clear();
        for (i, entry) in tree.entries().enumerate() {
            let is_tree = match entry.kind {
                EntryKind::Blob => false,
                EntryKind::Tree => true,
                EntryKind::Commit => {
                    gitlink = true;
                    continue;
                }
            };
            let key = Key::from_bytes(entry.id);
            entries.push((shard_of(&key), i, key, is_tree));
        }
        entries.sort_unstable_by_key(|e| e.0);
        let start = todo.len();
        for run in entries.chunk_by(|a, b| a.0 == b.0) {
            let i = run[0].0;
            let mut s = self.shard(i);
            for &(_, pos, key, is_tree) in run {
                if !is_tree {
                    if s.meet_blob(key, id) {
                        todo.push(pos);
                    }
                    continue;
                }
                match s.tree_index(key, &self.overflowed) {
                    Some(local) => {
                        kids.push(tree_id(i, local));
                        if s.spans[local as usize] == UNWALKED {
                            todo.push(pos);
                        }
                    }
                    None => todo.push(pos),
                }
            }
        }
        todo[start..].sort_unstable();
        let (i, local) = split(id);
        let mut s = self.shard(i);
        let from = s.children.len();
        s.children.extend_from_slice(kids);
        match (u32::try_from(from), u32::try_from(s.children.len() - from)) {
            (Ok(from), Ok(len)) => s.spans[local] = (from, len),
            _ => self.overflowed.store(true, Ordering::Relaxed),
        }
        gitlink
    }

    /// Says of each blob given to a worker whether it had a hit (`true`): the trees noted
    /// holding it are kept if it had, dropped if not. A blob the walk did not give is
    /// ignored. Workers say it in batches and empty `scanned`, one lock per shard: one lock
    /// per blob made them wait on the walking threads.
    pub fn resolve(&self, scanned: &mut Vec<(Oid, bool)>) {
        let mut blobs: Vec<(usize, Key, bool)> = scanned
            .drain(..)
            .map(|(oid, had_hit)| {
                let key = Key::of(oid);
                (shard_of(&key), key, had_hit)
            })
            .collect();
        blobs.sort_unstable_by_key(|b| b.0);
        for run in blobs.chunk_by(|a, b| a.0 == b.0) {
            let mut s = self.shard(run[0].0);
            for &(_, key, had_hit) in run {
                s.resolve(key, had_hit);
            }
        }
    }

    /// The trees that may hold a target somewhere below: those holding one directly and
    /// their ancestors. `None` when the walk kept no record to tell (a serial walk), or when
    /// a blob was never resolved (then its trees are unknown).
    pub(crate) fn candidates(&self) -> Option<KeySet> {
        if !self.recorded.load(Ordering::Relaxed) || self.overflowed.load(Ordering::Relaxed) {
            return None;
        }
        let shards: Vec<MutexGuard<'_, Shard>> = (0..SHARDS).map(|i| self.shard(i)).collect();
        if shards.iter().any(|s| s.pending.len() != s.free.len()) {
            return None;
        }
        // Trees numbered densely across the shards.
        let mut offset = [0usize; SHARDS];
        let mut n = 0;
        for (i, s) in shards.iter().enumerate() {
            offset[i] = n;
            n += s.spans.len();
        }
        let dense = |id: u32| {
            let (i, local) = split(id);
            offset[i] + local
        };
        // A dense number's shard and index in it.
        let place = |t: usize| {
            let i = offset.partition_point(|&o| o <= t) - 1;
            (i, t - offset[i])
        };
        // 0: not decided, 1: holds none, 2: may hold, 3: on the stack, 4: on the stack and
        // known to hold.
        let mut state = vec![0u8; n];
        for s in &shards {
            for &t in &s.direct {
                state[dense(t)] = 2;
            }
        }
        // Post-order, iteratively: trees nest as deep as a hostile history makes them.
        for root in 0..n {
            if state[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0u32)];
            state[root] = 3;
            while let Some((t, next)) = stack.last_mut() {
                let (i, local) = place(*t);
                let (from, len) = match shards[i].spans[local] {
                    UNWALKED => (0, 0),
                    span => span,
                };
                if *next < len {
                    let c = dense(shards[i].children[(from + *next) as usize]);
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
        let mut may_hold = KeySet::default();
        for (i, s) in shards.iter().enumerate() {
            may_hold.extend(
                s.trees
                    .iter()
                    .filter(|(_, local)| state[offset[i] + **local as usize] == 2)
                    .map(|(k, _)| *k),
            );
        }
        Some(may_hold)
    }
}

impl Shard {
    /// `tree`'s index here, given one if it is new; `None` past [`PER_SHARD`] trees (then
    /// nothing is recorded from here on, and attribution reads every tree).
    fn tree_index(&mut self, tree: Key, overflowed: &AtomicBool) -> Option<u32> {
        let next = self.spans.len();
        match self.trees.entry(tree) {
            Entry::Occupied(o) => Some(*o.get()),
            Entry::Vacant(v) => {
                let idx = u32::try_from(next).ok().filter(|i| *i < PER_SHARD);
                let Some(idx) = idx else {
                    overflowed.store(true, Ordering::Relaxed);
                    return None;
                };
                v.insert(idx);
                self.spans.push(UNWALKED);
                Some(idx)
            }
        }
    }

    /// Meets blob `key` in the tree with id `tree`; true the first time it is met.
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

    /// Blob `key` was scanned: with a hit, the trees noted holding it hold a target.
    fn resolve(&mut self, key: Key, had_hit: bool) {
        let Some(state) = self.blobs.get(&key).copied() else {
            return;
        };
        if state == CLEAN || state == TARGET {
            return;
        }
        let trees = std::mem::take(&mut self.pending[state as usize]);
        self.free.push(state);
        self.blobs.insert(key, if had_hit { TARGET } else { CLEAN });
        if had_hit {
            self.direct.extend(trees);
        }
    }
}
