//! One Aho-Corasick automaton over every rule's keywords and every decoder's trigger.
//!
//! The prefilter is the only pass over the whole buffer besides the literal-free run pass:
//! each hit names the rules (or decoder) that want a closer look around it.

use aho_corasick::{AhoCorasick, MatchKind};

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
    ac: AhoCorasick,
    targets: Vec<Vec<Target>>,
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
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&keywords)
            .expect("keywords are validated non-empty literals");
        Self { ac, targets }
    }

    /// Every keyword occurrence in `hay`, in order. Keywords are searched leftmost-first
    /// without overlaps, which lets aho-corasick use its vectorised (Teddy) prefilter; two
    /// keywords of one rule set never overlap each other in a way that hides a token, since
    /// every window is wide enough to contain the whole token whichever keyword fired.
    pub fn hits(&self, hay: &[u8], out: &mut Vec<Hit>) {
        out.extend(self.ac.find_iter(hay).map(|m| Hit {
            start: m.start(),
            end: m.end(),
            pattern: m.pattern().as_usize(),
        }));
    }

    /// The targets of pattern `i`.
    pub fn targets(&self, i: usize) -> &[Target] {
        &self.targets[i]
    }
}
