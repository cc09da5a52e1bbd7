//! Every rule's keywords and every decoder's trigger, found in one pass.
//!
//! The prefilter is the only pass over the whole buffer besides the literal-free run pass:
//! each hit names the rules (or decoder) that want a closer look around it. The search itself
//! is `anchor.rs`, which reports every occurrence of every keyword, overlapping ones included:
//! a keyword inside or at the start of a longer one (`glrt-` in `glrt-t`, `cio` in `xcio_`)
//! is a hit of its own, so no keyword ever hides another.

use super::anchor::AnchorSearcher;
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

/// Bytes of input whose hits are collected at a time ([`Prefilter::hits_in`]): a long run of
/// one keyword makes a hit every few bytes, so the hits of a whole 8 MiB chunk would be
/// tens of MiB; per segment they stay under a few MiB whatever the input.
pub const SEGMENT_BYTES: usize = 256 * 1024;

/// The searcher and, per distinct keyword, the targets it serves.
#[derive(Debug, Clone)]
pub struct Prefilter {
    searcher: AnchorSearcher,
    lens: Vec<usize>,
    /// The longest keyword's length.
    longest: usize,
    targets: Vec<Vec<Target>>,
}

/// One keyword hit: byte span and pattern index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Start of the keyword.
    pub start: usize,
    /// End of the keyword.
    pub end: usize,
    /// Index into the pattern table.
    pub pattern: usize,
}

impl Prefilter {
    /// Builds the searcher for `rules` plus the decoders' triggers (when `decoders` is set).
    /// Cheap (a 64 KiB table and one entry per keyword), so building it costs the pre-commit
    /// hook nothing it would notice.
    pub fn new(rules: &[Rule], decoders: bool) -> Self {
        let mut keywords: Vec<&str> = Vec::new();
        let mut targets: Vec<Vec<Target>> = Vec::new();
        let rule_keywords = rules.iter().enumerate().flat_map(|(i, r)| {
            r.spec
                .keywords
                .iter()
                .map(move |k| (k.as_str(), Target::Rule(i)))
        });
        let triggers = Decoder::TRIGGERS
            .iter()
            .filter(|_| decoders)
            .map(|(k, d)| (*k, Target::Decoder(*d)));
        for (k, t) in rule_keywords.chain(triggers) {
            match keywords.iter().position(|x| *x == k) {
                Some(i) => targets[i].push(t),
                None => {
                    keywords.push(k);
                    targets.push(vec![t]);
                }
            }
        }
        Self {
            searcher: AnchorSearcher::new(&keywords),
            lens: keywords.iter().map(|k| k.len()).collect(),
            longest: keywords.iter().map(|k| k.len()).max().unwrap_or(0),
            targets,
        }
    }

    /// Every occurrence of every keyword in `hay`, overlapping ones included, in order of
    /// start.
    pub fn hits(&self, hay: &[u8], out: &mut Vec<Hit>) {
        let first = out.len();
        self.searcher.find_all(hay, |start, pattern| {
            out.push(Hit {
                start,
                end: start + self.lens[pattern],
                pattern,
            })
        });
        out[first..].sort_unstable_by_key(|h| (h.start, h.pattern));
    }

    /// The hits that start in `hay[from..to]`, in order of start: the search looks only as
    /// far past `to` as the longest keyword needs, so the segments of a buffer, taken in
    /// turn, give exactly the hits of [`Prefilter::hits`].
    pub fn hits_in(&self, hay: &[u8], from: usize, to: usize, out: &mut Vec<Hit>) {
        let end = to
            .saturating_add(self.longest.saturating_sub(1))
            .min(hay.len());
        let first = out.len();
        self.searcher.find_all(&hay[from..end], |start, pattern| {
            if from + start < to {
                out.push(Hit {
                    start: from + start,
                    end: from + start + self.lens[pattern],
                    pattern,
                })
            }
        });
        out[first..].sort_unstable_by_key(|h| (h.start, h.pattern));
    }

