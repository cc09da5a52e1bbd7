//! `patrol pats list|create|renew|revoke|rotate`: a user's own PATs through the PAT Lifecycle
//! Management API, with a Microsoft Entra token (`AZURE_DEVOPS_ACCESS_TOKEN`, or `--az-cli`).
//!
//! Contract: a new token's value goes only to `--output-file` (mode 0600, replaced atomically)
//! or, with `--show-secrets`, to stdout; `revoke` and `rotate` are dry runs unless `--yes`;
//! `rotate` revokes the old PAT only once the replacement is created and written, and says
//! exactly where it stopped when a step fails. Every action is audited with ids, names and
//! redacted values only. Exit 0 on success (dry runs included), 2 on any refusal or failure.
//!
//! The stages themselves (which PAT a name means, the writes, every audit entry, where a
//! rotation stopped) are `patrol::act::lifecycle`; this file holds the flags, the Entra
//! credential, delivering a new token, and what a person reads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use patrol::act::execute::OwnRevokeError;
use patrol::act::lifecycle::{replacement, Created, FindError, Lifecycle, RenewError, Rotation};
use patrol::act::Outcome;
use patrol::audit::Auditor;
use patrol::provider::azure_devops::pats::{
    parse_rfc3339, EntraToken, NewPat, PatCreate, PatStatus, PatToken, PatsClient, PatsError,
    ADO_RESOURCE_ID,
};
use patrol::provider::ProviderError;
use patrol::report::csv;
use patrol::report::escape::for_terminal;
use serde_json::json;
use time::OffsetDateTime;

use super::act::{audit_context, http_client, open_audit};
use super::exit::ExitCode;

#[derive(Debug, Args)]
pub struct PatsArgs {
    #[command(subcommand)]
    command: PatsCommand,
}

#[derive(Debug, Subcommand)]
enum PatsCommand {
    /// List your PATs (default: the active ones).
    List(ListArgs),
    /// Create a PAT; its value goes only to --output-file (mode 0600) or, with
    /// --show-secrets, to stdout.
    Create(CreateArgs),
    /// Extend a PAT's validity to now + DAYS (an expired PAT cannot be extended).
    Renew(RenewArgs),
    /// Revoke a PAT (a dry run unless --yes).
    Revoke(RevokeArgs),
    /// Replace a PAT: create one with the same scope and organisations, write it, then revoke
    /// the old one (a dry run unless --yes).
    Rotate(RotateArgs),
}

/// Flags every `pats` subcommand shares.
#[derive(Debug, Args)]
struct Common {
    /// Azure DevOps organization.
    #[arg(long, value_name = "ORG")]
    org: String,
    /// Replace https://vssps.dev.azure.com/{org} (Azure DevOps Server collections). Plain
    /// http only to a loopback address.
    #[arg(long, value_name = "URL")]
    api_base: Option<String>,
    /// Append audit entries to FILE (JSON Lines).
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    /// Get the Entra token from the Azure CLI (`az account get-access-token`) instead of
    /// AZURE_DEVOPS_ACCESS_TOKEN.
    #[arg(long)]
    az_cli: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Status {
    Active,
    Revoked,
    Expired,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Csv,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    common: Common,
    /// Which PATs.
    #[arg(long, value_enum, default_value = "active")]
    status: Status,
    /// Only PATs that expire within DAYS from now.
    #[arg(long, value_name = "DAYS")]
    expiring_within: Option<u32>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: Format,
}

/// Where a new token goes.
#[derive(Debug, Args)]
struct SecretOut {
    /// Write the new token to FILE (created with mode 0600; an existing file is replaced).
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Print the new token on stdout.
    #[arg(long)]
    show_secrets: bool,
}

#[derive(Debug, Args)]
struct CreateArgs {
    #[command(flatten)]
    common: Common,
    /// The PAT's name.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Space-separated scopes, e.g. "vso.code vso.packaging".
    #[arg(long, value_name = "SCOPES")]
    scope: String,
    /// Valid for DAYS from now.
    #[arg(long, value_name = "DAYS")]
    days: u32,
    /// Valid for all of your organizations (default: this one only).
    #[arg(long)]
    all_orgs: bool,
    #[command(flatten)]
    out: SecretOut,
}

/// Which PAT: by id or by (exact, case-insensitive) name.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct Which {
    /// The PAT's authorization id.
    #[arg(long, value_name = "AUTH_ID")]
    id: Option<String>,
    /// The PAT's name; refused when several PATs have it.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

#[derive(Debug, Args)]
struct RenewArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    which: Which,
    /// New validity: DAYS from now.
    #[arg(long, value_name = "DAYS")]
    days: u32,
}

