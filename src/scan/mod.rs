//! The scanner, the library's front door: a validated [`ScanConfig`] and a [`ScanPlan`] in,
//! sorted findings pushed into a [`FindingSink`] target by target.
//!
//! Steps of [`Scanner::run`], for each target of the plan:
//! 1. [`FindingSink::begin`] with the target's name;
//! 2. one collector thread owns the target's findings map (`collect.rs`); workers send it raw
//!    hits;
//! 3. the target's files and standard input (`files.rs`), then its repositories (`git.rs`),
//!    each blob through a per-thread `BlobScanner` (`blob.rs`);
//! 4. merge, cap locations, sort, drop the accepted findings, total up, and push the findings
//!    and [`FindingSink::finish`] with the target's totals.
//!
//! Nothing here prints, opens a socket or knows about output formats. The child modules use
//! each other (plan <- git, collect <- blob <- files, git) but never this file, so there is
//! no import circle (`tests/integration/layering.rs` checks).

mod blob;
mod collect;
mod containers;
mod files;
mod git;
mod pipeline;
pub mod plan;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::config::{ScanConfig, ScanSettings, CHUNK_BYTES, DEFAULT_MAX_LOCATIONS};
use crate::error::Diagnostics;
use crate::finding::{Finding, FindingSink, ScanSummary};
pub use blob::{is_binary, INLINE_ALLOW_MARKERS};
pub use collect::Counters;
pub use plan::{GitOptions, GitTarget, GitWhat, HistoryMode, Objects, PlanError, ScanPlan, Target};

use collect::{Collector, Job};

/// Runs scan plans. Holds only the validated configuration (compiled rules, globs, the
/// accepted set), so one scanner can be shared by threads (`Send + Sync`) and run many plans;
/// every run's state (collector, counters, diagnostics) is its own.
#[derive(Debug)]
pub struct Scanner {
    config: ScanConfig,
}

/// What one run reports to and listens to, besides its sink.
#[derive(Debug, Clone, Copy)]
pub struct RunContext<'a> {
    /// Where skipped and unreadable inputs are recorded (one entry each; any error makes the
    /// run incomplete).
    pub diagnostics: &'a Diagnostics,
    /// Live counters, for a progress display; they only grow.
    pub counters: &'a Counters,
    /// Set it (from any thread) to stop: the targets' work ends early, what was found so far
    /// is still delivered, and the totals say `interrupted`.
    pub cancel: &'a AtomicBool,
}

impl Scanner {
    /// A scanner for `config`.
    pub fn new(config: ScanConfig) -> Self {
        Self { config }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &ScanConfig {
        &self.config
    }

    /// Scans every target of `plan` in order, pushing each target's findings into `sink`
    /// (see the [`FindingSink`] contract), and returns the totals of the whole run. Problems
    /// in the plan and unreadable inputs go to `ctx.diagnostics` and make the run incomplete;
    /// they never stop it. An error from the sink stops the run and is returned.
    pub fn run<S: FindingSink + ?Sized>(
        &self,
        plan: &ScanPlan,
        sink: &mut S,
        ctx: &RunContext<'_>,
    ) -> Result<ScanSummary, S::Error> {
        let mut total = ScanSummary {
            complete: true,
            ..Default::default()
        };
        for (i, target) in plan.targets.iter().enumerate() {
            if ctx.cancel.load(Ordering::Relaxed) {
                break;
            }
            let before = ctx.counters.snapshot(ctx.diagnostics);
            if i == 0 {
                for p in &plan.problems {
                    ctx.diagnostics.error(p.subject.clone(), &p.reason);
                }
            }
            sink.begin(&target.name)?;
            let findings = self.scan_target(target, ctx);
            let after = ctx.counters.snapshot(ctx.diagnostics);
            let summary = collect::summarize(&findings, before, after, ctx.cancel);
            let summary = collect::deliver(findings, summary, &self.config.accepted, sink)?;
            total.merge(&summary);
        }
        total.interrupted |= ctx.cancel.load(Ordering::Relaxed);
        total.complete &= !total.interrupted;
        Ok(total)
    }

    /// Scans `plan` with fresh diagnostics and counters into one [`ScanOutcome`].
    pub fn collect(&self, plan: &ScanPlan, cancel: &AtomicBool) -> (ScanOutcome, Diagnostics) {
        let diagnostics = Diagnostics::default();
        let counters = Counters::default();
        let ctx = RunContext {
            diagnostics: &diagnostics,
            counters: &counters,
            cancel,
        };
        let mut out = ScanOutcome::default();
        let Ok(total) = self.run(plan, &mut out, &ctx);
        // A run stopped between targets has no target that said so.
        out.summary.interrupted |= total.interrupted;
        out.summary.complete &= total.complete;
        (out, diagnostics)
    }

    /// One target: its files, then its repositories, into one collector.
    fn scan_target(&self, t: &Target, ctx: &RunContext<'_>) -> Vec<Finding> {
        let collector = Collector::spawn(self.config.max_locations);
        let job = Job {
            config: &self.config,
            collector: &collector,
            diags: ctx.diagnostics,
            counters: ctx.counters,
            cancel: ctx.cancel,
        };
        // The files and the repositories are scanned at once: a history scan starts with a
        // commit walk, and a walk of the working tree waits on the disk, neither of which
        // keeps every core busy alone (on the long benchmark history, the files took 0.4 s
        // at 60% CPU before the history began). The collector orders what both give.
        std::thread::scope(|sc| {
            let job = &job;
            let files = (!t.files.is_empty())
                .then(|| sc.spawn(move || files::walk_files_into(job, &t.files)));
            for r in &t.repositories {
                if job.cancelled() {
                    break;
                }
                git::scan_repository(job, r);
            }
            if let Some(Err(panic)) = files.map(|f| f.join()) {
                std::panic::resume_unwind(panic);
            }
        });
        collector.finish(&self.config.matcher)
    }
}

/// A sink that keeps everything: the findings of every target, in order, and the totals of
/// all of them. What `patrol scan` collects before acting on and writing the findings.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// Findings, sorted by rule id, then fingerprint, within each target.
    pub findings: Vec<Finding>,
    /// Totals (`complete` reflects errors and interruption).
    pub summary: ScanSummary,
}

impl Default for ScanOutcome {
    /// Nothing yet: no findings, and totals that are complete until a target says otherwise.
    fn default() -> Self {
        Self {
            findings: Vec::new(),
            summary: ScanSummary {
                complete: true,
                ..Default::default()
            },
        }
    }
}

impl FindingSink for ScanOutcome {
    type Error = Infallible;

    fn finding(&mut self, finding: &Finding) -> Result<(), Infallible> {
        self.findings.push(finding.clone());
        Ok(())
    }

    fn finish(&mut self, summary: &ScanSummary) -> Result<(), Infallible> {
        self.summary.merge(summary);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_scanner_can_be_shared_between_threads() {
        assert_send_sync::<Scanner>();
    }
}
