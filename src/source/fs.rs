//! Files and directories: the `ignore` crate's parallel walker, and chunked reading.
//!
//! The walker honours .gitignore/.ignore unless told not to, never descends into `.git`,
//! scans hidden files (a `.env` or `.npmrc` is where tokens live), does not follow symbolic
//! links unless asked, and hands only regular files to the visitor: FIFOs, sockets and device
//! files are skipped with a note, so a scan never blocks on them.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ignore::{WalkBuilder, WalkState};

use super::FsOptions;
use crate::error::Diagnostics;

/// One regular file to scan.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// The path, as walked.
    pub path: PathBuf,
    /// Its size when the walker knew it.
    pub size: Option<u64>,
}

/// Walks every root in `opts.paths` (except `-`) on `opts.threads` threads, calling a visitor
/// made by `factory` (one per thread) for each regular file. Problems go to `diags`; the walk
/// goes on. Stops early when `cancel` is set.
pub fn walk<'a, F>(opts: &FsOptions, diags: &'a Diagnostics, cancel: &'a AtomicBool, factory: F)
where
    F: Fn() -> Box<dyn FnMut(FileEntry) + Send + 'a> + Sync,
{
    // A root that cannot be read is named once, here, and left out of the walk: the walker
    // would report it a second time, with the path repeated in its message.
    let roots: Vec<&PathBuf> = opts
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .filter(|r| match std::fs::symlink_metadata(r) {
            Ok(_) => true,
            Err(e) => {
                diags.error(r.display().to_string(), e);
                false
            }
        })
        .collect();
    let Some((first, rest)) = roots.split_first() else {
        return;
    };
    let mut b = WalkBuilder::new(first);
    for r in rest {
        b.add(r);
    }
    let overrides = match exclude_overrides(opts) {
        Ok(o) => o,
        Err(e) => {
            diags.error("exclude globs", e);
            None
        }
    };
    b.hidden(false)
        .ignore(opts.respect_ignore)
        .git_ignore(opts.respect_ignore)
        .git_global(false)
        .git_exclude(opts.respect_ignore)
        .parents(opts.respect_ignore)
        .follow_links(opts.follow_links)
        .threads(opts.threads.max(1))
        .filter_entry(|e| e.file_name() != ".git");
    if let Some(o) = overrides {
        b.overrides(o);
    }
    b.build_parallel().run(|| {
        let mut visit = factory();
        Box::new(move |res| {
            if cancel.load(Ordering::Relaxed) {
                return WalkState::Quit;
            }
            let entry = match res {
                Ok(e) => e,
                Err(e) => {
                    let msg = e.to_string();
                    // A loop is reported by ignore with both paths in the message.
                    diags.error(walk_error_subject(&e), one_line(&msg));
                    return WalkState::Continue;
                }
            };
            let Some(ft) = entry.file_type() else {
                return WalkState::Continue; // stdin
            };
            if ft.is_dir() {
                return WalkState::Continue;
            }
            if ft.is_symlink() {
                // Not followed (the walker follows only with --follow-links, and then reports
                // the target's type instead).
                return WalkState::Continue;
            }
            if !ft.is_file() {
                diags.note(
                    entry.path().display().to_string(),
                    "not a regular file (FIFO, socket or device): skipped",
                );
                return WalkState::Continue;
            }
            let size = entry.metadata().ok().map(|m| m.len());
            visit(FileEntry {
                path: entry.into_path(),
                size,
            });
            WalkState::Continue
        })
    });
}

fn exclude_overrides(
    opts: &FsOptions,
) -> Result<Option<ignore::overrides::Override>, ignore::Error> {
    if opts.exclude.is_empty() {
        return Ok(None);
    }
    let mut ob = ignore::overrides::OverrideBuilder::new(
        opts.paths
            .first()
            .map(PathBuf::as_path)
            .unwrap_or(Path::new(".")),
    );
    for g in &opts.exclude {
        ob.add(&format!("!{g}"))?;
    }
    ob.build().map(Some)
}

