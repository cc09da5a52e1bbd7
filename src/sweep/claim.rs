//! The claim loop of every sweep, whichever the datastore: repositories are claimed one at a
//! time, as fetch slots free up. A single process (SQLite) is a shared sweep with nobody else
//! working ([`Store::pending_elsewhere`] is then 0); through PostgreSQL every worker takes its
//! share and a dead worker's repositories go to the others.
//!
//! Contract, on top of [`super::run`]'s:
//! - at most `jobs` repositories of this worker are claimed (leased) at once; a repository is
//!   claimed only when a fetch slot is free for it;
//! - when nothing is left to claim but other workers still hold leases, the worker waits
//!   ([`Store::poll_interval`]) and claims again: a lease that expires (its worker died) is
//!   taken here; the run ends once nothing is pending, so every worker exits with the
//!   sweep's exit code;
//! - a result whose lease was lost to another worker ([`StoreError::LeaseLost`]) is dropped
//!   with a note: that worker records the repository, nothing is written twice;
//! - with `--join` ([`SweepOptions::join`]) a worker never plans: it waits until a sweep of its
//!   target and rule set is running and joins it, so a worker started after a sweep is
//!   complete waits for the next one instead of beginning it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::Mutex;

use super::fetch::{fetch_one, git_auth, git_header, Fetched};
use super::plan::{plan, resume};
use super::record::finish_one;
use super::scan::ScanSetup;
use super::{inventory, Event, Events, SweepError, SweepOptions, SweepRun};
use crate::finding::Secret;
use crate::provider::http::{Auth, HttpClient, HttpPolicy};
use crate::scan::Counters;
use crate::source::remote::GitCredential;
use crate::store::{RefTip, RepoEntry, RepoState, Store, StoreError};

/// What one claim gave.
enum Claim {
    /// A repository to fetch, with its watermark (none under `--full`).
    Work(RepoEntry, Option<Vec<RefTip>>),
    /// A repository finished at once (skipped at listing time).
    Done,
    /// Nothing claimable now.
    Nothing,
}

