//! The plan of a sweep: continue the unfinished one, or list the repositories, decide which
//! are skipped and why, and write the plan before anything is fetched.

use super::fetch::{remote_url_ok, NOT_HTTP};
use super::inventory::{self};
use super::scan;
use super::{Event, Events, SweepError, SweepOptions};
use crate::provider::http::HttpClient;
use crate::store::{RepoState, Store, SweepInfo};

/// The plan of this run: the unfinished sweep of the same target and rule set, or a new one
/// written before anything is fetched.
pub(super) fn plan(
    store: &mut dyn Store,
    http: &HttpClient,
    opts: &SweepOptions,
    api: Option<&inventory::Api>,
    setup: &scan::ScanSetup,
    events: Events<'_>,
) -> Result<SweepInfo, SweepError> {
    let target = opts.source.target();
    if !opts.full {
        if let Some(s) = resume(store, &target, &setup.ruleset, events)? {
            return Ok(s);
        }
    }
    let mut repos = inventory::list(http, &opts.source, api)?;
    let globs = exclude_set(&opts.exclude)?;
    for r in &mut repos {
        if r.skip.is_some() {
            continue;
        }
        r.skip = if !r.clone_url.is_empty() && !remote_url_ok(&opts.source, &r.clone_url) {
            Some(NOT_HTTP.into())
        } else if globs.as_ref().is_some_and(|g| g.is_match(&r.key)) {
            Some("excluded by --exclude-repo".into())
        } else if r.is_fork && !opts.include_forks {
            Some("fork (use --include-forks)".into())
        } else if r.archived && !opts.include_archived {
            Some("archived (use --include-archived)".into())
        } else if let (Some(max), Some(size)) = (opts.max_repo_size, r.size) {
            (size > max).then(|| format!("{size} bytes, over --max-repo-size {max}"))
        } else if r.clone_url.is_empty() {
            Some("no clone URL in the listing".into())
        } else {
            None
        };
    }
    let s = store.begin_sweep(&target, &setup.ruleset, &repos)?;
    events(&Event::Planned {
        sweep: s.id,
        total: repos.len(),
        done: 0,
        resumed: false,
    });
    Ok(s)
}

pub(super) fn exclude_set(globs: &[String]) -> Result<Option<globset::GlobSet>, SweepError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        b.add(
            globset::Glob::new(g)
                .map_err(|e| SweepError::Listing(format!("--exclude-repo {g}: {e}")))?,
        );
    }
    b.build()
        .map(Some)
        .map_err(|e| SweepError::Listing(format!("--exclude-repo: {e}")))
}

/// The unfinished sweep of `target` under `ruleset`, if there is one, announced as resumed
/// with how much of its plan is done; `None` when there is none to continue.
pub(super) fn resume(
    store: &mut dyn Store,
    target: &str,
    ruleset: &str,
    events: Events<'_>,
) -> Result<Option<SweepInfo>, SweepError> {
    let Some(s) = store
        .unfinished_sweep(target)?
        .filter(|s| s.ruleset == ruleset)
    else {
        return Ok(None);
    };
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
    Ok(Some(s))
}
