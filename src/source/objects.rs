//! Reading trees and blobs on many threads at once, through gitoxide's object store
//! (`gix-odb`), not libgit2.
//!
//! Why: a history scan reads every unique tree and blob once, on `--threads` threads. libgit2
//! shares one pack object and one window list per pack file across every repository handle
//! of the process, behind mutexes taken for each object read. On the long benchmark history
//! (`scripts/history-bench.py`: 440,000 trees, 1.6 GB of them) a profile of a two-thread scan
//! had 46% of its samples in libgit2's tree lookups and 20% in futex waits on those mutexes.
//! Reading every tree of that repository took libgit2 22.1 s on one thread and 18.2 s on two;
//! gix-odb, with a delta-base cache per thread and lock-free pack access, 5.5 s and 2.7 s.
//!
//! The history walk on threads, the blob readers and attribution read through this; libgit2
//! still walks commits, resolves revisions, reads the working tree's index and the serial
//! walk's trees.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use git2::Oid;
use gix_object::Find;

use crate::error::SourceError;

/// Delta bases each reading thread keeps. Successive versions of a file or directory are
/// delta chains, read one after another, so the bases they share are usually cached.
const PACK_CACHE_BYTES: usize = 8 << 20;

/// The largest object read whole: past it the read fails with an error naming the object
/// (blobs over the reader's streaming threshold are streamed by `git`, never read here).
const ALLOC_LIMIT_BYTES: usize = 1 << 30;

/// What a tree entry points at, as git sees it: git's own rule, also libgit2's, is that
/// anything not a directory or a submodule is a blob (symbolic links included).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EntryKind {
    /// A file's content, or a symbolic link's target.
    Blob,
    /// A directory.
    Tree,
    /// A submodule's commit (a gitlink).
    Commit,
}

/// One entry of a [`RawTree`].
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    /// What the entry points at.
    pub kind: EntryKind,
    /// The entry's file name (one path component, any bytes but `/` and NUL).
    pub name: &'a [u8],
    /// The object's id, 20 bytes.
    pub id: &'a [u8],
}

impl Entry<'_> {
    /// The object's id as libgit2's type.
    pub fn oid(&self) -> Oid {
        Oid::from_bytes(self.id).unwrap_or_else(|_| Oid::zero())
    }
}

/// A tree object's bytes and its entries, parsed once when read (the walk meets every entry,
/// then takes the few it walks into by position).
pub struct RawTree {
    data: Vec<u8>,
    entries: Vec<Slot>,
}

/// Where an entry's name and id sit in [`RawTree`]'s bytes.
struct Slot {
    kind: EntryKind,
    name: std::ops::Range<usize>,
    id: usize,
}

impl RawTree {
    /// Parses the tree object at `at` in `data`; `None` if it is malformed (or `at` is not
    /// inside `data`).
    fn parse(data: Vec<u8>, at: std::ops::Range<usize>) -> Option<Self> {
        let base = data.as_ptr() as usize;
        let offset = |b: &[u8]| b.as_ptr() as usize - base;
        // An entry takes at least 28 bytes (a 5-digit mode, a space, a one-byte name, its
        // NUL and 20 bytes of id): room for them all at once, so that parsing never grows the
        // vector (those reallocations were a share of the walking threads' samples, and they
        // waited on the allocator's lock).
        let mut entries = Vec::with_capacity(at.len() / 28 + 1);
        for e in gix_object::TreeRefIter::from_bytes(data.get(at)?, gix_hash::Kind::Sha1) {
            let e = e.ok()?;
            let kind = if e.mode.is_tree() {
                EntryKind::Tree
            } else if e.mode.is_commit() {
                EntryKind::Commit
            } else {
                EntryKind::Blob
            };
            let name = offset(e.filename);
            entries.push(Slot {
                kind,
                name: name..name + e.filename.len(),
                id: offset(e.oid.as_bytes()),
            });
        }
        Some(Self { data, entries })
    }

    /// The tree's entries, in the order git stores them.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        self.entries.iter().map(|s| self.entry(s))
    }

    /// The entry at position `i` of [`RawTree::entries`].
    pub fn get(&self, i: usize) -> Option<Entry<'_>> {
        self.entries.get(i).map(|s| self.entry(s))
    }

    fn entry(&self, s: &Slot) -> Entry<'_> {
        Entry {
            kind: s.kind,
            name: &self.data[s.name.clone()],
            id: &self.data[s.id..s.id + 20],
        }
    }
}

/// One thread's reader of a repository's objects. Readers of the same repository share the
/// store (its indices and pack mappings), each with its own caches.
pub struct Objects {
    handle: gix_odb::HandleArc,
    buf: Vec<u8>,
}

