//! Integration tests: drive the built `patrol` binary on trees generated in temp dirs.
//!
//! One test binary; each module covers one area:
//! - `scan_files`: the file scanner end to end (walk, chunking, output, exit codes)
//! - `layering`: the module dependency table of STYLE.md, and no import circle in cli/ or
//!   scan/, enforced
//! - `embedding`: the library front door's contract (`patrol::Scanner`)
//! - `hostile`, `hostile_git`: hostile files, trees and git repositories, signals (the
//!   fault-injection suite)
//! - `rules_cli`: `patrol rules list|check`
//! - `triage`: output formats (snapshots in `snapshots/`, SARIF schema), patrol.toml,
//!   baselines (incl. a real `git merge`), the audit log
//! - `act`: `scan --verify/--revoke` and `patrol ado ...` against `mock_api`, a loopback
//!   server speaking the documented Azure DevOps, GitHub and GitLab endpoints
//! - `history`: git history, `--staged`, `--since-commit`, `--range`, `patrol hook install`
//!   (repositories built with `git_repo::GitRepoBuilder`)
//!
//! `util` holds the shared helpers (TestDir, run_patrol, sample tokens).

mod act;
mod embedding;
mod git_repo;
mod history;
mod hostile;
mod hostile_git;
mod layering;
mod mock_api;
mod rules_cli;
mod scan_files;
mod triage;
mod util;
