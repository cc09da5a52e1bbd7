//! The acting stage's flags: `scan --verify/--revoke`, and `patrol act --from REPORT`, which
//! runs the same stage on a saved report. The stage itself is `patrol::act::Stage`; this file
//! turns flags into its configuration and prints its lines. Also the pieces `patrol ado`
//! shares: the HTTP client from the environment, the audit context, the admin credential.
//! The plan and outcomes go to stderr so stdout stays the report.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use patrol::act::{outcome_line, ActConfig, Outcome, Stage, VERIFY_CONCURRENCY};
use patrol::audit::{AuditContext, AuditLog, Auditor};
use patrol::finding::{Finding, ScanSummary};
use patrol::provider::azure_devops::{admin_auth, AdoUrls};
use patrol::provider::http::{Auth, HttpClient};
use patrol::provider::{Endpoints, Registry, Target};
use patrol::report::{escape::for_terminal, Format, ReportOptions};
use patrol::scan::ScanOutcome;

use super::exit::ExitCode;
pub use super::http::http_client;

/// Verification and revocation flags of `patrol scan`.
#[derive(Debug, Args, Clone, Default)]
pub struct ActArgs {
    /// Check each finding's token with its provider (adds `verification` to each finding).
    #[arg(long)]
    pub verify: bool,
    /// Revoke live leaked tokens (implies --verify). A dry run unless --yes is given.
    /// Azure DevOps needs --ado-org and an admin credential in AZURE_DEVOPS_EXT_PAT or
    /// AZURE_DEVOPS_ACCESS_TOKEN.
    #[arg(long)]
    pub revoke: bool,
    /// Azure DevOps organization: adds the connectionData check and is where leaked PATs are
    /// looked up and revoked.
    #[arg(long, value_name = "ORG")]
    pub ado_org: Option<String>,
    /// Really revoke (without it, --revoke only prints and audits the plan), and send the
    /// --notify messages (valid without --revoke).
    #[arg(long)]
    pub yes: bool,
    /// Tell each live leaked token's owner (needs --verify).
    #[command(flatten)]
    pub notify: super::notify::NotifyArgs,
    /// Replace https://dev.azure.com/{org}, https://vssps.dev.azure.com/{org} and the profile
    /// host (Azure DevOps Server collections). Plain http only to a loopback address.
    #[arg(long, value_name = "URL")]
    pub api_base: Option<String>,
    /// Replace https://api.github.com (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(long, value_name = "URL")]
    pub github_api: Option<String>,
    /// Replace https://gitlab.com (self-managed GitLab).
    #[arg(long, value_name = "URL")]
    pub gitlab_url: Option<String>,
}

impl ActArgs {
    /// Whether the acting stage runs at all.
    pub fn is_active(&self) -> bool {
        self.verify || self.revoke
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            ado_api_base: self.api_base.clone(),
            github_api: self.github_api.clone(),
            gitlab_url: self.gitlab_url.clone(),
        }
    }
}

/// The admin credential, from the environment only.
pub fn admin_credential() -> anyhow::Result<Auth> {
    Ok(admin_auth(
        std::env::var("AZURE_DEVOPS_EXT_PAT").ok(),
        std::env::var("AZURE_DEVOPS_ACCESS_TOKEN").ok(),
    )?)
}

/// The audit log named by `--audit-log`, opened before any request is sent.
pub fn open_audit(path: Option<&Path>) -> anyhow::Result<Option<AuditLog>> {
    path.map(|p| AuditLog::open(p).context("cannot open --audit-log"))
        .transpose()
}

/// The audit context of this run; the actor is found as for scan events (git `user.email` /
/// `user.name`, else the OS user), so one trail names one person however patrol was run.
pub fn audit_context(scope_type: &str, scope: String) -> AuditContext {
    let (upn, name) = super::triage::actor();
    AuditContext::new(upn, name, scope_type, scope)
}

/// The acting stage, prepared before the scan so that a bad override, an unwritable audit log
/// or a missing admin credential stops the run before any work is done.
pub struct Act {
    config: ActConfig,
    log: Option<AuditLog>,
    http: HttpClient,
    admin: Option<Auth>,
    registry: Registry,
    notify: Option<super::notify::Notify>,
}

/// `None` when neither `--verify` nor `--revoke` was given.
pub fn prepare(a: &ActArgs, audit_log: Option<&PathBuf>) -> anyhow::Result<Option<Act>> {
    if !a.is_active() {
        if a.notify.is_active() {
            anyhow::bail!("--notify / --notify-webhook tell owners of live tokens: add --verify");
        }
        return Ok(None);
    }
    let notify = super::notify::prepare(&a.notify)?;
    let ends = a.endpoints();
    AdoUrls::new(a.ado_org.as_deref(), a.api_base.as_deref())?;
    Target::new(
        "--github-api",
        ends.github_api.as_deref(),
        "api.github.com",
        &[],
    )?;
    Target::new(
        "--gitlab-url",
        ends.gitlab_url.as_deref(),
        "gitlab.com",
        &[],
    )?;
    let admin = if a.revoke && a.ado_org.is_some() {
        Some(admin_credential()?)
    } else {
        None
    };
    Ok(Some(Act {
        config: ActConfig {
            verify: a.verify || a.revoke,
            revoke: a.revoke,
            yes: a.yes,
            ado_org: a.ado_org.clone(),
            endpoints: ends,
            concurrency: VERIFY_CONCURRENCY,
        },
        log: open_audit(audit_log.map(PathBuf::as_path))?,
        http: http_client()?,
        admin,
        registry: Registry::builtin(),
        notify,
    }))
}

