//! Where bytes come from: blobs (bytes in memory or streamed) with their [`Origin`]s.
//!
//! A source (the file walker in `fs.rs`, the git history reader in `git.rs`) yields blobs;
//! the scanner turns blob bytes into findings and each origin into a location. Nothing here
//! matches or reports.

pub mod archive;
pub(crate) mod commits;
pub mod fs;
pub mod git;
pub mod git_command;
pub mod holdings;
pub(crate) mod key;
pub mod objects;
pub mod remote;
pub mod staged;
pub mod tips;
pub mod utf16;

use std::path::PathBuf;
use std::sync::Arc;

/// Where a scanned blob was found. One blob may have several origins (the same git blob at
/// two paths or in two commits is read once and reported at each).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A file on disk.
    File {
        /// The path as given or walked.
        path: PathBuf,
    },
    /// Standard input (`patrol scan -`).
    Stdin,
    /// A blob in git history, attributed to the commit that introduced it at `path`.
    GitBlob {
        /// The commit that first has this blob at this path (shared: one commit introduces
        /// many blobs, and a history plan holds an origin for each).
        commit: Arc<CommitMeta>,
        /// The path inside the repository, exact bytes (git paths need not be UTF-8).
        path: Vec<u8>,
    },
    /// A commit message (or annotated tag message, with `path` = `refs/tags/...`).
    GitMessage {
        /// The commit (for a tag: the tag object, with the tagger as author).
        commit: Arc<CommitMeta>,
        /// What the message belongs to: `commit message` or the tag's ref name.
        what: String,
    },
}

/// The commit facts a history finding carries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommitMeta {
    /// Full hex object id.
    pub id: String,
    /// Author name (lossy UTF-8).
    pub author_name: String,
    /// Author e-mail (lossy UTF-8).
    pub author_email: String,
    /// Author date, RFC 3339 (UTC offset preserved).
    pub author_date: String,
}

/// Options for the file source.
#[derive(Debug, Clone)]
pub struct FsOptions {
    /// The roots to scan (files or directories); `-` is standard input.
    pub paths: Vec<PathBuf>,
    /// Honour .gitignore / .ignore files (default `true`).
    pub respect_ignore: bool,
    /// Follow symbolic links while walking (default `false`).
    pub follow_links: bool,
    /// Skip files larger than this many bytes (only when the user asks).
    pub max_file_size: Option<u64>,
    /// Skip files that look binary (a NUL byte in the first 8 KiB).
    pub skip_binary: bool,
    /// Worker threads.
    pub threads: usize,
    /// Path globs to exclude (from patrol.toml), matched against the path relative to the root.
    pub exclude: Vec<String>,
}

impl Default for FsOptions {
    fn default() -> Self {
        Self {
            paths: vec![PathBuf::from(".")],
            respect_ignore: true,
            follow_links: false,
            max_file_size: None,
            skip_binary: false,
            threads: 1,
            exclude: Vec::new(),
        }
    }
}
