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
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The whole value. Call only where the user asked for it (`--show-secrets`) or where the
    /// value goes to its own provider.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The redacted form shown by default: first 4 and last 4 characters for values of 16
    /// characters or more, otherwise only the length.
    pub fn redacted(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
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
            self.0.clone()
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

/// Where in a scanned input a secret sits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
}

/// One finding: a unique (rule, secret) with every location, sorted.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Rule id, `<provider>.<kind>`.
    pub rule: String,
    /// Rule name for humans.
    pub name: String,
    /// Provider id (the rule file's stem).
    pub provider: String,
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

/// The seam between collecting and writing findings. Report writers and the audit writer
/// implement it; `scan` never knows which ones are attached.
///
/// Contract: `begin` once, then `finding` once per finding in sorted order (by rule, then
/// fingerprint), then `finish` once with the totals. An error from any call stops the writing
/// and is reported by the caller; the scan result itself is unaffected.
pub trait FindingSink {
    /// Called before the first finding.
    fn begin(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// Called once per finding.
    fn finding(&mut self, finding: &Finding) -> std::io::Result<()>;
    /// Called after the last finding.
    fn finish(&mut self, summary: &ScanSummary) -> std::io::Result<()>;
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
}
