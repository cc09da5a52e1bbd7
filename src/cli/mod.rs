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
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
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
