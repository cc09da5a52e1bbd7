//! Files on disk and standard input: the walker's threads each bring a [`BlobScanner`] and
//! scan files in chunks; standard input is scanned on the caller's thread.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};

use super::blob::BlobScanner;
use super::collect::Job;
use crate::error::Diagnostics;
use crate::source::fs::{self as fs_source, FileEntry};
use crate::source::{FsOptions, Origin};

/// Scans `paths` (files and directories; `-` is standard input), sending hits to the job's
/// collector (shared with the target's repositories, so one secret in both is one finding).
pub(crate) fn walk_files_into(job: &Job<'_>, paths: &[std::path::PathBuf]) {
    let c = job.config;
    if paths.iter().any(|p| p.as_os_str() == "-") {
        let mut s = BlobScanner::new(job, None);
        if let Err(e) = s.scan_reader(CancellableStdin::new(job.cancel), &[Origin::Stdin], false) {
            job.counters.errors.fetch_add(1, Ordering::Relaxed);
            job.diags.error("<stdin>", e);
        }
    }
    let fs = FsOptions {
        paths: paths.to_vec(),
        respect_ignore: c.respect_ignore,
        follow_links: c.follow_links,
        max_file_size: c.max_file_size,
        skip_binary: c.skip_binary,
        threads: c.threads,
        exclude: c.exclude.clone(),
    };
    fs_source::walk(&fs, job.diags, job.cancel, || {
        let mut s = BlobScanner::new(job, None);
        Box::new(move |e: FileEntry| scan_one_file(&mut s, &e, job.diags, job.cancel))
    });
}

/// Standard input read on its own thread, so that Ctrl-C ends a scan waiting for input: once
/// `cancel` is set, reads return end-of-input and what was read so far is scanned.
struct CancellableStdin<'c> {
    rx: Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    pos: usize,
    cancel: &'c AtomicBool,
}

impl<'c> CancellableStdin<'c> {
    fn new(cancel: &'c AtomicBool) -> Self {
        let (tx, rx) = mpsc::sync_channel(4);
        std::thread::spawn(move || {
            let mut stdin = io::stdin().lock();
            loop {
                let mut buf = vec![0u8; 256 * 1024];
                match stdin.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.send(Ok(buf)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        Self {
            rx,
            pending: Vec::new(),
            pos: 0,
            cancel,
        }
    }
}

impl Read for CancellableStdin<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.pending.len() {
                let n = buf.len().min(self.pending.len() - self.pos);
                buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            let next = if self.cancel.load(Ordering::Relaxed) {
                self.rx
                    .try_recv()
                    .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
            } else {
                self.rx.recv_timeout(std::time::Duration::from_millis(50))
            };
            match next {
                Ok(Ok(chunk)) => {
                    self.pending = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
    }
}

fn scan_one_file(s: &mut BlobScanner<'_>, e: &FileEntry, diags: &Diagnostics, cancel: &AtomicBool) {
    if cancel.load(Ordering::Relaxed) {
        return;
    }
    if let (Some(max), Some(size)) = (s.config().max_file_size, e.size) {
        if size > max {
            s.counters().skipped.fetch_add(1, Ordering::Relaxed);
            diags.note(
                e.path.display().to_string(),
                format!("{size} bytes, over --max-file-size: skipped"),
            );
            return;
        }
    }
    let origins = [Origin::File {
        path: e.path.clone(),
    }];
    let skip_binary = s.config().skip_binary;
    let res = fs_source::open(&e.path).and_then(|f| s.scan_reader(f, &origins, skip_binary));
    if let Err(err) = res {
        s.counters().errors.fetch_add(1, Ordering::Relaxed);
        diags.error(e.path.display().to_string(), err);
    }
}
