//! `--format json` (one array) and `--format jsonl` (one object per line): the same object.
//!
//! Wire format of one finding (a public interface: add fields, never rename):
//!
//! ```json
//! {
//!   "rule": "azure_devops.pat_legacy",       // rule id, <provider>.<kind>
//!   "name": "Azure DevOps personal access token (legacy 52-character)",
//!   "provider": "azure_devops",
//!   "secret": "dip5…ocwq",                    // whole only with --show-secrets
//!   "redacted": true,                         // whether "secret" is redacted
//!   "fingerprint": "0f3c…",                   // 32 hex chars, follows (rule, secret)
//!   "checksum": "valid",                      // "valid" | "none"
//!   "locations": [{
//!     "path": "src/app.py",                   // lossy UTF-8; "-" for stdin
//!     "path_raw_base64": null,                // exact bytes when the path is not UTF-8
//!     "line": 12, "column": 9,                // 1-based; column in characters
//!     "commit": null,                         // full commit id for history locations
//!     "author_name": null, "author_email": null, "author_date": null,
//!     "encoding": null,                       // "base64" when found inside an encoding
//!     "repository": null                      // history: the repository (path or URL)
//!   }],
//!   "locations_omitted": 0,                   // beyond --max-locations
//!   "verification": {                         // only with --verify
//!     "status": "live",                       // live | revoked_or_invalid | unknown | error
//!     "owner": "someone@example.com",         // null when the provider does not tell
//!     "checked_at": "2026-01-01T00:00:00.000Z",
//!     "detail": "profile API accepted the token"
//!   }
//! }
//! ```

use std::io::{self, Write};

use serde_json::Value;

use super::ReportOptions;
use crate::finding::{Finding, FindingSink, Location, ScanSummary};

/// The JSON / JSONL writer.
pub struct JsonWriter<'w> {
    out: Box<dyn Write + 'w>,
    opts: ReportOptions,
    lines: bool,
    first: bool,
}

impl<'w> JsonWriter<'w> {
    /// A writer over `out`; `lines` selects JSONL.
    pub fn new(out: Box<dyn Write + 'w>, opts: ReportOptions, lines: bool) -> Self {
        Self {
            out,
            opts,
            lines,
            first: true,
        }
    }
}

/// The JSON value of one location (`Location`'s serde form).
pub fn location_json(l: &Location) -> Value {
    serde_json::to_value(l).expect("a location serializes")
}

/// The JSON value of one finding (`Finding::record`'s serde form).
pub fn finding_json(f: &Finding, show_secrets: bool) -> Value {
    serde_json::to_value(f.record(show_secrets)).expect("a finding serializes")
}

impl FindingSink for JsonWriter<'_> {
    type Error = std::io::Error;

    fn begin(&mut self, _target: &str) -> io::Result<()> {
        if !self.lines {
            self.out.write_all(b"[")?;
        }
        Ok(())
    }

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        let v = finding_json(f, self.opts.show_secrets);
        if self.lines {
            serde_json::to_writer(&mut self.out, &v)?;
            self.out.write_all(b"\n")?;
        } else {
            self.out
                .write_all(if self.first { b"\n  " } else { b",\n  " })?;
            serde_json::to_writer(&mut self.out, &v)?;
        }
        self.first = false;
        Ok(())
    }

    fn finish(&mut self, _s: &ScanSummary) -> io::Result<()> {
        if !self.lines {
            self.out
                .write_all(if self.first { b"]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()
    }
}
