//! A history scan as a pipeline: blobs are scanned while the commit walk is still going, and
//! only the blobs that hold a hit are attributed to commits and paths afterwards.
//!
//! Steps of [`scan_history`]:
//! 1. [`enumerate_history`] meets each unique blob and each message once. Its parallel walk
//!    (`--threads` above 1, no range, no excludes) gives each walking thread's items to that
//!    thread's own [`ItemScanner`]; the serial walk hands them, in batches sorted by path, to
//!    a bounded channel that `--threads` workers (each an [`ItemScanner`]) take from;
//! 2. an [`ItemScanner`] has its own [`BlobReader`] and [`BlobScanner`]: a message's hits go
//!    straight to the collector, a blob's hits are held with the blob's id (their line and
//!    column do not depend on where the blob sits), and the walk's [`Holdings`] learns
//!    whether each blob had a hit, so it keeps the trees holding those and forgets the rest;
//! 3. [`attribute`] finds every (commit, path) of the few blobs with hits, reading only the
//!    trees the walk saw holding one, and each held hit goes to the collector once per
//!    origin, as a planned scan would have sent it; past `max_locations` origins of one blob,
//!    the rest are only counted (`Collector::omit`).
//!
//! The findings, locations, counters and diagnostics are those of [`plan_history`] followed
//! by `scan_planned`; the memory is about 60 bytes per unique blob, 70 per unique tree, 4 per
//! subtree entry and 40 per commit, instead of an origin per (blob, path) pair.
//!
//! [`plan_history`]: crate::source::git::plan_history

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Mutex;

use git2::Oid;

use super::blob::{is_binary, location_of, BlobScanner};
use super::collect::{Job, RawHit};
use crate::error::SourceError;
use crate::finding::Location;
use crate::source::git::{
    attribute, enumerate_history, BlobData, BlobReader, HistoryItem, PathFilter, Selection,
    ThreadSink,
};
use crate::source::holdings::Holdings;
use crate::source::Origin;

/// Items waiting for a worker: enough to keep both sides busy, few enough to stay small.
const QUEUE: usize = 4096;
/// Blobs sorted by path before they are queued or read. Small: a blob waiting here keeps the
/// trees met holding it in the walk's record, and on the long benchmark history noting them
/// was the largest part of the walk's time under its lock (whole scan, one run each: 8,192
/// blobs 7.6-8.9 s, 1,024 7.1 s, 256 6.4-6.9 s, 32 7.1 s).
const BATCH: usize = 256;
/// Blobs a worker scans before it tells the walk's record which had hits.
const RESOLVE_BATCH: usize = 256;
/// The path an archive entry of a not-yet-placed blob is found at (`-` stands for the blob).
const UNPLACED_ARCHIVE: &str = "-!";

/// Whether [`scan_history`] gives exactly the planned scan's result and counters for this
/// selection: every one (ranges and exclude globs included) but `--include-unreachable`.
pub(crate) fn applies(selection: &Selection) -> bool {
    match selection {
        Selection::AllRefs | Selection::Revs { .. } => true,
        // The walk of unreachable commits is the planned scan's (`plan_history`).
        Selection::AllRefsAndUnreachable => false,
    }
}

