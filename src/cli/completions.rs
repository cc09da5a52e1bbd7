//! `patrol completions SHELL`: the shell completion script for patrol, generated from the clap
//! definition (clap_complete), printed to stdout so a package or a user can put it where the
//! shell looks (README, "Install").

use std::io::Write;

use clap::{Args, ValueEnum};
use clap_complete::Shell;

use super::exit::ExitCode;

/// The shells clap_complete writes for.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Target {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl From<Target> for Shell {
    fn from(t: Target) -> Self {
        match t {
            Target::Bash => Shell::Bash,
            Target::Zsh => Shell::Zsh,
            Target::Fish => Shell::Fish,
            Target::Powershell => Shell::PowerShell,
            Target::Elvish => Shell::Elvish,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: Target,
}

/// Writes the script for `cmd`, the whole command line (passed in, so this file needs nothing
/// of `cli/mod.rs`).
pub fn run(a: CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(Shell::from(a.shell), &mut cmd, "patrol", &mut buf);
    let mut out = std::io::stdout().lock();
    super::output::ignore_broken_pipe(out.write_all(&buf).and_then(|_| out.flush()))?;
    Ok(ExitCode::Clean)
}
