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
//! libgit2 still walks commits, resolves revisions, reads the working tree's index and
//! attributes the few blobs with a hit: none of those is where the time goes.

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

/// A tree object's bytes, checked to parse whole when read.
pub struct RawTree {
    data: Vec<u8>,
}

impl RawTree {
    /// The tree's entries, in the order git stores them.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        gix_object::TreeRefIter::from_bytes(&self.data, gix_hash::Kind::Sha1)
            .filter_map(Result::ok)
            .map(|e| Entry {
                kind: if e.mode.is_tree() {
                    EntryKind::Tree
                } else if e.mode.is_commit() {
                    EntryKind::Commit
                } else {
                    EntryKind::Blob
                },
                name: e.filename,
                id: e.oid.as_bytes(),
            })
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
        let (kind, at, len) = match self.handle.try_find(&id_of(oid), &mut data) {
            Ok(Some(d)) => (d.kind, d.data.as_ptr() as usize, d.data.len()),
            Ok(None) => return Err(fail(oid, NOT_FOUND.to_string())),
            Err(e) => return Err(fail(oid, e.to_string())),
        };
        if kind != gix_object::Kind::Tree {
            return Err(fail(oid, format!("the object is a {kind}, not a tree")));
        }
        let start = at.wrapping_sub(data.as_ptr() as usize);
        if start > data.len() || len > data.len() - start {
            return Err(fail(oid, "the object store gave no data".to_string()));
        }
        data.truncate(start + len);
        data.drain(..start);
        let parses =
            gix_object::TreeRefIter::from_bytes(&data, gix_hash::Kind::Sha1).all(|e| e.is_ok());
        if !parses {
            return Err(fail(oid, "the tree object is malformed".to_string()));
        }
        Ok(RawTree { data })
    }

    /// The bytes of object `oid`, whatever its kind (as `git cat-file` reads a blob).
    pub fn blob(&mut self, oid: Oid) -> Result<&[u8], SourceError> {
        Ok(self.read(oid)?.1)
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

    fn read(&mut self, oid: Oid) -> Result<(gix_object::Kind, &[u8]), SourceError> {
        match self.handle.try_find(&id_of(oid), &mut self.buf) {
            Ok(Some(d)) => Ok((d.kind, d.data)),
            Ok(None) => Err(fail(oid, NOT_FOUND.to_string())),
            Err(e) => Err(fail(oid, e.to_string())),
        }
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