impl Act {
    /// Verifies (and with `--revoke` revokes) these findings: the library's acting stage,
    /// its lines printed on stderr. Returns the exit code of the acting stage: 2 when anything
    /// could not be checked or revoked. `scan` is the scan's audit context: its entries and
    /// these share one correlation id (one per run).
    pub fn run(
        &self,
        findings: &mut [Finding],
        scan: Option<&AuditContext>,
    ) -> anyhow::Result<ExitCode> {
        Ok(self.run_with_outcomes(findings, scan)?.0)
    }

    /// [`Act::run`], also returning each revocation attempt's outcome by fingerprint (what a
    /// datastore keeps).
    pub fn run_with_outcomes(
        &self,
        findings: &mut [Finding],
        scan: Option<&AuditContext>,
    ) -> anyhow::Result<(ExitCode, std::collections::HashMap<String, Outcome>)> {
        let scope = self.config.ado_org.clone().unwrap_or_else(|| "scan".into());
        let mut ctx = audit_context("Organization", scope);
        if let Some(s) = scan {
            ctx.correlation_id = s.correlation_id.clone();
            ctx.actor_upn = s.actor_upn.clone();
            ctx.actor_display_name = s.actor_display_name.clone();
        }
        let audit = Auditor::new(self.log.as_ref(), ctx);
        let stage = Stage {
            config: &self.config,
            http: &self.http,
            admin: self.admin.clone(),
            registry: &self.registry,
        };
        let report = stage.run(findings, &audit, &mut |line| {
            eprintln!("{}", for_terminal(line))
        })?;
        let mut code = if report.incomplete {
            ExitCode::Incomplete
        } else {
            ExitCode::Clean
        };
        if let Some(n) = &self.notify {
            let repo = scan.map_or("the scanned repository".to_string(), |s| {
                s.scope_display_name.clone()
            });
            code = code.merge(super::notify::tell_leak_owners(
                n,
                findings,
                &repo,
                &report.revoked,
                self.config.yes,
                &audit,
            )?);
        }
        Ok((code, report.revoked))
    }
}

/// One line per token: `revoked`, `would revoke`, `FAILED: reason`.
pub fn print_outcome(label: &str, o: &Outcome) {
    eprintln!("{}", for_terminal(&outcome_line(label, o)));
}

/// `patrol act --from REPORT`: the acting stage of `scan --verify/--revoke`, on the findings
/// of a saved report.
#[derive(Debug, Args)]
pub struct ActFromArgs {
    /// The report to act on: JSON or JSONL written by `patrol scan --format json|jsonl
    /// --show-secrets` (a redacted report is refused).
    #[arg(long, value_name = "REPORT")]
    from: PathBuf,
    #[command(flatten)]
    act: ActArgs,
    /// Append every verification and revocation to FILE (JSON Lines); nothing is sent if it
    /// cannot be opened.
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Output format of the acted-on report (with `verification`).
    #[arg(long, short = 'f', default_value = "human", value_parser = Format::NAMES.to_vec())]
    format: String,
    /// Print whole secrets instead of redacting them.
    #[arg(long)]
    show_secrets: bool,
}

/// Runs `patrol act --from`. Without --verify or --revoke, verifies.
pub fn run_from(mut a: ActFromArgs) -> anyhow::Result<ExitCode> {
    let format = Format::parse(&a.format).expect("clap checked the value");
    let mut findings = read_report(&a.from)?;
    if findings.iter().any(|f| f.secret.is_redacted()) {
        eprintln!(
            "patrol: error: {}: the report is redacted; write it with `patrol scan --format json --show-secrets` to act on it",
            for_terminal(&a.from.display().to_string())
        );
        return Ok(ExitCode::Incomplete);
    }
    if !a.act.is_active() {
        a.act.verify = true;
    }
    let act = prepare(&a.act, a.audit_log.as_ref())?.expect("the stage is active");
    let acted = act.run(&mut findings, None)?;
    let summary = ScanSummary {
        findings: findings.len() as u64,
        complete: true,
        ..Default::default()
    };
    let outcome = ScanOutcome { findings, summary };
    let mut out: Box<dyn std::io::Write> = Box::new(std::io::BufWriter::new(std::io::stdout()));
    super::output::write_report(
        &outcome,
        format,
        &mut out,
        ReportOptions {
            show_secrets: a.show_secrets,
            color: std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none(),
            ..ReportOptions::default()
        },
    )?;
    let found = if outcome.findings.is_empty() {
        ExitCode::Clean
    } else {
        ExitCode::Findings
    };
    Ok(found.merge(acted))
}

/// The findings of a JSON (one array) or JSONL (one object per line) report.
fn read_report(path: &Path) -> anyhow::Result<Vec<Finding>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read report {}", path.display()))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text)
            .with_context(|| format!("report {}: not a patrol JSON report", path.display()));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).with_context(|| {
                format!(
                    "report {}:{}: not a patrol finding object",
                    path.display(),
                    n + 1
                )
            })
        })
        .collect()
}