/// Scans the selected history of `repo` into `collector`. Fails as [`enumerate_history`] and
/// [`attribute`] fail (the repository cannot be opened, a revision does not resolve);
/// unreadable objects are diagnostics and the scan goes on.
pub(crate) fn scan_history(
    job: &Job<'_>,
    repo: &Path,
    repository: &str,
    selection: &Selection,
) -> Result<(), SourceError> {
    let (counters, diags, cancel) = (job.counters, job.diags, job.cancel);
    // patrol.toml's excludes apply to history too: a blob only at excluded paths is not read.
    let set = job.config.exclude_set.as_ref();
    let matches = |path: &[u8]| set.is_some_and(|s| s.is_match(path_of(path)));
    let excluded: Option<PathFilter<'_>> = set.map(|_| &matches as PathFilter<'_>);
    let (tx, rx) = mpsc::sync_channel::<HistoryItem>(QUEUE);
    let rx = Mutex::new(rx);
    let threads = job.config.threads.max(1);
    // Which trees hold the blobs with hits: the walk records, the scanners say which blobs.
    let holdings = Holdings::default();
    // The hits of blobs, from every scanner (the workers' and the walking threads' own).
    let held = Mutex::new(Vec::new());
    // The parallel walk's threads scan what they meet themselves.
    let own_scanner = || -> Box<dyn ThreadSink + '_> {
        Box::new(ItemScanner::new(
            job, repo, repository, &holdings, &held, BATCH,
        ))
    };
    let walk = std::thread::scope(|sc| {
        let workers: Vec<_> = (0..threads)
            .map(|_| sc.spawn(|| worker(job, repo, repository, &rx, &holdings, &held)))
            .collect();
        // Blobs go out in batches sorted by path, so that successive versions of a file are
        // read one after another and libgit2 resolves each delta from its cached base (in
        // walk order, versions of different files interleave and the cache thrashes). The
        // workers get only what a serial walk meets.
        let mut batch: Vec<HistoryItem> = Vec::with_capacity(BATCH);
        let flush = |batch: &mut Vec<HistoryItem>| {
            batch.sort_by(|a, b| match (a, b) {
                (HistoryItem::Blob(_, p), HistoryItem::Blob(_, q)) => p.cmp(q),
                _ => std::cmp::Ordering::Equal,
            });
            for item in batch.drain(..) {
                let _ = tx.send(item);
            }
        };
        let walk = enumerate_history(
            repo,
            selection,
            excluded,
            threads,
            &holdings,
            diags,
            cancel,
            &mut |item| match item {
                HistoryItem::Blob(..) => {
                    batch.push(item);
                    if batch.len() >= BATCH {
                        flush(&mut batch);
                    }
                }
                message => {
                    let _ = tx.send(message);
                }
            },
            Some(&own_scanner),
        );
        flush(&mut batch);
        drop(tx);
        for w in workers {
            if let Err(panic) = w.join() {
                std::panic::resume_unwind(panic);
            }
        }
        walk
    });
    let held = held.into_inner().unwrap_or_else(|e| e.into_inner());
    let walk = walk?;
    let mut by_blob: HashMap<Oid, Vec<RawHit>> = HashMap::new();
    let mut unplaced = 0u64;
    for (oid, hit) in held {
        by_blob.entry(oid).or_default().push(hit);
        unplaced += 1;
    }
    // A blob's origins past the location cap are only counted (a blob at 10,000,000 paths
    // must not cost 10,000,000 locations); not for a blob with a hit inside an archive
    // entry, whose locations sort by the entry's path too.
    let cap = job.config.max_locations.max(1);
    let targets: HashMap<Oid, usize> = by_blob
        .iter()
        .map(|(oid, hits)| {
            let in_archive = hits
                .iter()
                .any(|h| h.location.path.starts_with(UNPLACED_ARCHIVE));
            (*oid, if in_archive { usize::MAX } else { cap })
        })
        .collect();
    let out = job.collector.sender();
    // Each hit goes out once per origin, as a planned scan sends it (and counts it); the
    // workers counted it once, unplaced.
    let placements = attribute(
        repo,
        &walk,
        &targets,
        excluded,
        threads,
        Some(&holdings),
        cancel,
    );
    counters.hits.fetch_sub(unplaced, Ordering::Relaxed);
    for (oid, placement) in placements? {
        let hits = by_blob.get(&oid).map_or(&[][..], Vec::as_slice);
        for origin in &placement.origins {
            for hit in hits {
                counters.hits.fetch_add(1, Ordering::Relaxed);
                let _ = out.send(placed(hit, origin, repository));
            }
        }
        if placement.omitted > 0 {
            for hit in hits {
                counters
                    .hits
                    .fetch_add(placement.omitted, Ordering::Relaxed);
                job.collector.omit(hit.rule, &hit.secret, placement.omitted);
            }
        }
    }
    Ok(())
}

