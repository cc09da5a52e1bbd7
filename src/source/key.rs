//! Object ids as hash-map keys: 20 bytes compared inline.
//!
//! `git2::Oid`'s `==` and `cmp` call into libgit2 (`git_oid_equal`), which no compiler can
//! inline; in the maps a history scan probes millions of times (the walk's record of trees
//! and blobs, attribution's index of the trees that hold a target) those calls were a
//! large share of the samples. A [`Key`] is the same 20 bytes, compared and hashed in Rust.

use git2::Oid;

/// An object id as a map key. In the walk's record, `Oid` comparisons were 7% of a
/// history scan's samples, all taken under its lock.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key([u8; 20]);

impl Key {
    pub(crate) fn of(oid: Oid) -> Self {
        Self::from_bytes(oid.as_bytes())
    }

    pub(crate) fn from_bytes(id: &[u8]) -> Self {
        let mut k = [0; 20];
        k.copy_from_slice(&id[..20]);
        Self(k)
    }

    pub(crate) fn bytes(&self) -> &[u8; 20] {
        &self.0
    }

    pub(crate) fn oid(self) -> Oid {
        Oid::from_bytes(&self.0).unwrap_or_else(|_| Oid::zero())
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // An object id is already a uniform hash: its first 8 bytes are enough.
        let mut first = [0; 8];
        first.copy_from_slice(&self.0[..8]);
        h.write_u64(u64::from_le_bytes(first));
    }
}

/// Hashes a [`Key`]: the `u64` it writes, as is.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A map from object ids, hashed by their first 8 bytes.
pub(crate) type KeyMap<V> =
    std::collections::HashMap<Key, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// A set of object ids, as [`KeyMap`].
pub(crate) type KeySet = std::collections::HashSet<Key, std::hash::BuildHasherDefault<KeyHasher>>;
