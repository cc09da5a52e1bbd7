//! Writing results: the report in its format (then the summary line on stderr), and a
//! closed pipe (`patrol ... | head`) is a normal end, not an error.

use std::io::Write;

use anyhow::Context;
use patrol::report::{self, Format, ReportOptions};
use patrol::scan::ScanOutcome;

use super::exit::ExitCode;

/// Passes `r` through, except that a broken pipe becomes `Ok`.
pub fn ignore_broken_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Standard output for a command whose work does not depend on being able to print (a
/// revocation asked for still happens, and is audited): the first write error is kept,
/// later lines are dropped, and [`Stdout::finish`] reports it in one line and makes the run
/// incomplete. A closed pipe (`| head`) is a normal end, as for reports. (`println!` would
/// panic, and a full disk would be reported as an internal error.)
#[derive(Debug, Default)]
pub struct Stdout {
    error: Option<std::io::Error>,
    closed: bool,
}

impl Stdout {
    /// Writes `line` and a newline, unless an earlier write failed.
    pub fn line(&mut self, line: impl std::fmt::Display) {
        if self.closed || self.error.is_some() {
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.closed = true;
            } else {
                self.error = Some(e);
            }
        }
    }

    /// Reports a write error, if there was one: `Incomplete` then, else `Clean`.
    pub fn finish(self) -> ExitCode {
        match self.error {
            Some(e) => {
                eprintln!("patrol: error: writing to standard output: {e}");
                ExitCode::Incomplete
            }
            None => ExitCode::Clean,
        }
    }
}

/// Writes `o` as `format` to `out`; for every format but human, the summary line goes to
/// stderr.
pub fn write_report(
    o: &ScanOutcome,
    format: Format,
    out: &mut Box<dyn Write>,
    opts: ReportOptions,
) -> anyhow::Result<()> {
    let mut sink = report::sink(format, Box::new(out), opts);
    let res = (|| {
        sink.begin("")?;
        for f in &o.findings {
            sink.finding(f)?;
        }
        sink.finish(&o.summary)
    })();
    ignore_broken_pipe(res).context("writing the report")?;
    if format != Format::Human {
        eprintln!("{}", summary_line(o));
    }
    Ok(())
}

fn summary_line(o: &ScanOutcome) -> String {
    let s = &o.summary;
    let state = if s.interrupted {
        "interrupted"
    } else if s.complete {
        "complete"
    } else {
        "incomplete"
    };
    let suppressed = if s.suppressed > 0 {
        format!(" ({} suppressed)", s.suppressed)
    } else {
        String::new()
    };
    format!(
        "patrol: {} finding(s){suppressed} in {} file(s), {:.1} MiB, {:.2} s; {state}",
        s.findings,
        s.blobs_scanned,
        s.bytes_scanned as f64 / 1048576.0,
        s.duration_ms as f64 / 1000.0
    )
}
