//! Findings: one per unique (rule, secret), with every location where the secret occurs.
//!
//! [`Secret`] never shows itself in `Debug` or `Display`; [`Secret::expose`] is the only way to
//! the whole value and every caller of it is a place that must honour `--show-secrets`.
//! [`Fingerprint`] follows the secret, not its position: moving a line keeps it, swapping the
//! secret changes it. Dedup, baselines, allow-lists, SARIF and audit events all key on it.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::source::CommitMeta;

/// A secret value. Redacted in `Debug` and `Display`.
///
/// A secret read back from a redacted report holds only its redacted form
/// ([`Secret::from_redacted`], [`Secret::is_redacted`]): it can be shown and stored, never sent
/// to a provider.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secret {
    value: String,
    redacted: bool,
}

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            redacted: false,
        }
    }

    /// A secret known only by its redacted form (read from a report written without
    /// `--show-secrets`).
    pub fn from_redacted(shown: impl Into<String>) -> Self {
        Self {
            value: shown.into(),
            redacted: true,
        }
    }

    /// Whether only the redacted form is known: such a secret must not be verified or revoked.
    pub fn is_redacted(&self) -> bool {
        self.redacted
    }

    /// The whole value. Call only where the user asked for it (`--show-secrets`) or where the
    /// value goes to its own provider. For a secret read from a redacted report this is the
    /// redacted form.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The redacted form shown by default: first 4 and last 4 characters for values of 16
    /// characters or more, otherwise only the length.
    pub fn redacted(&self) -> String {
        if self.redacted {
            return self.value.clone();
        }
        let chars: Vec<char> = self.value.chars().collect();
        if chars.len() >= 16 {
            let head: String = chars[..4].iter().collect();
            let tail: String = chars[chars.len() - 4..].iter().collect();
            format!("{head}…{tail}")
        } else {
            format!("<redacted {} chars>", chars.len())
        }
    }

    /// The value as it should be shown: whole when `show` is set, redacted otherwise.
    pub fn display(&self, show: bool) -> String {
        if show {
            self.value.clone()
        } else {
            self.redacted()
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A stable id of a (rule, secret) pair: hex of the first 16 bytes of
/// SHA-256(`"patrol/v1\0" + rule id + "\0" + secret`). No path, no offset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

impl Fingerprint {
    /// The hex form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Computes the fingerprint of `secret` under `rule_id`.
    pub fn of(rule_id: &str, secret: &Secret) -> Self {
        let mut h = Sha256::new();
        h.update(b"patrol/v1\0");
        h.update(rule_id.as_bytes());
        h.update(b"\0");
        h.update(secret.expose().as_bytes());
        let d = h.finalize();
        let mut s = String::with_capacity(32);
        for b in &d[..16] {
            s.push_str(&format!("{b:02x}"));
        }
        Self(s)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the token's embedded checksum was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumStatus {
    /// The format carries a checksum and it is correct (a token with a wrong one is never
    /// reported).
    Valid,
    /// The format carries no checksum.
    None,
}

impl ChecksumStatus {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::None => "none",
        }
    }
}

/// A rule id, `<provider>.<kind>` (`azure_devops.pat_legacy`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(String);

/// A provider id: a rule file's stem (`azure_devops`, `github`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderId(String);

macro_rules! string_id {
    ($t:ident) => {
        impl $t {
            /// Wraps an id.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<&str> for $t {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }

        impl From<String> for $t {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}
string_id!(RuleId);
string_id!(ProviderId);

/// Where in a scanned input a secret sits.
///
/// Serialized as the location object of the JSON report (see `report::json`): the commit is
/// flattened into `commit` / `author_*`, raw path bytes become `path_raw_base64`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "LocationRecord")]
pub struct Location {
    /// Path (lossy UTF-8), `-` for stdin, or for git messages `<commit message>` / the tag ref.
    pub path: String,
    /// The exact path bytes when they are not valid UTF-8 (JSON adds `path_raw_base64`).
    pub path_raw: Option<Vec<u8>>,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
    /// The commit that introduced the blob at this path; `None` for files on disk.
    pub commit: Option<CommitMeta>,
    /// How the secret was encoded at this location when it was decoded to be found
    /// (`base64`), `None` when it stood as it is.
    pub encoding: Option<&'static str>,
    /// The repository of a history location, as the scan named it (a path or a URL); `None`
    /// for files on disk and stdin. With it, one finding can span repositories.
    pub repository: Option<String>,
}

impl Location {
    /// A location in a plain file (no commit, no repository, no encoding).
    pub fn in_file(path: impl Into<String>, line: u64, column: u64) -> Self {
        Self {
            path: path.into(),
            path_raw: None,
            line,
            column,
            commit: None,
            encoding: None,
            repository: None,
        }
    }
}

/// The wire form of a [`Location`]: the JSON object, field for field.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LocationRecord {
    path: String,
    #[serde(default)]
    path_raw_base64: Option<String>,
    line: u64,
    column: u64,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    author_email: Option<String>,
    #[serde(default)]
    author_date: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    repository: Option<String>,
}

impl From<Location> for LocationRecord {
    fn from(l: Location) -> Self {
        use base64::Engine as _;
        let (commit, author_name, author_email, author_date) = match l.commit {
            Some(c) => (
                Some(c.id),
                Some(c.author_name),
                Some(c.author_email),
                Some(c.author_date),
            ),
            None => (None, None, None, None),
        };
        Self {
            path: l.path,
            path_raw_base64: l
                .path_raw
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
            line: l.line,
            column: l.column,
            commit,
            author_name,
            author_email,
            author_date,
            encoding: l.encoding.map(str::to_string),
            repository: l.repository,
        }
    }
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LocationRecord::deserialize(d).map(Self::from)
    }
}

impl From<LocationRecord> for Location {
    fn from(r: LocationRecord) -> Self {
        use base64::Engine as _;
        Self {
            path: r.path,
            path_raw: r
                .path_raw_base64
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()),
            line: r.line,
            column: r.column,
            commit: r.commit.map(|id| CommitMeta {
                id,
                author_name: r.author_name.unwrap_or_default(),
                author_email: r.author_email.unwrap_or_default(),
                author_date: r.author_date.unwrap_or_default(),
            }),
            encoding: r.encoding.map(encoding_name),
            repository: r.repository,
        }
    }
}

/// The `&'static` name of an encoding read back from a report: the matcher's own names are
/// returned as they are; an unknown one (a report from a newer patrol) is kept by leaking its
/// few bytes, once per location read.
pub fn encoding_name(s: String) -> &'static str {
    const KNOWN: &[&str] = &["base64", "url", "basic_auth", "npmrc", "utf16"];
    match KNOWN.iter().find(|k| **k == s) {
        Some(k) => k,
        None => s.leak(),
    }
}

