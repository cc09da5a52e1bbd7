//! `patrol scan`: flags -> options, run the scan, write the report, decide the exit code.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use patrol::error::Diagnostics;
use patrol::report::{escape::for_terminal, Format, ReportOptions};
use patrol::scan::{
    self, Counters, GitOptions, HistoryMode, RunContext, ScanConfig, ScanOutcome, ScanPlan,
    ScanSettings, Scanner,
};

use super::exit::ExitCode;
use super::triage;

/// Which history to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum History {
    /// Files only.
    None,
    /// The working tree and every blob reachable from every ref (default inside a repository).
    All,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', default_value = "human", value_parser = Format::NAMES.to_vec())]
    format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print whole secrets instead of redacting them.
    #[arg(long)]
    show_secrets: bool,
    /// Worker threads (default: number of CPUs).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
    /// Git history to scan: `all` (default in a repository) or `none` (files only).
    #[arg(long, value_enum)]
    history: Option<History>,
    /// Scan files that .gitignore / .ignore exclude.
    #[arg(long)]
    no_ignore: bool,
    /// Follow symbolic links while walking directories.
    #[arg(long)]
    follow_links: bool,
    /// Skip files larger than this many bytes (default: scan every file whole).
    #[arg(long, value_name = "BYTES")]
    max_file_size: Option<u64>,
    /// Skip binary files (a NUL byte in the first 8 KiB) instead of scanning them.
    #[arg(long)]
    skip_binary: bool,
    /// Add the rules of a custom rule file (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Keep at most N locations per finding (the rest are counted).
    #[arg(long, value_name = "N", default_value_t = scan::DEFAULT_MAX_LOCATIONS)]
    max_locations: usize,
    /// Report findings on lines marked `patrol:allow` (and gitleaks/detect-secrets markers).
    #[arg(long)]
    no_inline_allow: bool,
    /// Never show the progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Read settings from FILE instead of the patrol.toml found in the scanned directory or
    /// its repository root.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Report and fail only on findings not in this baseline (from `patrol baseline create`).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Append an audit trail (JSON Lines) to FILE: the scan's events and, with --verify or
    /// --revoke, every verification and revocation; the scan does not start if it cannot be
    /// written.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    #[command(flatten)]
    act: super::act::ActArgs,
    /// Scan only this ref's history (and the working tree).
    #[arg(long, value_name = "REF")]
    branch: Option<String>,
    /// Scan only blobs introduced by commits reachable from HEAD (or --branch) and not from REV.
    #[arg(long, value_name = "REV", conflicts_with = "range")]
    since_commit: Option<String>,
    /// Scan only blobs introduced by commits reachable from B and not from A.
    #[arg(long, value_name = "A..B")]
    range: Option<String>,
    /// Scan only what is staged (index vs HEAD): the pre-commit check.
    #[arg(long, conflicts_with_all = ["branch", "since_commit", "range", "history"])]
    staged: bool,
    /// Also scan commits that only a reflog or no ref reaches (amended-away, reset-away,
    /// deleted branches), while they are still in the repository.
    #[arg(long, conflicts_with_all = ["branch", "since_commit", "range", "staged"])]
    include_unreachable: bool,
    /// Scan zip/tar/gzip/xz/bzip2 files (found by their magic bytes) as files, not their entries.
    #[arg(long)]
    no_archives: bool,
}

/// What a scan needs, prepared and validated before anything is read.
pub struct Prepared {
    scanner: Scanner,
    plan: ScanPlan,
}

impl ScanArgs {
    /// The library settings these flags ask for (patrol.toml is merged by `ScanConfig::new`).
    pub fn settings(&self) -> ScanSettings {
        ScanSettings {
            paths: self.paths.clone(),
            config_file: self.config.clone(),
            no_config: false,
            rule_files: self.rules.clone(),
            baseline: self.baseline.clone(),
            respect_ignore: !self.no_ignore,
            follow_links: self.follow_links,
            max_file_size: self.max_file_size,
            skip_binary: self.skip_binary,
            threads: self.threads,
            max_locations: self.max_locations,
            inline_allow: !self.no_inline_allow,
            chunk_bytes: scan::CHUNK_BYTES,
            archives: !self.no_archives,
        }
    }

    /// The history choices these flags ask for.
    pub fn git_options(&self) -> GitOptions {
        GitOptions {
            history: self.history.map(History::mode),
            branch: self.branch.clone(),
            since_commit: self.since_commit.clone(),
            range: self.range.clone(),
            staged: self.staged,
            include_unreachable: self.include_unreachable,
        }
    }
}

impl History {
    /// The library's value.
    pub fn mode(self) -> HistoryMode {
        match self {
            History::None => HistoryMode::None,
            History::All => HistoryMode::All,
        }
    }
}

/// Reads patrol.toml, the rules and the baseline, and plans the targets: any error stops the
/// run before scanning.
pub fn prepare(
    settings: &ScanSettings,
    paths: &[PathBuf],
    git: &GitOptions,
) -> anyhow::Result<Prepared> {
    let scanner = Scanner::new(ScanConfig::new(settings)?);
    let plan = ScanPlan::from_paths(paths, git)?;
    Ok(Prepared { scanner, plan })
}

