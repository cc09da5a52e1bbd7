//! Confirmation: a rule's regex in a bounded window, then the cheap validators.
//!
//! The regex runs over `span` of the whole buffer (regex-automata's `Input::span`), so look-
//! arounds such as `\b` see the real bytes on either side of the window rather than a cut.
//! Validators run cheapest first: the well-known public values (emulator and documentation
//! keys, never reported), entropy, sequential placeholders, then the checksum.

use regex_automata::util::captures::Captures;
use regex_automata::{meta, Anchored, Input, PatternID};

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

/// Per-rule scratch: the regex cache and captures, reused across windows; made on the rule's
/// first window, so a rule that never fires never compiles its regex.
#[derive(Debug, Default)]
pub struct RuleScratch(Option<Ready>);

#[derive(Debug)]
struct Ready {
    cache: meta::Cache,
    caps: Captures,
    token_group: usize,
    id_group: Option<usize>,
    /// `token2` / `id2`: the groups of a second alternative that finds a pair written in the
    /// other order (the secret before its id).
    alt_groups: Option<(usize, Option<usize>)>,
}

impl RuleScratch {
    /// Scratch for `rule` (empty until the rule's first window).
    pub fn new(_rule: &Rule) -> Self {
        Self(None)
    }

    fn ready(&mut self, rule: &Rule) -> &mut Ready {
        self.0.get_or_insert_with(|| {
            let c = rule.compiled();
            let group = |name| c.regex.group_info().to_index(PatternID::ZERO, name);
            Ready {
                cache: c.regex.create_cache(),
                caps: c.regex.create_captures(),
                token_group: c.token_group,
                id_group: group("id"),
                alt_groups: group("token2").map(|t| (t, group("id2"))),
            }
        })
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
    let regex = &rule.compiled().regex;
    let scratch = scratch.ready(rule);
    let mut pos = start;
    while pos < end {
        let input = Input::new(hay).span(pos..end).anchored(if anchored {
            Anchored::Yes
        } else {
            Anchored::No
        });
        regex.search_captures_with(&mut scratch.cache, &input, &mut scratch.caps);
        let Some(m) = scratch.caps.get_match() else {
            return;
        };
        let confirmed = validate(rule, scratch, hay);
        let failed = confirmed.is_none();
        if let Some(c) = confirmed {
            out.push(c);
        }
        // A pattern with two orders can match a wrong pairing that starts earlier than the
        // right one (a hash before the key id): after a rejected match, look again one byte on.
        pos = if m.end() > m.start() && !(failed && scratch.alt_groups.is_some()) {
            m.end()
        } else {
            m.start() + 1
        };
        if anchored {
            return;
        }
    }
}

/// `\=` and `%3D` (either case) read as `=`.
fn unescape_equals(token: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(token.len());
    let mut i = 0;
    while i < token.len() {
        if token[i] == b'\\' && token.get(i + 1) == Some(&b'=') {
            out.push(b'=');
            i += 2;
        } else if token[i] == b'%'
            && token[i + 1..].len() >= 2
            && token[i + 1] == b'3'
            && token[i + 2].eq_ignore_ascii_case(&b'D')
        {
            out.push(b'=');
            i += 3;
        } else {
            out.push(token[i]);
            i += 1;
        }
    }
    out
}

fn validate(rule: &Rule, scratch: &Ready, hay: &[u8]) -> Option<Confirmed> {
    let (tok, id_group) = match scratch.caps.get_group(scratch.token_group) {
        Some(t) => (t, scratch.id_group),
        None => {
            let (t, id) = scratch.alt_groups?;
            (scratch.caps.get_group(t)?, id)
        }
    };
    let unescaped;
    let token = if rule.spec.unescape {
        unescaped = unescape_equals(&hay[tok.range()]);
        &unescaped[..]
    } else {
        &hay[tok.range()]
    };
    if crate::rules::well_known::contains(token) {
        return None;
    }
    if let Some(min) = rule.spec.min_entropy {
        if entropy(token) < min {
            return None;
        }
    }
    if super::placeholder::has_sequential_run(token) {
        return None;
    }
    if let Some(check) = rule.checksum {
        if !check(token) {
            return None;
        }
    }
    let token_text = String::from_utf8_lossy(token);
    match id_group.and_then(|g| scratch.caps.get_group(g)) {
        Some(id) => Some(Confirmed {
            start: id.start.min(tok.start),
            end: tok.end.max(id.end),
            secret: format!("{}:{token_text}", String::from_utf8_lossy(&hay[id.range()])),
        }),
        None => Some(Confirmed {
            start: tok.start,
            end: tok.end,
            secret: token_text.into_owned(),
        }),
    }
}
