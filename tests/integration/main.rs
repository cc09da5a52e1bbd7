//! Integration tests: drive the built `patrol` binary on trees generated in temp dirs.
//!
//! One test binary; each module covers one area:
//! - `scan_files`: the file scanner end to end (walk, chunking, output, exit codes)
//! - `layering`: the module dependency table of STYLE.md, and no import circle in cli/ or
//!   scan/, enforced
//! - `embedding`: the library front door's contract (`patrol::Scanner`)
//! - `hostile`, `hostile_git`: hostile files, trees and git repositories, signals (the
//!   fault-injection suite)
//! - `report_formats`: what SARIF consumers need beyond the schema; `--format html` and
//!   `--format markdown`
//! - `install`: `patrol completions SHELL`, `patrol man`
//! - `rules_cli`: `patrol rules list|check`
//! - `formats`, `sarif`: output formats (snapshots in `snapshots/`, the SARIF schema)
//! - `config`: patrol.toml; `baseline`: baselines (incl. a real `git merge`)
//! - `audit`: the audit log of scans and of the acting stage
//! - `verify`, `revoke_azure_devops`, `revoke_github_gitlab`, `http_policy`, `act_from`:
//!   `scan --verify/--revoke`, `patrol ado ...` and `patrol act --from` against `mock_api`, a
//!   loopback server speaking the documented Azure DevOps, GitHub and GitLab endpoints
//!   (`act_env`: their shared set-up)
//! - `hook_run`: `patrol hook run` (the pre-commit framework's entry point)
//! - `history`: git history, `--staged`, `--since-commit`, `--range`, `patrol hook install`
//!   (repositories built with `git_repo::GitRepoBuilder`)
//!
//! - `pats`: `patrol pats ...` against `pats_api`, a loopback PAT Lifecycle API
//! - `notify`: `--notify` / `--notify-webhook` against `notify_servers` (SMTP, webhook)
//! - `sweep` (with `sweep_server`, a loopback organisation: listings and smart HTTP): the
//!   sweep datastore, incrementality, resume after SIGKILL, isolation, credentials
//! - `containers`: archives (zip, tar, gzip, nested) and encodings, with their limits
//! - `sweep_pg`: many workers sharing one sweep through PostgreSQL (`PATROL_TEST_PG_URL`)
//! - `pg_tls`: TLS to PostgreSQL (`sslmode`, `sslrootcert`) and `sweep --join`, each against
//!   its own cluster (`scripts/pg-test-server.sh`)
//!
//! `util` holds the shared helpers (TestDir, run_patrol, sample tokens).

mod act_env;
mod act_from;
mod audit;
mod baseline;
mod config;
mod containers;
mod embedding;
mod formats;
mod git_repo;
mod history;
mod hook_run;
mod hostile;
mod hostile_git;
mod http_policy;
mod install;
mod layering;
mod mock_api;
mod notify;
mod notify_servers;
mod pats;
mod pats_api;
mod pg_tls;
mod report_formats;
mod revoke_azure_devops;
mod revoke_github_gitlab;
mod rules_cli;
mod sarif;
mod scan_files;
mod sweep;
mod sweep_pg;
mod sweep_server;
mod util;
mod verify;
