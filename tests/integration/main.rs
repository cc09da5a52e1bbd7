//! Integration tests: drive the built `patrol` binary on trees generated in temp dirs.
//!
//! One test binary; each module covers one area:
//! - `scan_files`: the file scanner end to end (walk, chunking, output, exit codes)
//! - `rules_cli`: `patrol rules list|check`
//! - `history`: git history, `--staged`, `--since-commit`, `--range`, `patrol hook install`
//!   (repositories built with `git_repo::GitRepoBuilder`)
//!
//! `util` holds the shared helpers (TestDir, run_patrol, sample tokens).

mod git_repo;
mod history;
mod rules_cli;
mod scan_files;
mod util;
