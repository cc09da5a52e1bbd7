//! Orchestration: sources -> matcher -> one finding per (rule, secret), with every location.
//!
//! Steps of a scan, each a function below:
//! 1. [`Collector::spawn`]: one thread owns the findings map; workers send it raw hits;
//! 2. [`scan_files`]: the walker's threads each bring a [`BlobScanner`] (matcher scratch and a
//!    reusable buffer) and scan files in chunks; standard input is scanned on the caller's thread;
//! 3. [`Collector::finish`]: merge, cap locations, sort, and total up.
//!
//! Nothing here prints, opens a socket or knows about output formats.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::error::Diagnostics;
use crate::finding::{ChecksumStatus, Finding, Fingerprint, Location, ScanSummary, Secret};
use crate::matcher::{Candidate, Matcher, Scratch};
use crate::source::fs::{self as fs_source, FileEntry, OVERLAP_BYTES};
use crate::source::utf16::{self, Utf16Reader};
use crate::source::{CommitMeta, FsOptions, Origin};

pub mod history;
pub mod pipeline;

/// Bytes read and matched at a time; larger files are streamed in overlapping chunks.
pub const CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Default cap on locations kept per finding (`--max-locations`).
pub const DEFAULT_MAX_LOCATIONS: usize = 1000;
/// Markers that allow a line when inline allow comments are honoured.
pub const INLINE_ALLOW_MARKERS: &[&str] =
    &["patrol:allow", "gitleaks:allow", "pragma: allowlist secret"];

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The file source's options (roots, ignore files, threads...).
    pub fs: FsOptions,
    /// Locations kept per finding; more are counted as omitted.
    pub max_locations: usize,
    /// Honour `patrol:allow` and friends on the line of a finding.
    pub inline_allow: bool,
    /// Chunk size for reading (tests make it small to exercise chunk boundaries).
    pub chunk_bytes: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            fs: FsOptions::default(),
            max_locations: DEFAULT_MAX_LOCATIONS,
            inline_allow: true,
            chunk_bytes: CHUNK_BYTES,
        }
    }
}

/// Live counters for progress display; updated by workers with relaxed atomics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Blobs (files) scanned.
    pub blobs: AtomicU64,
    /// Bytes scanned.
    pub bytes: AtomicU64,
    /// Raw hits (locations) sent to the collector.
    pub hits: AtomicU64,
    /// Inputs skipped by choice.
    pub skipped: AtomicU64,
    /// Binary inputs seen.
    pub binary: AtomicU64,
    /// Inputs that failed.
    pub errors: AtomicU64,
    /// Hits suppressed by inline allow comments.
    pub suppressed: AtomicU64,
}

/// The result of a scan: sorted findings and totals.
#[derive(Debug)]
pub struct ScanOutcome {
    /// Findings sorted by rule id, then fingerprint.
    pub findings: Vec<Finding>,
    /// Totals (`complete` reflects errors and interruption).
    pub summary: ScanSummary,
}

/// One location of one secret, on its way to the collector.
#[derive(Debug)]
pub struct RawHit {
    /// Rule index in the matcher.
    pub rule: usize,
    /// The secret.
    pub secret: String,
    /// Whether the rule has a (passed) checksum.
    pub checksum: bool,
    /// Where.
    pub location: Location,
}

/// The single owner of the findings map.
pub struct Collector {
    tx: Sender<RawHit>,
    handle: JoinHandle<BTreeMap<(usize, String), Builder>>,
}

#[derive(Debug, Default)]
struct Builder {
    checksum: bool,
    /// Keyed as the report sorts them (files before history), so the cap keeps the first
    /// locations in report order whatever order the threads delivered them in.
    locations: std::collections::BTreeSet<(bool, Location)>,
    omitted: u64,
}

