//! `--format csv`: one row per location, for spreadsheets.
//!
//! Columns (a public interface: add at the end, never rename):
//! `rule,name,provider,secret,redacted,fingerprint,checksum,path,line,column,commit,`
//! `author_name,author_email,author_date,encoding`. RFC 4180: CRLF line ends, a field holding
//! a comma, quote, CR or LF is quoted with quotes doubled (the `csv` crate writes the records).
//! A finding whose locations were capped (`--max-locations`) has rows for the kept locations
//! only.
//!
//! Scanned paths are hostile, and spreadsheets run cells that start with `=`, `+`, `-` or `@`
//! as formulas: such a field gets a leading `'` (the usual defence; the field `-`, standard
//! input, is left alone) before it is quoted.

use std::borrow::Cow;
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
    out: csv::Writer<Box<dyn Write + 'w>>,
    opts: ReportOptions,
}

impl<'w> CsvWriter<'w> {
    /// A writer over `out`.
    pub fn new(out: Box<dyn Write + 'w>, opts: ReportOptions) -> Self {
        let out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .flexible(false)
            .from_writer(out);
        Self { out, opts }
    }

    fn row(&mut self, fields: &[&str]) -> io::Result<()> {
        for f in fields {
            self.out
                .write_field(defuse(f).as_bytes())
                .map_err(into_io)?;
        }
        self.out.write_record(None::<&[u8]>).map_err(into_io)
    }
}

fn into_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("csv: {other:?}")),
    }
}

/// One field, defused and quoted as the writer writes it (for other CSV tables patrol prints,
/// such as `patrol ado pats --format csv`).
pub fn field(s: &str) -> String {
    let d = defuse(s);
    if d.is_empty() {
        // A one-field record of "" is written `""` (an empty record would be a blank line).
        return String::new();
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(d.len() + 2));
    w.write_record([d.as_bytes()]).expect("writing to memory");
    let mut out = String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in");
    out.pop();
    out
}

/// A field made safe for spreadsheets: a leading `'` before a formula start.
pub fn defuse(s: &str) -> Cow<'_, str> {
    let risky = s.len() > 1 && s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky || s.starts_with(['=', '+', '@']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
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
    use super::*;

    /// One field as the writer writes it in a row (without the row's other field and CRLF).
    fn in_row(s: &str) -> String {
        let mut buf = Vec::new();
        {
            let mut w = CsvWriter::new(Box::new(&mut buf), ReportOptions::default());
            w.row(&[s, "x"]).unwrap();
            w.finish(&ScanSummary::default()).unwrap();
        }
        let row = String::from_utf8(buf).unwrap();
        row.strip_suffix(",x\r\n").unwrap().to_string()
    }

    #[test]
    fn quotes_and_defuses_fields() {
        for s in [
            "plain",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "=1",
            "-2+3",
            "@x,y",
            "-",
            "",
        ] {
            assert_eq!(field(s), in_row(s), "{s:?}");
        }
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
