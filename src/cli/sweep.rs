//! `patrol sweep ado|github|gitlab|urls` and `patrol sweep status`: flags -> sweep options,
//! run the sweep against the datastore, print per-repository problems and the summary on
//! stderr, act (`--verify` / `--revoke`) through the same acting stage as `patrol scan`, and
//! decide the exit code (2 when any repository failed or is pending, else 1 with findings).

use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use patrol::finding::Secret;
use patrol::report::escape::for_terminal;
use patrol::scan::Counters;
use patrol::source::remote::GitRunner;
use patrol::store::postgres::is_url;
use patrol::store::{FindingQuery, InFlight, Outcome, RepoState, Store, SweepStatus, WorkerInfo};
use patrol::sweep::scan::{to_finding, ScanSetup};
use patrol::sweep::{self, Event, Source, SweepOptions};
use patrol::{ScanConfig, ScanSettings};

use super::exit::ExitCode;

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(subcommand)]
    cmd: SweepCmd,
}

#[derive(Debug, Subcommand)]
enum SweepCmd {
    /// Every repository of an Azure DevOps organisation (AZURE_DEVOPS_EXT_PAT or
    /// AZURE_DEVOPS_ACCESS_TOKEN).
    Ado {
        /// The organisation.
        #[arg(long, value_name = "ORG")]
        org: String,
        /// Only this project (repeatable).
        #[arg(long = "project", value_name = "NAME")]
        projects: Vec<String>,
        /// An Azure DevOps Server collection URL (or a loopback stand-in) instead of
        /// https://dev.azure.com/{org}.
        #[arg(long, value_name = "URL")]
        api_base: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Every repository of a GitHub organisation (GITHUB_TOKEN).
    Github {
        /// The organisation.
        #[arg(long, value_name = "ORG")]
        org: String,
        /// GitHub Enterprise Server API (https://HOST/api/v3) instead of https://api.github.com.
        #[arg(long, value_name = "URL")]
        api_url: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Every project of a GitLab group and its subgroups (GITLAB_TOKEN).
    Gitlab {
        /// The group id or full path.
        #[arg(long, value_name = "GROUP")]
        group: String,
        /// The GitLab instance (default https://gitlab.com).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// The clone URLs or local paths in FILE, one a line (`#` comments).
    Urls {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// What a sweep covered: counts per state, skipped and failed repositories with reasons.
    Status {
        /// The datastore.
        #[arg(long, value_name = "FILE", default_value = "patrol-sweep.db")]
        datastore: PathBuf,
        /// The sweep (default: the latest).
        #[arg(long, value_name = "ID")]
        sweep: Option<i64>,
        /// Output format.
        #[arg(long, default_value = "human", value_parser = ["human", "json"])]
        format: String,
    },
}

/// Flags every sweep takes.
#[derive(Debug, Args, Clone)]
struct Common {
    /// The datastore: a SQLite file (created mode 0600) or `postgres://USER@HOST:PORT/DB`
    /// shared by many workers (password from PGPASSWORD or ~/.pgpass, never in the URL).
    #[arg(long, value_name = "FILE|URL", default_value = "patrol-sweep.db")]
    datastore: PathBuf,
    /// PostgreSQL datastore: seconds a claimed repository stays leased to this worker
    /// without a heartbeat (renewed every third of it while the worker lives).
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    lease: u64,
    /// PostgreSQL datastore: migrate an older schema forward (otherwise it is an error).
    #[arg(long)]
    migrate: bool,
    /// Where the bare mirrors live (default: `patrol-sweep-cache` beside the datastore).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Repositories fetched at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    jobs: usize,
    /// Threads reading blobs (default: number of CPUs).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Scan forks too (their history shared with the parent is read once).
    #[arg(long)]
    include_forks: bool,
    /// Scan archived repositories too.
    #[arg(long)]
    include_archived: bool,
    /// Leave out repositories whose key matches GLOB (repeatable), e.g. `ado:org/proj/*`.
    #[arg(long = "exclude-repo", value_name = "GLOB")]
    exclude_repo: Vec<String>,
    /// Skip repositories the listing API says are larger than BYTES.
    #[arg(long, value_name = "BYTES")]
    max_repo_size: Option<u64>,
    /// Ignore what earlier sweeps saw: refetch and replan every repository.
    #[arg(long)]
    full: bool,
    /// PostgreSQL datastore: never begin a sweep; wait until another worker has begun one of
    /// this target and join it (a worker started after a sweep is complete waits for the next).
    #[arg(long, conflicts_with = "full")]
    join: bool,
    /// Keep whole secrets in the datastore (for `report --show-secrets` and acting later).
    #[arg(long)]
    store_secrets: bool,
    /// Check each secret found in this run with its provider.
    #[arg(long)]
    verify: bool,
    /// Revoke live secrets found in this run (a dry run unless --yes).
    #[arg(long)]
    revoke: bool,
    /// Really revoke (with --revoke), and send the --notify messages.
    #[arg(long)]
    yes: bool,
    /// Tell each live leaked token's owner (needs --verify).
    #[command(flatten)]
    notify: super::notify::NotifyArgs,
    /// Append verification and revocation events (JSON Lines) to FILE.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Never show the progress line.
    #[arg(long)]
    no_progress: bool,
    /// The team's own settings (allow-list, disable_rules, rule_files).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The team's baseline: findings in it are not reported.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Add the rules of a custom rule file (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Apply each swept repository's own patrol.toml (allow-list, disable_rules) and inline
    /// allow markers (off by default: a repository's owners cannot hide a leak from the sweep).
    #[arg(long)]
    honour_repo_config: bool,
}

pub fn run(a: SweepArgs) -> anyhow::Result<ExitCode> {
    let (source, token_vars, common): (Source, &[&str], Common) = match a.cmd {
        SweepCmd::Status {
            datastore,
            sweep,
            format,
        } => return status(&datastore, sweep, &format),
        SweepCmd::Ado {
            org,
            projects,
            api_base,
            common,
        } => (
            Source::Ado {
                org,
                projects,
                api_base,
            },
            &["AZURE_DEVOPS_EXT_PAT", "AZURE_DEVOPS_ACCESS_TOKEN"],
            common,
        ),
        SweepCmd::Github {
            org,
            api_url,
            common,
        } => (Source::GitHub { org, api_url }, &["GITHUB_TOKEN"], common),
        SweepCmd::Gitlab { group, url, common } => {
            (Source::GitLab { group, url }, &["GITLAB_TOKEN"], common)
        }
        SweepCmd::Urls { file, common } => (Source::Urls { file }, &[], common),
    };
    let token = token_vars
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|t| !t.is_empty()))
        .map(Secret::new);
    // Azure DevOps answers an anonymous listing with a sign-in page, not repositories: say
    // which variable is missing before any request is sent or any datastore is created.
    if token.is_none() && matches!(source, Source::Ado { .. }) {
        anyhow::bail!(
            "sweep ado needs a credential: set AZURE_DEVOPS_EXT_PAT to a PAT with Code (Read) and Project and Team \
             (Read) scopes, or AZURE_DEVOPS_ACCESS_TOKEN to an Entra access token; nothing was sent"
        );
    }
    sweep_run(source, token, &common)
}

fn sweep_run(source: Source, token: Option<Secret>, c: &Common) -> anyhow::Result<ExitCode> {
    // Only the team's own --config applies: no patrol.toml is discovered in the sweep.
    let settings = ScanSettings {
        paths: Vec::new(),
        config_file: c.config.clone(),
        no_config: c.config.is_none(),
        rule_files: c.rules.clone(),
        baseline: c.baseline.clone(),
        threads: c.threads,
        ..ScanSettings::default()
    };
    let setup = ScanSetup::new(ScanConfig::new(&settings)?, c.honour_repo_config);
    let act = super::act::prepare(&act_args(&source, c), c.audit_log.as_ref())?;
    if c.join && !is_url(&c.datastore.to_string_lossy()) {
        anyhow::bail!(
            "--join needs a datastore shared by many workers (--datastore postgres://...)"
        );
    }
    let mut store = patrol::store::open(
        &c.datastore.to_string_lossy(),
        &patrol::store::OpenOptions {
            store_secrets: c.store_secrets,
            lease_secs: Some(c.lease),
            migrate: c.migrate,
        },
    )?;
    let shared = is_url(&c.datastore.to_string_lossy());
    let cache = c.cache.clone().unwrap_or_else(|| {
        if shared {
            return PathBuf::from("patrol-sweep-cache");
        }
        c.datastore
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("patrol-sweep-cache")
    });
    let mut git = GitRunner {
        // Local paths and file:// only when the user listed them (`sweep urls`), never because
        // a listing API said so.
        allow_local: matches!(source, Source::Urls { .. }),
        ..GitRunner::default()
    };
    if let Some(s) = std::env::var("PATROL_GIT_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        git.timeout = std::time::Duration::from_secs(s.max(1));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    git.cancel = Some(cancel.clone());
    let opts = SweepOptions {
        source,
        token,
        cache,
        jobs: c.jobs.max(1),
        include_forks: c.include_forks,
        include_archived: c.include_archived,
        exclude: c.exclude_repo.clone(),
        max_repo_size: c.max_repo_size,
        full: c.full,
        join: c.join,
        git,
    };
    let http = super::act::http_client()?;
    let counters = Counters::default();
    {
        let cancel = cancel.clone();
        let _ = ctrlc::set_handler(move || {
            if cancel.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!(
                "patrol: interrupted; finishing the repository in hand (Ctrl-C again to quit)"
            );
        });
    }
    let mut progress = Progress::new(!c.no_progress && io::stderr().is_terminal());
    // A shared sweep's lines name this worker and every repository it finishes.
    progress.worker = store.worker_id();
    let mut on_event = |e: &Event| progress.event(e, &counters);
    let run = sweep::run(
        &mut *store,
        &http,
        &opts,
        &setup,
        &counters,
        &cancel,
        &mut on_event,
    );
    progress.finish();
    let run = run?;
    let st = &run.status;
    eprintln!(
        "patrol: sweep {}{}: {} listed, {} scanned, {} unchanged, {} skipped, {} failed, {} pending; {} blobs, {} bytes read; {} findings ({} new)",
        st.sweep,
        if st.complete { " complete" } else { " incomplete" },
        st.repositories.listed,
        st.repositories.scanned,
        st.repositories.unchanged,
        st.repositories.skipped,
        st.repositories.failed,
        st.repositories.pending,
        st.blobs_scanned,
        st.bytes_scanned,
        st.findings,
        st.new_findings,
    );
    let mut code = sweep_exit(st, run.interrupted);
    if let Some(act) = act.filter(|_| !run.interrupted) {
        code = code.merge(act_on(&act, &mut *store, run.sweep.id, &run.secrets)?);
    }
    Ok(code)
}

/// 2 when any repository failed or is still pending (or Ctrl-C), else 1 with findings.
fn sweep_exit(st: &SweepStatus, interrupted: bool) -> ExitCode {
    if interrupted || st.repositories.failed > 0 || st.repositories.pending > 0 {
        ExitCode::Incomplete
    } else if st.findings > 0 {
        ExitCode::Findings
    } else {
        ExitCode::Clean
    }
}

fn act_args(source: &Source, c: &Common) -> super::act::ActArgs {
    let mut a = super::act::ActArgs {
        verify: c.verify || c.revoke,
        revoke: c.revoke,
        yes: c.yes,
        notify: c.notify.clone(),
        ..Default::default()
    };
    match source {
        Source::Ado { org, api_base, .. } => {
            a.ado_org = Some(org.clone());
            a.api_base = api_base.clone();
        }
        Source::GitHub { api_url, .. } => a.github_api = api_url.clone(),
        Source::GitLab { url, .. } => a.gitlab_url = url.clone(),
        Source::Urls { .. } => {}
    }
    a
}

/// Verifies (and revokes) once per secret of the sweep whose whole value is at hand (seen in
/// this run, or stored with --store-secrets), and keeps each outcome in the datastore.
fn act_on(
    act: &super::act::Act,
    store: &mut dyn Store,
    sweep: i64,
    secrets: &HashMap<String, Secret>,
) -> anyhow::Result<ExitCode> {
    let stored = store.findings(&FindingQuery {
        sweep: Some(sweep),
        only_new: false,
    })?;
    let mut findings = Vec::new();
    let mut missing = 0;
    for f in &stored {
        let mut finding = to_finding(f);
        match secrets.get(f.row.fingerprint.as_str()) {
            Some(s) => finding.secret = s.clone(),
            None if f.secret_stored => {}
            None => {
                missing += 1;
                continue;
            }
        }
        findings.push(finding);
    }
    let mut code = ExitCode::Clean;
    if missing > 0 {
        eprintln!(
            "patrol: {missing} finding(s) of earlier runs not verified: their secrets are not stored (sweep with --store-secrets)"
        );
        code = ExitCode::Incomplete;
    }
    let (acted, revoked) = act.run_with_outcomes(&mut findings, None)?;
    code = code.merge(acted);
    let now = patrol::clock::now_rfc3339();
    for f in &findings {
        if let Some(v) = &f.verification {
            let revoked_at = matches!(
                revoked.get(&f.fingerprint.0),
                Some(patrol::act::Outcome::Revoked)
            )
            .then(|| now.clone());
            store.record_outcome(
                &f.fingerprint,
                &Outcome {
                    status: v.status,
                    owner: v.owner.clone(),
                    checked_at: v.checked_at.clone(),
                    revoked_at,
                },
            )?;
        }
    }
    Ok(code)
}

fn status(datastore: &Path, sweep: Option<i64>, format: &str) -> anyhow::Result<ExitCode> {
    let store = patrol::store::open_existing(&datastore.to_string_lossy())?;
    let st = store.status(sweep)?;
    let workers = store.workers(st.sweep)?;
    let in_flight = store.in_flight(st.sweep)?;
    let shared = is_url(&datastore.to_string_lossy());
    let mut out = io::stdout().lock();
    let res = if format == "json" {
        let mut v = serde_json::to_value(&st).context("status as JSON")?;
        if shared {
            v["workers"] = serde_json::to_value(&workers).context("status as JSON")?;
            v["in_flight"] = serde_json::to_value(&in_flight).context("status as JSON")?;
        }
        writeln!(out, "{v}")
    } else {
        human_status(&mut out, &st).and_then(|()| human_workers(&mut out, &workers, &in_flight))
    };
    super::output::ignore_broken_pipe(res)?;
    Ok(ExitCode::Clean)
}

fn human_status(out: &mut impl Write, st: &SweepStatus) -> io::Result<()> {
    let r = &st.repositories;
    writeln!(
        out,
        "sweep {} of {} (started {}): {}",
        st.sweep,
        for_terminal(&st.target),
        st.started_at,
        if st.complete {
            "complete"
        } else {
            "incomplete"
        }
    )?;
    writeln!(
        out,
        "repositories: {} listed, {} scanned, {} unchanged, {} skipped, {} failed, {} pending",
        r.listed, r.scanned, r.unchanged, r.skipped, r.failed, r.pending
    )?;
    writeln!(
        out,
        "read: {} blobs, {} bytes; findings: {} ({} new)",
        st.blobs_scanned, st.bytes_scanned, st.findings, st.new_findings
    )?;
    for n in &st.not_scanned {
        writeln!(
            out,
            "  {} {}: {}",
            n.state.as_str(),
            for_terminal(&n.repository),
            for_terminal(&n.reason)
        )?;
    }
    Ok(())
}

/// The live workers and the repositories they hold (shared datastores).
fn human_workers(out: &mut impl Write, workers: &[WorkerInfo], fl: &[InFlight]) -> io::Result<()> {
    if !workers.is_empty() {
        writeln!(
            out,
            "workers: {} live of {}",
            workers.iter().filter(|w| w.live).count(),
            workers.len()
        )?;
    }
    for w in workers {
        writeln!(
            out,
            "  {} {} (pid {} on {}) since {}, last heartbeat {}",
            if w.live { "live" } else { "gone" },
            for_terminal(&w.worker),
            w.pid,
            for_terminal(&w.host),
            w.started_at,
            w.heartbeat_at
        )?;
    }
    if !fl.is_empty() {
        writeln!(out, "in flight: {}", fl.len())?;
    }
    for f in fl {
        writeln!(
            out,
            "  {} held by {} since {} (lease until {}{})",
            for_terminal(&f.repository),
            for_terminal(&f.worker),
            f.since,
            f.lease_until,
            if f.expired { ", expired" } else { "" }
        )?;
    }
    Ok(())
}

/// The progress line (terminal only) and the per-repository lines on stderr.
struct Progress {
    /// The worker's name in a shared sweep: prefixed to every line, and each finished
    /// repository gets a line.
    worker: Option<String>,
    bar: Option<indicatif::ProgressBar>,
    state: std::cell::RefCell<(u64, u64, Vec<String>)>,
}

impl Progress {
    fn new(show: bool) -> Self {
        Self {
            worker: None,
            bar: show.then(|| {
                let b = indicatif::ProgressBar::new(0);
                b.set_style(
                    indicatif::ProgressStyle::with_template("{pos}/{len} repositories {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            }),
            state: std::cell::RefCell::new((0, 0, Vec::new())),
        }
    }

    fn line(&self, s: String) {
        let s = match &self.worker {
            Some(w) => for_terminal(&format!("[{w}] {s}")),
            None => for_terminal(&s),
        };
        match &self.bar {
            Some(b) => b.println(format!("patrol: {s}")),
            None => eprintln!("patrol: {s}"),
        }
    }

    fn event(&self, e: &Event, counters: &Counters) {
        let mut st = self.state.borrow_mut();
        match e {
            Event::Planned {
                sweep,
                total,
                done,
                resumed,
            } => {
                st.0 = *total as u64;
                st.1 = *done as u64;
                if *resumed {
                    self.line(format!(
                        "continuing unfinished sweep {sweep}: {done} of {total} repositories already done"
                    ));
                }
            }
            Event::Started(r) => st.2.push(r.clone()),
            Event::Finished {
                repo,
                state,
                reason,
            } => {
                st.1 += 1;
                st.2.retain(|x| x != repo);
                match state {
                    RepoState::Failed => self.line(format!(
                        "failed: {repo}: {}",
                        reason.as_deref().unwrap_or("")
                    )),
                    RepoState::Skipped => self.line(format!(
                        "note: skipped {repo}: {}",
                        reason.as_deref().unwrap_or("")
                    )),
                    _ if self.worker.is_some() => self.line(format!("{repo}: {}", state.as_str())),
                    _ => {}
                }
            }
            Event::Note(n) => self.line(format!("note: {n}")),
        }
        if let Some(b) = &self.bar {
            b.set_length(st.0);
            b.set_position(st.1);
            b.set_message(format!(
                "| {} MiB | {} hits | {}",
                counters.bytes.load(Ordering::Relaxed) / 1_048_576,
                counters.hits.load(Ordering::Relaxed),
                st.2.last().map(String::as_str).unwrap_or("")
            ));
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