impl Collector {
    /// Starts the collector thread, keeping at most `max_locations` locations per finding.
    pub fn spawn(max_locations: usize) -> Self {
        let (tx, rx): (Sender<RawHit>, Receiver<RawHit>) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            let mut map: BTreeMap<(usize, String), Builder> = BTreeMap::new();
            for hit in rx {
                let b = map.entry((hit.rule, hit.secret)).or_default();
                b.checksum |= hit.checksum;
                let key = (hit.location.commit.is_some(), hit.location);
                if b.locations.insert(key) && b.locations.len() > max_locations.max(1) {
                    b.locations.pop_last();
                    b.omitted += 1;
                }
            }
            map
        });
        Self { tx, handle }
    }

    /// A sender for one worker.
    pub fn sender(&self) -> Sender<RawHit> {
        self.tx.clone()
    }

    /// Waits for every sender to be dropped, then builds the sorted findings.
    pub fn finish(self, matcher: &Matcher) -> Vec<Finding> {
        drop(self.tx);
        let map = self.handle.join().unwrap_or_default();
        let mut out: Vec<Finding> = map
            .into_iter()
            .map(|((rule, secret), b)| {
                let r = &matcher.rules().rules()[rule];
                let secret = Secret::new(secret);
                let locations: Vec<Location> = b.locations.into_iter().map(|(_, l)| l).collect();
                Finding {
                    rule: r.id().to_string(),
                    name: r.spec.name.clone(),
                    provider: r.spec.provider.clone(),
                    fingerprint: Fingerprint::of(r.id(), &secret),
                    secret,
                    checksum: if b.checksum {
                        ChecksumStatus::Valid
                    } else {
                        ChecksumStatus::None
                    },
                    locations,
                    locations_omitted: b.omitted,
                    verification: None,
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.rule, &a.fingerprint).cmp(&(&b.rule, &b.fingerprint)));
        out
    }
}

/// Per-thread scanning state: matcher scratch, buffers and a sender to the collector.
pub struct BlobScanner<'a> {
    matcher: &'a Matcher,
    scratch: Scratch,
    cands: Vec<Candidate>,
    buf: Vec<u8>,
    tx: Sender<RawHit>,
    counters: &'a Counters,
    opts: &'a ScanOptions,
}

/// Where a chunk sits in its input, for line and column numbers.
#[derive(Debug, Clone, Copy, Default)]
struct LineState {
    /// Newlines before the chunk.
    lines: u64,
    /// Characters between the last newline before the chunk and the chunk's start.
    col: u64,
}

impl<'a> BlobScanner<'a> {
    /// A scanner for one worker thread.
    pub fn new(
        matcher: &'a Matcher,
        tx: Sender<RawHit>,
        counters: &'a Counters,
        opts: &'a ScanOptions,
    ) -> Self {
        Self {
            matcher,
            scratch: matcher.scratch(),
            cands: Vec::new(),
            buf: Vec::new(),
            tx,
            counters,
            opts,
        }
    }

    /// Scans bytes held in memory (a git blob, a commit message) with their origins.
    pub fn scan_bytes(&mut self, bytes: &[u8], origins: &[Origin]) {
        self.counters.blobs.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if is_binary(bytes) {
            self.counters.binary.fetch_add(1, Ordering::Relaxed);
        }
        let decoded = utf16::decode(bytes);
        let bytes = decoded.as_deref().unwrap_or(bytes);
        self.scan_chunk_bounded(bytes, true, true, LineState::default(), origins);
    }