/// `hit` of a blob, at `origin`.
fn placed(hit: &RawHit, origin: &Origin, repository: &str) -> RawHit {
    let l = &hit.location;
    let mut location = Location {
        repository: Some(repository.to_string()),
        ..location_of(origin, l.line, l.column, l.encoding)
    };
    // A hit inside an archive entry was found at `-!ENTRY` (the blob's place was not
    // known yet): keep the entry after the blob's path, `dist/app.zip!conf.json`.
    if let Some(entry) = l.path.strip_prefix(UNPLACED_ARCHIVE) {
        location.path.push('!');
        location.path.push_str(entry);
        if let Some(raw) = &mut location.path_raw {
            raw.push(b'!');
            raw.extend_from_slice(entry.as_bytes());
        }
    }
    RawHit {
        rule: hit.rule,
        secret: hit.secret.clone(),
        checksum: hit.checksum,
        location,
    }
}

/// Takes items until the walk ends; adds the hits of blobs, each with its blob's id, to
/// `held`. After a cancel it keeps taking (so the walk never blocks) but scans nothing.
fn worker(
    job: &Job<'_>,
    repo: &Path,
    repository: &str,
    rx: &Mutex<mpsc::Receiver<HistoryItem>>,
    holdings: &Holdings,
    held: &Mutex<Vec<(Oid, RawHit)>>,
) {
    let mut s = ItemScanner::new(job, repo, repository, holdings, held, 1);
    loop {
        let item = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(item) => item,
            Err(_) => break,
        };
        s.item(item);
    }
    s.finish();
}

/// One thread's reading and scanning of history items: a worker's, or a walking thread's
/// own ([`ThreadSink`]). Blobs are held until `batch` of them wait, then read sorted by the
/// path they were met at (successive versions of one file, one delta chain, read one after
/// another). Whether each blob had a hit goes to the walk's [`Holdings`] in batches.
struct ItemScanner<'a> {
    job: &'a Job<'a>,
    reader: Option<BlobReader>,
    s: BlobScanner<'a>,
    hits: mpsc::Receiver<RawHit>,
    direct: mpsc::Sender<RawHit>,
    held: Vec<(Oid, RawHit)>,
    waiting: Vec<(Vec<u8>, Oid)>,
    batch: usize,
    scanned: Vec<(Oid, bool)>,
    holdings: &'a Holdings,
    /// Where the held hits go when the scanner's items end.
    out: &'a Mutex<Vec<(Oid, RawHit)>>,
}

impl<'a> ItemScanner<'a> {
    fn new(
        job: &'a Job<'a>,
        repo: &Path,
        repository: &'a str,
        holdings: &'a Holdings,
        out: &'a Mutex<Vec<(Oid, RawHit)>>,
        batch: usize,
    ) -> Self {
        let reader = BlobReader::open(repo)
            .map_err(|e| {
                job.counters.errors.fetch_add(1, Ordering::Relaxed);
                job.diags.error(repository.to_string(), e);
            })
            .ok();
        let (tx, hits) = mpsc::channel();
        Self {
            job,
            reader,
            s: BlobScanner::with_sender(job, Some(repository.to_string()), tx),
            hits,
            direct: job.collector.sender(),
            held: Vec::new(),
            waiting: Vec::new(),
            batch: batch.max(1),
            scanned: Vec::with_capacity(RESOLVE_BATCH),
            holdings,
            out,
        }
    }

    fn item(&mut self, item: HistoryItem) {
        match item {
            HistoryItem::Message(bytes, origin) => {
                if !self.job.cancelled() {
                    self.s.scan_bytes(&bytes, std::slice::from_ref(&origin));
                    for h in self.hits.try_iter() {
                        let _ = self.direct.send(h);
                    }
                }
            }
            HistoryItem::Blob(oid, path) => {
                self.waiting.push((path, oid));
                if self.waiting.len() >= self.batch {
                    self.scan_waiting();
                }
            }
        }
    }

