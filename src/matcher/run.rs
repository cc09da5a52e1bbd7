//! The literal-free pass: whole-word runs of an exact length (the legacy Azure DevOps PAT).
//!
//! A legacy PAT has no prefix, so no keyword can find it. Instead of a regex over the whole
//! buffer, this pass probes one byte in every `len`: any run of `len` consecutive bytes covers
//! exactly one probe position, so a probe that lands on a word byte is expanded to its whole
//! word, and only words of exactly `len` bytes, all in the charset, are kept. Each byte is
//! looked at a small constant number of times on average, and at most twice.
//!
//! Most probes are rejected before any word is expanded: a probe byte outside the charset
//! cannot be inside a token, and for runs of 16 bytes or more a token covering the probe
//! holds the 8 bytes before it or the 8 bytes after it (`could_cover`), which one word-wide
//! test each checks. Expanding words byte by byte, with its unpredictable loop ends, was 17%
//! of a files scan's samples.
//!
//! A word that starts with the tail of an escape (`\nabc...`, `%22abc...`, see `escape.rs`)
//! is also tried without it, so a token right after an escape is found.

use super::escape::escape_after;
use crate::rules::RunCharset;

const fn word_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric();
        i += 1;
    }
    t
}

/// Bytes that make up a "word" for the run pass: `[A-Za-z0-9]`. Anything else (`_`, `-`,
/// quotes, `:`, `@`, non-ASCII) ends a run.
static WORD: [bool; 256] = word_table();

/// Pushes the spans of whole words of exactly `len` bytes, all in `charset`, onto `out`.
pub fn find_runs(hay: &[u8], len: usize, charset: RunCharset, out: &mut Vec<(usize, usize)>) {
    if len == 0 {
        return;
    }
    let mut i = len - 1;
    while i < hay.len() {
        if !charset.contains(hay[i]) || !could_cover(hay, i, len, charset) {
            i += len;
            continue;
        }
        let mut s = i;
        while s > 0 && WORD[hay[s - 1] as usize] {
            s -= 1;
        }
        let mut e = i + 1;
        // Longest escape tail in front of a token: `\u0022`.
        while e < hay.len() && WORD[hay[e] as usize] && e - s <= len + 5 {
            e += 1;
        }
        if e == hay.len() || !WORD[hay[e] as usize] {
            let k = if e - s > len { escape_after(hay, s) } else { 0 };
            let s = s + k;
            if e - s == len && hay[s..e].iter().all(|&b| charset.contains(b)) {
                out.push((s, e));
            }
        }
        // Skip the rest of this word, then resume at the next probe position.
        while e < hay.len() && WORD[hay[e] as usize] {
            e += 1;
        }
        // The next run starts after the byte that ended this word; its probe is the first
        // probe position at or after that.
        let next = e + 1;
        i = next + (len - 1) - next % len;
    }
}

