//! Escape-aware word boundaries: a token right after a JSON or C escape (`\n`, `\t`, `\"`,
//! `\u0022`, `\x22`) or a percent-encoding (`%0A`, `%22`) starts where the escape ends.
//!
//! In `"line\nabcd..."` the escape letter `n` is a word character glued to the token, so a
//! 52-character legacy PAT becomes a 53-character word and a rule's `\b` fails before `ghp_`.
//! These helpers say how many bytes in front of a position belong to an escape, so the run
//! pass and the regex confirmation can treat them as a boundary. They look at a few bytes
//! only, so asking at every candidate costs nothing measurable.

/// Single-letter C/JSON escapes whose letter is a word character.
const LETTERS: &[u8] = b"ntrbfvae0";

/// The number of bytes starting at `s` that are the tail of an escape whose introducer (`\`
/// or `%`) is at `s - 1`: 1 for `\n`, 3 for `\x22`, 5 for `\u0022`, 2 for `%0A`; 0 for none.
/// A backslash that is itself escaped (`\\n`) introduces nothing.
pub fn escape_after(hay: &[u8], s: usize) -> usize {
    if s == 0 || s >= hay.len() {
        return 0;
    }
    let hex = |i: usize| hay.get(i).is_some_and(u8::is_ascii_hexdigit);
    match hay[s - 1] {
        b'\\' => {
            let slashes = hay[..s].iter().rev().take_while(|&&b| b == b'\\').count();
            if slashes % 2 == 0 {
                return 0;
            }
            match hay[s] {
                b'u' if (s + 1..s + 5).all(hex) => 5,
                b'x' if (s + 1..s + 3).all(hex) => 3,
                b if LETTERS.contains(&b) => 1,
                _ => 0,
            }
        }
        b'%' if hex(s) && hex(s + 1) => 2,
        _ => 0,
    }
}

/// The number of bytes just before `p` that are the tail of an escape (see
/// [`escape_after`]): `p - k .. p` should count as a boundary, not as part of a word.
pub fn escape_before(hay: &[u8], p: usize) -> usize {
    for k in [5, 3, 2, 1] {
        if p > k && escape_after(hay, p - k) == k {
            return k;
        }
    }
    0
}

/// The escapes (introducer and tail) that glue to the word after them in `hay[start..end]`.
/// Empty, without allocating, when the window has no `\` or `%`.
pub fn escapes_in(hay: &[u8], start: usize, end: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for i in memchr::memchr2_iter(b'\\', b'%', &hay[start..end]) {
        let p = start + i;
        let k = escape_after(hay, p + 1);
        if k > 0 {
            out.push(p..p + 1 + k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_json_c_and_percent_escapes() {
        for (text, k) in [
            (&b"x\\ntok"[..], 1),
            (b"x\\ttok", 1),
            (b"x\\u0022tok", 5),
            (b"x\\x22tok", 3),
            (b"x%0Atok", 2),
            (b"x%22tok", 2),
            (b"x\\\\ntok", 0),
            (b"x\\\\\\ntok", 1),
            (b"x\\qtok", 0),
            (b"x%zztok", 0),
            (b"xntok", 0),
        ] {
            let p = text.len() - 3;
            assert_eq!(
                escape_before(text, p),
                k,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(escape_after(b"\\n", 1), 1);
        assert_eq!(escape_after(b"\\u00", 1), 0);
        assert_eq!(escape_before(b"", 0), 0);
        assert_eq!(escapes_in(b"a\\nb %22c %zz \\\\d", 0, 16), vec![1..3, 5..8]);
    }
}
