//! patrol finds leaked personal access tokens and other API tokens in files and git history,
//! and helps shut them down.
//!
//! ```text
//! source (fs, git) -> Blob -> matcher (prefilter -> window regex -> checksum / decode)
//!   -> Candidate -> scan (collector: one Finding per rule+secret, every location)
//!   -> FindingSink: report/{human,json,...}, audit     act (separate): provider/*, audit
//! ```
//!
//! What lives where:
//! - `error`: typed errors and `Diagnostics`, the per-input error collector
//! - `rules`: rule model, built-in rule data files, checksums, sample (fake) tokens
//! - `matcher`: bytes in, candidates out (pure)
//! - `source`: where bytes come from (files, stdin, git)
//! - `finding`: `Finding`, `Location` (Serialize + Deserialize), `RuleId`, `ProviderId`,
//!   `Fingerprint`, `Secret`, the `FindingSink` seam
//! - `scan`: the front door: `Scanner` runs a `ScanPlan` (`plan.rs`: files, stdin, git
//!   repositories with their commit selection) into a `FindingSink`; `collect.rs` (dedup,
//!   location cap, suppression, sort), `blob.rs` (chunks, lines), `files.rs`, `git.rs`
//! - `report`: one file per output format
//! - `audit`: the append-only JSONL audit trail (Azure DevOps audit entry shape)
//! - `config`: `patrol.toml` and `ScanConfig`: flags and the file merged and validated once
//! - `baseline`: accepted findings by fingerprint; the filter applied before any sink
//! - `provider`: HTTP clients for token providers (`http.rs` is the one client policy)
//! - `act`: the acting stage: verify / plan / execute (the one place that decides a write,
//!   plan audited first) / outcome; lifecycle (a user's own PATs created, renewed, revoked,
//!   rotated)
//! - `clock`: the RFC 3339 time formats
//! - `notify`: telling token owners (message builders; SMTP and webhook delivery)
//! - `store`: the sweep datastore (trait `Store`; SQLite and PostgreSQL, each schema one
//!   `.sql` file in `store/schema/`, what both compute alike in `common.rs`; typed rows)
//! - `sweep`: an organisation's repositories: list, plan, fetch, scan what is new, commit
//!
//! # Embedding the scanner
//!
//! Settings -> a validated [`ScanConfig`] -> a [`Scanner`] (`Send + Sync`, reusable) that
//! runs a [`ScanPlan`] and pushes each target's sorted findings into a [`FindingSink`] of
//! your own, with its own error type. Secrets are redacted unless you call
//! [`finding::Secret::expose`] (or `Finding::record(true)`).
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use patrol::{Finding, FindingSink, ScanConfig, ScanPlan, ScanSettings, Scanner};
//! use patrol::finding::ScanSummary;
//!
//! // A sink that keeps one line per finding (never the whole secret).
//! struct Lines(Vec<String>);
//! impl FindingSink for Lines {
//!     type Error = std::convert::Infallible;
//!     fn finding(&mut self, f: &Finding) -> Result<(), Self::Error> {
//!         let l = &f.locations[0];
//!         self.0.push(format!("{} {} {}:{}", f.rule, f.secret, l.path, l.line));
//!         Ok(())
//!     }
//!     fn finish(&mut self, _: &ScanSummary) -> Result<(), Self::Error> {
//!         Ok(())
//!     }
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let token = patrol::rules::sample::sample("github.pat_classic", 7).unwrap();
//! std::fs::write(dir.path().join("ci.env"), format!("GITHUB_TOKEN={token}\n"))?;
//!
//! let settings = ScanSettings { no_config: true, threads: Some(2), ..Default::default() };
//! let scanner = Scanner::new(ScanConfig::new(&settings)?);
//! let plan = ScanPlan::files([dir.path()]);
//! let diagnostics = patrol::error::Diagnostics::default();
//! let counters = patrol::scan::Counters::default();
//! let cancel = AtomicBool::new(false);
//! let ctx = patrol::scan::RunContext { diagnostics: &diagnostics, counters: &counters, cancel: &cancel };
//! let mut lines = Lines(Vec::new());
//! let Ok(summary) = scanner.run(&plan, &mut lines, &ctx);
//! assert!(summary.complete);
//! assert_eq!(lines.0.len(), 1);
//! assert!(lines.0[0].starts_with("github.pat_classic ghp_"));
//! assert!(!lines.0[0].contains(&token), "redacted by default");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

// The store contract's checks (tests/support/store_contract.rs) name the library `patrol`, as
// they do when `tests/postgres/` runs them; inside the crate's unit tests that name is this crate.
#[cfg(test)]
extern crate self as patrol;

pub mod act;
pub mod audit;
pub mod baseline;
pub mod clock;
pub mod config;
pub mod error;
pub mod finding;
pub mod matcher;
pub mod notify;
pub mod provider;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod store;
pub mod sweep;

pub use config::{ScanConfig, ScanSettings};
pub use finding::{Finding, FindingSink, Location};
pub use scan::{ScanPlan, Scanner};
