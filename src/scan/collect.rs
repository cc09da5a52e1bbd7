//! Collecting one target's hits into findings: one collector thread owns the findings map
//! (one finding per (rule, secret), every location, capped), then the findings are sorted,
//! the accepted ones (allow-list, baseline) dropped, the totals made up, and the rest pushed
//! to the sink.
//!
//! Also the live [`Counters`] the workers update, and the per-target totals taken from them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Instant;

use crate::baseline;
use crate::config::ScanConfig;
use crate::error::Diagnostics;
use crate::finding::{
    ChecksumStatus, Finding, FindingSink, Fingerprint, Location, ProviderId, RuleId, ScanSummary,
    Secret,
};
use crate::matcher::Matcher;

/// Live counters for progress display; updated by workers with relaxed atomics. They only
/// grow: a target's totals are the difference between two snapshots of them.
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

/// The counters at one moment (and the number of incomplete diagnostics then).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Snapshot {
    blobs: u64,
    bytes: u64,
    skipped: u64,
    binary: u64,
    errors: u64,
    suppressed: u64,
    incomplete: u64,
    at: Option<Instant>,
}

impl Counters {
    pub(crate) fn snapshot(&self, diags: &Diagnostics) -> Snapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            blobs: l(&self.blobs),
            bytes: l(&self.bytes),
            skipped: l(&self.skipped),
            binary: l(&self.binary),
            errors: l(&self.errors),
            suppressed: l(&self.suppressed),
            incomplete: diags.entries().iter().filter(|d| d.incomplete).count() as u64,
            at: Some(Instant::now()),
        }
    }
}

/// The totals of what happened between `before` and `after` (one target).
pub(crate) fn summarize(
    findings: &[Finding],
    before: Snapshot,
    after: Snapshot,
    cancel: &AtomicBool,
) -> ScanSummary {
    let interrupted = cancel.load(Ordering::Relaxed);
    let incomplete = after.incomplete - before.incomplete;
    let duration = match (before.at, after.at) {
        (Some(a), Some(b)) => b.duration_since(a).as_millis() as u64,
        _ => 0,
    };
    ScanSummary {
        blobs_scanned: after.blobs - before.blobs,
        bytes_scanned: after.bytes - before.bytes,
        skipped: after.skipped - before.skipped,
        binary: after.binary - before.binary,
        errors: (after.errors - before.errors).max(incomplete),
        findings: findings.len() as u64,
        suppressed: after.suppressed - before.suppressed,
        duration_ms: duration,
        complete: !interrupted && incomplete == 0,
        interrupted,
    }
}

/// One location of one secret, on its way to the collector.
#[derive(Debug)]
pub(crate) struct RawHit {
    /// Rule index in the matcher.
    pub rule: usize,
    /// The secret.
    pub secret: String,
    /// Whether the rule has a (passed) checksum.
    pub checksum: bool,
    /// Where.
    pub location: Location,
}

/// The single owner of one target's findings map.
pub(crate) struct Collector {
    tx: Sender<RawHit>,
    handle: JoinHandle<BTreeMap<(usize, String), Builder>>,
    /// Locations counted but never sent ([`Collector::omit`]), per (rule, secret).
    omitted: Mutex<BTreeMap<(usize, String), u64>>,
}

#[derive(Debug, Default)]
struct Builder {
    checksum: bool,
    /// Keyed as the report sorts them (files before history), so the cap keeps the first
    /// locations in report order whatever order the threads delivered them in.
    locations: BTreeSet<(bool, Location)>,
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
        Self {
            tx,
            handle,
            omitted: Mutex::new(BTreeMap::new()),
        }
    }

    /// Counts `n` more locations of the finding of (`rule`, `secret`) as omitted without
    /// sending them: a source that already knows they fall past the cap (a blob at more
    /// places than `max_locations`) need not build them. Only for a finding that also gets
    /// at least one location sent.
    pub fn omit(&self, rule: usize, secret: &str, n: u64) {
        let mut m = self.omitted.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((rule, secret.to_string())).or_default() += n;
    }

    /// A sender for one worker.
    pub fn sender(&self) -> Sender<RawHit> {
        self.tx.clone()
    }

    /// Waits for every sender to be dropped, then builds the findings, sorted by rule id and
    /// fingerprint.
    pub fn finish(self, matcher: &Matcher) -> Vec<Finding> {
        drop(self.tx);
        let mut map = self.handle.join().unwrap_or_default();
        let omitted = self.omitted.into_inner().unwrap_or_else(|e| e.into_inner());
        for (key, n) in omitted {
            map.entry(key).or_default().omitted += n;
        }
        let mut out: Vec<Finding> = map
            .into_iter()
            .map(|((rule, secret), b)| {
                let r = &matcher.rules().rules()[rule];
                let secret = Secret::new(secret);
                Finding {
                    rule: RuleId::new(r.id()),
                    name: r.spec.name.clone(),
                    provider: ProviderId::new(r.spec.provider.clone()),
                    fingerprint: Fingerprint::of(r.id(), &secret),
                    secret,
                    checksum: if b.checksum {
                        ChecksumStatus::Valid
                    } else {
                        ChecksumStatus::None
                    },
                    locations: b.locations.into_iter().map(|(_, l)| l).collect(),
                    locations_omitted: b.omitted,
                    verification: None,
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.rule, &a.fingerprint).cmp(&(&b.rule, &b.fingerprint)));
        out
    }
}

/// What every step of one target's scan shares.
pub(crate) struct Job<'a> {
    pub config: &'a ScanConfig,
    pub collector: &'a Collector,
    pub diags: &'a Diagnostics,
    pub counters: &'a Counters,
    pub cancel: &'a AtomicBool,
}

impl Job<'_> {
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Drops the accepted findings (allow-list, baseline; their count moves to
/// `summary.suppressed`) and pushes the rest, in order, into `sink`.
pub(crate) fn deliver<S: FindingSink + ?Sized>(
    mut findings: Vec<Finding>,
    mut summary: ScanSummary,
    accepted: &BTreeSet<Fingerprint>,
    sink: &mut S,
) -> Result<ScanSummary, S::Error> {
    baseline::suppress(&mut findings, &mut summary, accepted);
    for f in &findings {
        sink.finding(f)?;
    }
    sink.finish(&summary)?;
    Ok(summary)
}
