//! `--format human`: findings grouped by secret, for people at a terminal.
//!
//! Everything taken from the scanned input (paths, secrets) goes through
//! [`escape::for_terminal`](super::escape::for_terminal). Colour only when asked (the CLI asks
//! only when stdout is a terminal and `NO_COLOR` is unset).

use std::collections::HashSet;
use std::io::{self, Write};

use super::escape::for_terminal;
use super::ReportOptions;
use crate::finding::{Finding, FindingSink, Location, ScanSummary};

/// Locations printed per finding before "... and N more".
const SHOWN_LOCATIONS: usize = 10;

/// The human writer.
pub struct HumanWriter<'w> {
    out: Box<dyn Write + 'w>,
    opts: ReportOptions,
    locations: u64,
}

impl<'w> HumanWriter<'w> {
    /// A writer over `out`.
    pub fn new(out: Box<dyn Write + 'w>, opts: ReportOptions) -> Self {
        Self {
            out,
            opts,
            locations: 0,
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.opts.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// `path:line:column`, with the commit and author for history locations.
pub fn describe_location(l: &Location) -> String {
    let mut s = format!("{}:{}:{}", for_terminal(&l.path), l.line, l.column);
    if let Some(enc) = l.encoding {
        s.push_str(&format!(" (inside {enc})"));
    }
    if let Some(c) = &l.commit {
        s.push_str(&format!(
            "  commit {} by {} <{}> on {}",
            &c.id[..c.id.len().min(12)],
            for_terminal(&c.author_name),
            for_terminal(&c.author_email),
            c.author_date
        ));
    }
    s
}

impl FindingSink for HumanWriter<'_> {
    type Error = std::io::Error;

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        let title = self.paint("1;31", &format!("{} ", f.rule));
        writeln!(self.out, "{title}{}", for_terminal(&f.name))?;
        let secret = for_terminal(&f.secret.display(self.opts.show_secrets));
        writeln!(
            self.out,
            "  secret       {}  (checksum {})",
            self.paint("33", &secret),
            f.checksum.as_str()
        )?;
        writeln!(self.out, "  fingerprint  {}", f.fingerprint)?;
        if let Some(v) = &f.verification {
            let owner = v.owner.as_deref().map(for_terminal).unwrap_or_default();
            writeln!(
                self.out,
                "  verified     {} {}({})",
                v.status.as_str(),
                if owner.is_empty() {
                    String::new()
                } else {
                    format!("owner {owner} ")
                },
                for_terminal(&v.detail)
            )?;
        }
        let lines = location_lines(&f.locations);
        for (i, (l, also_in_tree)) in lines.iter().take(SHOWN_LOCATIONS).enumerate() {
            let label = if i == 0 {
                "  found at     "
            } else {
                "               "
            };
            let also = if *also_in_tree {
                "  (also in the working tree)"
            } else {
                ""
            };
            writeln!(self.out, "{label}{}{also}", describe_location(l))?;
        }
        let more = lines.len().saturating_sub(SHOWN_LOCATIONS) as u64 + f.locations_omitted;
        if more > 0 {
            writeln!(self.out, "               ... and {more} more locations")?;
        }
        writeln!(self.out)?;
        self.locations += f.locations.len() as u64 + f.locations_omitted;
        Ok(())
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        let mib = s.bytes_scanned as f64 / (1024.0 * 1024.0);
        let mut line = format!(
            "{} finding{} ({} location{}) in {} file{}, {:.1} MiB, {:.2} s",
            s.findings,
            plural(s.findings),
            self.locations,
            plural(self.locations),
            s.blobs_scanned,
            plural(s.blobs_scanned),
            mib,
            s.duration_ms as f64 / 1000.0
        );
        if s.suppressed > 0 {
            line.push_str(&format!("; {} suppressed", s.suppressed));
        }
        if s.skipped > 0 {
            line.push_str(&format!("; {} skipped", s.skipped));
        }
        if s.interrupted {
            line.push_str("; INTERRUPTED: partial results");
        } else if !s.complete {
            line.push_str(&format!(
                "; INCOMPLETE: {} input(s) could not be read",
                s.errors
            ));
        }
        writeln!(self.out, "{line}")?;
        if s.findings > 0 {
            for step in self.opts.next_steps {
                writeln!(self.out, "{step}")?;
            }
        }
        self.out.flush()
    }
}

/// One line per place: a working-tree location that history also holds at the same
/// `path:line:column` is printed once, on the history line, marked as also in the working
/// tree. (The JSON report keeps both locations: they are two facts.) Linear in the number of
/// locations, which `--max-locations` may leave unbounded.
fn location_lines(locations: &[Location]) -> Vec<(&Location, bool)> {
    fn place(l: &Location) -> (&str, u64, u64, Option<&'static str>) {
        (&l.path, l.line, l.column, l.encoding)
    }
    let mut tree = HashSet::new();
    let mut history = HashSet::new();
    for l in locations {
        if l.commit.is_some() {
            &mut history
        } else {
            &mut tree
        }
        .insert(place(l));
    }
    locations
        .iter()
        .filter(|l| l.commit.is_some() || !history.contains(&place(l)))
        .map(|l| (l, l.commit.is_some() && tree.contains(&place(l))))
        .collect()
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