/// One finding: a unique (rule, secret) with every location, sorted.
///
/// Serialized as the finding object of the JSON report (`report::json` documents it), with the
/// secret **redacted**; [`Finding::record`] gives the form with the whole secret for
/// `--show-secrets`. A finding read back from a redacted report holds a redacted [`Secret`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "FindingRecord", from = "FindingRecord")]
pub struct Finding {
    /// Rule id, `<provider>.<kind>`.
    pub rule: RuleId,
    /// Rule name for humans.
    pub name: String,
    /// Provider id (the rule file's stem).
    pub provider: ProviderId,
    /// The secret.
    pub secret: Secret,
    /// Fingerprint of (rule, secret).
    pub fingerprint: Fingerprint,
    /// Checksum status.
    pub checksum: ChecksumStatus,
    /// Locations, sorted (files first, then history), at most the location cap.
    pub locations: Vec<Location>,
    /// Locations seen beyond the cap (`--max-locations`): counted, not kept.
    pub locations_omitted: u64,
    /// What the provider said about the token (`--verify`); `None` when not checked.
    pub verification: Option<Verification>,
}

impl Finding {
    /// The wire form, with the whole secret only when `show_secrets` is set.
    pub fn record(&self, show_secrets: bool) -> FindingRecord {
        let show = show_secrets && !self.secret.is_redacted();
        FindingRecord {
            rule: self.rule.clone(),
            name: self.name.clone(),
            provider: self.provider.clone(),
            secret: self.secret.display(show),
            redacted: !show,
            fingerprint: self.fingerprint.clone(),
            checksum: self.checksum,
            locations: self.locations.clone(),
            locations_omitted: self.locations_omitted,
            verification: self.verification.clone(),
        }
    }
}

