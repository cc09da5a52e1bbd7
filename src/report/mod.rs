//! Output formats, one file each. Every writer is a [`FindingSink`]; `scan` never knows which
//! one is attached. Secrets are redacted unless [`ReportOptions::show_secrets`] is set.

pub mod escape;
pub mod human;
pub mod json;

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
}

impl Format {
    /// Every format's name, as `--format` takes it.
    pub const NAMES: &'static [&'static str] = &["human", "json", "jsonl"];

    /// Parses a `--format` value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "human" => Self::Human,
            "json" => Self::Json,
            "jsonl" => Self::Jsonl,
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
}

/// A writer for `format` over `out`.
pub fn sink<'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    opts: ReportOptions,
) -> Box<dyn FindingSink + 'w> {
    match format {
        Format::Human => Box::new(human::HumanWriter::new(out, opts)),
        Format::Json => Box::new(json::JsonWriter::new(out, opts, false)),
        Format::Jsonl => Box::new(json::JsonWriter::new(out, opts, true)),
    }
}