#[derive(Debug, Args)]
struct RevokeArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    which: Which,
    /// Really revoke.
    #[arg(long)]
    yes: bool,
}

#[derive(Debug, Args)]
struct RotateArgs {
    #[command(flatten)]
    common: Common,
    /// The PAT to replace.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The replacement is valid for DAYS from now.
    #[arg(long, value_name = "DAYS")]
    days: u32,
    #[command(flatten)]
    out: SecretOut,
    /// Really rotate.
    #[arg(long)]
    yes: bool,
}

pub fn run(a: PatsArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        PatsCommand::List(a) => list(a),
        PatsCommand::Create(a) => create(a),
        PatsCommand::Renew(a) => renew(a),
        PatsCommand::Revoke(a) => revoke(a),
        PatsCommand::Rotate(a) => rotate(a),
    }
}

/// Opens, in this order, the audit log, the HTTP client and the Entra credential (so a bad
/// audit log or credential stops the run before any request), then runs `f` with the
/// lifecycle stage for `--org`.
fn with_client<T>(
    common: &Common,
    f: impl FnOnce(&Lifecycle<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let log = open_audit(common.audit_log.as_deref())?;
    let http = http_client()?;
    let now = OffsetDateTime::now_utc();
    let token = if common.az_cli {
        EntraToken::parse(az_token()?, now).context("--az-cli")?
    } else {
        EntraToken::from_env(
            std::env::var("AZURE_DEVOPS_ACCESS_TOKEN").ok(),
            std::env::var("AZURE_DEVOPS_EXT_PAT").ok(),
            now,
        )?
    };
    let client = PatsClient::new(&http, &common.org, common.api_base.as_deref(), token)?;
    let audit = Auditor::new(
        log.as_ref(),
        audit_context("Organization", common.org.clone()),
    );
    let stage = Lifecycle {
        client: &client,
        org: &common.org,
        audit: &audit,
        describe: &describe,
    };
    let r = f(&stage);
    for e in audit.errors() {
        eprintln!("patrol: {}", for_terminal(&e));
    }
    match r {
        Ok(_) if !audit.errors().is_empty() => {
            Err(anyhow::anyhow!("the audit log could not be written"))
        }
        other => other,
    }
}

/// An Entra token from `az account get-access-token`; the token comes back on stdout, never
/// through argv.
fn az_token() -> anyhow::Result<String> {
    let out = Command::new("az")
        .args([
            "account",
            "get-access-token",
            "--resource",
            ADO_RESOURCE_ID,
            "--query",
            "accessToken",
            "--output",
            "tsv",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "--az-cli: the Azure CLI (`az`) is not installed or not on PATH; install it, or set AZURE_DEVOPS_ACCESS_TOKEN"
        ),
        Err(e) => bail!("--az-cli: cannot run `az`: {e}"),
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first: String = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        bail!(
            "--az-cli: `az account get-access-token` failed ({}){}; run `az login` first",
            out.status,
            if first.is_empty() {
                String::new()
            } else {
                format!(": {}", for_terminal(&first))
            }
        );
    }
    let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if t.is_empty() {
        bail!("--az-cli: `az account get-access-token` printed no token");
    }
    Ok(t)
}

/// now + `days`, RFC 3339 UTC; refused when the date would pass year 9999.
fn valid_to(days: u32) -> anyhow::Result<String> {
    if days == 0 {
        bail!("--days: at least 1");
    }
    let t = OffsetDateTime::now_utc()
        .checked_add(time::Duration::days(days.into()))
        .filter(|t| t.year() <= 9999)
        .with_context(|| format!("--days {days}: too many days (past year 9999)"))?;
    Ok(patrol::clock::format_time(t).unwrap_or_default())
}

fn describe(p: &PatToken) -> String {
    format!(
        "{:?} ({}, scope {:?}, valid to {}, {})",
        for_terminal(p.name()),
        p.authorization_id,
        for_terminal(p.scope.as_deref().unwrap_or("")),
        p.valid_to.as_deref().unwrap_or("?"),
        orgs(p),
    )
}

fn orgs(p: &PatToken) -> String {
    match &p.target_accounts {
        None => "all organizations".to_string(),
        Some(a) => format!("{} organization(s)", a.len()),
    }
}

// ------------------------------------------------------------------ list

fn list(a: ListArgs) -> anyhow::Result<ExitCode> {
    let status = match a.status {
        Status::Active => PatStatus::Active,
        Status::Revoked => PatStatus::Revoked,
        Status::Expired => PatStatus::Expired,
        Status::All => PatStatus::All,
    };
    let now = OffsetDateTime::now_utc();
    let until = a
        .expiring_within
        .map(|d| {
            now.checked_add(time::Duration::days(d.into()))
                .with_context(|| format!("--expiring-within {d}: too many days"))
        })
        .transpose()?;
    with_client(&a.common, |stage| {
        let pats = stage.list(status, |p| match until {
            None => true,
            Some(u) => p.valid_to_time().is_some_and(|t| t > now && t <= u),
        })?;
        let rows: Vec<&PatToken> = pats.iter().collect();
        let mut out = std::io::BufWriter::new(std::io::stdout());
        super::output::ignore_broken_pipe(
            write_list(&mut out, a.format, &rows, now).and_then(|()| out.flush()),
        )?;
        Ok(ExitCode::Clean)
    })
}

fn write_list(
    out: &mut impl Write,
    format: Format,
    rows: &[&PatToken],
    now: OffsetDateTime,
) -> std::io::Result<()> {
    match format {
        Format::Json => write_json(out, rows, now),
        Format::Csv => write_csv(out, rows, now),
        Format::Human => write_human(out, rows, now),
    }
}

fn write_json(
    out: &mut impl Write,
    rows: &[&PatToken],
    now: OffsetDateTime,
) -> std::io::Result<()> {
    let v: Vec<_> = rows
        .iter()
        .map(|p| {
            json!({
                "authorization_id": p.authorization_id,
                "display_name": p.display_name,
                "scope": p.scope,
                "valid_from": p.valid_from,
                "valid_to": p.valid_to,
                "target_accounts": p.target_accounts,
                "all_orgs": p.is_all_orgs(),
                "is_expired": p.is_expired(now),
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &v)?;
    writeln!(out)
}

fn write_csv(out: &mut impl Write, rows: &[&PatToken], now: OffsetDateTime) -> std::io::Result<()> {
    writeln!(
        out,
        "authorization_id,display_name,scope,valid_from,valid_to,all_orgs,is_expired"
    )?;
    for p in rows {
        let cells: Vec<String> = [
            p.authorization_id.as_str(),
            p.name(),
            p.scope.as_deref().unwrap_or(""),
            p.valid_from.as_deref().unwrap_or(""),
            p.valid_to.as_deref().unwrap_or(""),
        ]
        .iter()
        .map(|c| csv::field(c))
        .collect();
        writeln!(
            out,
            "{},{},{}",
            cells.join(","),
            p.is_all_orgs(),
            p.is_expired(now)
        )?;
    }
    Ok(())
}

fn write_human(
    out: &mut impl Write,
    rows: &[&PatToken],
    now: OffsetDateTime,
) -> std::io::Result<()> {
    for p in rows {
        writeln!(
            out,
            "{}  {:?}  scope {:?}  valid {} .. {}  {}{}",
            p.authorization_id,
            for_terminal(p.name()),
            for_terminal(p.scope.as_deref().unwrap_or("")),
            p.valid_from.as_deref().unwrap_or("?"),
            p.valid_to.as_deref().unwrap_or("?"),
            orgs(p),
            if p.is_expired(now) { "  (expired)" } else { "" },
        )?;
    }
    writeln!(out, "{} PAT(s)", rows.len())
}

// ------------------------------------------------------------------ finding one PAT

/// The one active PAT named `name` (exact, case-insensitive). Several: refused with the list.
/// None active but an expired one: refused, saying it has expired.
fn find_by_name(stage: &Lifecycle<'_>, name: &str) -> anyhow::Result<PatToken> {
    let shown = for_terminal(name);
    match stage.find_by_name(name) {
        Ok(p) => Ok(p),
        Err(FindError::Ambiguous(hits)) => {
            let lines: Vec<String> = hits.iter().map(|p| format!("  {}", describe(p))).collect();
            bail!(
                "{} active PATs are named {shown:?}; name one with --id AUTH_ID:\n{}",
                hits.len(),
                lines.join("\n")
            )
        }
        Err(FindError::Expired(p)) => bail!(
            "PAT {shown:?} ({}) expired on {}: an expired PAT cannot be extended or rotated; create a new one with `patrol pats create`",
            p.authorization_id,
            p.valid_to.as_deref().unwrap_or("?")
        ),
        Err(FindError::NotFound) => bail!("no active PAT named {shown:?}"),
        Err(FindError::Api(e)) => Err(e.into()),
    }
}

fn find(stage: &Lifecycle<'_>, w: &Which) -> anyhow::Result<PatToken> {
    match (&w.id, &w.name) {
        (Some(id), _) => Ok(stage.client.get(id)?),
        (None, Some(n)) => find_by_name(stage, n),
        (None, None) => bail!("name the PAT: --id AUTH_ID or --name NAME"),
    }
}

// ------------------------------------------------------------------ writing a new token

fn check_out(out: &SecretOut) -> anyhow::Result<()> {
    if out.output_file.is_none() && !out.show_secrets {
        bail!("say where the new token goes: --output-file FILE (created with mode 0600), or --show-secrets to print it");
    }
    Ok(())
}

/// Writes the token to a new mode-0600 file beside `path`, then renames it over `path`, so
/// the file is never readable by others and never half-written.
fn write_secret_file(path: &Path, token: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let tmp = dir.join(format!(
        ".{}.patrol-{}",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(token.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Delivers a new token as asked; the error says why it could not be written.
fn deliver(out: &SecretOut, new: &NewPat) -> Result<String, String> {
    if out.show_secrets {
        println!("{}", new.token.expose());
    }
    match &out.output_file {
        Some(f) => write_secret_file(f, new.token.expose())
            .map(|()| format!("written to {} (mode 0600)", f.display()))
            .map_err(|e| format!("could not write {}: {e}", f.display())),
        None => Ok("printed on stdout".to_string()),
    }
}

// ------------------------------------------------------------------ create

fn create(a: CreateArgs) -> anyhow::Result<ExitCode> {
    check_out(&a.out)?;
    let scope = a.scope.split_whitespace().collect::<Vec<_>>().join(" ");
    if scope.is_empty() {
        bail!("--scope: name at least one scope");
    }
    let req = PatCreate {
        display_name: a.name.clone(),
        scope,
        valid_to: valid_to(a.days)?,
        all_orgs: a.all_orgs,
    };
    let org = &a.common.org;
    with_client(&a.common, |stage| {
        let Created { new, delivered } = stage.create(&req, &mut |n| deliver(&a.out, n))?;
        match delivered {
            Ok(how) => {
                eprintln!(
                    "patrol: created PAT {}; the token is {how}",
                    describe(&new.pat)
                );
                Ok(ExitCode::Clean)
            }
            Err(why) => {
                eprintln!(
                    "patrol: created PAT {} but its token {why}; the token is lost: revoke it with `patrol pats revoke --org {org} --id {} --yes`",
                    describe(&new.pat),
                    new.pat.authorization_id
                );
                Ok(ExitCode::Incomplete)
            }
        }
    })
}

// ------------------------------------------------------------------ renew

fn renew(a: RenewArgs) -> anyhow::Result<ExitCode> {
    let to = valid_to(a.days)?;
    with_client(&a.common, |stage| {
        let pat = find(stage, &a.which)?;
        let p = match stage.renew(&pat, &to) {
            Ok(p) => p,
            Err(RenewError::Expired(why)) => bail!(why),
            Err(RenewError::Api(e)) => return Err(e.into()),
        };
        let got = p.valid_to.as_deref().unwrap_or("?");
        let capped = match (p.valid_to_time(), parse_rfc3339(&to)) {
            (Some(g), Some(w)) if w - g > time::Duration::days(1) => {
                " (shortened by the organization's maximum-lifespan policy)"
            }
            _ => "",
        };
        eprintln!(
            "patrol: renewed PAT {:?} ({}): valid to {got}{capped}",
            for_terminal(pat.name()),
            pat.authorization_id
        );
        Ok(ExitCode::Clean)
    })
}

// ------------------------------------------------------------------ revoke

/// [`maybe_done`] for a revocation (a closed audit gate sent nothing).
fn maybe_revoked(e: &OwnRevokeError) -> &'static str {
    match e {
        OwnRevokeError::Api(e) => maybe_done(e),
        OwnRevokeError::Gate(_) => " (nothing was sent: the audit log could not be written)",
    }
}

/// Whether a failed write may still have taken effect.
fn maybe_done(e: &PatsError) -> &'static str {
    match e {
        PatsError::Provider(ProviderError::Timeout { .. }) => {
            " (it timed out, so it may still have happened: check with `patrol pats list`)"
        }
        _ => "",
    }
}

fn revoke(a: RevokeArgs) -> anyhow::Result<ExitCode> {
    with_client(&a.common, |stage| {
        let pat = find(stage, &a.which)?;
        if !a.yes {
            println!(
                "Dry run (add --yes to revoke): would revoke PAT {}",
                describe(&pat)
            );
        }
        match stage.revoke(&pat, a.yes) {
            Ok(Outcome::Revoked) => println!("revoked PAT {}", describe(&pat)),
            Ok(_) => {}
            Err(e) => bail!(
                "revoking PAT {} failed{}: {e}",
                pat.authorization_id,
                maybe_revoked(&e)
            ),
        }
        Ok(ExitCode::Clean)
    })
}

// ------------------------------------------------------------------ rotate

fn rotate(a: RotateArgs) -> anyhow::Result<ExitCode> {
    check_out(&a.out)?;
    let to = valid_to(a.days)?;
    let org = &a.common.org;
    with_client(&a.common, |stage| {
        let old = find_by_name(stage, &a.name)?;
        let Some(req) = replacement(&old, &to) else {
            bail!(
                "PAT {} has no scope to copy; create the replacement with `patrol pats create`",
                describe(&old)
            );
        };
        let plan = rotation_plan(&old, &req, &a.out, org);
        if a.yes {
            println!("Rotating: {plan}");
        } else {
            println!("Dry run (add --yes to rotate): would {plan}");
        }
        let r = stage.rotate(&old, &req, a.yes, &mut |n| deliver(&a.out, n));
        Ok(say_rotation(r, &old, org))
    })
}

/// What a rotation will do, in words: create, deliver, revoke, and any organisations lost.
fn rotation_plan(old: &PatToken, req: &PatCreate, out: &SecretOut, org: &str) -> String {
    let target = match &out.output_file {
        Some(f) => format!("write it to {}", f.display()),
        None => "print it on stdout".to_string(),
    };
    let orgs_note = match &old.target_accounts {
        Some(t) if t.len() > 1 => format!("; note: the old PAT is valid for {} organizations, the replacement only for {org} (the API creates a PAT for one organization or for all)", t.len()),
        _ => String::new(),
    };
    format!(
        "create PAT {:?} (scope {:?}, {}, valid to {}), {target}, then revoke PAT {}{orgs_note}",
        for_terminal(&req.display_name),
        for_terminal(&req.scope),
        if req.all_orgs {
            "all organizations"
        } else {
            "this organization"
        },
        req.valid_to,
        old.authorization_id
    )
}

/// Says where a rotation ended (stdout for the result, stderr for where it stopped).
fn say_rotation(r: Rotation, old: &PatToken, org: &str) -> ExitCode {
    let old_id = &old.authorization_id;
    match r {
        Rotation::DryRun => return ExitCode::Clean,
        Rotation::Complete { new, how } => {
            println!(
                "rotated: new PAT {} (token {how}); old PAT {old_id} revoked",
                describe(&new.pat)
            );
            return ExitCode::Clean;
        }
        Rotation::CreateFailed(e) => {
            eprintln!(
                "patrol: rotation stopped: creating the replacement failed{}: {e}",
                maybe_done(&e)
            );
            eprintln!(
                "patrol: state: nothing was revoked; PAT {} still works",
                describe(old)
            );
        }
        Rotation::WriteFailed { new, why } => {
            let new_id = &new.pat.authorization_id;
            eprintln!("patrol: rotation stopped: the replacement PAT {new_id} was created but its token {why}");
            eprintln!("patrol: state: the old PAT {} was NOT revoked and still works; the replacement's token is lost: revoke it with `patrol pats revoke --org {org} --id {new_id} --yes`, then rotate again", describe(old));
        }
        Rotation::RevokeFailed { new, how, error } => {
            eprintln!(
                "patrol: rotation incomplete: revoking the old PAT {old_id} failed{}: {error}",
                maybe_revoked(&error)
            );
            eprintln!("patrol: state: the replacement PAT {} works and its token is {how}; the old PAT {old_id} still works too: revoke it with `patrol pats revoke --org {org} --id {old_id} --yes`", describe(&new.pat));
        }
    }
    ExitCode::Incomplete
}