/// The JSON object of one finding, field for field (the contract of docs/json-schema.md: add
/// fields, never rename). `verification` is left out when the token was not checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Rule id.
    pub rule: RuleId,
    /// Rule name.
    pub name: String,
    /// Provider id.
    pub provider: ProviderId,
    /// The secret, whole or redacted (see `redacted`).
    pub secret: String,
    /// Whether `secret` is redacted.
    pub redacted: bool,
    /// Fingerprint of (rule, whole secret).
    pub fingerprint: Fingerprint,
    /// Checksum status.
    pub checksum: ChecksumStatus,
    /// Locations.
    pub locations: Vec<Location>,
    /// Locations beyond the cap.
    #[serde(default)]
    pub locations_omitted: u64,
    /// The provider's answer, when checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

impl From<Finding> for FindingRecord {
    fn from(f: Finding) -> Self {
        f.record(false)
    }
}

impl From<FindingRecord> for Finding {
    fn from(r: FindingRecord) -> Self {
        Self {
            secret: if r.redacted {
                Secret::from_redacted(r.secret)
            } else {
                Secret::new(r.secret)
            },
            rule: r.rule,
            name: r.name,
            provider: r.provider,
            fingerprint: r.fingerprint,
            checksum: r.checksum,
            locations: r.locations,
            locations_omitted: r.locations_omitted,
            verification: r.verification,
        }
    }
}

/// The result of checking a token against its provider (data only; `provider/` fills it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// What the provider said.
    pub status: VerificationStatus,
    /// User name, e-mail or id of the token's owner, when the provider tells.
    pub owner: Option<String>,
    /// When it was checked, RFC 3339 UTC.
    pub checked_at: String,
    /// One line for humans (never the secret).
    pub detail: String,
}

/// Whether a token still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// The provider accepted the token.
    Live,
    /// The provider rejected it: revoked, expired or never valid.
    RevokedOrInvalid,
    /// Not checked: no verifier for this kind of token, or the answer was ambiguous.
    Unknown,
    /// The check failed (network, timeout, unexpected status).
    Error,
}

impl VerificationStatus {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::RevokedOrInvalid => "revoked_or_invalid",
            Self::Unknown => "unknown",
            Self::Error => "error",
        }
    }
}

/// Totals of one scan run, for summaries, audit events and exit codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanSummary {
    /// Files (or blobs) scanned.
    pub blobs_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Inputs skipped by choice (binary with `--skip-binary`, over `--max-file-size`).
    pub skipped: u64,
    /// Binary inputs seen (scanned unless `--skip-binary`).
    pub binary: u64,
    /// Inputs that could not be read: the scan is incomplete when this is non-zero.
    pub errors: u64,
    /// Findings reported.
    pub findings: u64,
    /// Findings suppressed by a baseline or allow-list.
    pub suppressed: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// `false` when anything was skipped because of an error or the run was interrupted.
    pub complete: bool,
    /// `true` when Ctrl-C stopped the scan.
    pub interrupted: bool,
}

impl ScanSummary {
    /// The totals of two parts of one run (two targets): counts add up, the run is complete
    /// only when both parts are, interrupted when either was.
    pub fn merge(&mut self, other: &ScanSummary) {
        self.blobs_scanned += other.blobs_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.skipped += other.skipped;
        self.binary += other.binary;
        self.errors += other.errors;
        self.findings += other.findings;
        self.suppressed += other.suppressed;
        self.duration_ms += other.duration_ms;
        self.complete &= other.complete;
        self.interrupted |= other.interrupted;
    }
}

/// The seam between collecting and writing findings. Report writers, the audit writer and
/// the scanner's callers implement it; `scan` never knows which ones are attached.
///
/// Contract: for each target of a scan, `begin` once with the target's name, then `finding`
/// once per finding of that target in sorted order (by rule, then fingerprint), then `finish`
/// once with that target's totals. A scan of several targets repeats the three steps per target,
/// in plan order. An error from any call stops the scan at that point and is returned to the
/// scan's caller as it is (the sink's own [`FindingSink::Error`]).
pub trait FindingSink {
    /// What a failing sink returns (`std::io::Error` for writers).
    type Error;
    /// Called before the first finding of a target.
    fn begin(&mut self, target: &str) -> Result<(), Self::Error> {
        let _ = target;
        Ok(())
    }
    /// Called once per finding.
    fn finding(&mut self, finding: &Finding) -> Result<(), Self::Error>;
    /// Called after the last finding of a target, with its totals.
    fn finish(&mut self, summary: &ScanSummary) -> Result<(), Self::Error>;
}