    /// Reads and scans the blobs waiting, by path.
    fn scan_waiting(&mut self) {
        // By path only, a stable sort: the versions of one file stay in the order met, newest
        // first, which is the order their delta chain is read fastest in.
        if self.waiting.len() > 1 {
            self.waiting.sort_by(|a, b| a.0.cmp(&b.0));
        }
        // Where a blob sits is not known yet: its hits carry this and are re-located later.
        let unplaced = [Origin::Stdin];
        // Taken out for the loop and put back, so its capacity serves the next batch.
        let mut waiting = std::mem::take(&mut self.waiting);
        for (path, oid) in waiting.drain(..) {
            let before = self.held.len();
            if let (Some(reader), false) = (&self.reader, self.job.cancelled()) {
                read_and_scan(reader, oid, &unplaced, Some(&path), &mut self.s, self.job);
                self.held.extend(self.hits.try_iter().map(|h| (oid, h)));
            }
            self.scanned.push((oid, self.held.len() > before));
            if self.scanned.len() >= RESOLVE_BATCH {
                self.holdings.resolve(&mut self.scanned);
            }
        }
        self.waiting = waiting;
    }
}

impl ThreadSink for ItemScanner<'_> {
    fn item(&mut self, item: HistoryItem) {
        ItemScanner::item(self, item);
    }

    fn finish(&mut self) {
        self.scan_waiting();
        self.holdings.resolve(&mut self.scanned);
        let held = std::mem::take(&mut self.held);
        self.out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(held);
    }
}

/// Reads blob `oid` and scans it with `origins`, as a planned scan does: over
/// `--max-file-size` it is skipped with a note, binary with `--skip-binary` is counted and
/// skipped, and an unreadable blob is one error line naming it. A blob over the reader's
/// threshold ([`STREAM_ABOVE`](crate::source::git::STREAM_ABOVE) by default) is streamed in chunks, so memory stays bounded
/// whatever its size, limit or none. `met_at` is a path the walk met the blob at, for naming
/// it in an error line when `origins` do not place it yet.
pub(super) fn read_and_scan(
    reader: &BlobReader,
    oid: Oid,
    origins: &[Origin],
    met_at: Option<&[u8]>,
    s: &mut BlobScanner<'_>,
    job: &Job<'_>,
) {
    let (c, counters, diags) = (job.config, job.counters, job.diags);
    // The header lookup sets up a zlib stream per packed delta (libgit2 reads the delta's
    // target size) and walks the delta chain's headers: on the long benchmark history its
    // own functions took 0.2% of the samples (perf), the pack-header parsing and index
    // lookups it shares with the read 2.7%.
    let size = reader.size(oid).ok();
    if let (Some(max), Some(size)) = (c.max_file_size, size) {
        if size > max {
            counters.skipped.fetch_add(1, Ordering::Relaxed);
            diags.note(
                format!("git object {oid}"),
                format!("{size} bytes, over --max-file-size: skipped"),
            );
            return;
        }
    }
    // Outer: the blob could not be read; inner: reading its contents (a stream, an archive's
    // entries) failed part-way, after what came before was scanned.
    let res = reader.read(oid, size, |data| match data {
        BlobData::Stream(r) => s.scan_reader(r, origins, c.skip_binary),
        BlobData::Whole(bytes) => {
            if c.skip_binary && is_binary(bytes) && !s.is_archive(bytes) {
                counters.binary.fetch_add(1, Ordering::Relaxed);
                counters.skipped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            } else {
                s.scan_blob(bytes, origins)
            }
        }
    });
    // An error line names the blob and a path it is at, so that it can be found.
    let subject = || {
        let path = origins
            .iter()
            .find_map(|o| match o {
                Origin::GitBlob { path, .. } => Some(path.as_slice()),
                _ => None,
            })
            .or(met_at);
        match path {
            Some(p) => format!("git object {oid} ({})", String::from_utf8_lossy(p)),
            None => format!("git object {oid}"),
        }
    };
    match res {
        Err(e) => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            diags.error(subject(), reason_of(&e));
        }
        Ok(Err(e)) => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            diags.error(subject(), e);
        }
        Ok(Ok(())) => {}
    }
}

fn reason_of(e: &SourceError) -> String {
    match e {
        SourceError::Git { reason, .. } => format!("cannot read blob: {reason}"),
        other => other.to_string(),
    }
}

/// A git path's bytes as a path, for glob matching.
#[cfg(unix)]
pub(super) fn path_of(b: &[u8]) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
pub(super) fn path_of(b: &[u8]) -> std::path::PathBuf {
    std::path::PathBuf::from(String::from_utf8_lossy(b).into_owned())
}
