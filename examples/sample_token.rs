//! Prints one format-valid FAKE token for a rule, for scripts that exercise patrol end to end
//! (`scripts/consumers.sh`: pre-commit hooks, the CI integrations, the SARIF validator).
//!
//! `cargo run --example sample_token -- RULE_ID [SEED]`; exits 2 for a rule with no generator.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(rule) = args.next() else {
        eprintln!("usage: sample_token RULE_ID [SEED]");
        return ExitCode::from(2);
    };
    let seed = match args.next().map(|s| s.parse::<u64>()) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            eprintln!("sample_token: SEED must be a number");
            return ExitCode::from(2);
        }
    };
    match patrol::rules::sample::sample(&rule, seed) {
        Some(t) => {
            println!("{t}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("sample_token: no generator for rule {rule}");
            ExitCode::from(2)
        }
    }
}
