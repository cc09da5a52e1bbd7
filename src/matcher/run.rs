//! The literal-free pass: whole-word runs of an exact length (the legacy Azure DevOps PAT).
//!
//! A legacy PAT has no prefix, so no keyword can find it. Instead of a regex over the whole
//! buffer, this pass probes one byte in every `len`: any run of `len` consecutive bytes covers
//! exactly one probe position, so a probe that lands on a word byte is expanded to its whole
//! word, and only words of exactly `len` bytes, all in the charset, are kept. Each byte is
//! looked at a small constant number of times on average, and at most twice.
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
        if !WORD[hay[i] as usize] {
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

    proptest::proptest! {
        #[test]
        fn strided_pass_equals_the_plain_definition(s in r"[a-c2_ 8An\\%u0]{0,200}", len in 1usize..12) {
            proptest::prop_assert_eq!(runs(&s, len), naive(&s, len));
        }
    }
}