    /// Streams `r` in overlapping chunks, so memory stays bounded whatever its size; a binary
    /// input is counted and, with `skip_binary`, skipped. On a read error, what was found
    /// before it has already been sent.
    pub fn scan_reader(
        &mut self,
        r: impl Read,
        origins: &[Origin],
        skip_binary: bool,
    ) -> io::Result<()> {
        let mut r = io::BufReader::with_capacity(64 * 1024, r);
        let head = {
            use io::BufRead;
            r.fill_buf()?.to_vec()
        };
        let binary = is_binary(&head);
        if binary {
            self.counters.binary.fetch_add(1, Ordering::Relaxed);
            if skip_binary {
                self.counters.skipped.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        if let Some(little_endian) = utf16::bom(&head) {
            // UTF-16 with a byte-order mark: decoded as a stream, so memory stays bounded.
            io::BufRead::consume(&mut r, 2);
            return self.stream(Utf16Reader::new(r, little_endian), origins);
        }
        self.stream(r, origins)
    }

    /// Scans `r` in overlapping chunks (see [`BlobScanner::scan_reader`]).
    fn stream(&mut self, r: impl Read, origins: &[Origin]) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        let mut state = LineState::default();
        let res =
            fs_source::read_chunks(r, &mut buf, self.opts.chunk_bytes, |chunk, offset, last| {
                let first = offset == 0;
                self.counters.bytes.fetch_add(
                    if first {
                        chunk.len()
                    } else {
                        chunk.len() - OVERLAP_BYTES
                    } as u64,
                    Ordering::Relaxed,
                );
                self.scan_chunk_bounded(chunk, first, last, state, origins);
                if !last {
                    state = advance(state, &chunk[..chunk.len() - OVERLAP_BYTES]);
                }
            });
        buf.clear();
        if buf.capacity() > 2 * self.opts.chunk_bytes {
            buf.shrink_to(self.opts.chunk_bytes);
        }
        self.buf = buf;
        self.counters.blobs.fetch_add(1, Ordering::Relaxed);
        res.map(drop)
    }

    /// Matches one chunk. Candidates starting in the overlap region are left to the next
    /// chunk (which sees them with their full left context), those starting in the first
    /// `LEFT_CONTEXT` bytes of a non-first chunk were already taken by the previous one.
    fn scan_chunk_bounded(
        &mut self,
        chunk: &[u8],
        first: bool,
        last: bool,
        state: LineState,
        origins: &[Origin],
    ) {
        const LEFT_CONTEXT: usize = 32;
        self.cands.clear();
        self.matcher.find(chunk, &mut self.scratch, &mut self.cands);
        if self.cands.is_empty() {
            return;
        }
        let lo = if first { 0 } else { LEFT_CONTEXT };
        let hi = if last {
            usize::MAX
        } else {
            chunk.len() - OVERLAP_BYTES + LEFT_CONTEXT
        };
        let mut cands = std::mem::take(&mut self.cands);
        cands.retain(|c| c.start >= lo && c.start < hi);
        cands.sort_by_key(|c| c.start);
        cands.dedup_by(|a, b| a.start == b.start && a.rule == b.rule && a.secret == b.secret);
        let mut cursor = LineCursor::new(state);
        for c in cands.drain(..) {
            let (line, column, line_range) = cursor.locate(chunk, c.start);
            if self.opts.inline_allow && has_allow_marker(&chunk[line_range]) {
                self.counters.suppressed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            for o in origins {
                let location = location_of(o, line, column, c.encoding);
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                let _ = self.tx.send(RawHit {
                    rule: c.rule,
                    secret: c.secret.clone(),
                    checksum: c.checksum,
                    location,
                });
            }
        }
        self.cands = cands;
    }
}

fn has_allow_marker(line: &[u8]) -> bool {
    INLINE_ALLOW_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m.as_bytes()).is_some())
}

/// A NUL byte in the first 8 KiB, as git and ripgrep judge it (UTF-16 text with a BOM is text).
pub fn is_binary(head: &[u8]) -> bool {
    if utf16::bom(head).is_some() {
        return false;
    }
    memchr::memchr(0, &head[..head.len().min(8192)]).is_some()
}

fn chars(b: &[u8]) -> u64 {
    bytecount::num_chars(b) as u64
}

fn advance(mut s: LineState, consumed: &[u8]) -> LineState {
    let n = bytecount::count(consumed, b'\n') as u64;
    if n == 0 {
        s.col += chars(consumed);
    } else {
        s.lines += n;
        let last = memchr::memrchr(b'\n', consumed).expect("a newline");
        s.col = chars(&consumed[last + 1..]);
    }
    s
}

/// Turns increasing offsets in one chunk into (line, column, byte range of the line).
struct LineCursor {
    pos: usize,
    lines: u64,
    line_start: Option<usize>,
    carry_col: u64,
}

impl LineCursor {
    fn new(s: LineState) -> Self {
        Self {
            pos: 0,
            lines: s.lines,
            line_start: None,
            carry_col: s.col,
        }
    }

    fn locate(&mut self, chunk: &[u8], p: usize) -> (u64, u64, std::ops::Range<usize>) {
        let seg = &chunk[self.pos..p];
        let n = bytecount::count(seg, b'\n') as u64;
        if n > 0 {
            self.lines += n;
            self.line_start = Some(self.pos + memchr::memrchr(b'\n', seg).expect("a newline") + 1);
        }
        self.pos = p;
        let (ls, col) = match self.line_start {
            Some(ls) => (ls, chars(&chunk[ls..p])),
            None => (0, self.carry_col + chars(&chunk[..p])),
        };
        let le = memchr::memchr(b'\n', &chunk[p..]).map_or(chunk.len(), |i| p + i);
        (self.lines + 1, col + 1, ls..le)
    }
}

