//! `patrol ado pats|revoke|revoke-rule`: the Azure DevOps organisation administrator's
//! flows over the token-administration API. The admin credential comes from the environment
//! only (`AZURE_DEVOPS_EXT_PAT` or `AZURE_DEVOPS_ACCESS_TOKEN`). Revocations are dry runs
//! unless `--yes`; every token's outcome is printed and audited.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use patrol::act::{self, Outcome, RevokePlan, Selection};
use patrol::audit::Auditor;
use patrol::clock::{format_time, parse_time};
use patrol::notify::messages;
use patrol::provider::azure_devops::{AdoAdmin, AdoUser, SessionToken};
use patrol::provider::ProviderError;
use patrol::report::csv;
use patrol::report::escape::for_terminal;
use serde_json::json;

use super::act::{admin_credential, audit_context, http_client, open_audit, print_outcome};
use super::exit::ExitCode;
use super::output::Stdout;

#[derive(Debug, Args)]
pub struct AdoArgs {
    #[command(subcommand)]
    command: AdoCommand,
}

#[derive(Debug, Subcommand)]
enum AdoCommand {
    /// Inventory of users' PATs (name, scope, validity, authorization id, public or not).
    Pats(PatsArgs),
    /// Revoke users' PATs (a dry run listing exactly what would go, unless --yes).
    Revoke(RevokeArgs),
    /// Reject every token created before a time for the given scopes, JWTs included (a dry
    /// run unless --yes).
    RevokeRule(RuleArgs),
}

/// Flags every `ado` subcommand shares.
#[derive(Debug, Args)]
struct Common {
    /// Azure DevOps organization.
    #[arg(long, value_name = "ORG")]
    org: String,
    /// Replace https://vssps.dev.azure.com/{org} and https://dev.azure.com/{org} (Azure DevOps
    /// Server collections). Plain http only to a loopback address.
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
    /// Append audit entries to FILE (JSON Lines).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
}

/// Whose PATs.
#[derive(Debug, Args)]
struct Users {
    /// A user principal name (repeatable).
    #[arg(long = "user", value_name = "UPN")]
    users: Vec<String>,
    /// A file with one UPN per line (`#` starts a comment).
    #[arg(long, value_name = "FILE")]
    users_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PatsArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    who: Users,
    /// Every user of the organization (pages _apis/graph/users).
    #[arg(long, conflicts_with_all = ["users", "users_file"])]
    all_users: bool,
    /// Only PATs that expire within DAYS from now.
    #[arg(long, value_name = "DAYS")]
    expiring_within: Option<u32>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: PatsFormat,
    /// With --expiring-within: tell each owner which PATs expire when (and the administrator).
    #[command(flatten)]
    notify: super::notify::NotifyArgs,
    /// With --notify: really send the messages (without it they are printed).
    #[arg(long)]
    yes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PatsFormat {
    Human,
    Json,
    Csv,
}

#[derive(Debug, Args)]
struct RevokeArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    who: Users,
    /// Only PATs created after DATE (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    created_after: Option<String>,
    /// Only PATs whose name matches GLOB (case-insensitive).
    #[arg(long, value_name = "GLOB")]
    name: Option<String>,
    /// Really revoke (and, with --notify, send the messages).
    #[arg(long)]
    yes: bool,
    /// Why, for the messages to the owners (with --notify).
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Tell each user which of their PATs were revoked and why.
    #[command(flatten)]
    notify: super::notify::NotifyArgs,
}

/// Scopes a revocation rule names when --scopes is not given: the common resource scopes.
const DEFAULT_RULE_SCOPES: &str = "vso.build vso.build_execute vso.code vso.code_write vso.code_manage vso.packaging vso.packaging_write vso.packaging_manage vso.release vso.release_execute vso.release_manage vso.work vso.work_write vso.work_full vso.project vso.project_write vso.project_manage";

#[derive(Debug, Args)]
struct RuleArgs {
    #[command(flatten)]
    common: Common,
    /// Reject tokens created before DATETIME (RFC 3339, or YYYY-MM-DD for midnight UTC).
    #[arg(long, value_name = "DATETIME")]
    created_before: String,
    /// Space-separated OAuth scopes; a token with any of them is rejected.
    #[arg(long, value_name = "SCOPES", default_value = DEFAULT_RULE_SCOPES)]
    scopes: String,
    /// Really create the rule.
    #[arg(long)]
    yes: bool,
}

pub fn run(a: AdoArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        AdoCommand::Pats(p) => pats(p),
        AdoCommand::Revoke(r) => revoke_pats(r),
        AdoCommand::RevokeRule(r) => revoke_rule(r),
    }
}

