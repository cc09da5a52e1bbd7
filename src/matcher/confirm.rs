//! Confirmation: a rule's regex in a bounded window, then the cheap validators.
//!
//! The regex runs over `span` of the whole buffer (regex-automata's `Input::span`), so look-
//! arounds such as `\b` see the real bytes on either side of the window rather than a cut.
//! Validators run cheapest first: entropy, then the checksum.

use regex_automata::util::captures::Captures;
use regex_automata::{meta, Anchored, Input};

use crate::rules::{entropy, Rule};

/// A confirmed token: the span of the whole match and the secret's text.
#[derive(Debug, Clone)]
pub struct Confirmed {
    /// Start of the `token` group (or the `id` group for pairs).
    pub start: usize,
    /// End of the `token` group.
    pub end: usize,
    /// The secret: the `token` group, or `id:token` when the rule has an `id` group.
    pub secret: String,
}

/// Per-rule scratch: the regex cache and captures, reused across windows.
#[derive(Debug)]
pub struct RuleScratch {
    cache: meta::Cache,
    caps: Captures,
    id_group: Option<usize>,
}

impl RuleScratch {
    /// Scratch for `rule`.
    pub fn new(rule: &Rule) -> Self {
        Self {
            cache: rule.regex.create_cache(),
            caps: rule.regex.create_captures(),
            id_group: rule
                .regex
                .group_info()
                .to_index(regex_automata::PatternID::ZERO, "id"),
        }
    }
}

/// Runs `rule` over `hay[start..end]` and pushes every confirmed token.
pub fn confirm_window(
    rule: &Rule,
    scratch: &mut RuleScratch,
    hay: &[u8],
    start: usize,
    end: usize,
    anchored: bool,
    out: &mut Vec<Confirmed>,
) {
    let mut pos = start;
    while pos < end {
        let input = Input::new(hay).span(pos..end).anchored(if anchored {
            Anchored::Yes
        } else {
            Anchored::No
        });
        rule.regex
            .search_captures_with(&mut scratch.cache, &input, &mut scratch.caps);
        let Some(m) = scratch.caps.get_match() else {
            return;
        };
        if let Some(c) = validate(rule, scratch, hay) {
            out.push(c);
        }
        pos = if m.end() > m.start() {
            m.end()
        } else {
            m.start() + 1
        };
        if anchored {
            return;
        }
    }
}

fn validate(rule: &Rule, scratch: &RuleScratch, hay: &[u8]) -> Option<Confirmed> {
    let tok = scratch.caps.get_group(rule.token_group)?;
    let token = &hay[tok.range()];
    if let Some(min) = rule.spec.min_entropy {
        if entropy(token) < min {
            return None;
        }
    }
    if let Some(check) = rule.checksum {
        if !check(token) {
            return None;
        }
    }
    let token_text = String::from_utf8_lossy(token);
    match scratch.id_group.and_then(|g| scratch.caps.get_group(g)) {
        Some(id) => Some(Confirmed {
            start: id.start,
            end: tok.end,
            secret: format!("{}:{token_text}", String::from_utf8_lossy(&hay[id.range()])),
        }),
        None => Some(Confirmed {
            start: tok.start,
            end: tok.end,
            secret: token_text.into_owned(),
        }),
    }
}