impl Objects {
    /// A reader of the objects of the repository whose git directory is `git_dir`
    /// (alternates included).
    pub fn open(git_dir: &Path) -> Result<Self, SourceError> {
        let store = store(&git_dir.join("objects")).map_err(|e| SourceError::Git {
            oid: git_dir.display().to_string(),
            reason: format!("cannot open the object store: {e}"),
        })?;
        let mut handle = store.to_cache_arc();
        handle.set_pack_cache(|| {
            Box::new(gix_pack::cache::lru::MemoryCappedHashmap::new(
                PACK_CACHE_BYTES,
            ))
        });
        // A damaged repository misses objects by the thousand; a miss must not make the
        // store list the pack directory again each time.
        handle.refresh_never();
        Ok(Self {
            handle,
            buf: Vec::new(),
        })
    }

    /// Tree `oid`: an error naming it when it is missing, not a tree, or does not parse.
    pub fn tree(&mut self, oid: Oid) -> Result<RawTree, SourceError> {
        // Read into a buffer of its own that becomes the tree's (no copy of 1.6 GB of trees
        // on the long benchmark history).
        let mut data = Vec::new();
        let d = find(&self.handle, oid, &mut data)?;
        let (kind, start, len) = (d.kind, d.data.as_ptr() as usize, d.data.len());
        if kind != gix_object::Kind::Tree {
            return Err(fail(oid, format!("the object is a {kind}, not a tree")));
        }
        // An empty tree's slice may point anywhere.
        let start = match len {
            0 => 0,
            _ => start.wrapping_sub(data.as_ptr() as usize),
        };
        let at = start..start.saturating_add(len);
        RawTree::parse(data, at).ok_or_else(|| fail(oid, "the tree object is malformed".into()))
    }

    /// Commit `oid`'s parents and committer time (what ordering history needs): an error
    /// naming it when it is missing, not a commit, or its parents do not parse.
    pub fn commit_links(&mut self, oid: Oid) -> Result<CommitLinks, SourceError> {
        let d = find(&self.handle, oid, &mut self.buf)?;
        if d.kind != gix_object::Kind::Commit {
            return Err(fail(
                oid,
                format!("the object is a {}, not a commit", d.kind),
            ));
        }
        CommitLinks::parse(d.data).ok_or_else(|| fail(oid, "the commit object is malformed".into()))
    }

    /// The bytes of object `oid`, whatever its kind (as `git cat-file` reads a blob).
    pub fn blob(&mut self, oid: Oid) -> Result<&[u8], SourceError> {
        Ok(find(&self.handle, oid, &mut self.buf)?.data)
    }

    /// The size of object `oid` from its header, without inflating it.
    pub fn size(&self, oid: Oid) -> Result<u64, SourceError> {
        use gix_odb::Header;
        match self.handle.try_header(&id_of(oid)) {
            Ok(Some(h)) => Ok(h.size()),
            Ok(None) => Err(fail(oid, NOT_FOUND.to_string())),
            Err(e) => Err(fail(oid, e.to_string())),
        }
    }
}

/// A commit's links to its past, as libgit2's revision walk reads them.
#[derive(Debug, PartialEq, Eq)]
pub struct CommitLinks {
    /// The parents, in the commit's order.
    pub parents: Vec<Oid>,
    /// The committer's time in seconds (0 when it does not parse, as libgit2 reads it).
    pub time: i64,
}

impl CommitLinks {
    /// Reads the header of a commit object: `tree` first, then any `parent` lines, then the
    /// rest, of which only `committer` counts here.
    fn parse(data: &[u8]) -> Option<Self> {
        let mut parents = Vec::new();
        let mut time = 0;
        let mut lines = data.split(|b| *b == b'\n');
        lines.next()?.strip_prefix(b"tree ")?;
        for line in lines {
            if line.is_empty() {
                break;
            }
            if let Some(hex) = line.strip_prefix(b"parent ") {
                let hex = std::str::from_utf8(hex).ok()?;
                parents.push(Oid::from_str(hex).ok().filter(|_| hex.len() == 40)?);
            } else if let Some(sig) = line.strip_prefix(b"committer ") {
                time = signature_time(sig);
            }
        }
        Some(Self { parents, time })
    }
}

/// The seconds of a signature (`name <email> seconds offset`), 0 when absent or malformed.
fn signature_time(sig: &[u8]) -> i64 {
    let Some(end) = sig.iter().rposition(|b| *b == b'>') else {
        return 0;
    };
    let rest = sig[end + 1..].trim_ascii_start();
    let digits = rest
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'-')
        .count();
    std::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Object `oid`, read into `buf`: an error naming it when it is missing or unreadable.