fn read_users(who: &Users) -> anyhow::Result<Vec<String>> {
    let mut out = who.users.clone();
    if let Some(f) = &who.users_file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read --users-file {}", f.display()))?;
        out.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    Ok(out)
}

/// Resolves each UPN (a missing user is one stderr line and exit 2, the rest go on).
fn resolve(admin: &AdoAdmin<'_>, upns: &[String], code: &mut ExitCode) -> Vec<AdoUser> {
    let mut out = Vec::new();
    for u in upns {
        match admin.resolve_user(u) {
            Ok(user) => out.push(user),
            Err(e) => {
                eprintln!("patrol: {}", for_terminal(&e.to_string()));
                *code = ExitCode::Incomplete;
            }
        }
    }
    out
}

fn pats(a: PatsArgs) -> anyhow::Result<ExitCode> {
    let upns = read_users(&a.who)?;
    if !a.all_users && upns.is_empty() {
        bail!("name the users: --user UPN, --users-file FILE or --all-users");
    }
    let expiring_within = a
        .expiring_within
        .map(|d| time::Duration::days(d.into()))
        .map(|w| match time::OffsetDateTime::now_utc().checked_add(w) {
            Some(_) => Ok(w),
            None => Err(anyhow::anyhow!(
                "--expiring-within {}: too many days (the window ends after year 9999)",
                a.expiring_within.unwrap_or_default()
            )),
        })
        .transpose()?;
    if a.notify.is_active() && a.expiring_within.is_none() {
        bail!("--notify with `ado pats` is the expiry report: add --expiring-within DAYS");
    }
    let notify = match a.expiring_within {
        Some(_) => super::notify::prepare(&a.notify)?,
        None => None,
    };
    with_admin(&a.common, |admin, audit| {
        let mut code = ExitCode::Clean;
        let users = if a.all_users {
            admin.list_users()?
        } else {
            resolve(admin, &upns, &mut code)
        };
        let sel = Selection {
            expiring_within,
            ..Default::default()
        };
        let mut plan = RevokePlan::default();
        for u in &users {
            match admin.list_pats(u) {
                Ok(p) => plan.add_user(u, p, &sel),
                Err(e) => {
                    eprintln!(
                        "patrol: {}",
                        for_terminal(&tokenadmin_error(&e, a.common.api_base.is_some()))
                    );
                    code = ExitCode::Incomplete;
                }
            }
        }
        audit.record(patrol::audit::pat_inventory(
            &a.common.org,
            users.len(),
            plan.items.len(),
        ));
        let mut out = std::io::BufWriter::new(std::io::stdout());
        let rows: Vec<(&AdoUser, &SessionToken)> =
            plan.items.iter().map(|i| (&i.user, &i.token)).collect();
        super::output::ignore_broken_pipe(
            write_pats(&mut out, a.format, &rows).and_then(|()| out.flush()),
        )?;
        if let (Some(n), Some(days)) = (&notify, a.expiring_within) {
            // A revoked PAT no longer expires: nobody needs telling about it.
            let live = RevokePlan {
                items: plan
                    .items
                    .iter()
                    .filter(|i| i.token.is_valid != Some(false))
                    .cloned()
                    .collect(),
            };
            let notices = notices(&live);
            let mut msgs = messages::expiry_messages(&a.common.org, days, &notices);
            msgs.push(messages::expiry_summary(
                &a.common.org,
                days,
                &notices,
                &n.admin(),
            ));
            code = code.merge(n.run(&msgs, a.yes, audit)?);
        }
        finish(audit, code)
    })
}

