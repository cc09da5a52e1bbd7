//! Writing results: the report in its format (then the summary line on stderr), and a
//! closed pipe (`patrol ... | head`) is a normal end, not an error.

use std::io::Write;

use anyhow::Context;
use patrol::report::{self, Format, ReportOptions};
use patrol::scan::ScanOutcome;

/// Passes `r` through, except that a broken pipe becomes `Ok`.
pub fn ignore_broken_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
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
