//! `patrol completions SHELL`: the shell completion script for patrol, generated from the clap
//! definition (clap_complete), printed to stdout so a package or a user can put it where the
//! shell looks (README, "Install").

use std::io::Write;

use clap::{Args, CommandFactory, ValueEnum};
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

pub fn run(a: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(
        Shell::from(a.shell),
        &mut super::Cli::command(),
        "patrol",
        &mut buf,
    );
    let mut out = std::io::stdout().lock();
    super::ignore_broken_pipe(out.write_all(&buf).and_then(|_| out.flush()))?;
    Ok(ExitCode::Clean)
}