/// The location of a hit at (line, column) in a blob with origin `o`.
pub fn location_of(o: &Origin, line: u64, column: u64, encoding: Option<&'static str>) -> Location {
    let (path, path_raw, commit) = match o {
        Origin::File { path } => (path_string(path), raw_if_not_utf8_path(path), None),
        Origin::Stdin => ("-".to_string(), None, None),
        Origin::GitBlob { commit, path } => (
            String::from_utf8_lossy(path).into_owned(),
            std::str::from_utf8(path).is_err().then(|| path.clone()),
            Some(CommitMeta::clone(commit)),
        ),
        Origin::GitMessage { commit, what } => {
            (format!("<{what}>"), None, Some(CommitMeta::clone(commit)))
        }
    };
    Location {
        path,
        path_raw,
        line,
        column,
        commit,
        encoding,
    }
}

fn path_string(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./")
        .map(str::to_string)
        .unwrap_or_else(|| s.into_owned())
}

fn raw_if_not_utf8_path(p: &Path) -> Option<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        if p.to_str().is_none() {
            let b = p.as_os_str().as_bytes();
            return Some(b.strip_prefix(b"./").unwrap_or(b).to_vec());
        }
    }
    let _ = p;
    None
}

/// Scans the files and directories in `opts.fs.paths` (and stdin for `-`).
pub fn scan_files(
    matcher: &Matcher,
    opts: &ScanOptions,
    diags: &Diagnostics,
    counters: &Counters,
    cancel: &AtomicBool,
) -> ScanOutcome {
    history::scan_git(matcher, opts, &[], true, diags, counters, cancel)
}

/// Scans the files and directories in `opts.fs.paths` (and stdin for `-`), sending hits to
/// `collector` (shared with the history scan, so one secret in both is one finding).
pub fn walk_files_into(
    matcher: &Matcher,
    opts: &ScanOptions,
    diags: &Diagnostics,
    counters: &Counters,
    cancel: &AtomicBool,
    collector: &Collector,
) {
    if opts.fs.paths.iter().any(|p| p.as_os_str() == "-") {
        let mut s = BlobScanner::new(matcher, collector.sender(), counters, opts);
        if let Err(e) = s.scan_reader(CancellableStdin::new(cancel), &[Origin::Stdin], false) {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            diags.error("<stdin>", e);
        }
    }
    let tx = collector.sender();
    fs_source::walk(&opts.fs, diags, cancel, || {
        let tx = tx.clone();
        let mut s = BlobScanner::new(matcher, tx, counters, opts);
        Box::new(move |e: FileEntry| scan_one_file(&mut s, &e, diags, cancel))
    });
    drop(tx);
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

/// Builds the totals from the counters and diagnostics.
pub fn summarize(
    findings: &[Finding],
    c: &Counters,
    diags: &Diagnostics,
    cancel: &AtomicBool,
    started: Instant,
) -> ScanSummary {
    let interrupted = cancel.load(Ordering::Relaxed);
    ScanSummary {
        blobs_scanned: c.blobs.load(Ordering::Relaxed),
        bytes_scanned: c.bytes.load(Ordering::Relaxed),
        skipped: c.skipped.load(Ordering::Relaxed),
        binary: c.binary.load(Ordering::Relaxed),
        errors: c
            .errors
            .load(Ordering::Relaxed)
            .max(diags.entries().iter().filter(|d| d.incomplete).count() as u64),
        findings: findings.len() as u64,
        suppressed: c.suppressed.load(Ordering::Relaxed),
        duration_ms: started.elapsed().as_millis() as u64,
        complete: !interrupted && !diags.is_incomplete(),
        interrupted,
    }
}

fn scan_one_file(s: &mut BlobScanner<'_>, e: &FileEntry, diags: &Diagnostics, cancel: &AtomicBool) {
    if cancel.load(Ordering::Relaxed) {
        return;
    }
    if let (Some(max), Some(size)) = (s.opts.fs.max_file_size, e.size) {
        if size > max {
            s.counters.skipped.fetch_add(1, Ordering::Relaxed);
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
    let res =
        fs_source::open(&e.path).and_then(|f| s.scan_reader(f, &origins, s.opts.fs.skip_binary));
    if let Err(err) = res {
        s.counters.errors.fetch_add(1, Ordering::Relaxed);
        diags.error(e.path.display().to_string(), err);
    }
}