    /// The number of distinct literals searched for.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there is no literal at all.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The targets of pattern `i`.
    pub fn targets(&self, i: usize) -> &[Target] {
        &self.targets[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    /// Every built-in keyword and trigger, as the prefilter holds them.
    fn builtin_keywords(p: &Prefilter, set: &RuleSet) -> Vec<String> {
        let mut k: Vec<String> = set
            .rules()
            .iter()
            .flat_map(|r| r.spec.keywords.clone())
            .chain(Decoder::TRIGGERS.iter().map(|(t, _)| t.to_string()))
            .collect();
        k.sort();
        k.dedup();
        assert_eq!(k.len(), p.len());
        k
    }

    /// The reference: aho-corasick's overlapping search, every (start, keyword) it reports.
    fn reference(
        ac: &aho_corasick::AhoCorasick,
        keywords: &[String],
        hay: &[u8],
    ) -> Vec<(usize, String)> {
        let mut v: Vec<(usize, String)> = ac
            .find_overlapping_iter(hay)
            .map(|m| (m.start(), keywords[m.pattern().as_usize()].clone()))
            .collect();
        v.sort();
        v
    }

    fn ours(p: &Prefilter, keywords: &[String], hay: &[u8]) -> Vec<(usize, String)> {
        let mut hits = Vec::new();
        p.hits(hay, &mut hits);
        let v: Vec<(usize, String)> = hits
            .iter()
            .map(|h| {
                let k = String::from_utf8(hay[h.start..h.end].to_vec()).unwrap();
                assert!(keywords.contains(&k), "{k:?} is no keyword");
                (h.start, k)
            })
            .collect();
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(v, sorted, "hits come in order of start");
        v
    }

    /// Inputs made of built-in keywords (whole, cut short, with one letter's case flipped),
    /// filler and bytes of every kind, at every offset around the searcher's 8-byte blocks
    /// and the buffer's ends: the prefilter reports exactly what an automaton over the same
    /// keywords finds with overlapping matches.
    #[test]
    fn finds_what_an_overlapping_automaton_finds_over_the_builtin_keywords() {
        let set = RuleSet::builtin().unwrap();
        let p = Prefilter::new(set.rules(), true);
        let keywords = builtin_keywords(&p, &set);
        let ac = aho_corasick::AhoCorasick::new(&keywords).unwrap();
        let mut rng = crate::rules::sample::Rng::new(13);
        let pieces = |rng: &mut crate::rules::sample::Rng| -> Vec<u8> {
            let k = keywords[rng.below(keywords.len())].as_bytes();
            match rng.below(6) {
                0 => k[..k.len() - 1].to_vec(),
                1 => {
                    let mut k = k.to_vec();
                    let i = rng.below(k.len());
                    k[i] = if k[i].is_ascii_lowercase() {
                        k[i].to_ascii_uppercase()
                    } else {
                        k[i].to_ascii_lowercase()
                    };
                    k
                }
                2 => (0..rng.below(12)).map(|_| rng.below(256) as u8).collect(),
                3 => b" x_".to_vec(),
                _ => k.to_vec(),
            }
        };
        for _ in 0..1500 {
            let mut hay = Vec::new();
            for _ in 0..rng.below(8) {
                hay.extend(pieces(&mut rng));
            }
            for pad in [0, 1, 7, 8, 9, 15, 16, 17] {
                let mut h = vec![b'.'; pad];
                h.extend_from_slice(&hay);
                assert_eq!(
                    ours(&p, &keywords, &h),
                    reference(&ac, &keywords, &h),
                    "{:?}",
                    String::from_utf8_lossy(&h)
                );
            }
        }
    }

    /// The hits of a buffer's segments, taken in turn, are the hits of the whole buffer:
    /// a keyword across a segment's end is found once, in the segment where it starts.
    #[test]
    fn segments_give_exactly_the_hits_of_the_whole_buffer() {
        let set = RuleSet::builtin().unwrap();
        let p = Prefilter::new(set.rules(), true);
        let keywords = builtin_keywords(&p, &set);
        let mut rng = crate::rules::sample::Rng::new(26);
        for _ in 0..300 {
            let mut hay = Vec::new();
            for _ in 0..rng.below(10) {
                hay.extend_from_slice(keywords[rng.below(keywords.len())].as_bytes());
                hay.extend(std::iter::repeat_n(b'.', rng.below(3)));
            }
            let mut whole = Vec::new();
            p.hits(&hay, &mut whole);
            for seg in [1, 2, 5, 8, 13] {
                let mut parts = Vec::new();
                let mut from = 0;
                while from < hay.len() {
                    let to = (from + seg).min(hay.len());
                    p.hits_in(&hay, from, to, &mut parts);
                    from = to;
                }
                assert_eq!(parts, whole, "{seg}: {:?}", String::from_utf8_lossy(&hay));
            }
        }
    }

    #[test]
    fn keywords_are_case_sensitive_and_triggers_name_their_decoder() {
        let set = RuleSet::builtin().unwrap();
        let p = Prefilter::new(set.rules(), true);
        assert!(targets_at(&p, "x GHP_ y Ghp_ z").is_empty());
        assert!(targets_at(&p, "x ghp_ y")
            .iter()
            .all(|t| matches!(t, Target::Rule(_))));
        let t = targets_at(&p, "Authorization: Basic ");
        assert_eq!(t, vec![Target::Decoder(Decoder::BasicAuth)]);
        let inner = Prefilter::new(set.rules(), false);
        assert!(targets_at(&inner, "Authorization: Basic ").is_empty());
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
    fn a_keyword_inside_a_longer_one_is_a_hit_of_its_own() {
        let set = rule_set(&[("inner", "cio"), ("outer", "xcio_")]);
        let p = Prefilter::new(set.rules(), false);
        let t = targets_at(&p, "a xcio_abc");
        assert!(
            t.contains(&Target::Rule(0)) && t.contains(&Target::Rule(1)),
            "{t:?}"
        );
    }
}
