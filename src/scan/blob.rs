//! One blob's bytes -> raw hits: per-thread matcher scratch and buffers, chunked reading with
//! overlap (memory stays bounded whatever the input's size), UTF-16 decoding, line and column
//! numbers, inline allow markers, and each hit's location for every origin of the blob.

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;

use super::collect::{Counters, Job, RawHit};
use crate::config::ScanConfig;
use crate::finding::Location;
use crate::matcher::{Candidate, Matcher, Scratch};
use crate::source::fs::{self as fs_source, OVERLAP_BYTES};
use crate::source::utf16::{self, Utf16Reader};
use crate::source::{CommitMeta, Origin};

/// Markers that allow a line when inline allow comments are honoured.
pub const INLINE_ALLOW_MARKERS: &[&str] =
    &["patrol:allow", "gitleaks:allow", "pragma: allowlist secret"];

/// Per-thread scanning state: matcher scratch, buffers and a sender to the collector.
pub(crate) struct BlobScanner<'a> {
    matcher: &'a Matcher,
    scratch: Scratch,
    cands: Vec<Candidate>,
    buf: Vec<u8>,
    tx: Sender<RawHit>,
    counters: &'a Counters,
    config: &'a ScanConfig,
    /// The repository the blobs come from (for history locations).
    repository: Option<String>,
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
    /// A scanner for one worker thread of `job`, reading blobs of `repository` (`None` for
    /// files and stdin).
    pub fn new(job: &Job<'a>, repository: Option<String>) -> Self {
        let matcher = &job.config.matcher;
        Self {
            matcher,
            scratch: matcher.scratch(),
            cands: Vec::new(),
            buf: Vec::new(),
            tx: job.collector.sender(),
            counters: job.counters,
            config: job.config,
            repository,
        }
    }

    /// As [`BlobScanner::new`], but sending hits to `tx` rather than to the job's collector
    /// (the history pipeline holds a blob's hits until it knows where the blob sits).
    pub fn with_sender(job: &Job<'a>, repository: Option<String>, tx: Sender<RawHit>) -> Self {
        Self {
            tx,
            ..Self::new(job, repository)
        }
    }

    /// The scan's configuration.
    pub fn config(&self) -> &'a ScanConfig {
        self.config
    }

    /// The live counters.
    pub fn counters(&self) -> &'a Counters {
        self.counters
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
        self.scan_reader_as(r, origins, skip_binary, self.config.archives.is_some())
    }

    /// [`BlobScanner::scan_reader`], opening archives only when `archives` is set.
    pub(super) fn scan_reader_as(
        &mut self,
        r: impl Read,
        origins: &[Origin],
        skip_binary: bool,
        archives: bool,
    ) -> io::Result<()> {
        let mut r = io::BufReader::with_capacity(64 * 1024, r);
        let head = {
            use io::BufRead;
            r.fill_buf()?.to_vec()
        };
        if let Some(kind) = archives
            .then(|| crate::source::archive::sniff(&head))
            .flatten()
        {
            return self.scan_archive(&mut r, kind, origins);
        }
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
        if let Some(little_endian) = utf16::guess(&head) {
            return self.stream(Utf16Reader::new(r, little_endian), origins);
        }
        self.stream(r, origins)
    }

    /// Scans `r` in overlapping chunks (see [`BlobScanner::scan_reader`]).
    fn stream(&mut self, r: impl Read, origins: &[Origin]) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        let mut state = LineState::default();
        let res = fs_source::read_chunks(
            r,
            &mut buf,
            self.config.chunk_bytes,
            |chunk, offset, last| {
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
            },
        );
        buf.clear();
        if buf.capacity() > 2 * self.config.chunk_bytes {
            buf.shrink_to(self.config.chunk_bytes);
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
            let (line, column) = cursor.locate(chunk, c.start);
            if self.config.inline_allow && cursor.line_is_allowed(chunk) {
                self.counters.suppressed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            for o in origins {
                let mut location = location_of(o, line, column, c.encoding);
                if location.commit.is_some() {
                    location.repository.clone_from(&self.repository);
                }
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
    if utf16::bom(head).is_some() || utf16::guess(head).is_some() {
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

/// Turns increasing offsets in one chunk into (line, column), and says whether the line of
/// the last offset holds an allow marker. Linear in the chunk's bytes plus the offsets: the
/// column is carried forward from the previous offset (never counted again from the line's
/// start) and a line is searched for markers once, however many hits it holds; a 5.7 MB line
/// with 40,000 hits took 29 s when each hit re-read its whole line.
struct LineCursor {
    /// The offset up to which newlines and the column are counted.
    pos: usize,
    /// Newlines before `pos`, counting those before the chunk.
    lines: u64,
    /// Characters between the start of `pos`'s line and `pos` (for the chunk's first line,
    /// counting those before the chunk).
    col: u64,
    /// Where `pos`'s line starts in the chunk (0 for the chunk's first line).
    line_start: usize,
    /// Whether `pos`'s line holds an allow marker, once looked up.
    allowed: Option<bool>,
    /// Bytes read so far (newlines, characters, markers): the work, for the linearity test.
    #[cfg(test)]
    work: usize,
}

impl LineCursor {
    fn new(s: LineState) -> Self {
        Self {
            pos: 0,
            lines: s.lines,
            col: s.col,
            line_start: 0,
            allowed: None,
            #[cfg(test)]
            work: 0,
        }
    }

    /// The 1-based (line, column) of offset `p`, which is at least the previous one.
    fn locate(&mut self, chunk: &[u8], p: usize) -> (u64, u64) {
        let seg = &chunk[self.pos..p];
        #[cfg(test)]
        {
            self.work += seg.len();
        }
        match memchr::memrchr(b'\n', seg) {
            Some(i) => {
                self.lines += bytecount::count(seg, b'\n') as u64;
                self.line_start = self.pos + i + 1;
                self.col = chars(&chunk[self.line_start..p]);
                self.allowed = None;
            }
            None => self.col += chars(seg),
        }
        self.pos = p;
        (self.lines + 1, self.col + 1)
    }

    /// Whether the line of the last located offset holds an inline allow marker (the line as
    /// far as the chunk holds it).
    fn line_is_allowed(&mut self, chunk: &[u8]) -> bool {
        if let Some(a) = self.allowed {
            return a;
        }
        let end = memchr::memchr(b'\n', &chunk[self.pos..]).map_or(chunk.len(), |i| self.pos + i);
        #[cfg(test)]
        {
            self.work += end - self.line_start;
        }
        let a = has_allow_marker(&chunk[self.line_start..end]);
        self.allowed = Some(a);
        a
    }
}

/// The location of a hit at (line, column) in a blob with origin `o`.
pub(crate) fn location_of(
    o: &Origin,
    line: u64,
    column: u64,
    encoding: Option<&'static str>,
) -> Location {
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
        repository: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, column) of `p` and whether its line holds a marker, counted from the start.
    fn naive(text: &[u8], p: usize, before: LineState) -> (u64, u64, bool) {
        let head = &text[..p];
        let nl = bytecount::count(head, b'\n') as u64;
        let (ls, col) = match memchr::memrchr(b'\n', head) {
            Some(i) => (i + 1, chars(&text[i + 1..p])),
            None => (0, before.col + chars(head)),
        };
        let le = memchr::memchr(b'\n', &text[p..]).map_or(text.len(), |i| p + i);
        (
            before.lines + nl + 1,
            col + 1,
            has_allow_marker(&text[ls..le]),
        )
    }

    /// Lines long and short, multi-byte characters, hits side by side, a marker on some
    /// lines, and a chunk that starts mid-line: the cursor agrees with counting from scratch.
    #[test]
    fn the_cursor_gives_the_same_lines_columns_and_markers_as_counting_from_scratch() {
        let mut text = Vec::new();
        let mut hits = Vec::new();
        for line in 0..40 {
            for i in 0..(line * 7) {
                if i % 3 == 0 {
                    hits.push(text.len());
                }
                text.extend_from_slice(if i % 5 == 0 {
                    "é€x".as_bytes()
                } else {
                    b"tok_"
                });
            }
            if line % 4 == 1 {
                text.extend_from_slice(b" # patrol:allow");
            }
            text.push(b'\n');
        }
        let before = LineState { lines: 9, col: 4 };
        let mut c = LineCursor::new(before);
        for &p in &hits {
            let (line, col) = c.locate(&text, p);
            let allowed = c.line_is_allowed(&text);
            assert_eq!((line, col, allowed), naive(&text, p, before), "offset {p}");
        }
    }

    /// Issue #26 (3): a 2 MB line with 50,000 hits and a marker at its end. The cursor reads
    /// each byte a small constant number of times (it read the whole line per hit, 25 GB
    /// here, which is 29 s for 5.7 MB and 40,000 hits); the work, not the time, is asserted.
    #[test]
    fn locating_many_hits_on_one_long_line_is_linear_in_bytes_plus_hits() {
        let n = 50_000;
        let token = b"ghp_0123456789abcdefghijklmnopqrstuvwxyz ";
        let mut text = Vec::with_capacity(n * token.len() + 64);
        let mut hits = Vec::with_capacity(n);
        for _ in 0..n {
            hits.push(text.len());
            text.extend_from_slice(token);
        }
        text.extend_from_slice(b"# patrol:allow\nnext line\n");
        let mut c = LineCursor::new(LineState::default());
        for (i, &p) in hits.iter().enumerate() {
            assert_eq!(c.locate(&text, p), (1, (i * token.len()) as u64 + 1));
            assert!(c.line_is_allowed(&text));
        }
        assert!(
            c.work <= 2 * text.len() + hits.len(),
            "{} bytes read for a {}-byte input with {} hits",
            c.work,
            text.len(),
            hits.len()
        );
    }
}
