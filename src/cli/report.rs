//! `patrol report`: the findings of a sweep, read back from the datastore and written in any
//! report format. Exit 1 when it writes findings, 0 when there are none, 2 only when the
//! report cannot be produced (failed repositories of the sweep do not change it).

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use patrol::finding::ScanSummary;
use patrol::report::{self, Format, ReportOptions};
use patrol::store::FindingQuery;
use patrol::sweep::scan::to_finding;

use super::exit::ExitCode;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The datastore.
    #[arg(long, value_name = "FILE", default_value = "patrol-sweep.db")]
    datastore: PathBuf,
    /// The sweep (default: the latest): findings with a location in its repositories.
    #[arg(long, value_name = "ID")]
    sweep: Option<i64>,
    /// Only findings first seen in that sweep.
    #[arg(long)]
    new: bool,
    /// Only locations in repositories whose key matches GLOB (repeatable).
    #[arg(long = "repo", value_name = "GLOB")]
    repo: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', default_value = "human", value_parser = Format::NAMES.to_vec())]
    format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print whole secrets (needs a datastore written with --store-secrets).
    #[arg(long)]
    show_secrets: bool,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let format = Format::parse(&a.format).expect("clap checked the value");
    let store = patrol::store::open_existing(&a.datastore.to_string_lossy())?;
    let stored = store.findings(&FindingQuery {
        sweep: a.sweep,
        only_new: a.new,
    })?;
    let globs = if a.repo.is_empty() {
        None
    } else {
        let mut b = globset::GlobSetBuilder::new();
        for g in &a.repo {
            b.add(globset::Glob::new(g).with_context(|| format!("--repo {g}"))?);
        }
        Some(b.build()?)
    };
    let mut findings = Vec::new();
    for mut f in stored {
        if let Some(g) = &globs {
            f.locations.retain(|l| g.is_match(&l.repo));
            if f.locations.is_empty() {
                continue;
            }
        }
        if a.show_secrets && !f.secret_stored {
            anyhow::bail!(
                "datastore {}: whole secrets were not stored (sweep with --store-secrets to use --show-secrets)",
                a.datastore.display()
            );
        }
        let mut f = to_finding(&f);
        if format == Format::Human {
            // The terminal format has no column for the repository: name it before the path.
            for l in &mut f.locations {
                if let Some(r) = &l.repository {
                    l.path = format!("{r}:{}", l.path);
                }
            }
        }
        findings.push(f);
    }
    let mut out: Box<dyn Write> = match &a.output {
        Some(p) => {
            Box::new(io::BufWriter::new(File::create(p).with_context(|| {
                format!("cannot write --output {}", p.display())
            })?))
        }
        None => Box::new(io::BufWriter::new(io::stdout())),
    };
    // The totals of the sweep the findings come from.
    let st = store.status(a.sweep)?;
    let summary = ScanSummary {
        blobs_scanned: st.blobs_scanned,
        bytes_scanned: st.bytes_scanned,
        findings: findings.len() as u64,
        complete: st.complete,
        ..ScanSummary::default()
    };
    let opts = ReportOptions {
        show_secrets: a.show_secrets,
        color: a.output.is_none()
            && io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none(),
        ..ReportOptions::default()
    };
    let res = (|| {
        let mut sink = report::sink(format, Box::new(&mut out), opts);
        sink.begin(&a.datastore.display().to_string())?;
        for f in &findings {
            sink.finding(f)?;
        }
        sink.finish(&summary)?;
        drop(sink);
        out.flush()
    })();
    super::output::ignore_broken_pipe(res).context("writing the report")?;
    Ok(if findings.is_empty() {
        ExitCode::Clean
    } else {
        ExitCode::Findings
    })
}
