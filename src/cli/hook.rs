//! `patrol hook install [--force]`: writes `.git/hooks/pre-commit` running
//! `patrol scan --staged`. A hook that patrol did not write is left alone unless `--force`.
//!
//! `patrol hook run`: what a hook manager calls (the pre-commit framework's hooks in
//! `.pre-commit-hooks.yaml`): `patrol scan --staged --no-progress .`, then, when the commit is
//! blocked, the same three ways to go on that the installed hook prints.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use super::exit::ExitCode;

/// The line that marks a hook as patrol's own (so reinstalling may overwrite it).
const MARKER: &str = "# installed by `patrol hook install`";

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    command: HookCommand,
}

#[derive(Debug, Subcommand)]
enum HookCommand {
    /// Write .git/hooks/pre-commit running `patrol scan --staged`.
    Install {
        /// Overwrite an existing pre-commit hook that patrol did not write.
        #[arg(long)]
        force: bool,
        /// The repository (default: the one containing the current directory).
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
    },
    /// Scan what is staged, as a pre-commit hook: on findings, say how to go on.
    Run,
}

/// The three ways to go on from a blocked commit, one line each (stderr).
const GUIDANCE: [&str; 3] = [
    "patrol: commit blocked. Remove the secret from the staged files, or mark",
    "patrol: a false positive with a 'patrol:allow' comment on its line; to skip the check",
    "patrol: once: git commit --no-verify",
];

pub fn run(a: HookArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        HookCommand::Install { force, repo } => install(&repo, force),
        HookCommand::Run => {
            let code = super::scan::run(super::scan::staged_args())?;
            if code != ExitCode::Clean {
                for line in GUIDANCE {
                    eprintln!("{line}");
                }
            }
            Ok(code)
        }
    }
}

/// The hook script: scan what is staged; on failure, say how to proceed.
pub fn script() -> String {
    format!(
        r#"#!/bin/sh
{MARKER}
# Blocks a commit that adds a secret. Re-install with `patrol hook install --force`.
patrol scan --staged --no-progress .
status=$?
if [ "$status" -ne 0 ]; then
  echo "patrol: commit blocked (exit $status). Remove the secret from the staged files, or mark" >&2
  echo "patrol: a false positive with a 'patrol:allow' comment on its line; to skip the check" >&2
  echo "patrol: once: git commit --no-verify" >&2
fi
exit $status
"#
    )
}

fn install(repo: &std::path::Path, force: bool) -> anyhow::Result<ExitCode> {
    let r = git2::Repository::discover(repo)
        .with_context(|| format!("{}: not in a git repository", repo.display()))?;
    let hooks = r.commondir().join("hooks");
    let path = hooks.join("pre-commit");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.contains(MARKER) && !force {
            bail!(
                "{}: a pre-commit hook that patrol did not write exists; keep it, or replace it \
                 with `patrol hook install --force`",
                path.display()
            );
        }
    } else if path.exists() && !force {
        bail!(
            "{}: exists and is not a patrol hook; use --force to replace it",
            path.display()
        );
    }
    std::fs::create_dir_all(&hooks).with_context(|| format!("creating {}", hooks.display()))?;
    std::fs::write(&path, script()).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    eprintln!("patrol: installed {}", path.display());
    Ok(ExitCode::Clean)
}