/// Shared test data: ONE sample finding for every module's unit tests (and the integration
/// tests), built from a fake token. Not part of the stable interface.
#[doc(hidden)]
pub mod sample {
    use super::*;

    /// A finding of `rule` (provider = the id's first part) with secret `secret` at
    /// `path:line:column`, no commit, checksum valid, not verified.
    pub fn finding(rule: &str, secret: &str) -> Finding {
        let secret = Secret::new(secret);
        Finding {
            rule: RuleId::new(rule),
            name: format!("{rule} (sample)"),
            provider: ProviderId::new(rule.split('.').next().unwrap_or(rule)),
            fingerprint: Fingerprint::of(rule, &secret),
            secret,
            checksum: ChecksumStatus::Valid,
            locations: vec![Location::in_file("src/app.py", 3, 9)],
            locations_omitted: 0,
            verification: None,
        }
    }

    /// A history location of `commit` in `repository`.
    pub fn history_location(path: &str, commit: &str, repository: &str) -> Location {
        Location {
            commit: Some(CommitMeta {
                id: commit.to_string(),
                author_name: "A U Thor".into(),
                author_email: "author@example.com".into(),
                author_date: "2026-01-01T00:00:00Z".into(),
            }),
            repository: Some(repository.to_string()),
            ..Location::in_file(path, 1, 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_shows_itself_in_debug_or_display() {
        let s = Secret::new("abcdefghijklmnopqrstuvwxyz");
        assert_eq!(format!("{s}"), "abcd…wxyz");
        assert_eq!(format!("{s:?}"), "Secret(abcd…wxyz)");
        assert!(!format!("{s:?}").contains("efgh"));
        assert_eq!(Secret::new("short").redacted(), "<redacted 5 chars>");
        assert_eq!(s.display(true), "abcdefghijklmnopqrstuvwxyz");
    }

    #[test]
    fn fingerprint_follows_rule_and_secret_only() {
        let a = Fingerprint::of("github.pat_classic", &Secret::new("one"));
        let b = Fingerprint::of("github.pat_classic", &Secret::new("one"));
        let c = Fingerprint::of("github.pat_classic", &Secret::new("two"));
        let d = Fingerprint::of("npm.token", &Secret::new("one"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a.0.len(), 32);
    }

    /// The value of one fake is pinned so fingerprints cannot drift between releases
    /// (baselines written by an older patrol must keep working).
    #[test]
    fn fingerprint_value_is_pinned() {
        let f = Fingerprint::of(
            "azure_devops.pat_legacy",
            &Secret::new("dip55dwf4vpitomw63jzvomefmi2jluguprzwwqwuc6xq4fhocwq"),
        );
        assert_eq!(f.0, PINNED);
    }
    const PINNED: &str = "1781b7e3836525489b174256fe387c7d";

    /// A finding survives a trip through its JSON form; the default form is redacted and
    /// reads back as a redacted secret, never as a usable one.
    #[test]
    fn findings_round_trip_through_json_and_redact_by_default() {
        let mut f = sample::finding(
            "github.pat_classic",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        );
        f.locations
            .push(sample::history_location("a.txt", "0123abcd", "/r/one"));
        let shown = serde_json::to_value(f.record(true)).unwrap();
        assert_eq!(shown["redacted"], false);
        assert_eq!(shown["locations"][0]["repository"], serde_json::Value::Null);
        assert_eq!(shown["locations"][1]["repository"], "/r/one");
        assert_eq!(shown["locations"][1]["commit"], "0123abcd");
        let back: Finding = serde_json::from_value(shown).unwrap();
        assert_eq!(back.secret, f.secret);
        assert!(!back.secret.is_redacted());
        assert_eq!(back.locations, f.locations);
        assert_eq!(back.rule, f.rule);

        let default = serde_json::to_string(&f).unwrap();
        assert!(!default.contains("efghijkl"), "{default}");
        let back: Finding = serde_json::from_str(&default).unwrap();
        assert!(back.secret.is_redacted());
        assert_eq!(back.fingerprint, f.fingerprint);
        assert!(!back.record(true).secret.contains("efghijkl"));
    }
}
