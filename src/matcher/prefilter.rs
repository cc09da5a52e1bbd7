//! One Aho-Corasick automaton over every rule's keywords and every decoder's trigger.
//!
//! The prefilter is the only pass over the whole buffer besides the literal-free run pass:
//! each hit names the rules (or decoder) that want a closer look around it.

use aho_corasick::{packed, AhoCorasick, MatchKind};

use super::decode::Decoder;
use crate::rules::Rule;

/// What a keyword hit asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Run this rule's regex in a window around the hit.
    Rule(usize),
    /// Decode what follows the hit and scan the decoded bytes.
    Decoder(Decoder),
}

/// The automaton and, per pattern, the targets it serves.
#[derive(Debug, Clone)]
pub struct Prefilter {
    engine: Engine,
    targets: Vec<Vec<Target>>,
}

/// The literal searcher: aho-corasick's vectorised (Teddy) packed searcher for a small rule
/// set, else a full DFA.
///
/// Teddy is fastest up to a few dozen literals and collapses past that (its nibble masks
/// match almost everything, and verification dominates); aho-corasick then falls back to a
/// noncontiguous automaton with no prefilter. With the 114 built-in keywords that ran a files
/// scan at 50 MiB/s against 308 with 24 keywords; Teddy forced to 119 literals was no better.
/// A DFA, one table step per byte whatever the literal count, measured 0.26 s of CPU per
/// 100 MiB against 0.14 s for the old 24-keyword Teddy and 0.80 s for the automaton.
#[derive(Debug, Clone)]
enum Engine {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

/// One keyword hit: byte span and pattern index.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    /// Start of the keyword.
    pub start: usize,
    /// End of the keyword.
    pub end: usize,
    /// Index into the pattern table.
    pub pattern: usize,
}

impl Prefilter {
    /// Builds the automaton for `rules` plus the decoders' triggers (when `decoders` is set).
    pub fn new(rules: &[Rule], decoders: bool) -> Self {
        let mut keywords: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<Target>> = Vec::new();
        let mut add = |k: &str, t: Target| match keywords.iter().position(|x| x == k) {
            Some(i) => targets[i].push(t),
            None => {
                keywords.push(k.to_string());
                targets.push(vec![t]);
            }
        };
        for (i, r) in rules.iter().enumerate() {
            for k in &r.spec.keywords {
                add(k, Target::Rule(i));
            }
        }
        if decoders {
            for (k, d) in Decoder::TRIGGERS {
                add(k, Target::Decoder(*d));
            }
        }
        // Leftmost-first picks, among keywords starting at one position, the first in this
        // order: longest first, so `glrt-` never hides `glrt-t` (or any keyword it begins).
        // A keyword inside a longer one is hidden wherever the longer one matches, so the
        // longer one also serves the shorter one's targets.
        let mut order: Vec<usize> = (0..keywords.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(keywords[i].len()));
        let keywords: Vec<String> = order.iter().map(|&i| keywords[i].clone()).collect();
        let mut targets: Vec<Vec<Target>> = order.iter().map(|&i| targets[i].clone()).collect();
        for long in 0..keywords.len() {
            for short in long + 1..keywords.len() {
                if keywords[long].contains(keywords[short].as_str()) {
                    let extra = targets[short].clone();
                    for t in extra {
                        if !targets[long].contains(&t) {
                            targets[long].push(t);
                        }
                    }
                }
            }
        }
        let packed = (keywords.len() <= TEDDY_LITERAL_LIMIT)
            .then(|| {
                packed::Config::new()
                    .match_kind(packed::MatchKind::LeftmostFirst)
                    .heuristic_pattern_limits(false)
                    .builder()
                    .extend(&keywords)
                    .build()
            })
            .flatten();
        let engine = match packed {
            Some(p) => Engine::Packed(p),
            None => Engine::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build(&keywords)
                    .expect("keywords are validated non-empty literals"),
            ),
        };
        Self { engine, targets }
    }

    /// Every keyword occurrence in `hay`, in order. Keywords are searched leftmost-first
    /// without overlaps, which lets aho-corasick use its vectorised (Teddy) prefilter; two
    /// keywords of one rule set never overlap each other in a way that hides a token, since
    /// every window is wide enough to contain the whole token whichever keyword fired.
    pub fn hits(&self, hay: &[u8], out: &mut Vec<Hit>) {
        match &self.engine {
            Engine::Packed(p) => out.extend(p.find_iter(hay).map(|m| Hit {
                start: m.start(),
                end: m.end(),
                pattern: m.pattern().as_usize(),
            })),
            Engine::Automaton(ac) => out.extend(ac.find_iter(hay).map(|m| Hit {
                start: m.start(),
                end: m.end(),
                pattern: m.pattern().as_usize(),
            })),
        }
    }

    /// The number of distinct literals in the automaton.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the automaton has no literal at all.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The targets of pattern `i`.
    pub fn targets(&self, i: usize) -> &[Target] {
        &self.targets[i]
    }
}

