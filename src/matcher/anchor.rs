//! The keyword searcher behind the prefilter: every occurrence of every literal, found through
//! one three-byte "anchor" per literal and a 64 KiB table of byte pairs.
//!
//! Why not aho-corasick: its vectorised (Teddy) searcher is fast up to a few dozen literals
//! and useless past that (its nibble masks match almost every byte of source text), and its
//! DFA takes one dependent table step per byte. With the 144 built-in rules (123 literals with
//! the decoders' triggers) the DFA ran at 586 MiB/s of CPU on the synthetic corpus and was
//! half of a files scan's samples; this searcher runs at about 1.2 GiB/s (both single-threaded,
//! CPU time, on 64 MiB of the benchmark kit's synthetic corpus). Its cost per byte does not
//! grow with the number of literals; only the share of blocks it has to look at does.
//!
//! How: each literal gets an anchor, the three consecutive bytes of it that source text is
//! least likely to hold (`commonness`), and the anchor is split into two overlapping byte
//! pairs. One table, indexed by a byte pair, says whether that pair begins an anchor (bit 0)
//! or ends one (bit 1). The scan reads eight positions at a time from two unaligned words
//! with no branch per byte; only a block where some position's pair begins an anchor and
//! the next position's pair ends one (about one block in thirty on source text) is looked at
//! byte by byte: the anchor's three bytes are compared exactly, then the whole literal at its
//! offset. So every occurrence is found, overlapping ones and ones at the buffer's edges
//! included, and nothing else is reported.

/// One literal's anchor: its three bytes (little-endian in the low 24 bits), the literal and
/// the anchor's offset in it.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    key: u32,
    literal: u32,
    offset: u32,
}

/// Bit of [`AnchorSearcher::pairs`]: the pair is an anchor's first two bytes.
const BEGINS: u8 = 1;
/// Bit of [`AnchorSearcher::pairs`]: the pair is an anchor's last two bytes.
const ENDS: u8 = 2;

/// Finds every occurrence of a set of literals of at least three bytes each.
#[derive(Clone)]
pub struct AnchorSearcher {
    /// Indexed by `first byte | second byte << 8`.
    pairs: Box<[u8; 1 << 16]>,
    /// Sorted by `key`.
    anchors: Vec<Anchor>,
    literals: Vec<Vec<u8>>,
}

impl std::fmt::Debug for AnchorSearcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnchorSearcher")
            .field("literals", &self.literals.len())
            .finish_non_exhaustive()
    }
}

/// The shortest literal the searcher takes (rule keywords are validated to be at least this).
pub const MIN_LITERAL_BYTES: usize = 3;

impl AnchorSearcher {
    /// A searcher for `literals`; match `i` names `literals[i]`.
    ///
    /// # Panics
    ///
    /// If a literal is shorter than [`MIN_LITERAL_BYTES`] (rule loading rejects those).
    pub fn new<S: AsRef<[u8]>>(literals: &[S]) -> Self {
        let mut pairs: Box<[u8; 1 << 16]> = vec![0u8; 1 << 16]
            .into_boxed_slice()
            .try_into()
            .expect("64 KiB");
        let mut anchors = Vec::with_capacity(literals.len());
        for (i, lit) in literals.iter().enumerate() {
            let lit = lit.as_ref();
            assert!(
                lit.len() >= MIN_LITERAL_BYTES,
                "literal shorter than 3 bytes"
            );
            let offset = rarest_triple(lit);
            let [a, b, c] = [lit[offset], lit[offset + 1], lit[offset + 2]];
            pairs[pair(a, b)] |= BEGINS;
            pairs[pair(b, c)] |= ENDS;
            anchors.push(Anchor {
                key: triple(a, b, c),
                literal: i as u32,
                offset: offset as u32,
            });
        }
        anchors.sort_by_key(|a| a.key);
        Self {
            pairs,
            anchors,
            literals: literals.iter().map(|l| l.as_ref().to_vec()).collect(),
        }
    }

    /// Calls `found(start, literal index)` for every occurrence of every literal in `hay`, in
    /// order of the anchor's position (so not strictly by start).
    pub fn find_all(&self, hay: &[u8], mut found: impl FnMut(usize, usize)) {
        let mut i = 0;
        // A block covers anchors starting at i..i+8, whose bytes reach i+9: 16 bytes read.
        while i + 16 <= hay.len() {
            let lo = u64::from_le_bytes(hay[i..i + 8].try_into().expect("8 bytes"));
            let hi = u64::from_le_bytes(hay[i + 8..i + 16].try_into().expect("8 bytes"));
            let mut flagged = 0u32;
            let mut prev = self.at(lo);
            for j in 1..9 {
                let word = match j {
                    1..=6 => lo >> (8 * j),
                    7 => (lo >> 56) | (hi << 8),
                    _ => hi,
                };
                let cur = self.at(word);
                // Position j-1 begins an anchor's pair and position j ends one.
                flagged |= u32::from(prev & (cur >> 1) & BEGINS) << (j - 1);
                prev = cur;
            }
            while flagged != 0 {
                let j = flagged.trailing_zeros() as usize;
                flagged &= flagged - 1;
                self.verify(hay, i + j, &mut found);
            }
            i += 8;
        }
        while i + MIN_LITERAL_BYTES <= hay.len() {
            self.verify(hay, i, &mut found);
            i += 1;
        }
    }

