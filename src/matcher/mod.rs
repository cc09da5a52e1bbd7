//! The matcher: bytes in, candidates out. Pure: no files, no threads, no output.
//!
//! Stages, cheapest first, so the costly ones run on a tiny fraction of the input:
//! 1. `prefilter.rs`: one pass over every rule's keywords (and the decoders' triggers) finds
//!    candidate positions (`anchor.rs` is the literal searcher);
//! 2. `run.rs`: literal-free rules get their own strided pass over whole-word runs;
//! 3. `confirm.rs`: each rule's regex runs only in a bounded window around its hits, then
//!    entropy and checksum validators;
//! 4. `decode.rs`: base64 after `Basic ` / `_password=` is decoded and scanned one level deep.
//!
//! Never one regex pass per rule over the whole buffer.

pub mod anchor;
pub mod confirm;
pub mod decode;
pub mod escape;
pub mod placeholder;
pub mod prefilter;
pub mod run;

use crate::error::RuleError;
use crate::rules::{sample, RuleSet};

use confirm::{confirm_window, Confirmed, RuleScratch};
use prefilter::{Hit, Prefilter, Target};

/// A token the matcher found and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the rule in the matcher's rule list.
    pub rule: usize,
    /// Start of the token in the scanned bytes (for decoded tokens: of the encoded run).
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// The secret text.
    pub secret: String,
    /// `true` when the rule has a checksum (which then passed: failures are never candidates).
    pub checksum: bool,
    /// Encoding the token was found inside, if any.
    pub encoding: Option<&'static str>,
}

/// A compiled matcher for a rule set. Cheap to share across threads; each thread brings its
/// own [`Scratch`].
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: RuleSet,
    prefilter: Prefilter,
    /// The prefilter without decoder triggers, for decoded bytes (one level deep).
    inner: Prefilter,
    runs: Vec<usize>,
}

/// Per-thread reusable buffers.
#[derive(Debug)]
pub struct Scratch {
    rules: Vec<RuleScratch>,
    hits: Vec<Hit>,
    windows: Vec<(usize, usize, usize)>,
    confirmed: Vec<Confirmed>,
    runs: Vec<(usize, usize)>,
}

impl Matcher {
    /// Compiles the matcher.
    pub fn new(rules: RuleSet) -> Self {
        let prefilter = Prefilter::new(rules.rules(), true);
        let inner = Prefilter::new(rules.rules(), false);
        let runs = (0..rules.rules().len())
            .filter(|&i| rules.rules()[i].spec.run.is_some())
            .collect();
        Self {
            rules,
            prefilter,
            inner,
            runs,
        }
    }

    /// The rules, indexed as in [`Candidate::rule`].
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Fresh scratch space for one thread.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            rules: self.rules.rules().iter().map(RuleScratch::new).collect(),
            hits: Vec::new(),
            windows: Vec::new(),
            confirmed: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Finds every token in `hay`, appending to `out` in no particular order.
    pub fn find(&self, hay: &[u8], scratch: &mut Scratch, out: &mut Vec<Candidate>) {
        self.find_at_depth(hay, scratch, out, 0);
    }

