//! `patrol audit show FILE [--action ID]... [--since T] [--until T] [--format human|jsonl]`:
//! read an audit trail written by `--audit-log`, filter it, print it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use patrol::audit::{read_log, AuditEvent};
use patrol::report::escape::for_terminal;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::exit::ExitCode;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Print the entries of an audit log, optionally filtered.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The audit log (JSON Lines).
    file: PathBuf,
    /// Only entries with this actionId, e.g. Patrol.SecretDiscovered (repeatable).
    #[arg(long, value_name = "ID")]
    action: Vec<String>,
    /// Only entries at or after this time (RFC 3339, e.g. 2024-05-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    since: Option<OffsetDateTime>,
    /// Only entries before this time (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    until: Option<OffsetDateTime>,
    /// `human` (default) or `jsonl` (the matching entries, one per line).
    #[arg(long, default_value = "human", value_parser = ["human", "jsonl"])]
    format: String,
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("not an RFC 3339 time: {e}"))
}

pub fn run(a: AuditArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        AuditCommand::Show(s) => show(s),
    }
}

fn keep(s: &ShowArgs, e: &AuditEvent) -> anyhow::Result<bool> {
    if !s.action.is_empty() && !s.action.iter().any(|a| a == &e.action_id) {
        return Ok(false);
    }
    if s.since.is_none() && s.until.is_none() {
        return Ok(true);
    }
    let t = OffsetDateTime::parse(&e.timestamp, &Rfc3339)
        .with_context(|| format!("entry {}: bad timestamp {:?}", e.id, e.timestamp))?;
    Ok(s.since.is_none_or(|since| t >= since) && s.until.is_none_or(|until| t < until))
}

fn show(s: ShowArgs) -> anyhow::Result<ExitCode> {
    let entries = read_log(&s.file)?;
    let mut out = std::io::stdout().lock();
    let res = (|| -> anyhow::Result<()> {
        for e in &entries {
            if !keep(&s, e)? {
                continue;
            }
            if s.format == "jsonl" {
                writeln!(out, "{}", serde_json::to_string(e)?)?;
            } else {
                writeln!(
                    out,
                    "{}  {:<24} {} ({})",
                    for_terminal(&e.timestamp),
                    for_terminal(&e.action_id),
                    for_terminal(&e.actor_upn),
                    for_terminal(&e.scope_display_name)
                )?;
                writeln!(out, "    {}", for_terminal(&e.details))?;
                writeln!(
                    out,
                    "    correlation {}  data {}",
                    for_terminal(&e.correlation_id),
                    for_terminal(&e.data.to_string())
                )?;
            }
        }
        Ok(())
    })();
    match res {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::Clean)
        }
        Err(e) => Err(e),
        Ok(()) => Ok(ExitCode::Clean),
    }
}
