//! Baselines: the findings a team has accepted, keyed by fingerprint, and the filter that drops
//! accepted findings (baseline or `patrol.toml` allow-list) before any sink sees them.
//!
//! File format (`patrol baseline create -o FILE`), one accepted finding per line:
//!
//! ```text
//! # patrol baseline v1
//! # ...comment lines...
//! [00]
//! 00c1...32 hex... github.pat_classic ghp_…x9Qz
//! [01]
//! ...
//! [ff]
//! ```
//!
//! Why it looks like this:
//! - No timestamps, no paths, no line numbers, only `fingerprint rule redacted-secret`: moving
//!   code never changes the file, and the fingerprint follows the secret, so a different secret
//!   swapped onto a baselined line is reported.
//! - Never a whole secret: the third field must be a redacted form (`abcd…wxyz` or
//!   `<redacted N chars>`: tokens are ASCII, so a value with `…` is never whole); a file
//!   holding anything else is rejected.
//! - Sorted by fingerprint under 256 fixed bucket lines `[00]`..`[ff]` (the fingerprint's
//!   first byte). git's three-way line merge reports a conflict when both branches insert at the
//!   same point, or at touching points, of the common ancestor. With the bucket lines, two
//!   branches that each add a finding insert at different places separated by at least one
//!   unchanged line unless both fingerprints fall in the same bucket *and* the same gap of it
//!   (about 1 in 256 for two new findings), so `git merge` joins them. For the rare collision,
//!   or to be certain, `*.baseline merge=union` in `.gitattributes` lets git keep both lines:
//!   the reader accepts entries in any order and duplicates.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use crate::finding::{Finding, Fingerprint, ScanSummary};

/// The first line of every baseline file.
pub const HEADER: &str = "# patrol baseline v1";

/// An error reading a baseline file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaselineError {
    /// The file could not be read.
    #[error("baseline {file}: {source}")]
    Io {
        /// The baseline file.
        file: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a valid baseline line.
    #[error("baseline {file}:{line}: {reason}")]
    Invalid {
        /// The baseline file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Rule id.
    pub rule: String,
    /// The secret, redacted.
    pub redacted: String,
}

/// A set of accepted findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    entries: BTreeMap<Fingerprint, Entry>,
}

impl Baseline {
    /// The baseline accepting every one of `findings`.
    pub fn from_findings(findings: &[Finding]) -> Self {
        let entries = findings
            .iter()
            .map(|f| {
                let e = Entry {
                    rule: f.rule.to_string(),
                    redacted: f.secret.redacted(),
                };
                (f.fingerprint.clone(), e)
            })
            .collect();
        Self { entries }
    }

    /// Reads and validates a baseline file.
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse(&file, &text)
    }

    /// Parses the text of baseline file `file`. Entries may come in any order and repeat (a
    /// union merge can leave them so); comment, blank and bucket lines are skipped.
    pub fn parse(file: &str, text: &str) -> Result<Self, BaselineError> {
        let bad = |line: usize, reason: String| BaselineError::Invalid {
            file: file.to_string(),
            line,
            reason,
        };
        let mut entries = BTreeMap::new();
        let mut saw_header = false;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.trim();
            if !saw_header {
                if line.is_empty() {
                    continue;
                }
                if line != HEADER {
                    return Err(bad(
                        n,
                        format!("not a patrol baseline (expected `{HEADER}`)"),
                    ));
                }
                saw_header = true;
                continue;
            }
            if line.is_empty() || line.starts_with('#') || is_bucket_line(line) {
                continue;
            }
            let (fp, e) = parse_entry(line).map_err(|r| bad(n, r))?;
            entries.insert(fp, e);
        }
        if !saw_header {
            return Err(bad(1, format!("empty file (expected `{HEADER}`)")));
        }
        Ok(Self { entries })
    }

    /// The file's text: header, then every bucket line with its entries, sorted.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s.push_str(HEADER);
        s.push('\n');
        s.push_str(
            "# Accepted findings: fingerprint, rule, redacted secret. Written by\n\
             # `patrol baseline create`; read by `patrol scan --baseline FILE`.\n\
             # Sorted, no timestamps or line numbers; the [xx] lines keep additions made on\n\
             # different branches apart so that `git merge` joins them.\n",
        );
        let mut it = self.entries.iter().peekable();
        for bucket in 0..=255u8 {
            let _ = writeln!(s, "[{bucket:02x}]");
            while let Some((fp, e)) = it.next_if(|(fp, _)| bucket_of(fp) == Some(bucket)) {
                let _ = writeln!(s, "{fp} {} {}", e.rule, e.redacted);
            }
        }
        s
    }

    /// `true` when `fp` is accepted.
    pub fn contains(&self, fp: &Fingerprint) -> bool {
        self.entries.contains_key(fp)
    }

    /// Number of accepted findings.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when nothing is accepted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The accepted fingerprints.
    pub fn fingerprints(&self) -> BTreeSet<Fingerprint> {
        self.entries.keys().cloned().collect()
    }

    /// The entries, sorted by fingerprint.
    pub fn entries(&self) -> impl Iterator<Item = (&Fingerprint, &Entry)> {
        self.entries.iter()
    }
}

/// Drops the findings whose fingerprint is in `accepted`, keeping the order of the rest, and
/// moves their count from `summary.findings` to `summary.suppressed`. Returns that count.
pub fn suppress(
    findings: &mut Vec<Finding>,
    summary: &mut ScanSummary,
    accepted: &BTreeSet<Fingerprint>,
) -> u64 {
    let before = findings.len();
    findings.retain(|f| !accepted.contains(&f.fingerprint));
    let n = (before - findings.len()) as u64;
    summary.findings = findings.len() as u64;
    summary.suppressed += n;
    n
}

