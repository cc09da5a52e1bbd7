//! Archives in a scan: each entry of a zip, tar, gzip, xz or bzip2 input (a file, standard
//! input or a git blob) is scanned like a file, at the location `outer!inner`
//! (`dist/app.zip!config/settings.json`), in the `path` field of every report. The reading and its limits live in
//! `source/archive.rs`; this file only connects them to [`BlobScanner`].

use std::io::{self, Read};
use std::path::PathBuf;

use super::blob::BlobScanner;
use crate::source::archive::{self, Kind, Problem};
use crate::source::Origin;

/// The archive `head` starts, if any (see [`archive::sniff`]).
pub(super) fn sniff(head: &[u8]) -> Option<Kind> {
    archive::sniff(head)
}

/// The problems of one archive, as one line: the first, and how many more there were.
#[derive(Debug, thiserror::Error)]
#[error("{first}{}", if *more > 0 { format!(" (and {more} more archive problems)") } else { String::new() })]
struct Incomplete {
    first: Problem,
    more: usize,
}

impl BlobScanner<'_> {
    /// Scans a git blob held in memory: its entries if it is an archive, else its bytes. An
    /// error names what in the archive could not be scanned (the scan is then partial).
    pub fn scan_blob(&mut self, bytes: &[u8], origins: &[Origin]) -> io::Result<()> {
        if let Some(kind) = self.config().archives.as_ref().and(sniff(bytes)) {
            return self.scan_archive(&mut &bytes[..], kind, origins);
        }
        self.scan_bytes(bytes, origins);
        Ok(())
    }

    /// `true` when `bytes` would be opened as an archive (so `--skip-binary` keeps it).
    pub fn is_archive(&self, bytes: &[u8]) -> bool {
        self.config().archives.is_some() && sniff(bytes).is_some()
    }

    /// Walks the archive read from `r`, scanning every entry at its nested origin.
    pub(super) fn scan_archive(
        &mut self,
        r: &mut dyn Read,
        kind: Kind,
        origins: &[Origin],
    ) -> io::Result<()> {
        let limits = self.config().archives.clone().unwrap_or_default();
        let skip_binary = self.config().skip_binary;
        let name = origins.first().map(name_of).unwrap_or_default();
        let mut problems = archive::walk(r, kind, &name, &limits, &mut |inner, entry| {
            let nested: Vec<Origin> = origins.iter().map(|o| nest(o, inner)).collect();
            self.scan_reader_as(entry, &nested, skip_binary, false)
        });
        if problems.is_empty() {
            return Ok(());
        }
        let more = problems.len() - 1;
        Err(io::Error::other(Incomplete {
            first: problems.swap_remove(0),
            more,
        }))
    }
}

fn name_of(o: &Origin) -> String {
    match o {
        Origin::File { path } => path.to_string_lossy().into_owned(),
        Origin::GitBlob { path, .. } => String::from_utf8_lossy(path).into_owned(),
        Origin::Stdin | Origin::GitMessage { .. } => String::new(),
    }
}

/// The origin of entry `inner` of the archive at `o` (`""`: the archive itself).
fn nest(o: &Origin, inner: &str) -> Origin {
    if inner.is_empty() {
        return o.clone();
    }
    match o {
        Origin::File { path } => Origin::File {
            path: PathBuf::from(archive::join(&path.to_string_lossy(), inner)),
        },
        Origin::Stdin => Origin::File {
            path: PathBuf::from(archive::join("-", inner)),
        },
        Origin::GitBlob { commit, path } => {
            let mut p = path.clone();
            p.push(b'!');
            p.extend_from_slice(inner.as_bytes());
            Origin::GitBlob {
                commit: commit.clone(),
                path: p,
            }
        }
        Origin::GitMessage { .. } => o.clone(),
    }
}
