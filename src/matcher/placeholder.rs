//! Placeholders that pass an entropy floor: runs such as `1234567890abcdef` or
//! `abcdefghijklmnop` under a real prefix (`sk_live_1234567890abcdef...`). Their character
//! counts look random, so entropy lets them through; the order of the characters does not.

/// Consecutive successors (`0123...`, `abcd...`, `ABCD...`; `9` is followed by `0`) that make a
/// token a placeholder. In a random base62 run of length n a run this long turns up with odd
/// about n / 62^7; in hex, n / 16^7 (one 64-digit token in 4 million).
pub const MIN_RUN: usize = 8;

/// Whether `token` holds a run of [`MIN_RUN`] characters each the successor of the one before.
pub fn has_sequential_run(token: &[u8]) -> bool {
    let mut run = 1;
    for w in token.windows(2) {
        if is_successor(w[0], w[1]) {
            run += 1;
            if run >= MIN_RUN {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

fn is_successor(a: u8, b: u8) -> bool {
    match a {
        b'9' => b == b'0',
        b'0'..=b'8' | b'a'..=b'y' | b'A'..=b'Y' => b == a + 1,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::sample::{generator, Rng};
    use crate::rules::RuleSet;

    #[test]
    fn sequences_are_runs_and_random_text_is_not() {
        assert!(has_sequential_run(b"sk_live_1234567890abcdef"));
        assert!(has_sequential_run(b"pplx-abcdefghijklmnopqrstuvwxyz"));
        assert!(has_sequential_run(b"x-ABCDEFGH-y"));
        assert!(has_sequential_run(b"7890123456"));
        assert!(!has_sequential_run(b"abcdefg"));
        assert!(!has_sequential_run(b"1234567-89"));
        assert!(!has_sequential_run(b"aaaaaaaaaaaa"));
        assert!(!has_sequential_run(b"zabcdef"));
    }

    /// No generated sample of any built-in rule looks like a placeholder, so the check costs
    /// no recall on random tokens (2,000 samples per rule).
    #[test]
    fn generated_tokens_are_not_placeholders() {
        for rule in RuleSet::builtin().unwrap().rules() {
            let Some(g) = generator(rule.id()) else {
                continue;
            };
            let mut r = Rng::new(11);
            for _ in 0..2_000 {
                let t = g(&mut r);
                assert!(!has_sequential_run(t.as_bytes()), "{}: {t}", rule.id());
            }
        }
    }

    /// Regression (#29): a sequential placeholder under Stripe's live-key prefix was reported;
    /// the same prefix with a generated tail still is.
    #[test]
    fn a_sequential_placeholder_under_a_live_prefix_is_not_reported() {
        let m = crate::matcher::Matcher::new(RuleSet::builtin().unwrap());
        let mut s = m.scratch();
        let mut out = Vec::new();
        m.find(
            b"STRIPE_SECRET_KEY=sk_live_1234567890abcdef1234567890abcdef\n",
            &mut s,
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        let real = crate::rules::sample::sample("stripe.secret_key", 1).unwrap();
        m.find(
            format!("STRIPE_SECRET_KEY={real}\n").as_bytes(),
            &mut s,
            &mut out,
        );
        assert!(out.iter().any(|c| c.secret == real), "{out:?}");
    }
}
