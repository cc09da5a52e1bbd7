//! The acting stage of `patrol scan`: `--verify` checks each finding with its provider,
//! `--revoke` plans (and with `--yes` executes) revocation of the live ones. Also the pieces
//! `patrol ado` shares: the HTTP client from the environment, the audit context, the admin
//! credential. The plan and outcomes go to stderr so stdout stays the report.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use patrol::audit::{AuditContext, AuditLog};
use patrol::finding::Finding;
use patrol::finding::VerificationStatus;
use patrol::provider::azure_devops::{admin_auth, AdoAdmin, AdoUrls};
use patrol::provider::http::{Auth, HttpClient};
use patrol::provider::{Endpoints, Target};
use patrol::report::escape::for_terminal;
use patrol::revoke::{self, Auditor, LeakMatch, Outcome, RevokePlan};

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

/// Tokens checked at once.
const VERIFY_CONCURRENCY: usize = 4;

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
    args: ActArgs,
    log: Option<AuditLog>,
    http: HttpClient,
    admin: Option<Auth>,
    notify: Option<super::notify::Notify>,
    /// Revocation outcome by fingerprint, for the owners' messages.
    revoked: std::sync::Mutex<std::collections::HashMap<String, Outcome>>,
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
        args: a.clone(),
        log: open_audit(audit_log.map(PathBuf::as_path))?,
        http: http_client()?,
        admin,
        notify,
        revoked: Default::default(),
    }))
}

