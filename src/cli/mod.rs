//! Command-line interface: clap types, one file per subcommand. Nothing in the library sees
//! clap; each subcommand turns its flags into library options and runs.

mod act;
mod ado;
mod audit;
mod baseline;
mod completions;
pub mod exit;
mod hook;
mod http;
mod man;
mod notify;
mod output;
mod pats;
mod report;
mod rules;
mod scan;
mod sweep;
mod triage;

use clap::{Parser, Subcommand};

use exit::ExitCode;

/// Find leaked personal access tokens and API tokens in files and git history.
#[derive(Debug, Parser)]
#[command(name = "patrol", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan files, directories, stdin (`-`) or git repositories for secrets.
    Scan(Box<scan::ScanArgs>),
    /// List the rules, or check a custom rule file.
    Rules(rules::RulesArgs),
    /// Record current findings as accepted (`baseline create`), for `scan --baseline`.
    Baseline(baseline::BaselineArgs),
    /// Read an audit trail written by `scan --audit-log` (`audit show`).
    Audit(audit::AuditArgs),
    /// Azure DevOps organisation administration: list and revoke users' PATs.
    Ado(ado::AdoArgs),
    /// Install git hooks (pre-commit).
    Hook(hook::HookArgs),
    /// Your own Azure DevOps PATs (PAT Lifecycle API, Entra token): list, create, renew,
    /// revoke, rotate.
    Pats(pats::PatsArgs),
    /// Verify (and revoke) the findings of a saved report (`act --from REPORT`), exactly as
    /// `scan --verify/--revoke` does.
    Act(Box<act::ActFromArgs>),
    /// Sweep every repository of an organisation into a datastore, incrementally.
    Sweep(sweep::SweepArgs),
    /// Write the findings of a sweep from its datastore.
    Report(report::ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    Completions(completions::CompletionsArgs),
    /// Print the patrol(1) manual page (roff) to stdout.
    Man(man::ManArgs),
}

/// Parses the command line and runs the subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    run_from(std::env::args_os())
}

/// Parses `args` (the program name first) and runs the subcommand.
fn run_from<I, T>(args: I) -> anyhow::Result<ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let e = without_destructive_tip(e, &args);
            let code = if e.use_stderr() {
                ExitCode::Incomplete
            } else {
                ExitCode::Clean
            };
            let _ = e.print();
            return Ok(code);
        }
    };
    match cli.command {
        Command::Scan(a) => scan::run(*a),
        Command::Rules(a) => rules::run(a),
        Command::Baseline(a) => baseline::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Ado(a) => ado::run(a),
        Command::Hook(a) => hook::run(a),
        Command::Pats(a) => pats::run(a),
        Command::Act(a) => act::run_from(*a),
        Command::Sweep(a) => sweep::run(a),
        Command::Report(a) => report::run(a),
        Command::Completions(a) => completions::run(a, <Cli as clap::CommandFactory>::command()),
        Command::Man(a) => man::run(a, <Cli as clap::CommandFactory>::command()),
    }
}

/// Flags that change something outside patrol: a mistyped flag is never steered toward them.
const DESTRUCTIVE_FLAGS: &[&str] = &["--revoke", "--yes"];

/// clap answers an unknown flag with the closest known one ("a similar argument exists"); for
/// `scan --verbose` that was `--revoke`. When the suggestion is a flag that acts, the error is
/// rebuilt without it: the unknown flag, the subcommand's usage and the `--help` hint.
fn without_destructive_tip(e: clap::Error, args: &[std::ffi::OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return e;
    }
    let suggests_destructive = match e.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => DESTRUCTIVE_FLAGS.iter().any(|f| s.starts_with(f)),
        Some(ContextValue::Strings(v)) => v
            .iter()
            .any(|s| DESTRUCTIVE_FLAGS.iter().any(|f| s.starts_with(f))),
        _ => false,
    };
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    if !suggests_destructive {
        return e;
    }
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut sub = &mut cmd;
    for a in args.iter().skip(1) {
        let Some(name) = a.to_str() else { break };
        if sub.find_subcommand(name).is_none() {
            break;
        }
        sub = sub.find_subcommand_mut(name).expect("found above");
    }
    let usage = sub.render_usage();
    clap::Error::raw(
        ErrorKind::UnknownArgument,
        format!(
            "unexpected argument '{arg}' found\n\n{usage}\n\nFor more information, try '--help'.\n"
        ),
    )
}
