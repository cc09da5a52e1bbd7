//! `--format csv`: one row per location, for spreadsheets.
//!
//! Columns (a public interface: add at the end, never rename):
//! `rule,name,provider,secret,redacted,fingerprint,checksum,path,line,column,commit,`
//! `author_name,author_email,author_date,encoding`. RFC 4180: CRLF line ends, a field holding
//! a comma, quote, CR or LF is quoted with quotes doubled. A finding whose locations were
//! capped (`--max-locations`) has rows for the kept locations only.
//!
//! Scanned paths are hostile, and spreadsheets run cells that start with `=`, `+`, `-` or `@`
//! as formulas: such a field gets a leading `'` (the usual defence; the field `-`, standard
//! input, is left alone).

use std::io::{self, Write};

use super::ReportOptions;
use crate::finding::{Finding, FindingSink, ScanSummary};

/// The header row.
pub const HEADER: &[&str] = &[
    "rule",
    "name",
    "provider",
    "secret",
    "redacted",
    "fingerprint",
    "checksum",
    "path",
    "line",
    "column",
    "commit",
    "author_name",
    "author_email",
    "author_date",
    "encoding",
];

/// The CSV writer.
pub struct CsvWriter<'w> {
    out: Box<dyn Write + 'w>,
    opts: ReportOptions,
}

impl<'w> CsvWriter<'w> {
    /// A writer over `out`.
    pub fn new(out: Box<dyn Write + 'w>, opts: ReportOptions) -> Self {
        Self { out, opts }
    }

    fn row(&mut self, fields: &[&str]) -> io::Result<()> {
        let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
        self.out.write_all(line.join(",").as_bytes())?;
        self.out.write_all(b"\r\n")
    }
}

/// One field, defused and quoted as needed.
pub fn field(s: &str) -> String {
    let risky = s.len() > 1 && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let s = if risky || s.starts_with(['=', '+', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

impl FindingSink for CsvWriter<'_> {
    type Error = std::io::Error;

    fn begin(&mut self, _target: &str) -> io::Result<()> {
        self.row(HEADER)
    }

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        let secret = f.secret.display(self.opts.show_secrets);
        let redacted = (!self.opts.show_secrets).to_string();
        for l in &f.locations {
            let (line, column) = (l.line.to_string(), l.column.to_string());
            let c = l.commit.as_ref();
            self.row(&[
                &f.rule,
                &f.name,
                &f.provider,
                &secret,
                &redacted,
                &f.fingerprint.0,
                f.checksum.as_str(),
                &l.path,
                &line,
                &column,
                c.map_or("", |c| &c.id),
                c.map_or("", |c| &c.author_name),
                c.map_or("", |c| &c.author_email),
                c.map_or("", |c| &c.author_date),
                l.encoding.unwrap_or(""),
            ])?;
        }
        Ok(())
    }

    fn finish(&mut self, _s: &ScanSummary) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn quotes_and_defuses_fields() {
        assert_eq!(field("plain/path.rs"), "plain/path.rs");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("@x,y"), "\"'@x,y\"");
        assert_eq!(field("-"), "-");
        assert_eq!(field(""), "");
    }
}
