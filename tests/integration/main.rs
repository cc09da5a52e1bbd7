//! Integration tests: drive the built `patrol` binary on trees generated in temp dirs.
//!
//! One test binary; each module covers one area:
//! - `scan_files`: the file scanner end to end (walk, chunking, output, exit codes)
//! - `rules_cli`: `patrol rules list|check`
//! - `act`: `scan --verify/--revoke` and `patrol ado ...` against `mock_api`, a loopback
//!   server speaking the documented Azure DevOps, GitHub and GitLab endpoints
//!
//! `util` holds the shared helpers (TestDir, run_patrol, sample tokens).

mod act;
mod mock_api;
mod rules_cli;
mod scan_files;
mod util;