/// Scans the plan into one outcome (accepted findings already dropped), printing each
/// skipped or unreadable input on stderr and a progress line when asked.
pub fn execute(p: &Prepared, progress: bool) -> ScanOutcome {
    let diags = Diagnostics::new(|d| eprintln!("patrol: {}", for_terminal(&d.to_string())));
    let counters = Counters::default();
    let cancel = Arc::new(AtomicBool::new(false));
    install_ctrl_c(cancel.clone());
    let show_progress = progress && io::stderr().is_terminal();
    let ctx = RunContext {
        diagnostics: &diags,
        counters: &counters,
        cancel: &cancel,
    };
    with_progress(show_progress, &counters, || {
        let mut outcome = ScanOutcome::default();
        let Ok(total) = p.scanner.run(&p.plan, &mut outcome, &ctx);
        outcome.summary.interrupted |= total.interrupted;
        outcome.summary.complete &= total.complete;
        outcome
    })
}

/// The flags of `patrol scan --staged --no-progress .`, the scan `patrol hook run` stands
/// for, with every other flag at its default as clap defines it.
pub fn staged_args() -> ScanArgs {
    #[derive(clap::Parser)]
    struct Staged {
        #[command(flatten)]
        scan: ScanArgs,
    }
    <Staged as clap::Parser>::parse_from(["patrol-scan", "--staged", "--no-progress", "."]).scan
}

pub fn run(a: ScanArgs) -> anyhow::Result<ExitCode> {
    let format = Format::parse(&a.format).expect("clap checked the value");
    let plan = prepare(&a.settings(), &a.paths, &a.git_options())?;
    let audit = match &a.audit_log {
        Some(p) => Some(triage::ScanAudit::start(p, &a.paths)?),
        None => None,
    };
    let act = super::act::prepare(&a.act, a.audit_log.as_ref())?;
    let mut out = open_output(&a)?;
    let mut outcome = execute(&plan, !a.no_progress);
    // The scan's entries first, then the acting stage's, under one correlation id.
    let audited = audit.as_ref().map_or(Ok(()), |au| au.record(&outcome));
    let acted = match &act {
        Some(_) if outcome.summary.interrupted => {
            eprintln!(
                "patrol: not verifying or revoking: the scan was interrupted (nothing revoked)"
            );
            ExitCode::Incomplete
        }
        Some(_) if audited.is_err() => {
            eprintln!("patrol: not verifying or revoking: the audit log cannot be written");
            ExitCode::Incomplete
        }
        Some(act) => act.run(
            &mut outcome.findings,
            audit.as_ref().map(triage::ScanAudit::context),
        )?,
        None => ExitCode::Clean,
    };

    super::output::write_report(
        &outcome,
        format,
        &mut out,
        ReportOptions {
            show_secrets: a.show_secrets,
            color: a.output.is_none()
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none(),
            next_steps: next_steps(&a),
        },
    )?;
    audited?;
    Ok(exit_code(&outcome).merge(acted))
}

/// What the human report suggests after findings: the next step this run has not taken, and
/// how to accept a known test token.
fn next_steps(a: &ScanArgs) -> &'static [&'static str] {
    const ACCEPT: &str =
        "  a test or example token? accept it by fingerprint: an [[allow]] entry in \
                          patrol.toml, or `patrol baseline create` and `--baseline`";
    if a.act.revoke && a.act.yes {
        &[]
    } else if a.act.revoke {
        &["next: add `--yes` to carry out the revocation plan above (nothing was revoked)"]
    } else if a.act.verify {
        &[
            "next: `--revoke` plans the revocation of the live tokens (a dry run until `--yes`)",
            ACCEPT,
        ]
    } else {
        &[
            "next: `--verify` tells which of these are live; `--revoke` plans their revocation \
             (a dry run until `--yes`)",
            ACCEPT,
        ]
    }
}

fn open_output(a: &ScanArgs) -> anyhow::Result<Box<dyn Write>> {
    Ok(match &a.output {
        Some(p) => {
            Box::new(io::BufWriter::new(File::create(p).with_context(|| {
                format!("cannot write --output {}", p.display())
            })?))
        }
        None => Box::new(io::BufWriter::new(io::stdout())),
    })
}

fn exit_code(o: &ScanOutcome) -> ExitCode {
    let found = if o.findings.is_empty() {
        ExitCode::Clean
    } else {
        ExitCode::Findings
    };
    let complete = if o.summary.complete {
        ExitCode::Clean
    } else {
        ExitCode::Incomplete
    };
    found.merge(complete)
}

/// First Ctrl-C: stop scanning and report what was found so far. Second: exit at once.
fn install_ctrl_c(cancel: Arc<AtomicBool>) {
    let _ = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("patrol: interrupted; reporting what was found so far (Ctrl-C again to quit)");
    });
}

/// Runs `work` with a progress line on stderr when `show` is set (stderr is a terminal) and
/// the work takes more than a moment; the line is cleared when it ends.
fn with_progress<T>(show: bool, counters: &Counters, work: impl FnOnce() -> T) -> T {
    if !show {
        return work();
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let started = std::time::Instant::now();
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::hidden(),
            );
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let t = started.elapsed();
                if t < Duration::from_millis(750) {
                    continue;
                }
                if bar.is_hidden() {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
                let mib = counters.bytes.load(Ordering::Relaxed) as f64 / 1048576.0;
                bar.set_message(format!(
                    "{} files, {:.0} MiB, {} hits, {:.0} MiB/s",
                    counters.blobs.load(Ordering::Relaxed),
                    mib,
                    counters.hits.load(Ordering::Relaxed),
                    mib / t.as_secs_f64()
                ));
                bar.tick();
            }
            bar.finish_and_clear();
        });
        let out = work();
        stop.store(true, Ordering::Relaxed);
        out
    })
}
