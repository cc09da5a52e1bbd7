//! `--format markdown`: GitHub-flavoured Markdown for pull-request comments and CI job
//! summaries (`$GITHUB_STEP_SUMMARY`; Azure Pipelines' `##vso[task.uploadsummary]FILE`).
//!
//! Shape: a `### patrol` heading, one summary line (findings, files, complete or not), then
//! one table row per finding (provider, rule, secret, verification, locations) in the order
//! the findings come (sorted by rule and secret), at most [`MAX_ROWS`] rows with a line
//! saying how many were left out (GitHub caps a step summary at 1 MiB). Secrets are redacted
//! unless `--show-secrets`.
//!
//! Every piece of scanned text is escaped ([`escape`]): Markdown and HTML markup, table pipes,
//! line breaks and invisible characters cannot change the comment's structure or add links.

use std::io::{self, Write};

use super::escape::for_terminal;
use super::ReportOptions;
use crate::finding::{Finding, FindingSink, ScanSummary};

/// Most findings rows written; the rest are counted.
pub const MAX_ROWS: usize = 200;

/// Most locations listed per finding; the rest are counted.
const MAX_LOCATIONS: usize = 5;

/// The `scan` sink: keeps the findings until `finish`.
pub struct MarkdownWriter<'w> {
    out: Box<dyn Write + 'w>,
    opts: ReportOptions,
    findings: Vec<Finding>,
}

impl<'w> MarkdownWriter<'w> {
    /// A writer over `out`.
    pub fn new(out: Box<dyn Write + 'w>, opts: ReportOptions) -> Self {
        Self {
            out,
            opts,
            findings: Vec::new(),
        }
    }
}

impl FindingSink for MarkdownWriter<'_> {
    type Error = io::Error;

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        self.findings.push(f.clone());
        Ok(())
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        let text = render(&self.findings, s, self.opts);
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

/// Escapes `s` for Markdown text, table cells included: ASCII punctuation is backslash-
/// escaped, `<`, `>` and `&` become entities, control and invisible characters `\u{..}`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in for_terminal(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The whole Markdown text for `findings`.
pub fn render(findings: &[Finding], s: &ScanSummary, opts: ReportOptions) -> String {
    let mut m = String::from("### patrol\n\n");
    let state = if s.complete {
        "complete"
    } else {
        "**incomplete** (some inputs could not be read)"
    };
    if findings.is_empty() {
        m.push_str(&format!(
            "No secrets found in {} file(s); the scan is {state}.\n",
            s.blobs_scanned
        ));
        return m;
    }
    m.push_str(&format!(
        "**{} secret(s) found** in {} file(s); the scan is {state}. Revoke each secret at its \
         provider first, then remove it.{}\n\n",
        findings.len(),
        s.blobs_scanned,
        if opts.show_secrets {
            ""
        } else {
            " Secrets are redacted."
        }
    ));
    m.push_str("| Provider | Rule | Secret | Verification | Locations |\n");
    m.push_str("|---|---|---|---|---|\n");
    for f in findings.iter().take(MAX_ROWS) {
        let verification = f
            .verification
            .as_ref()
            .map(|v| v.status.as_str())
            .unwrap_or("not verified");
        let mut locs: Vec<String> = f
            .locations
            .iter()
            .take(MAX_LOCATIONS)
            .map(|l| {
                let mut t = format!("{}:{}:{}", escape(&l.path), l.line, l.column);
                if let Some(c) = &l.commit {
                    t.push_str(&format!(
                        " (commit {}, {})",
                        escape(c.id.get(..12).unwrap_or(&c.id)),
                        escape(&c.author_date)
                    ));
                }
                t
            })
            .collect();
        let more = (f.locations.len().saturating_sub(MAX_LOCATIONS)) as u64 + f.locations_omitted;
        if more > 0 {
            locs.push(format!("and {more} more"));
        }
        m.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            escape(&f.provider),
            escape(&f.name),
            escape(&f.secret.display(opts.show_secrets)),
            escape(verification),
            locs.join("<br>")
        ));
    }
    if findings.len() > MAX_ROWS {
        m.push_str(&format!(
            "\n{} more finding(s) not shown; see the full report.\n",
            findings.len() - MAX_ROWS
        ));
    }
    m.push_str(
        "\nA false positive: mark its line with a `patrol:allow` comment, or accept it with \
         `patrol baseline create`.\n",
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{ChecksumStatus, Fingerprint, Location, Secret};

    fn finding(secret: &str, path: &str) -> Finding {
        Finding {
            rule: "npm.token".into(),
            name: "npm access token".into(),
            provider: "npm".into(),
            fingerprint: Fingerprint::of("npm.token", &Secret::new(secret)),
            secret: Secret::new(secret),
            checksum: ChecksumStatus::Valid,
            locations: vec![Location {
                path: path.into(),
                path_raw: None,
                line: 2,
                column: 5,
                commit: None,
                encoding: None,
                repository: None,
            }],
            locations_omitted: 0,
            verification: None,
        }
    }

    #[test]
    fn escape_keeps_hostile_text_inside_its_cell() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("[x](http://e)"), "\\[x\\]\\(http\\:\\/\\/e\\)");
        assert_eq!(escape("<img>&"), "&lt;img&gt;&amp;");
        assert_eq!(escape("l1\nl2"), "l1\\\\nl2");
        assert_eq!(escape("`code`"), "\\`code\\`");
    }

    #[test]
    fn one_row_per_finding_redacted_and_capped() {
        let secret = "npm_0123456789abcdefghijklmnopqrstuvwxyz";
        let md = render(
            &[finding(secret, "a|b.txt")],
            &ScanSummary {
                blobs_scanned: 4,
                complete: true,
                ..Default::default()
            },
            ReportOptions::default(),
        );
        assert!(md.starts_with("### patrol\n"));
        assert!(md.contains("**1 secret(s) found** in 4 file(s)"));
        let row = md.lines().find(|l| l.starts_with("| npm")).unwrap();
        assert_eq!(row.matches(" | ").count(), 4, "five cells: {row}");
        assert!(row.contains("a\\|b\\.txt:2:5"));
        assert!(!md.contains(secret) && md.contains("npm\\_…wxyz"));

        let many: Vec<Finding> = (0..MAX_ROWS + 3)
            .map(|i| finding(&format!("npm_{i:036}"), "x"))
            .collect();
        let md = render(&many, &ScanSummary::default(), ReportOptions::default());
        assert_eq!(
            md.lines().filter(|l| l.starts_with("| npm")).count(),
            MAX_ROWS
        );
        assert!(md.contains("3 more finding(s) not shown"));
        assert!(md.contains("**incomplete**"));

        let clean = render(&[], &ScanSummary::default(), ReportOptions::default());
        assert!(clean.contains("No secrets found"));
    }
}