    /// The table entry of the pair in the low 16 bits of `word`.
    #[inline(always)]
    fn at(&self, word: u64) -> u8 {
        self.pairs[(word & 0xffff) as usize]
    }

    /// Every literal whose anchor sits at `i` and that occurs there in full.
    fn verify(&self, hay: &[u8], i: usize, found: &mut impl FnMut(usize, usize)) {
        if i + 3 > hay.len() {
            return;
        }
        let key = triple(hay[i], hay[i + 1], hay[i + 2]);
        let first = self.anchors.partition_point(|a| a.key < key);
        for a in self.anchors[first..].iter().take_while(|a| a.key == key) {
            let Some(start) = i.checked_sub(a.offset as usize) else {
                continue;
            };
            let lit = &self.literals[a.literal as usize];
            if hay.get(start..start + lit.len()) == Some(&lit[..]) {
                found(start, a.literal as usize);
            }
        }
    }
}

fn pair(a: u8, b: u8) -> usize {
    usize::from(a) | usize::from(b) << 8
}

fn triple(a: u8, b: u8, c: u8) -> u32 {
    u32::from(a) | u32::from(b) << 8 | u32::from(c) << 16
}

/// The offset of the three bytes of `lit` least common in source text, by a rough per-byte
/// weight: a poor choice only costs verification time, never a match.
fn rarest_triple(lit: &[u8]) -> usize {
    (0..=lit.len() - 3)
        .min_by_key(|&o| lit[o..o + 3].iter().map(|&b| commonness(b)).sum::<u32>())
        .expect("at least three bytes")
}

/// How often a byte appears in source text and prose, roughly (English letter frequency, then
/// the punctuation of code); bytes not listed are rare.
fn commonness(b: u8) -> u32 {
    match b {
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b' ' => 10,
        b'h' | b'l' | b'd' | b'c' | b'u' | b'm' => 8,
        b'f' | b'p' | b'g' | b'w' | b'y' | b'b' | b'_' | b'\n' | b'.' | b'"' => 6,
        b'v' | b'k' | b'(' | b')' | b',' | b'=' | b':' | b'/' | b'-' => 4,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (start, literal) by the plain definition.
    fn naive(lits: &[&str], hay: &[u8]) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for s in 0..hay.len() {
            for (i, l) in lits.iter().enumerate() {
                if hay[s..].starts_with(l.as_bytes()) {
                    v.push((s, i));
                }
            }
        }
        v
    }

    fn found(lits: &[&str], hay: &[u8]) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        AnchorSearcher::new(lits).find_all(hay, |s, i| v.push((s, i)));
        v.sort_unstable();
        v
    }

    #[test]
    fn finds_overlapping_nested_and_edge_occurrences() {
        let lits = ["glrt-", "glrt-t", "xcio_", "cio", "abcabc"];
        let hay = b"cio glrt-t1 xcio_ abcabcabc glrt-";
        assert_eq!(found(&lits, hay), naive(&lits, hay));
        assert_eq!(found(&lits, hay).len(), 8);
        for n in 0..20 {
            let mut h = vec![b'.'; n];
            h.extend_from_slice(b"cio");
            assert_eq!(found(&lits, &h), vec![(n, 3)], "{n}");
            assert_eq!(found(&lits, &h[..h.len() - 1]), vec![], "{n}");
        }
    }

    proptest::proptest! {
        /// Short alphabets make literals (and near misses of them) dense, and lengths up to
        /// 100 put them across every block edge and in the byte-by-byte tail.
        #[test]
        fn equals_the_plain_definition(
            lits in proptest::collection::vec("[abc_x-]{3,6}", 1..12),
            hay in "[abc_x-]{0,100}",
        ) {
            let lits: Vec<&str> = lits.iter().map(String::as_str).collect();
            let mut want = naive(&lits, hay.as_bytes());
            // A literal listed twice is found under each index.
            want.sort_unstable();
            proptest::prop_assert_eq!(found(&lits, hay.as_bytes()), want);
        }
    }
}