impl Act {
    /// Verifies (and with `--revoke` revokes) this scan's findings. Returns the exit code of
    /// the acting stage: 2 when anything could not be checked or revoked. `scan` is the scan's
    /// audit context: its entries and these share one correlation id (one per run).
    pub fn run(
        &self,
        findings: &mut [Finding],
        scan: Option<&AuditContext>,
    ) -> anyhow::Result<ExitCode> {
        let a = &self.args;
        let ends = a.endpoints();
        let scope = a.ado_org.clone().unwrap_or_else(|| "scan".into());
        let mut ctx = audit_context("Organization", scope);
        if let Some(s) = scan {
            ctx.correlation_id = s.correlation_id.clone();
            ctx.actor_upn = s.actor_upn.clone();
            ctx.actor_display_name = s.actor_display_name.clone();
        }
        let audit = Auditor::new(self.log.as_ref(), ctx);
        let owners = revoke::verify_findings(
            &self.http,
            &ends,
            findings,
            a.ado_org.as_deref(),
            VERIFY_CONCURRENCY,
            &audit,
        );
        let mut code = ExitCode::Clean;
        if findings.iter().any(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == VerificationStatus::Error)
        }) {
            code = ExitCode::Incomplete;
        }
        if a.revoke {
            code = code.merge(self.revoke_leaked(&ends, findings, &owners, &audit)?);
        }
        if let Some(n) = &self.notify {
            let repo = scan.map_or("the scanned repository".to_string(), |s| {
                s.scope_display_name.clone()
            });
            let revoked = self.revoked.lock().unwrap_or_else(|p| p.into_inner());
            code = code.merge(super::notify::tell_leak_owners(
                n, findings, &repo, &revoked, a.yes, &audit,
            )?);
        }
        for e in audit.errors() {
            eprintln!("patrol: {}", for_terminal(&e));
            code = ExitCode::Incomplete;
        }
        Ok(code)
    }

    /// Keeps a revocation outcome for the owners' messages.
    fn note_outcome(&self, fp: Option<&patrol::finding::Fingerprint>, o: &Outcome) {
        if let Some(fp) = fp {
            self.revoked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(fp.0.clone(), o.clone());
        }
    }

    fn revoke_leaked(
        &self,
        ends: &Endpoints,
        findings: &[Finding],
        owners: &[Option<patrol::provider::Owner>],
        audit: &Auditor<'_>,
    ) -> anyhow::Result<ExitCode> {
        let (a, http) = (&self.args, &self.http);
        let mode = if a.yes {
            "revoking"
        } else {
            "dry run (add --yes to revoke)"
        };
        let mut code = ExitCode::Clean;
        let live = |p: &str| -> Vec<&Finding> {
            findings
                .iter()
                .filter(|f| f.provider == p && revoke::is_live(f))
                .collect()
        };
        for provider in ["github", "gitlab"] {
            let list = live(provider);
            if list.is_empty() {
                continue;
            }
            eprintln!("patrol: {provider}: {mode}: {} live token(s)", list.len());
            let res = if provider == "github" {
                revoke::execute_github(http, ends, &list, a.yes, audit)
            } else {
                revoke::execute_gitlab(http, ends, &list, a.yes, audit)
            };
            for (f, o) in list.iter().zip(&res) {
                print_outcome(&format!("{} {}", f.rule, f.secret.redacted()), o);
                self.note_outcome(Some(&f.fingerprint), o);
                if o.is_failure() {
                    code = ExitCode::Incomplete;
                }
            }
        }
        for f in findings {
            if let Some(why) = revoke::not_revocable(f) {
                let label = format!("{} {} ({why})", f.rule, f.secret.redacted());
                eprintln!("patrol: not revoked: {}", for_terminal(&label));
                code = ExitCode::Incomplete;
            }
        }
        let ado: Vec<(usize, &Finding)> = findings
            .iter()
            .enumerate()
            .filter(|(_, f)| f.provider == "azure_devops" && revoke::is_live(f))
            .collect();
        if !ado.is_empty() {
            code = code.merge(self.revoke_leaked_ado(&ado, owners, audit)?);
        }
        Ok(code)
    }

    fn revoke_leaked_ado(
        &self,
        ado: &[(usize, &Finding)],
        owners: &[Option<patrol::provider::Owner>],
        audit: &Auditor<'_>,
    ) -> anyhow::Result<ExitCode> {
        let a = &self.args;
        let Some(org) = a.ado_org.as_deref() else {
            eprintln!(
                "patrol: azure_devops: {} live token(s) not revoked: give --ado-org ORG",
                ado.len()
            );
            return Ok(ExitCode::Incomplete);
        };
        let cred = self
            .admin
            .clone()
            .expect("prepare() read the admin credential");
        let admin = AdoAdmin::new(&self.http, org, a.api_base.as_deref(), cred)?;
        let mut plan = RevokePlan::default();
        let mut code = ExitCode::Clean;
        for (i, f) in ado {
            let label = format!("{} {}", f.rule, f.secret.redacted());
            let Some(owner) = &owners[*i] else {
                eprintln!("patrol: {label}: owner unknown; nothing revoked");
                code = ExitCode::Incomplete;
                continue;
            };
            match revoke::match_leaked_ado(&admin, f, owner) {
                Ok(LeakMatch::Matched(item)) => plan.items.push(item),
                Ok(LeakMatch::NoMatch { user, candidates }) => {
                    eprintln!(
                    "patrol: {label}: no PAT of {} matches the token's crossCompanyCorrelatingId; nothing revoked. Candidates (revoke one with `patrol ado revoke --org {org} --user {} --name NAME`):",
                    for_terminal(&user.upn),
                    for_terminal(&user.upn)
                );
                    let mut p = RevokePlan::default();
                    p.add_user(&user, candidates.clone(), &Default::default());
                    for l in p.render() {
                        eprintln!("{}", for_terminal(&l));
                    }
                    revoke::audit_no_match(audit, org, f, &user.upn, candidates.len(), a.yes);
                    code = ExitCode::Incomplete;
                }
                Err(e) => {
                    eprintln!("patrol: {label}: {}", for_terminal(&e.to_string()));
                    code = ExitCode::Incomplete;
                }
            }
        }
        if plan.items.is_empty() {
            return Ok(code);
        }
        let mode = if a.yes {
            "revoking"
        } else {
            "dry run (add --yes to revoke)"
        };
        eprintln!(
            "patrol: azure_devops: {mode}: {} PAT(s) in {org}:",
            plan.items.len()
        );
        for l in plan.render() {
            eprintln!("{}", for_terminal(&l));
        }
        let outcomes = revoke::execute_ado(&admin, &plan, a.yes, audit);
        for (item, o) in plan.items.iter().zip(&outcomes) {
            self.note_outcome(item.fingerprint.as_ref(), o);
            print_outcome(
                &format!("{} {}", item.user.upn, item.token.authorization_id),
                o,
            );
            if o.is_failure() {
                code = ExitCode::Incomplete;
            }
        }
        Ok(code)
    }
}

/// One line per token: `revoked`, `would revoke`, `FAILED: reason`.
pub fn print_outcome(label: &str, o: &Outcome) {
    let text = match o {
        Outcome::DryRun => "would revoke (dry run)".to_string(),
        Outcome::Revoked => "revoked".to_string(),
        Outcome::Failed(r) => format!("FAILED: {r}"),
        Outcome::Skipped(r) => format!("skipped: {r}"),
    };
    eprintln!("patrol: {}: {}", for_terminal(label), for_terminal(&text));
}