    fn find_at_depth(&self, hay: &[u8], s: &mut Scratch, out: &mut Vec<Candidate>, depth: u8) {
        let prefilter = if depth == 0 {
            &self.prefilter
        } else {
            &self.inner
        };
        s.hits.clear();
        prefilter.hits(hay, &mut s.hits);
        s.windows.clear();
        let mut decodes = Vec::new();
        for h in &s.hits {
            for t in prefilter.targets(h.pattern) {
                match *t {
                    Target::Rule(i) => {
                        let w = self.rules.rules()[i].window;
                        s.windows
                            .push((i, h.start.saturating_sub(w), (h.end + w).min(hay.len())));
                    }
                    Target::Decoder(d) => decodes.push((d, h.end)),
                }
            }
        }
        self.confirm_windows(hay, s, out);
        for &i in &self.runs {
            let spec = self.rules.rules()[i]
                .spec
                .run
                .expect("run rules have a run");
            s.runs.clear();
            run::find_runs(hay, spec.length, spec.charset, &mut s.runs);
            let runs = std::mem::take(&mut s.runs);
            for &(a, b) in &runs {
                s.confirmed.clear();
                confirm_window(
                    &self.rules.rules()[i],
                    &mut s.rules[i],
                    hay,
                    a,
                    b,
                    true,
                    &mut s.confirmed,
                );
                self.push_confirmed(i, s, out);
            }
            s.runs = runs;
        }
        let mut decoded = Vec::new();
        for (d, at) in decodes {
            decoded.clear();
            d.decode_all(hay, at, &mut decoded);
            for (a, b, bytes) in decoded.drain(..) {
                let mut inner = Vec::new();
                self.find_at_depth(&bytes, s, &mut inner, depth + 1);
                out.extend(inner.into_iter().map(|c| Candidate {
                    start: a,
                    end: b,
                    encoding: Some(d.encoding()),
                    ..c
                }));
            }
        }
    }

    /// Merges overlapping windows per rule, then runs each rule's regex once per window.
    fn confirm_windows(&self, hay: &[u8], s: &mut Scratch, out: &mut Vec<Candidate>) {
        s.windows.sort_unstable();
        let windows = std::mem::take(&mut s.windows);
        let mut k = 0;
        while k < windows.len() {
            let (rule, start, mut end) = windows[k];
            k += 1;
            while k < windows.len() && windows[k].0 == rule && windows[k].1 <= end {
                end = end.max(windows[k].2);
                k += 1;
            }
            s.confirmed.clear();
            confirm_window(
                &self.rules.rules()[rule],
                &mut s.rules[rule],
                hay,
                start,
                end,
                false,
                &mut s.confirmed,
            );
            self.push_confirmed(rule, s, out);
            let escapes = escape::escapes_in(hay, start, end);
            if !escapes.is_empty() {
                self.confirm_unescaped(hay, (rule, start, end), &escapes, s, out);
            }
        }
        s.windows = windows;
    }

    /// Runs a rule's regex once more over a copy of its window in which the escapes
    /// (`\n` in `\nghp_...`, `%22`) are blanked, so a `\b` before a token holds as it would
    /// without the escape. Only windows that hold an escape pay for it, and a token found
    /// both ways is one location.
    fn confirm_unescaped(
        &self,
        hay: &[u8],
        (rule, a, b): (usize, usize, usize),
        escapes: &[std::ops::Range<usize>],
        s: &mut Scratch,
        out: &mut Vec<Candidate>,
    ) {
        // Some context on both sides, so look-arounds at the window's edges see real bytes.
        let lo = a.saturating_sub(16);
        let hi = (b + 64).min(hay.len());
        let mut copy = hay[lo..hi].to_vec();
        for e in escapes {
            copy[e.start - lo..e.end - lo].fill(b' ');
        }
        s.confirmed.clear();
        confirm_window(
            &self.rules.rules()[rule],
            &mut s.rules[rule],
            &copy,
            a - lo,
            b - lo,
            false,
            &mut s.confirmed,
        );
        for c in &mut s.confirmed {
            c.start += lo;
            c.end += lo;
        }
        self.push_confirmed(rule, s, out);
    }

    /// Moves the confirmed tokens of `rule` into `out` as candidates found as they stand
    /// (the decode step sets `encoding` on the ones it found inside base64).
    fn push_confirmed(&self, rule: usize, s: &mut Scratch, out: &mut Vec<Candidate>) {
        let checksum = self.rules.rules()[rule].checksum.is_some();
        out.extend(s.confirmed.drain(..).map(|c| Candidate {
            rule,
            start: c.start,
            end: c.end,
            secret: c.secret,
            checksum,
            encoding: None,
        }));
    }
}

