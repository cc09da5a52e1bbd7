//! Output formats, one file each. Every writer is a [`FindingSink`]; `scan` never knows which
//! one is attached. Secrets are redacted unless [`ReportOptions::show_secrets`] is set.

pub mod csv;
pub mod escape;
pub mod html;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use std::io::Write;

use crate::finding::FindingSink;

/// The `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// Grouped by secret, for people (default).
    Human,
    /// One JSON array of finding objects.
    Json,
    /// One finding object per line.
    Jsonl,
    /// SARIF 2.1.0 (GitHub code scanning, Azure DevOps SARIF viewer).
    Sarif,
    /// One row per location, for spreadsheets.
    Csv,
    /// One self-contained HTML page (no external assets), for people.
    Html,
    /// GitHub-flavoured Markdown, for pull-request comments and CI job summaries.
    Markdown,
}

impl Format {
    /// Every format's name, as `--format` takes it.
    pub const NAMES: &'static [&'static str] =
        &["human", "json", "jsonl", "sarif", "csv", "html", "markdown"];

    /// Parses a `--format` value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "human" => Self::Human,
            "json" => Self::Json,
            "jsonl" => Self::Jsonl,
            "sarif" => Self::Sarif,
            "csv" => Self::Csv,
            "html" => Self::Html,
            "markdown" => Self::Markdown,
            _ => return None,
        })
    }
}

/// What every writer needs to know.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    /// Print whole secrets (`--show-secrets`).
    pub show_secrets: bool,
    /// ANSI colour (only when writing to a terminal).
    pub color: bool,
    /// Lines the human report ends with when it holds findings: what to do next, worded by
    /// the command that writes the report (the report knows no flags).
    pub next_steps: &'static [&'static str],
}

/// A writer for `format` over `out`.
pub fn sink<'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    opts: ReportOptions,
) -> Box<dyn FindingSink<Error = std::io::Error> + 'w> {
    match format {
        Format::Human => Box::new(human::HumanWriter::new(out, opts)),
        Format::Json => Box::new(json::JsonWriter::new(out, opts, false)),
        Format::Jsonl => Box::new(json::JsonWriter::new(out, opts, true)),
        Format::Sarif => Box::new(sarif::SarifWriter::new(out, opts)),
        Format::Csv => Box::new(csv::CsvWriter::new(out, opts)),
        Format::Html => Box::new(html::HtmlWriter::new(out, opts, scanned_directory())),
        Format::Markdown => Box::new(markdown::MarkdownWriter::new(out, opts)),
    }
}

/// The label of a scan's findings in the HTML report: the current directory's name (a scan
/// runs in the repository it scans), or nothing when it has none.
fn scanned_directory() -> String {
    std::env::current_dir()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}
