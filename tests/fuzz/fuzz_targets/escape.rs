//! Escape-aware boundaries on arbitrary bytes: the strided run pass equals the plain
//! definition, escape spans lie in the input, and a legacy PAT planted right after an escape
//! is found by the whole matcher.
#![no_main]
use libfuzzer_sys::fuzz_target;
use patrol::matcher::escape::{escape_after, escapes_in};
use patrol::matcher::{run, Matcher};
use patrol::rules::{sample, RuleSet, RunCharset};
use std::sync::OnceLock;

fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| Matcher::new(RuleSet::builtin().unwrap()))
}

fn word(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn naive(b: &[u8], len: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if word(b[i]) {
            let s = i;
            while i < b.len() && word(b[i]) {
                i += 1;
            }
            let k = if i - s > len { escape_after(b, s) } else { 0 };
            let s = s + k;
            if i - s == len && b[s..i].iter().all(|&c| RunCharset::Base32Lower.contains(c)) {
                v.push((s, i));
            }
        } else {
            i += 1;
        }
    }
    v
}

fuzz_target!(|data: &[u8]| {
    for len in [1, 5, 52] {
        let mut got = Vec::new();
        run::find_runs(data, len, RunCharset::Base32Lower, &mut got);
        assert_eq!(got, naive(data, len));
    }
    for r in escapes_in(data, 0, data.len()) {
        assert!(r.start < r.end && r.end <= data.len());
    }
    if data.is_empty() {
        return;
    }
    let escapes: [&[u8]; 6] = [b"\\n", b"\\t", b"%0A", b"%22", b"\\u0022", b"\\x22"];
    let esc = escapes[data[0] as usize % escapes.len()];
    let tok = sample::sample("azure_devops.pat_legacy", u64::from(data[0])).unwrap();
    let at = data.len() / 2;
    let mut planted = data[..at].to_vec();
    planted.extend_from_slice(b" \"");
    planted.extend_from_slice(esc);
    planted.extend_from_slice(tok.as_bytes());
    planted.extend_from_slice(b"\" ");
    planted.extend_from_slice(&data[at..]);
    let m = matcher();
    let mut out = Vec::new();
    m.find(&planted, &mut m.scratch(), &mut out);
    assert!(out.iter().any(|c| c.secret == tok), "not found after {esc:?}");
});
