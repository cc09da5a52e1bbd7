//! Placeholders: token-shaped text that nobody generated at random. Documentation and sample
//! configuration fill a real prefix with a sequence (`sk_live_1234567890abcdef…`), a repeated
//! character (`ghp_xxxx…`, `AKIA0000…`) or a partial fill (`sk_live_51H8xxxxxxxx…`). The matcher
//! asks [`is_placeholder`] about every token of every rule, before entropy and checksum, and
//! never reports one that is.
//!
//! The thresholds are set so that a random token practically never trips them: a run of 8
//! characters each following the previous (ascending or descending) has a probability of
//! about `(1/16)^7` per position even over hex, about 3e-7 for a 64-character hex token; 8 `x`,
//! `X` or `0` in a row is as unlikely; any other character repeated must also cover a quarter of
//! the token, so the zero-length fields of an OpenSSH key (`AAAAAAAAAAAB`) in a
//! 400-character block stay reportable. `placeholder_rejects_no_generated_sample` checks the
//! claim against thousands of generated samples of every rule.

/// Shortest sequential run (`12345678`, `abcdefgh`, `1234567890abcdef`, `fedcba98`) that marks a
/// placeholder.
pub const MIN_SEQUENCE_CHARS: usize = 8;
/// Shortest run of a fill character (`x`, `X`, `0`) that marks a placeholder.
pub const MIN_FILL_CHARS: usize = 8;
/// Shortest run of any other repeated character that marks a placeholder (when it also covers
/// a quarter of the token).
pub const MIN_REPEAT_CHARS: usize = 8;

/// Why a token reads as a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// A run of characters that follow each other, up or down.
    Sequence,
    /// A run of `x`, `X` or `0`.
    Fill,
    /// One character repeated over a quarter of the token or more.
    Repeat,
}

/// Whether `token` is a placeholder, and why. Linear in the token, no allocation.
pub fn is_placeholder(token: &[u8]) -> Option<Placeholder> {
    let (mut up, mut down, mut same) = (1usize, 1usize, 1usize);
    let mut longest_repeat = 0;
    for w in token.windows(2) {
        let (p, n) = (w[0], w[1]);
        up = if follows(p, n) { up + 1 } else { 1 };
        down = if follows(n, p) { down + 1 } else { 1 };
        same = if p == n { same + 1 } else { 1 };
        if up >= MIN_SEQUENCE_CHARS || down >= MIN_SEQUENCE_CHARS {
            return Some(Placeholder::Sequence);
        }
        if same >= MIN_FILL_CHARS && matches!(n, b'x' | b'X' | b'0') {
            return Some(Placeholder::Fill);
        }
        longest_repeat = longest_repeat.max(same);
    }
    (longest_repeat >= MIN_REPEAT_CHARS && longest_repeat * 4 >= token.len())
        .then_some(Placeholder::Repeat)
}

/// Whether `n` comes right after `p` in a hand-typed sequence: the next digit or letter of the
/// same case, or a wrap people type (`…890abc`, `…9abc`, `…def0123`, `…xyz0123`).
fn follows(p: u8, n: u8) -> bool {
    let same_class = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit())
            || (a.is_ascii_lowercase() && b.is_ascii_lowercase())
            || (a.is_ascii_uppercase() && b.is_ascii_uppercase())
    };
    (n == p.wrapping_add(1) && same_class(p, n))
        || (p == b'9' && matches!(n, b'0' | b'a' | b'A'))
        || (p == b'0' && matches!(n, b'a' | b'A'))
        || (matches!(p, b'f' | b'F' | b'z' | b'Z') && matches!(n, b'0' | b'1'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{sample, RuleSet};

    #[test]
    fn sequences_fills_and_repeats_are_placeholders() {
        for (tok, why) in [
            (
                "sk_live_1234567890abcdef1234567890abcdef",
                Placeholder::Sequence,
            ),
            (
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                Placeholder::Sequence,
            ),
            (
                "ghp_ABCDEFGHIJKLmnopqrstuvwxyz0123456789",
                Placeholder::Sequence,
            ),
            ("sk-proj-9876543210zyxwvuTQ", Placeholder::Sequence),
            (
                "dapi0123456789abcdef0123456789abcdef",
                Placeholder::Sequence,
            ),
            ("glpat-xxxxxxxxxxxxxxxxxxxx", Placeholder::Fill),
            ("AKIAXXXXXXXXXXXXXXXX", Placeholder::Fill),
            ("sk_live_51H8Qz4Kxxxxxxxxxxxxxxxxxxxxxx", Placeholder::Fill),
            ("shpat_00000000000000000000000000000000", Placeholder::Fill),
            ("hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Placeholder::Repeat),
        ] {
            assert_eq!(is_placeholder(tok.as_bytes()), Some(why), "{tok}");
        }
    }

    #[test]
    fn short_runs_and_structure_are_not_placeholders() {
        for tok in [
            // Seven in a row, twice: below the threshold.
            &format!("sk_live_{}", "1234567Qabcdefg9Rm2Lw8TzVb"),
            // An OpenSSH key's zero-length fields in a long block.
            &format!(
                "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW{}",
                "Qm9Zy7Kp3RtWx2Lc".repeat(20)
            ),
            // A Grafana test value: mixed case breaks every run.
            "glsa_iNValIdinValiDinvalidinvalidinva_5b582697",
            "",
            "x",
        ] {
            assert_eq!(is_placeholder(tok.as_bytes()), None, "{tok}");
        }
    }

    /// No generated token of any rule is a placeholder: the checks cost no recall on random
    /// tokens (400 samples per rule, fixed seeds).
    #[test]
    fn placeholder_rejects_no_generated_sample() {
        let rules = RuleSet::builtin().unwrap();
        let mut checked = 0;
        for rule in rules.rules() {
            let Some(g) = sample::generator(rule.id()) else {
                continue;
            };
            for seed in 0..400 {
                let tok = g(&mut sample::Rng::new(seed));
                // Pairs (`id:secret`) are checked part by part, as the matcher does.
                for part in tok.split(':') {
                    assert_eq!(
                        is_placeholder(part.as_bytes()),
                        None,
                        "{} seed {seed}: {tok}",
                        rule.id()
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 40_000, "{checked}");
    }
}
