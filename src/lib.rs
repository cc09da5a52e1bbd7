//! patrol finds leaked personal access tokens and other API tokens in files and git history,
//! and helps shut them down.
//!
//! ```text
//! source (fs, git) -> Blob -> matcher (prefilter -> window regex -> checksum / decode)
//!   -> Candidate -> scan (collector: one Finding per rule+secret, every location)
//!   -> FindingSink: report/{human,json,...}, audit     act (separate): provider/*, revoke
//! ```
//!
//! What lives where:
//! - `error`: typed errors and `Diagnostics`, the per-input error collector
//! - `rules`: rule model, built-in rule data files, checksums, sample (fake) tokens
//! - `matcher`: bytes in, candidates out (pure)
//! - `source`: where bytes come from (files, stdin, git)
//! - `finding`: `Finding`, `Location`, `Fingerprint`, `Secret`, the `FindingSink` seam
//! - `scan`: orchestration: threads, chunking, collecting
//! - `report`: one file per output format
//! - `audit`: the append-only JSONL audit trail (Azure DevOps audit entry shape)
//! - `config`: `patrol.toml`, read and validated before a scan
//! - `baseline`: accepted findings by fingerprint; the filter applied before any sink
//! - `provider`: HTTP clients for token providers (`http.rs` is the one client policy)
//! - `revoke`: verify / plan / dry-run / revoke / audit: the one place that sends writes
//! - `store`: the sweep datastore (trait `Store`; SQLite)
//! - `sweep`: an organisation's repositories: list, plan, fetch, scan what is new, commit
#![warn(missing_docs)]

pub mod audit;
pub mod baseline;
pub mod config;
pub mod error;
pub mod finding;
pub mod matcher;
pub mod provider;
pub mod report;
pub mod revoke;
pub mod rules;
pub mod scan;
pub mod source;
pub mod store;
pub mod sweep;