fn find<'b>(
    handle: &gix_odb::HandleArc,
    oid: Oid,
    buf: &'b mut Vec<u8>,
) -> Result<gix_object::Data<'b>, SourceError> {
    match handle.try_find(&id_of(oid), buf) {
        Ok(Some(d)) => Ok(d),
        Ok(None) => Err(fail(oid, NOT_FOUND.to_string())),
        Err(e) => Err(fail(oid, e.to_string())),
    }
}

const NOT_FOUND: &str = "object not found";

fn fail(oid: Oid, reason: String) -> SourceError {
    SourceError::Git {
        oid: oid.to_string(),
        reason,
    }
}

/// `oid` as gitoxide's id (both are the 20 bytes of a SHA-1).
fn id_of(oid: Oid) -> gix_hash::ObjectId {
    gix_hash::ObjectId::from_bytes_or_panic(oid.as_bytes())
}

/// The store for `objects`, shared by every reader open on it, so that the pack indices are
/// loaded and the packs mapped once per process, however many threads read.
fn store(objects: &Path) -> std::io::Result<Arc<gix_odb::Store>> {
    static OPEN: Mutex<Vec<(PathBuf, Weak<gix_odb::Store>)>> = Mutex::new(Vec::new());
    let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    open.retain(|(_, s)| s.strong_count() > 0);
    if let Some(s) = open
        .iter()
        .find(|(p, _)| p == objects)
        .and_then(|(_, s)| s.upgrade())
    {
        return Ok(s);
    }
    let options = gix_odb::store::init::Options {
        alloc_limit_bytes: Some(ALLOC_LIMIT_BYTES),
        ..Default::default()
    };
    let s = Arc::new(gix_odb::Store::at_opts(
        objects.to_path_buf(),
        gix_hash::Kind::Sha1,
        &mut std::iter::empty(),
        options,
    )?);
    open.push((objects.to_path_buf(), Arc::downgrade(&s)));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, git2::Repository) {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        (dir, repo)
    }

    /// Entries come back as git stores them, with libgit2's kinds (a symbolic link is a
    /// blob, a submodule a commit); the empty tree has none; a blob or a missing id is an
    /// error naming the object.
    #[test]
    fn trees_read_with_their_entries_and_bad_ids_are_errors_naming_them() {
        let (_dir, repo) = repo();
        let blob = repo.blob(b"hello\n").unwrap();
        let empty = repo.treebuilder(None).unwrap().write().unwrap();
        let mut b = repo.treebuilder(None).unwrap();
        b.insert("a.txt", blob, 0o100644).unwrap();
        b.insert("link", blob, 0o120000).unwrap();
        b.insert("sub", empty, 0o040000).unwrap();
        b.insert("vendor", repo.blob(b"x").unwrap(), 0o160000)
            .unwrap();
        let tree = b.write().unwrap();

        let mut objects = Objects::open(repo.path()).unwrap();
        let read = objects.tree(tree).unwrap();
        let got: Vec<(EntryKind, Vec<u8>, Oid)> = read
            .entries()
            .map(|e| (e.kind, e.name.to_vec(), e.oid()))
            .collect();
        let want: Vec<(EntryKind, Vec<u8>, Oid)> = repo
            .find_tree(tree)
            .unwrap()
            .iter()
            .map(|e| {
                let kind = match e.kind() {
                    Some(git2::ObjectType::Tree) => EntryKind::Tree,
                    Some(git2::ObjectType::Commit) => EntryKind::Commit,
                    _ => EntryKind::Blob,
                };
                (kind, e.name_bytes().to_vec(), e.id())
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(read.get(2).map(|e| e.name), Some(&b"sub"[..]));
        assert!(read.get(4).is_none());
        assert_eq!(objects.tree(empty).unwrap().entries().count(), 0);
        assert_eq!(objects.blob(blob).unwrap(), b"hello\n");
        assert_eq!(objects.size(blob).unwrap(), 6);

        let not_tree = objects
            .tree(blob)
            .err()
            .expect("a blob is not a tree")
            .to_string();
        assert!(not_tree.contains(&blob.to_string()), "{not_tree}");
        assert!(not_tree.contains("not a tree"), "{not_tree}");
        let missing = Oid::from_str("0123456789012345678901234567890123456789").unwrap();
        for err in [
            objects.tree(missing).err(),
            objects.blob(missing).err(),
            objects.size(missing).err(),
        ] {
            let err = err.expect("a missing object is an error");
            assert_eq!(
                err.to_string(),
                format!("git object {missing}: object not found")
            );
        }
    }
}