fn walk_error_subject(e: &ignore::Error) -> String {
    match e {
        ignore::Error::WithPath { path, .. } => path.display().to_string(),
        ignore::Error::WithDepth { err, .. } => walk_error_subject(err),
        ignore::Error::WithLineNumber { err, .. } => walk_error_subject(err),
        ignore::Error::Loop { child, .. } => child.display().to_string(),
        _ => "walk".to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Opens a file for reading without ever blocking on a FIFO that appeared in its place.
pub fn open(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK);
    }
    let f = o.open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (FIFO, socket or device)",
        ));
    }
    Ok(f)
}

/// Bytes carried from one chunk into the next, so a token across a chunk boundary is seen
/// whole in one of them. Larger than any token, window or decoded run.
pub const OVERLAP_BYTES: usize = 8192;

/// Reads `r` in chunks of about `chunk` bytes, each starting `OVERLAP_BYTES` before the end of
/// the previous one, and calls `f(chunk, offset_of_chunk_in_input, is_last)`. Memory stays at
/// one chunk whatever the input's size. Returns the input's total size. On a read error, the
/// bytes read before it are handed to `f` as the last chunk before the error is returned (a
/// truncated gzip stream keeps what it decoded).
pub fn read_chunks(
    mut r: impl Read,
    buf: &mut Vec<u8>,
    chunk: usize,
    mut f: impl FnMut(&[u8], u64, bool),
) -> io::Result<u64> {
    let chunk = chunk.max(OVERLAP_BYTES * 2);
    buf.clear();
    let mut offset = 0u64;
    loop {
        // `take` + `read_to_end` fills the chunk without zeroing it first (a small file costs
        // its own size, not the chunk's).
        let want = (chunk - buf.len()) as u64;
        let got = match read_up_to(&mut r, buf, want) {
            Ok(got) => got,
            Err(e) => {
                // `read_to_end` keeps what it read before the error: scan it, then report.
                f(buf, offset, true);
                return Err(e);
            }
        };
        if got < want {
            f(buf, offset, true);
            return Ok(offset + buf.len() as u64);
        }
        f(buf, offset, false);
        let keep = buf.len() - OVERLAP_BYTES;
        buf.drain(..keep);
        offset += keep as u64;
    }
}

/// Appends up to `n` bytes from `r`; fewer only at end of input.
fn read_up_to(r: &mut impl Read, buf: &mut Vec<u8>, n: u64) -> io::Result<u64> {
    let mut got = 0;
    while got < n {
        match r.by_ref().take(n - got).read_to_end(buf) {
            Ok(0) => break,
            Ok(k) => got += k as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression test for #26 (item 5): bytes read before an error were dropped.
    #[test]
    fn bytes_read_before_an_error_are_handed_over_as_the_last_chunk() {
        let data = vec![b'a'; 50_000];
        let failing = (&data[..]).chain(ErrAfter);
        let mut seen = Vec::new();
        let r = read_chunks(failing, &mut Vec::new(), 20_000, |c, off, last| {
            seen.push((off, c.len(), last));
        });
        assert!(r.is_err());
        let (off, len, last) = *seen.last().unwrap();
        assert!(last);
        assert_eq!(off + len as u64, 50_000, "{seen:?}");
    }

    struct ErrAfter;

    impl Read for ErrAfter {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut short"))
        }
    }

    #[test]
    fn chunks_overlap_and_cover_the_input() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut seen = Vec::new();
        let total = read_chunks(&data[..], &mut Vec::new(), 20_000, |c, off, last| {
            assert_eq!(&data[off as usize..off as usize + c.len()], c);
            seen.push((off, c.len(), last));
        })
        .unwrap();
        assert_eq!(total, 100_000);
        assert!(seen.last().unwrap().2);
        for w in seen.windows(2) {
            assert_eq!(w[1].0, w[0].0 + w[0].1 as u64 - OVERLAP_BYTES as u64);
        }
    }
}