/// Checks every rule's examples and negative examples through the full matcher (prefilter,
/// regex, validators, decoders): each example must produce the rule (with the generated token
/// as the secret when it uses a placeholder), no negative example may. Returns every failure.
pub fn check_examples(rules: &RuleSet) -> Vec<RuleError> {
    let matcher = Matcher::new(rules.clone());
    let mut scratch = matcher.scratch();
    let mut errors = Vec::new();
    for (ri, rule) in rules.rules().iter().enumerate() {
        let token = sample::generator(rule.id()).map(|g| g(&mut sample::Rng::new(0x5eed)));
        let fail = |kind: &str, i: usize, why: &str| RuleError::Invalid {
            file: rule.file.clone(),
            rule: rule.id().to_string(),
            reason: format!("{kind} {i} {why}"),
        };
        for (kind, list, want) in [
            ("example", &rule.spec.examples, true),
            ("negative_example", &rule.spec.negative_examples, false),
        ] {
            for (i, ex) in list.iter().enumerate() {
                let uses_token = ex.contains("${");
                let text = match (&token, uses_token) {
                    (Some(t), true) => sample::expand(ex, t),
                    (None, true) if ex.contains("${TOKEN") || ex.contains("${B64_") => {
                        errors.push(fail(
                            kind,
                            i,
                            "uses a placeholder but the rule has no sample generator",
                        ));
                        continue;
                    }
                    _ => ex.clone(),
                };
                let mut found = Vec::new();
                matcher.find(text.as_bytes(), &mut scratch, &mut found);
                let hit = found.iter().any(|c| {
                    c.rule == ri
                        && (!want || !uses_token || token.as_deref().is_none_or(|t| c.secret == t))
                });
                if want && !hit {
                    errors.push(fail(kind, i, "does not match"));
                } else if !want && hit {
                    errors.push(fail(kind, i, "matches, but must not"));
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::sample::{expand, generator, Rng};

    thread_local! {
        static BUILTIN: Matcher = Matcher::new(RuleSet::builtin().unwrap());
    }

    /// The built-in matcher, compiled once per test thread (regexes are shared by clones).
    fn builtin() -> Matcher {
        BUILTIN.with(Matcher::clone)
    }

    thread_local! {
        /// One matcher and scratch per test thread: compiling 140 rules' caches per call
        /// made these tests take minutes.
        static SCRATCH: std::cell::RefCell<Option<Scratch>> = const { std::cell::RefCell::new(None) };
    }

    fn found(m: &Matcher, text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let s = s.get_or_insert_with(|| m.scratch());
            m.find(text.as_bytes(), s, &mut out);
        });
        out.into_iter()
            .map(|c| (m.rules().rules()[c.rule].id().to_string(), c.secret))
            .collect()
    }

    #[test]
    fn every_builtin_rule_passes_its_examples_and_negatives() {
        let errors = check_examples(&RuleSet::builtin().unwrap());
        let msgs: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(msgs.is_empty(), "{}", msgs.join("\n"));
    }

    #[test]
    fn generated_samples_are_found_in_common_contexts_and_flips_are_not() {
        let m = builtin();
        for rule in m.rules().rules() {
            let Some(g) = generator(rule.id()) else {
                continue;
            };
            for seed in 0..20 {
                let tok = g(&mut Rng::new(seed));
                let tok = tok.as_str();
                for ctx in [
                    "KEY=${TOKEN}\n",
                    "{\"k\": \"${TOKEN}\"}",
                    "k: '${TOKEN}'",
                    "${TOKEN}",
                ] {
                    // Rules whose keyword stands outside the token need their own context
                    // (their examples cover them).
                    if matches!(rule.id(), "aws.access_key" | "azure_storage.account_key") {
                        continue;
                    }
                    let text = expand(ctx, tok);
                    let f = found(&m, &text);
                    assert!(
                        f.contains(&(rule.id().to_string(), tok.to_string())),
                        "{} in {ctx}: {f:?}",
                        rule.id()
                    );
                }
                if rule.checksum.is_some() {
                    let flipped = crate::rules::sample::flip_at(tok, tok.len() / 2);
                    let f = found(&m, &format!("KEY={flipped}\n"));
                    assert!(
                        f.iter().all(|(r, _)| r != rule.id()),
                        "{} flipped: {f:?}",
                        rule.id()
                    );
                }
            }
        }
    }

    #[test]
    fn tokens_are_found_at_every_offset_and_next_to_each_other() {
        let m = builtin();
        let legacy = generator("azure_devops.pat_legacy").unwrap()(&mut Rng::new(1));
        let ghp = generator("github.pat_classic").unwrap()(&mut Rng::new(2));
        for pad in 0..120 {
            let text = format!("{}{legacy} {ghp}\n{legacy}", "x ".repeat(pad));
            let f = found(&m, &text);
            assert_eq!(
                f.iter().filter(|(_, s)| *s == legacy).count(),
                2,
                "pad {pad}"
            );
            assert_eq!(f.iter().filter(|(_, s)| *s == ghp).count(), 1, "pad {pad}");
        }
    }

    /// Regression test for #13 (item 1): 84-character PATs whose checksum is base64 (about
    /// November 2024 to February 2025, `+` and `/` possible in the last 4 characters) and the
    /// 88-character long form are found in the usual contexts, with the whole token as the
    /// secret; a flipped checksum character is not.
    #[test]
    fn ado_pats_with_a_base64_checksum_are_found() {
        let m = builtin();
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut special = 0;
        for seed in 0..200 {
            let t = crate::rules::sample::azure_devops_pat_base64_checksum(&mut Rng::new(seed));
            let long = format!(
                "{}{}",
                &t[..80],
                crate::rules::checksum::azure_devops_cask_checksum_base64(&t.as_bytes()[..80])
                    .unwrap()
            );
            special += usize::from(t[80..].contains(['+', '/']));
            for tok in [t.as_str(), long.as_str()] {
                for ctx in [
                    format!("ADO_TOKEN={tok}\n"),
                    format!("{{\"pat\": \"{tok}\"}}"),
                    format!("pat: '{tok}'"),
                    tok.to_string(),
                    format!("https://build:{tok}@dev.azure.com/contoso/_git/web"),
                    format!("Authorization: Basic {}", b64(&format!(":{tok}"))),
                ] {
                    let f = found(&m, &ctx);
                    assert!(
                        f.contains(&("azure_devops.pat".to_string(), tok.to_string())),
                        "{ctx}: {f:?}"
                    );
                }
                let flipped = crate::rules::sample::flip_at(tok, 81);
                assert!(found(&m, &format!("K={flipped}\n")).is_empty(), "{flipped}");
            }
            // Part of a longer word is not a token.
            assert!(found(&m, &format!("K={t}x\n")).is_empty(), "{t}x");
        }
        assert!(special > 5, "only {special} samples end in + or /");
    }

    /// Regression test for #13 (escape-aware boundaries): a token right after a JSON or C
    /// escape or a percent-encoding is found, whether the rule has a keyword (its `\b` would
    /// fail on the escape letter) or not (the legacy PAT's run pass).
    #[test]
    fn tokens_right_after_an_escape_are_found() {
        let m = builtin();
        for id in [
            "azure_devops.pat_legacy",
            "github.pat_classic",
            "npm.token",
            "azure_devops.pat",
        ] {
            let tok = generator(id).unwrap()(&mut Rng::new(7));
            for ctx in [
                "{\"log\": \"a\\n${TOKEN}\\n\"}",
                "\"x\\t${TOKEN}\"",
                "\"\\\"${TOKEN}\\\"\"",
                "\"\\u0022${TOKEN}\"",
                "s = \"\\x22${TOKEN}\"",
                "https://h/?a=1%0A${TOKEN}%0A",
                "q=%22${TOKEN}%22",
                "\\r\\n${TOKEN}",
            ] {
                let text = expand(ctx, &tok);
                let f = found(&m, &text);
                assert!(
                    f.contains(&(id.to_string(), tok.clone())),
                    "{id} in {text}: {f:?}"
                );
            }
            // A letter that is no escape still glues to the token.
            let f = found(&m, &format!("x{tok}"));
            assert!(!f.iter().any(|(r, _)| r == id), "{id}: {f:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(b in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let m = builtin();
            let mut out = Vec::new();
            m.find(&b, &mut m.scratch(), &mut out);
        }
    }
}