fn write_pats(
    out: &mut impl Write,
    format: PatsFormat,
    rows: &[(&AdoUser, &SessionToken)],
) -> std::io::Result<()> {
    match format {
        PatsFormat::Json => {
            let v: Vec<_> = rows
                .iter()
                .map(|(u, t)| {
                    json!({
                        "user": u.upn,
                        "subject_descriptor": u.descriptor,
                        "display_name": t.display_name,
                        "scope": t.scope,
                        "valid_from": t.valid_from,
                        "valid_to": t.valid_to,
                        "authorization_id": t.authorization_id,
                        "is_public": t.is_public,
                        "is_valid": t.is_valid,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &v)?;
            writeln!(out)
        }
        PatsFormat::Csv => {
            writeln!(
                out,
                "user,display_name,scope,valid_from,valid_to,authorization_id,is_public,is_valid"
            )?;
            for (u, t) in rows {
                let f = [
                    u.upn.as_str(),
                    t.display_name.as_deref().unwrap_or(""),
                    t.scope.as_deref().unwrap_or(""),
                    t.valid_from.as_deref().unwrap_or(""),
                    t.valid_to.as_deref().unwrap_or(""),
                    t.authorization_id.as_str(),
                ];
                let cells: Vec<String> = f.iter().map(|c| csv::field(c)).collect();
                writeln!(
                    out,
                    "{},{},{}",
                    cells.join(","),
                    t.is_public.map_or(String::new(), |b| b.to_string()),
                    t.is_valid.map_or(String::new(), |b| b.to_string())
                )?;
            }
            Ok(())
        }
        PatsFormat::Human => {
            for (u, t) in rows {
                writeln!(
                    out,
                    "{}  {}  {:?}  scope {:?}  valid {} .. {}  {}{}",
                    for_terminal(&u.upn),
                    t.authorization_id,
                    for_terminal(t.display_name.as_deref().unwrap_or("")),
                    for_terminal(t.scope.as_deref().unwrap_or("")),
                    t.valid_from.as_deref().unwrap_or("?"),
                    t.valid_to.as_deref().unwrap_or("?"),
                    if t.is_public == Some(true) {
                        "public"
                    } else {
                        "private"
                    },
                    if t.is_valid == Some(false) {
                        "  (revoked)"
                    } else {
                        ""
                    },
                )?;
            }
            writeln!(out, "{} PAT(s)", rows.len())
        }
    }
}

fn revoke_pats(a: RevokeArgs) -> anyhow::Result<ExitCode> {
    let upns = read_users(&a.who)?;
    if upns.is_empty() {
        bail!("name the users: --user UPN or --users-file FILE");
    }
    let created_after = a
        .created_after
        .as_deref()
        .map(|s| {
            parse_time(s)
                .with_context(|| format!("--created-after {s:?}: expected YYYY-MM-DD or RFC 3339"))
        })
        .transpose()?;
    let name = a
        .name
        .as_deref()
        .map(|g| Selection::name_glob(g).with_context(|| format!("--name {g:?}")))
        .transpose()?;
    let notify = super::notify::prepare(&a.notify)?;
    let why = a.reason.clone().unwrap_or_else(|| {
        let mut c = Vec::new();
        if let Some(t) = &a.created_after {
            c.push(format!("created after {t}"));
        }
        if let Some(g) = &a.name {
            c.push(format!("name matching {g:?}"));
        }
        if c.is_empty() {
            "the administrator revoked all of your active PATs in this organization".to_string()
        } else {
            format!(
                "they matched the administrator's revocation criteria ({})",
                c.join(", ")
            )
        }
    });
    with_admin(&a.common, |admin, audit| {
        let mut code = ExitCode::Clean;
        let sel = Selection {
            created_after,
            name,
            only_valid: true,
            ..Default::default()
        };
        let mut plan = RevokePlan::default();
        for u in resolve(admin, &upns, &mut code) {
            match admin.list_pats(&u) {
                Ok(p) => plan.add_user(&u, p, &sel),
                Err(e) => {
                    eprintln!(
                        "patrol: {}",
                        for_terminal(&tokenadmin_error(&e, a.common.api_base.is_some()))
                    );
                    code = ExitCode::Incomplete;
                }
            }
        }
        let head = if a.yes {
            "Revoking"
        } else {
            "Dry run (add --yes to revoke): would revoke"
        };
        // Nothing below depends on printing: with stdout on a full disk the revocation
        // still runs, is audited, and the run ends incomplete with one line saying why.
        let mut out = Stdout::default();
        out.line(format_args!(
            "{head} {} PAT(s) in {}:",
            plan.items.len(),
            a.common.org
        ));
        for l in plan.render() {
            out.line(for_terminal(&l));
        }
        // `execute_ado` audits the plan (`Token.PatRevokePlanned`) before any write request,
        // and sends nothing when that entry cannot be written.
        let outcomes = match act::execute_ado(admin, &plan, a.yes, audit) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("patrol: {}", for_terminal(&e.to_string()));
                return finish(audit, out.finish().merge(ExitCode::Incomplete));
            }
        };
        let mut failed = 0;
        for (item, o) in plan.items.iter().zip(&outcomes) {
            print_result(
                &mut out,
                &format!("{} {}", item.user.upn, item.token.authorization_id),
                o,
            );
            if o.is_failure() {
                failed += 1;
                code = ExitCode::Incomplete;
            }
        }
        if a.yes {
            out.line(format_args!(
                "{} revoked, {failed} failed",
                plan.items.len() - failed
            ));
        }
        if let Some(n) = &notify {
            // After a real run only what was revoked; in a dry run what would be.
            let done = RevokePlan {
                items: plan
                    .items
                    .iter()
                    .zip(&outcomes)
                    .filter(|(_, o)| !a.yes || matches!(o, Outcome::Revoked))
                    .map(|(i, _)| i.clone())
                    .collect(),
            };
            let actor = super::triage::actor().0;
            let msgs = messages::revoked_messages(&a.common.org, &actor, &why, &notices(&done));
            code = code.merge(n.run(&msgs, a.yes, audit)?);
        }
        finish(audit, code.merge(out.finish()))
    })
}

/// A tokenadmin error; with `--api-base` (an Azure DevOps Server collection) a 404 also says
/// that the server version may not have the Token Administration API.
fn tokenadmin_error(e: &ProviderError, server: bool) -> String {
    match e {
        ProviderError::Status { status: 404, .. } if server => format!(
            "{e} (on Azure DevOps Server, a 404 here can also mean that the Token Administration API, _apis/tokenadmin, is not available on this server version)"
        ),
        other => other.to_string(),
    }
}

/// The plan's PATs as the notification builders take them.
fn notices(plan: &RevokePlan) -> Vec<messages::PatNotice> {
    plan.items
        .iter()
        .map(|i| messages::PatNotice {
            owner: i.user.upn.clone(),
            name: i.token.display_name.clone().unwrap_or_default(),
            authorization_id: i.token.authorization_id.clone(),
            scope: i.token.scope.clone().unwrap_or_default(),
            valid_to: i.token.valid_to.clone().unwrap_or_default(),
        })
        .collect()
}

/// Opens, in this order, the audit log, the HTTP client and the admin session every `ado`
/// subcommand needs (so a bad audit log or credential stops the run before any request), then
/// runs `f` with them.
fn with_admin<T>(
    common: &Common,
    f: impl FnOnce(&AdoAdmin<'_>, &Auditor<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let log = open_audit(common.audit_log.as_deref())?;
    let http = http_client()?;
    let admin = AdoAdmin::new(
        &http,
        &common.org,
        common.api_base.as_deref(),
        admin_credential()?,
    )?;
    let audit = Auditor::new(
        log.as_ref(),
        audit_context("Organization", common.org.clone()),
    );
    f(&admin, &audit)
}

fn print_result(out: &mut Stdout, label: &str, o: &Outcome) {
    match o {
        Outcome::DryRun => {}
        Outcome::Revoked => out.line(format_args!("revoked  {}", for_terminal(label))),
        _ => print_outcome(label, o),
    }
}

fn finish(audit: &Auditor<'_>, mut code: ExitCode) -> anyhow::Result<ExitCode> {
    for e in audit.errors() {
        eprintln!("patrol: {}", for_terminal(&e));
        code = ExitCode::Incomplete;
    }
    Ok(code)
}

const RULE_WARNING: &str = "warning: a revocation rule rejects EVERY token with one of these scopes created before the cutoff, for every user of the organization, including self-describing tokens (JWTs) issued to applications; it cannot be narrowed to one user.";

fn revoke_rule(a: RuleArgs) -> anyhow::Result<ExitCode> {
    let before = parse_time(&a.created_before).with_context(|| {
        format!(
            "--created-before {:?}: expected RFC 3339 or YYYY-MM-DD",
            a.created_before
        )
    })?;
    let before = format_time(before).with_context(|| {
        format!(
            "--created-before {:?}: out of range once converted to UTC",
            a.created_before
        )
    })?;
    let scopes = a.scopes.split_whitespace().collect::<Vec<_>>().join(" ");
    if scopes.is_empty() {
        bail!("--scopes: name at least one scope (the service requires it)");
    }
    with_admin(&a.common, |admin, audit| {
        eprintln!("patrol: {RULE_WARNING}");
        let head = if a.yes {
            "Creating"
        } else {
            "Dry run (add --yes to create):"
        };
        let mut out = Stdout::default();
        out.line(format_args!(
            "{head} revocation rule in {}: tokens created before {before} with any of the scopes: {}",
            a.common.org,
            for_terminal(&scopes)
        ));
        let o = act::execute_rule(admin, &before, &scopes, a.yes, audit);
        let code = match &o {
            Outcome::Revoked => {
                out.line("revocation rule created");
                ExitCode::Clean
            }
            Outcome::DryRun => ExitCode::Clean,
            _ => {
                print_outcome("revocation rule", &o);
                ExitCode::Incomplete
            }
        };
        finish(audit, code.merge(out.finish()))
    })
}
