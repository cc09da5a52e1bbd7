//! Recording one fetched repository, on the calling thread (the only writer to the store):
//! scan what is new, commit its findings and watermark, or record why it failed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use super::fetch::{watermark_of, FetchOutcome, Fetched};
use super::scan;
use super::SweepError;
use crate::finding::Secret;
use crate::scan::Counters;
use crate::store::{RepoState, Store};

/// Scans and commits one fetched repository, or records why it failed. An error returned
/// here is the datastore's own (the sweep cannot go on) or an interruption.
#[allow(clippy::too_many_arguments)]
pub(super) fn finish_one(
    store: &mut dyn Store,
    sweep: i64,
    full: bool,
    setup: &scan::ScanSetup,
    counters: &Counters,
    cancel: &AtomicBool,
    f: &Fetched,
    secrets: &mut HashMap<String, Secret>,
) -> Result<(RepoState, Option<String>), SweepError> {
    let key = &f.repo.key;
    let fail = |store: &mut dyn Store, reason: String| -> Result<_, SweepError> {
        store.finish_repo(sweep, key, RepoState::Failed, Some(&reason))?;
        Ok((RepoState::Failed, Some(reason)))
    };
    match &f.outcome {
        Err(reason) => fail(store, reason.clone()),
        Ok(FetchOutcome::Unchanged) => {
            store.finish_repo(sweep, key, RepoState::Unchanged, None)?;
            Ok((RepoState::Unchanged, None))
        }
        Ok(FetchOutcome::Fetched { mirror, tips }) => {
            let before = counters.bytes.load(Ordering::Relaxed);
            let since = if full { sweep } else { 0 };
            let scanned = scan::scan_mirror(setup, &*store, key, mirror, since, counters, cancel);
            let mut scanned = match scanned {
                Ok(s) => s,
                Err(SweepError::Interrupted) => return Err(SweepError::Interrupted),
                Err(e) => return fail(store, e.to_string()),
            };
            let incomplete = (!scanned.errors.is_empty())
                .then(|| format!("incomplete scan: {}", scanned.errors.join("; ")));
            scanned.result.tips = if incomplete.is_some() {
                // What was found is kept, but with no watermark: the next sweep retries it.
                Vec::new()
            } else {
                // A repository with no refs is still "scanned at these tips", from this URL.
                watermark_of(tips, &f.repo.clone_url)
            };
            scanned.result.bytes = counters.bytes.load(Ordering::Relaxed) - before;
            match store.commit_repo(sweep, key, &setup.ruleset, &scanned.result) {
                Ok(()) => {
                    secrets.extend(scanned.secrets);
                    match incomplete {
                        Some(reason) => fail(store, reason),
                        None => Ok((RepoState::Scanned, None)),
                    }
                }
                // Disk full and the like: this repository fails, what is committed stays.
                Err(e) => fail(store, format!("cannot record results: {e}")),
            }
        }
    }
}
