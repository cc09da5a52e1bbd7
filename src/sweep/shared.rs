//! A sweep shared by many workers through one datastore (PostgreSQL): the same steps as
//! [`super::run`], but repositories are claimed one at a time, as fetch slots free up, so
//! that every worker takes its share and a dead worker's repositories go to the others.
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
use std::sync::{mpsc, Mutex};

use super::{
    fetch_one, finish_one, git_auth, git_header, inventory, plan, Event, Events, Fetched,
    SweepError, SweepOptions, SweepRun,
};
use crate::provider::http::{Auth, HttpClient, HttpPolicy};
use crate::scan::Counters;
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
        if let Some(s) = store
            .unfinished_sweep(&target)?
            .filter(|s| s.ruleset == ruleset)
        {
            let rows = store.plan(s.id)?;
            let done = rows
                .iter()
                .filter(|r| r.state != RepoState::Pending)
                .count();
            events(&Event::Planned {
                sweep: s.id,
                total: rows.len(),
                done,
                resumed: true,
            });
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

/// Runs this worker's share of a shared sweep; see the module doc.
pub(super) fn run(
    store: &mut dyn Store,
    http: &HttpClient,
    opts: &SweepOptions,
    setup: &super::scan::ScanSetup,
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
    let worker = store.worker_id().unwrap_or_else(|| "worker".into());
    let cred_header = opts.token.as_ref().map(|t| git_header(&opts.source, t));
    let cred_auth = opts.token.as_ref().map(|t| git_auth(&opts.source, t));
    // Ref checks are git traffic, paced like git (no per-host interval), one per job.
    let ref_client = HttpClient::new(HttpPolicy {
        min_interval: std::time::Duration::ZERO,
        max_in_flight: opts.jobs.max(1),
        ..HttpPolicy::default()
    })?;
    let git_origins: Vec<String> = api
        .as_ref()
        .map(|a| a.git_origins.clone())
        .unwrap_or_default();
    let jobs = opts.jobs.max(1);
    let (work_tx, work_rx) = mpsc::channel::<(RepoEntry, Option<Vec<RefTip>>)>();
    let work_rx = Mutex::new(work_rx);
    let (tx, rx) = mpsc::channel::<Fetched>();
    let mut secrets = HashMap::new();
    let mut fatal: Option<SweepError> = None;
    std::thread::scope(|sc| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let work_rx = &work_rx;
            let cred_header = &cred_header;
            let cred_auth = &cred_auth;
            let git_origins = &git_origins;
            let ref_client = &ref_client;
            sc.spawn(move || loop {
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                let next = work_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((r, mark)) = next else {
                    return;
                };
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                let ours = git_origins.contains(&inventory::origin(&r.clone_url));
                let cred = cred_header.as_ref().filter(|_| ours);
                let auth = match cred_auth {
                    Some(a) if ours => a.clone(),
                    _ => Auth::None,
                };
                let fetched = fetch_one(opts, ref_client, &r, mark.as_ref(), cred, &auth);
                if tx.send(fetched).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut work_tx = Some(work_tx);
        let mut in_flight = 0usize;
        loop {
            let stopping = fatal.is_some() || cancel.load(Ordering::Relaxed);
            if stopping {
                // Let idle fetchers go; what is queued is left to its lease.
                work_tx = None;
            }
            while in_flight < jobs && !stopping {
                let Some(wt) = &work_tx else { break };
                match claim(store, sweep.id, &worker, opts, &setup.ruleset, events) {
                    Ok(Claim::Work(r, mark)) => {
                        if cred_header.is_some()
                            && !git_origins.contains(&inventory::origin(&r.clone_url))
                        {
                            events(&Event::Note(format!(
                                "{}: clone URL is not on the listing API's host: fetched without a credential",
                                r.key
                            )));
                        }
                        if wt.send((r, mark)).is_err() {
                            break;
                        }
                        in_flight += 1;
                    }
                    Ok(Claim::Done) => {}
                    Ok(Claim::Nothing) => break,
                    Err(e) => {
                        fatal = Some(e);
                        break;
                    }
                }
            }
            if in_flight == 0 {
                if fatal.is_some() || cancel.load(Ordering::Relaxed) {
                    break;
                }
                // Nothing to claim: the rest is leased to other workers. Wait for them to
                // finish, or for a lease to expire and be claimed here.
                match store.pending_elsewhere(sweep.id, &worker) {
                    Ok(0) => break,
                    Ok(_) => {
                        let until = std::time::Instant::now() + store.poll_interval();
                        while std::time::Instant::now() < until && !cancel.load(Ordering::Relaxed) {
                            std::thread::sleep(std::time::Duration::from_millis(50));
                        }
                        continue;
                    }
                    Err(e) => {
                        fatal = Some(e.into());
                        continue;
                    }
                }
            }
            let Ok(f) = rx.recv() else { break };
            in_flight -= 1;
            if fatal.is_some() || cancel.load(Ordering::Relaxed) {
                continue;
            }
            for n in &f.notes {
                events(&Event::Note(n.clone()));
            }
            events(&Event::Started(f.repo.key.clone()));
            match finish_one(
                store,
                sweep.id,
                opts.full,
                setup,
                counters,
                cancel,
                &f,
                &mut secrets,
            ) {
                Ok((state, reason)) => events(&Event::Finished {
                    repo: f.repo.key.clone(),
                    state,
                    reason,
                }),
                Err(SweepError::Interrupted) => {}
                Err(SweepError::Store(StoreError::LeaseLost { repo, .. })) => {
                    events(&Event::Note(format!(
                        "{repo}: lease lost to another worker (it expired): that worker records it"
                    )))
                }
                Err(e) => fatal = Some(e),
            }
        }
        drop(work_tx);
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    let interrupted = cancel.load(Ordering::Relaxed);
    store.close_sweep(sweep.id)?;
    let status = store.status(Some(sweep.id))?;
    let sweep = store.sweep(Some(sweep.id))?;
    Ok(SweepRun {
        sweep,
        status,
        secrets,
        interrupted,
    })
}