fn bucket_of(fp: &Fingerprint) -> Option<u8> {
    u8::from_str_radix(fp.0.get(..2)?, 16).ok()
}

fn is_bucket_line(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() == 4 && b[0] == b'[' && b[3] == b']' && b[1..3].iter().all(u8::is_ascii_hexdigit)
}

fn parse_entry(line: &str) -> Result<(Fingerprint, Entry), String> {
    let mut parts = line.splitn(3, ' ');
    let fp = parts.next().unwrap_or_default();
    let rule = parts.next().unwrap_or_default();
    let redacted = parts.next().unwrap_or_default().trim();
    let is_hex = fp.len() == 32 && fp.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !is_hex {
        return Err(format!(
            "`{}` is not a fingerprint (32 lower-case hex characters)",
            shorten(fp)
        ));
    }
    let rule_ok = !rule.is_empty()
        && rule
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !rule_ok {
        return Err(format!("fingerprint {fp}: missing or invalid rule id"));
    }
    // A token is ASCII, so one holding `…` is a redacted form, whatever its length.
    let is_redacted = redacted.contains('…')
        || (redacted.starts_with("<redacted ") && redacted.ends_with(" chars>"));
    if !is_redacted {
        return Err(format!(
            "fingerprint {fp}: the third field must be a redacted secret (`abcd…wxyz`); \
             a baseline never holds a whole secret"
        ));
    }
    let e = Entry {
        rule: rule.to_string(),
        redacted: redacted.to_string(),
    };
    Ok((Fingerprint(fp.to_string()), e))
}

/// At most 40 characters of `s`, for error messages about a field that may be anything.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::sample;

    fn finding(rule: &str, secret: &str) -> Finding {
        sample::finding(rule, secret)
    }

    #[test]
    fn round_trips_sorted_and_never_holds_a_whole_secret() {
        let fs = [
            finding("npm.token", "npm_abcdefghijklmnopqrstuvwxyz0123456789"),
            finding(
                "github.pat_classic",
                "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            ),
            finding("x.short", "tiny"),
        ];
        let b = Baseline::from_findings(&fs);
        let text = b.to_text();
        assert!(!text.contains("abcdefghijklmnop"), "{text}");
        assert!(!text.contains("0123456789abcdef"), "{text}");
        assert!(text.contains("<redacted 4 chars>"));
        assert_eq!(Baseline::parse("b", &text).unwrap(), b);
        assert_eq!(Baseline::from_findings(&fs).to_text(), text, "stable");
        let fps: Vec<&str> = text
            .lines()
            .filter(|l| l.len() > 32 && !l.starts_with('#'))
            .map(|l| &l[..32])
            .collect();
        let mut sorted = fps.clone();
        sorted.sort();
        assert_eq!(fps, sorted);
        assert_eq!(text.lines().filter(|l| is_bucket_line(l)).count(), 256);
    }

    #[test]
    fn entries_in_any_order_and_duplicates_are_accepted() {
        let text = format!(
            "{HEADER}\n{a} npm.token npm_…wxyz\n[00]\n{b} npm.token npm_…abcd\n{a} npm.token npm_…wxyz\n",
            a = "ff".repeat(16),
            b = "00".repeat(16)
        );
        assert_eq!(Baseline::parse("b", &text).unwrap().len(), 2);
    }

    #[test]
    fn corrupt_lines_name_file_line_and_reason() {
        let cases = [
            ("not a baseline\n", 1, "not a patrol baseline"),
            (
                &format!("{HEADER}\n[00]\nzz npm.token npm_…wxyz\n") as &str,
                3,
                "fingerprint",
            ),
            (
                &format!("{HEADER}\n{} npm.token\n", "a".repeat(32)),
                2,
                "redacted",
            ),
            (
                &format!(
                    "{HEADER}\n{} npm.token npm_0123456789abcdefghij\n",
                    "a".repeat(32)
                ),
                2,
                "whole secret",
            ),
            ("", 1, "empty"),
        ];
        for (text, line, why) in cases {
            let e = Baseline::parse("base.txt", text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("baseline base.txt:{line}: ")), "{e}");
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn suppress_moves_counts_and_keeps_order() {
        let mut fs = vec![
            finding("a.x", "one-one-one-one-one"),
            finding("b.x", "two-two-two-two-two"),
            finding("c.x", "three-three-three-three"),
        ];
        let accepted: BTreeSet<_> = [fs[1].fingerprint.clone()].into();
        let mut s = ScanSummary {
            findings: 3,
            suppressed: 2,
            ..Default::default()
        };
        assert_eq!(suppress(&mut fs, &mut s, &accepted), 1);
        assert_eq!(
            fs.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
            ["a.x", "c.x"]
        );
        assert_eq!((s.findings, s.suppressed), (2, 3));
    }

    /// Swapping the secret on a baselined line changes the fingerprint: the new one is reported.
    #[test]
    fn a_swapped_secret_is_not_accepted() {
        let old = finding("npm.token", "npm_oldoldoldoldoldoldoldold");
        let new = finding("npm.token", "npm_newnewnewnewnewnewnewnew");
        let b = Baseline::from_findings(&[old]);
        assert!(!b.contains(&new.fingerprint));
    }
}