fn claim(
    store: &mut dyn Store,
    sweep: i64,
    worker: &str,
    opts: &SweepOptions,
    ruleset: &str,
    events: &mut dyn FnMut(&Event),
) -> Result<Claim, SweepError> {
    let Some(r) = store.claim_next(sweep, worker)? else {
        return Ok(Claim::Nothing);
    };
    if let Some(reason) = &r.skip {
        match store.finish_repo(sweep, &r.key, RepoState::Skipped, Some(reason)) {
            Ok(()) => events(&Event::Finished {
                repo: r.key.clone(),
                state: RepoState::Skipped,
                reason: Some(reason.clone()),
            }),
            Err(StoreError::LeaseLost { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        return Ok(Claim::Done);
    }
    let mark = if opts.full {
        None
    } else {
        Some(store.watermark(&r.key, ruleset)?)
    };
    Ok(Claim::Work(r, mark))
}

/// `--join`: waits, polling, for an unfinished sweep of this target and rule set (one that
/// another worker began) and returns it; never writes a plan.
fn join(
    store: &mut dyn Store,
    ruleset: &str,
    opts: &SweepOptions,
    cancel: &AtomicBool,
    events: &mut dyn FnMut(&Event),
) -> Result<crate::store::SweepInfo, SweepError> {
    let target = opts.source.target();
    let mut told = false;
    loop {
        if let Some(s) = resume(store, &target, ruleset, events)? {
            return Ok(s);
        }
        if !told {
            events(&Event::Note(format!(
                "{target}: no sweep with this rule set is running: waiting for the next one (--join)"
            )));
            told = true;
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(SweepError::Interrupted);
        }
        std::thread::sleep(store.poll_interval());
    }
}

/// What the fetch threads share: the credential (for the listing API's git hosts only) and
/// the client of the ref checks.
struct Fetchers {
    cred_header: Option<GitCredential>,
    cred_auth: Option<Auth>,
    git_origins: Vec<String>,
    ref_client: HttpClient,
}

impl Fetchers {
    fn new(opts: &SweepOptions, git_origins: Vec<String>) -> Result<Self, SweepError> {
        Ok(Self {
            cred_header: opts.token.as_ref().map(|t| git_header(&opts.source, t)),
            cred_auth: opts.token.as_ref().map(|t| git_auth(&opts.source, t)),
            git_origins,
            // Ref checks are git traffic, paced like git (no per-host interval), one per job.
            ref_client: HttpClient::new(HttpPolicy {
                min_interval: std::time::Duration::ZERO,
                max_in_flight: opts.jobs.max(1),
                ..HttpPolicy::default()
            })?,
        })
    }

    fn is_ours(&self, r: &RepoEntry) -> bool {
        self.git_origins.contains(&inventory::origin(&r.clone_url))
    }

    /// Fetches one claimed repository, with the credential only if its host is the listing's.
    fn fetch(&self, opts: &SweepOptions, r: &RepoEntry, mark: Option<&Vec<RefTip>>) -> Fetched {
        let ours = self.is_ours(r);
        let cred = self.cred_header.as_ref().filter(|_| ours);
        let auth = match &self.cred_auth {
            Some(a) if ours => a.clone(),
            _ => Auth::None,
        };
        fetch_one(opts, &self.ref_client, r, mark, cred, &auth)
    }
}

/// The calling thread's side of the loop: the store, and what this run has found so far.
struct Recorder<'a> {
    store: &'a mut dyn Store,
    sweep: i64,
    worker: String,
    opts: &'a SweepOptions,
    setup: &'a ScanSetup,
    counters: &'a Counters,
    cancel: &'a AtomicBool,
    events: Events<'a>,
    secrets: HashMap<String, Secret>,
    fatal: Option<SweepError>,
}

impl Recorder<'_> {
    fn stopping(&self) -> bool {
        self.fatal.is_some() || self.cancel.load(Ordering::Relaxed)
    }

    /// Claims repositories while fetch slots are free; returns how many were handed out.
    fn fill(&mut self, fetchers: &Fetchers, work: &Sender<Job>, free: usize) -> usize {
        let mut sent = 0;
        while sent < free && !self.stopping() {
            let claimed = claim(
                self.store,
                self.sweep,
                &self.worker,
                self.opts,
                &self.setup.ruleset,
                self.events,
            );
            match claimed {
                Ok(Claim::Work(r, mark)) => {
                    if fetchers.cred_header.is_some() && !fetchers.is_ours(&r) {
                        (self.events)(&Event::Note(format!(
                            "{}: clone URL is not on the listing API's host: fetched without a credential",
                            r.key
                        )));
                    }
                    if work.send((r, mark)).is_err() {
                        break;
                    }
                    sent += 1;
                }
                Ok(Claim::Done) => {}
                Ok(Claim::Nothing) => break,
                Err(e) => self.fatal = Some(e),
            }
        }
        sent
    }

    /// With nothing of its own in flight: whether other workers still hold repositories
    /// (after waiting a poll interval for them, or for their leases to expire).
    fn others_pending(&mut self) -> bool {
        match self.store.pending_elsewhere(self.sweep, &self.worker) {
            Ok(0) => false,
            Ok(_) => {
                let until = std::time::Instant::now() + self.store.poll_interval();
                while std::time::Instant::now() < until && !self.cancel.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                true
            }
            Err(e) => {
                self.fatal = Some(e.into());
                false
            }
        }
    }

    /// Scans a fetched repository and commits what it found (the only writer to the store).
    fn record(&mut self, f: &Fetched) {
        if self.stopping() {
            return;
        }
        for n in &f.notes {
            (self.events)(&Event::Note(n.clone()));
        }
        (self.events)(&Event::Started(f.repo.key.clone()));
        let done = finish_one(
            self.store,
            self.sweep,
            self.opts.full,
            self.setup,
            self.counters,
            self.cancel,
            f,
            &mut self.secrets,
        );
        match done {
            Ok((state, reason)) => (self.events)(&Event::Finished {
                repo: f.repo.key.clone(),
                state,
                reason,
            }),
            Err(SweepError::Interrupted) => {}
            Err(SweepError::Store(StoreError::LeaseLost { repo, .. })) => {
                (self.events)(&Event::Note(format!(
                    "{repo}: lease lost to another worker (it expired): that worker records it"
                )))
            }
            Err(e) => self.fatal = Some(e),
        }
    }
}

/// A claimed repository and its watermark (none under `--full`).
type Job = (RepoEntry, Option<Vec<RefTip>>);

/// Runs (or continues) a sweep: this worker's share of it, all of it when nobody else works
/// on it; see the module docs of [`crate::sweep`] and of this file.
pub fn run(
    store: &mut dyn Store,
    http: &HttpClient,
    opts: &SweepOptions,
    setup: &ScanSetup,
    counters: &Counters,
    cancel: &AtomicBool,
    events: Events<'_>,
) -> Result<SweepRun, SweepError> {
    let api = inventory::api(&opts.source, opts.token.clone())?;
    let sweep = if opts.join {
        join(store, &setup.ruleset, opts, cancel, events)?
    } else {
        plan(store, http, opts, api.as_ref(), setup, events)?
    };
    let worker = store.worker_id().unwrap_or_else(|| {
        format!(
            "{}-{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        )
    });
    let origins = api.map(|a| a.git_origins).unwrap_or_default();
    let fetchers = Fetchers::new(opts, origins)?;
    let mut rec = Recorder {
        store,
        sweep: sweep.id,
        worker,
        opts,
        setup,
        counters,
        cancel,
        events,
        secrets: HashMap::new(),
        fatal: None,
    };
    work(&mut rec, &fetchers);
    if let Some(e) = rec.fatal {
        return Err(e);
    }
    let interrupted = cancel.load(Ordering::Relaxed);
    let store = rec.store;
    store.close_sweep(sweep.id)?;
    Ok(SweepRun {
        status: store.status(Some(sweep.id))?,
        sweep: store.sweep(Some(sweep.id))?,
        secrets: rec.secrets,
        interrupted,
    })
}

/// `jobs` fetch threads take claimed repositories; the calling thread claims as slots free
/// up and records each fetched repository, until nothing is pending anywhere.
fn work(rec: &mut Recorder<'_>, fetchers: &Fetchers) {
    let jobs = rec.opts.jobs.max(1);
    let (work_tx, work_rx) = mpsc::channel::<Job>();
    let work_rx = Mutex::new(work_rx);
    let (tx, rx) = mpsc::channel::<Fetched>();
    let (opts, cancel) = (rec.opts, rec.cancel);
    std::thread::scope(|sc| {
        for _ in 0..jobs {
            let (tx, work_rx) = (tx.clone(), &work_rx);
            sc.spawn(move || loop {
                let next = work_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((r, mark)) = next else { return };
                if cancel.load(Ordering::Relaxed)
                    || tx.send(fetchers.fetch(opts, &r, mark.as_ref())).is_err()
                {
                    return;
                }
            });
        }
        drop(tx);
        let mut work_tx = Some(work_tx);
        let mut in_flight = 0usize;
        loop {
            if rec.stopping() {
                // Let idle fetchers go; what is queued is left to its lease.
                work_tx = None;
            }
            if let Some(wt) = &work_tx {
                in_flight += rec.fill(fetchers, wt, jobs - in_flight);
            }
            if in_flight == 0 {
                if rec.stopping() {
                    break;
                }
                if rec.others_pending() {
                    continue;
                }
                break;
            }
            let Ok(f) = rx.recv() else { break };
            in_flight -= 1;
            rec.record(&f);
        }
        drop(work_tx);
    });
}
