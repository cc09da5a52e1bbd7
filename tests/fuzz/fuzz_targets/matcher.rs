//! The matcher on arbitrary bytes: never panics, candidates lie inside the input, and a
//! known fake token planted at any offset (between separators) is always found.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patrol::matcher::Matcher;
use patrol::rules::{sample, RuleSet};
use std::sync::OnceLock;

fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| Matcher::new(RuleSet::builtin().unwrap()))
}

fuzz_target!(|data: &[u8]| {
    let m = matcher();
    let mut s = m.scratch();
    let mut out = Vec::new();
    m.find(data, &mut s, &mut out);
    assert!(out.iter().all(|c| c.start <= c.end && c.end <= data.len()));
    if data.is_empty() {
        return;
    }
    let ids = ["azure_devops.pat_legacy", "azure_devops.pat", "github.pat_classic", "npm.token"];
    let id = ids[data[0] as usize % ids.len()];
    let tok = sample::sample(id, u64::from(data[0])).unwrap();
    let at = data.len() / 2;
    let mut planted = data[..at].to_vec();
    planted.extend_from_slice(b"\n");
    planted.extend_from_slice(tok.as_bytes());
    planted.extend_from_slice(b"\n");
    planted.extend_from_slice(&data[at..]);
    out.clear();
    m.find(&planted, &mut s, &mut out);
    assert!(out.iter().any(|c| c.secret == tok), "planted {id} not found");
});
