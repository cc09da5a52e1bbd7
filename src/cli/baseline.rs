//! `patrol baseline create [PATH ...] -o FILE`: record the current findings as accepted.
//!
//! The scan is the same as `patrol scan` with the same patrol.toml (excludes, disabled rules,
//! allow-list); the file format is described in `patrol::baseline`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use patrol::baseline::Baseline;
use patrol::scan::{GitOptions, ScanSettings};

use super::exit::ExitCode;
use super::scan::{self, History};

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

/// The scan settings of `c`: those of `patrol scan` with the same flags, every other one at
/// its default (and no progress line).
fn settings(c: &CreateArgs) -> ScanSettings {
    ScanSettings {
        paths: c.paths.clone(),
        config_file: c.config.clone(),
        rule_files: c.rules.clone(),
        respect_ignore: !c.no_ignore,
        inline_allow: !c.no_inline_allow,
        threads: c.threads,
        ..ScanSettings::default()
    }
}

fn create(c: CreateArgs) -> anyhow::Result<ExitCode> {
    let git = GitOptions {
        history: c.history.map(History::mode),
        ..GitOptions::default()
    };
    let prepared = scan::prepare(&settings(&c), &c.paths, &git)?;
    let outcome = scan::execute(&prepared, false);
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