/// Up to this many literals the prefilter uses Teddy, above it the DFA (aho-corasick's own
/// Teddy heuristic stops at 64).
pub const TEDDY_LITERAL_LIMIT: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    #[test]
    fn the_builtin_rules_use_the_dfa_and_a_small_set_uses_teddy() {
        let set = RuleSet::builtin().unwrap();
        let p = Prefilter::new(set.rules(), true);
        assert!(p.len() > TEDDY_LITERAL_LIMIT);
        assert!(matches!(p.engine, Engine::Automaton(_)));
        let mut hits = Vec::new();
        p.hits(b"x JQQJ y ghp_ z", &mut hits);
        assert_eq!(hits.len(), 2);
        let small = rule_set(&[("a", "acme_")]);
        let p = Prefilter::new(small.rules(), false);
        // Teddy needs SSSE3 or AVX2; elsewhere the DFA serves small sets too.
        if cfg!(target_arch = "x86_64") && std::is_x86_feature_detected!("ssse3") {
            assert!(matches!(p.engine, Engine::Packed(_)));
        }
        let mut hits = Vec::new();
        p.hits(b"an acme_key", &mut hits);
        assert_eq!(hits.len(), 1);
    }

    fn rule_set(keywords: &[(&str, &str)]) -> RuleSet {
        let mut set = RuleSet::default();
        let mut text = String::new();
        for (id, k) in keywords {
            text.push_str(&format!(
                "[[rule]]\nid = \"acme.{id}\"\nname = \"n\"\nprovider = \"acme\"\nkeywords = [\"{k}\"]\npattern = '''(?P<token>{k}[a-z]+)'''\nexamples = [\"{k}abc\"]\n"
            ));
        }
        set.add_text("t.toml", &text, None).unwrap();
        set
    }

    fn targets_at(p: &Prefilter, hay: &str) -> Vec<Target> {
        let mut hits = Vec::new();
        p.hits(hay.as_bytes(), &mut hits);
        hits.iter()
            .flat_map(|h| p.targets(h.pattern).to_vec())
            .collect()
    }

    /// Regression test for #13: `glrt-` (runner token) hid `glrt-t` (routable runner token)
    /// when both started at one position.
    #[test]
    fn a_keyword_that_begins_another_never_hides_it() {
        let set = rule_set(&[("short", "glrt-"), ("long", "glrt-t")]);
        let p = Prefilter::new(set.rules(), false);
        let t = targets_at(&p, "x glrt-t1_abc y");
        assert!(t.contains(&Target::Rule(1)), "{t:?}");
        let t = targets_at(&p, "x glrt-abc y");
        assert_eq!(t, vec![Target::Rule(0)]);
    }

    #[test]
    fn a_longer_keyword_serves_the_shorter_one_inside_it() {
        let set = rule_set(&[("inner", "cio"), ("outer", "xcio_")]);
        let p = Prefilter::new(set.rules(), false);
        let t = targets_at(&p, "a xcio_abc");
        assert!(
            t.contains(&Target::Rule(0)) && t.contains(&Target::Rule(1)),
            "{t:?}"
        );
    }
}