/// Whether a run of `len` charset bytes could cover `hay[i]`, judged from 16 bytes around it.
/// A run `[s, s + len)` covering `i` holds `[i - 8, i)` when `i - s >= 8`, and otherwise
/// (with `len >= 16`) reaches at least `i + 8`, so holds `[i + 1, i + 9)`: one of the two
/// groups is all charset. `true` when the test does not apply (short runs, buffer edges).
fn could_cover(hay: &[u8], i: usize, len: usize, charset: RunCharset) -> bool {
    if len < 16 || i < 8 || i + 9 > hay.len() {
        return true;
    }
    let word = |at: usize| u64::from_le_bytes(hay[at..at + 8].try_into().expect("8 bytes"));
    all_in(word(i - 8), charset) || all_in(word(i + 1), charset)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether all eight bytes of `w` are in `charset`, eight at a time (SWAR).
fn all_in(w: u64, charset: RunCharset) -> bool {
    match charset {
        RunCharset::Base32Lower => {
            w & HIGH == 0 && (in_range(w, b'a', b'z') | in_range(w, b'2', b'7')) == HIGH
        }
    }
}

/// The high bit of each byte of `w` (all below 0x80) that lies in `lo..=hi`: adding
/// `0x80 - lo` sets it when the byte is at least `lo`, adding `0x7f - hi` when it is above
/// `hi`, and neither sum carries into the next byte.
fn in_range(w: u64, lo: u8, hi: u8) -> u64 {
    let at_least_lo = w.wrapping_add(ONES * u64::from(0x80 - lo));
    let above_hi = w.wrapping_add(ONES * u64::from(0x7f - hi));
    at_least_lo & !above_hi & HIGH
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(h: &str, len: usize) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        find_runs(h.as_bytes(), len, RunCharset::Base32Lower, &mut v);
        v
    }

    /// The plain definition, to check the strided one against.
    fn naive(h: &str, len: usize) -> Vec<(usize, usize)> {
        let b = h.as_bytes();
        let mut v = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if WORD[b[i] as usize] {
                let s = i;
                while i < b.len() && WORD[b[i] as usize] {
                    i += 1;
                }
                let k = if i - s > len { escape_after(b, s) } else { 0 };
                let s = s + k;
                if i - s == len && b[s..i].iter().all(|&c| RunCharset::Base32Lower.contains(c)) {
                    v.push((s, i));
                }
            } else {
                i += 1;
            }
        }
        v
    }

    #[test]
    fn finds_exact_runs_at_any_offset_and_nothing_else() {
        let tok = "a".repeat(10);
        for pre in 0..25 {
            for sep in [" ", "_", "-", "\n", ":", "@"] {
                let h = format!(
                    "{}{sep}{tok}{sep}bbbbbbbbbbb{sep}cc{sep}{tok}",
                    " ".repeat(pre)
                );
                assert_eq!(runs(&h, 10), naive(&h, 10), "{h:?}");
                assert_eq!(runs(&h, 10).len(), 2, "{h:?}");
            }
        }
        assert!(runs("aaaaaaaaaA", 10).is_empty());
        assert!(runs("aaaaaaaaa8", 10).is_empty());
        assert_eq!(runs("aaaaaaaaaa", 10), vec![(0, 10)]);
    }

    /// Regression test for #13 (escape-aware boundaries): a run right after `\n`, `\t`,
    /// `\u0022`, `\x22`, `%0A` or `%22` is found; after an escaped backslash it is one word.
    #[test]
    fn runs_right_after_an_escape_are_found() {
        let tok = "a".repeat(10);
        for esc in [
            "\\n", "\\t", "\\r", "\\u0022", "\\x22", "%0A", "%22", "\\\\\\n",
        ] {
            for pre in 0..12 {
                let h = format!("{}\"{esc}{tok}\"", " ".repeat(pre));
                let want = h.find(&tok).unwrap();
                assert_eq!(runs(&h, 10), vec![(want, want + 10)], "{h:?}");
            }
        }
        assert!(runs("\\\\n aaaaaaaaaa", 10).len() == 1);
        assert!(runs("\\\\naaaaaaaaaa", 10).is_empty());
        assert!(runs("xnaaaaaaaaaa", 10).is_empty());
    }

    /// Runs long enough for the word-wide test, at every position relative to the probes,
    /// with charset words close on either side.
    #[test]
    fn long_runs_are_found_at_any_offset() {
        for len in (16..=20).chain([51, 52, 53]) {
            let tok = "ab2c".repeat(20)[..len].to_string();
            for pre in 0..2 * len {
                for sep in [" ", "-", "A", "\\n"] {
                    // The neighbours hold a `9` (a word byte outside the charset): never a run.
                    let h = format!(
                        "9{}{sep}{tok}{sep}{}9",
                        "x".repeat(pre),
                        "y".repeat(pre % 9)
                    );
                    assert_eq!(runs(&h, len), naive(&h, len), "{h:?}");
                    if sep != "A" {
                        assert_eq!(runs(&h, len).len(), 1, "{h:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_word_wide_charset_test_agrees_with_the_byte_test() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut w = *b"abcz2345";
                w[pos] = b;
                let want = w.iter().all(|&c| RunCharset::Base32Lower.contains(c));
                let got = all_in(u64::from_le_bytes(w), RunCharset::Base32Lower);
                assert_eq!(got, want, "{b:#x} at {pos}");
            }
        }
    }

    /// Words of charset letters of every length up to 70 (so runs of 16 to 60, which take
    /// the word-wide test, are common), between separators and escapes.
    fn long_runs() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::collection::vec((0usize..70, r"[ _8A\\%nu0-]{1,3}"), 0..12).prop_map(|v| {
            let mut s = String::new();
            for (k, sep) in v {
                s.extend((0..k).map(|i| b"ab7c2xyz"[(i * 7 + k) % 8] as char));
                s.push_str(&sep);
            }
            s
        })
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #[test]
        fn strided_pass_equals_the_plain_definition_for_long_runs(s in long_runs(), len in 14usize..61) {
            proptest::prop_assert_eq!(runs(&s, len), naive(&s, len));
        }

        #[test]
        fn strided_pass_equals_the_plain_definition(s in r"[a-c2_ 8An\\%u0]{0,200}", len in 1usize..12) {
            proptest::prop_assert_eq!(runs(&s, len), naive(&s, len));
        }
    }
}
