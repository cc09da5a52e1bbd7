//! `patrol baseline create [PATH ...] -o FILE`: record the current findings as accepted.
//!
//! The scan is the same as `patrol scan` with the same patrol.toml (excludes, disabled rules,
//! allow-list); the file format is described in `patrol::baseline`.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, FromArgMatches, Subcommand};
use patrol::baseline::Baseline;

use super::exit::ExitCode;
use super::scan::{self, History, ScanArgs};

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    command: BaselineCommand,
}

#[derive(Debug, Subcommand)]
enum BaselineCommand {
    /// Scan and write every current finding to a baseline file.
    Create(CreateArgs),
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// Files or directories to scan.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// The baseline file to write.
    #[arg(long, short = 'o', value_name = "FILE", required = true)]
    output: PathBuf,
    /// Read settings from FILE instead of the discovered patrol.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Add the rules of a custom rule file (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Git history to scan: `all` (default in a repository) or `none` (files only).
    #[arg(long, value_enum)]
    history: Option<History>,
    /// Scan files that .gitignore / .ignore exclude.
    #[arg(long)]
    no_ignore: bool,
    /// Also record findings on lines marked `patrol:allow` and friends.
    #[arg(long)]
    no_inline_allow: bool,
    /// Worker threads (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
}

pub fn run(a: BaselineArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        BaselineCommand::Create(c) => create(c),
    }
}

/// The `patrol scan` arguments equivalent to `c` (built through clap, so every scan flag keeps
/// its default).
fn scan_args(c: &CreateArgs) -> anyhow::Result<ScanArgs> {
    let mut argv: Vec<OsString> = vec!["scan".into(), "--no-progress".into()];
    let mut flag = |f: &str, v: Option<OsString>| {
        argv.push(f.into());
        argv.extend(v);
    };
    if let Some(p) = &c.config {
        flag("--config", Some(p.into()));
    }
    for r in &c.rules {
        flag("--rules", Some(r.into()));
    }
    if let Some(h) = c.history {
        let v = if h == History::None { "none" } else { "all" };
        flag("--history", Some(v.into()));
    }
    if c.no_ignore {
        flag("--no-ignore", None);
    }
    if c.no_inline_allow {
        flag("--no-inline-allow", None);
    }
    if let Some(n) = c.threads {
        flag("--threads", Some(n.to_string().into()));
    }
    argv.push("--".into());
    argv.extend(c.paths.iter().map(OsString::from));
    let cmd = ScanArgs::augment_args(clap::Command::new("scan"));
    let m = cmd.try_get_matches_from(argv)?;
    Ok(ScanArgs::from_arg_matches(&m)?)
}

fn create(c: CreateArgs) -> anyhow::Result<ExitCode> {
    let args = scan_args(&c)?;
    let plan = scan::plan(&args)?;
    let outcome = scan::execute(&args, &plan);
    let b = Baseline::from_findings(&outcome.findings);
    std::fs::write(&c.output, b.to_text())
        .with_context(|| format!("cannot write baseline {}", c.output.display()))?;
    let s = &outcome.summary;
    eprintln!(
        "patrol: baseline {}: {} finding(s) recorded{}",
        c.output.display(),
        b.len(),
        if s.complete {
            String::new()
        } else {
            "; INCOMPLETE scan: findings in unread inputs are not in it".to_string()
        }
    );
    Ok(if s.complete {
        ExitCode::Clean
    } else {
        ExitCode::Incomplete
    })
}
