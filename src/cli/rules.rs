//! `patrol rules list` and `patrol rules check FILE`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use patrol::config::add_checked;
use patrol::matcher::check_examples;
use patrol::rules::RuleSet;

use super::exit::ExitCode;

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Print every rule (built-in and from --rules files).
    List {
        /// Add the rules of a custom rule file (repeatable).
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Output format: human or json.
        #[arg(long, default_value = "human", value_parser = ["human", "json"])]
        format: String,
    },
    /// Validate custom rule files: syntax, ids, regexes, and examples through the matcher.
    Check {
        /// Rule files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(a: RulesArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        RulesCommand::List { rules, format } => list(&rules, &format),
        RulesCommand::Check { files } => check(&files),
    }
}

/// The built-in rules plus every `--rules` file.
pub fn load(extra: &[PathBuf]) -> anyhow::Result<RuleSet> {
    let mut set = RuleSet::builtin().context("built-in rules")?;
    for f in extra {
        add_checked(&mut set, f).context("loading --rules")?;
    }
    Ok(set)
}

fn list(extra: &[PathBuf], format: &str) -> anyhow::Result<ExitCode> {
    let set = load(extra)?;
    let mut out = std::io::stdout().lock();
    let res = if format == "json" {
        let v: Vec<serde_json::Value> = set
            .rules()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id(), "name": r.spec.name, "provider": r.spec.provider,
                    "keywords": r.spec.keywords, "checksum": r.spec.checksum,
                    "validator": r.spec.validator, "source": r.file,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)
    } else {
        writeln!(out, "{:<28} {:<22} NAME", "RULE", "CHECKSUM").and_then(|()| {
            set.rules().iter().try_for_each(|r| {
                let check = r.spec.checksum.as_deref().unwrap_or("-");
                writeln!(out, "{:<28} {:<22} {}", r.id(), check, r.spec.name)
            })
        })
    };
    super::output::ignore_broken_pipe(res)?;
    Ok(ExitCode::Clean)
}

fn check(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for f in files {
        let mut set = RuleSet::default();
        match set.add_file(f) {
            Err(e) => {
                eprintln!("patrol: error: {e}");
                failed = true;
            }
            Ok(()) => {
                let errors = check_examples(&set);
                for e in &errors {
                    eprintln!("patrol: error: {e}");
                }
                if errors.is_empty() {
                    println!("{}: {} rule(s) ok", f.display(), set.rules().len());
                }
                failed |= !errors.is_empty();
            }
        }
    }
    Ok(if failed {
        ExitCode::Incomplete
    } else {
        ExitCode::Clean
    })
}
