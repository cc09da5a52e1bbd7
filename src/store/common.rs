//! What both backends compute the same way, written once: reading a row into the typed
//! records of [`super`] (through [`Cols`], which each backend implements for its row type),
//! the queries whose text only differs by the parameter sign, a sweep's totals, the grouping
//! of locations under their findings, and the conversions between a [`Finding`] and its rows.
//! The backends keep only what their dialect or their sharing needs.

use std::collections::HashMap;

use crate::finding::{
    encoding_name, ChecksumStatus, CommitMeta, Finding, Fingerprint, Location, Secret,
    Verification, VerificationStatus,
};

use super::{
    FindingRow, LocationRow, NotScanned, ObjectHit, Outcome, PlanRow, RepoCounts, RepoEntry,
    RepoState, StoreError, StoredFinding, SweepInfo, SweepStatus,
};

/// Typed access to the columns of one result row, by position.
pub(crate) trait Cols {
    /// The backend's error.
    type Error;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error>;
    /// A boolean (SQLite: an integer, PostgreSQL: `BOOLEAN`).
    fn flag(&self, i: usize) -> Result<bool, Self::Error>;
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, Self::Error>;
}

/// How a backend spells a positional parameter (`?1` or `$1`) and a byte-order sort.
pub(crate) struct Dialect {
    /// `?` (SQLite) or `$` (PostgreSQL).
    pub param: &'static str,
    /// Appended to a sorted text column: SQLite compares bytes already; PostgreSQL needs
    /// `COLLATE "C"` to sort as SQLite does.
    pub collate: &'static str,
}

/// The columns [`sweep_info`] reads.
pub(crate) const SWEEP_COLS: &str = "id, target, ruleset, started_at, complete";
/// The columns [`repo_entry`] reads (a plan row adds `state, reason`).
pub(crate) const ENTRY_COLS: &str = "repo, clone_url, size, is_fork, parent, archived, skip";
/// The columns [`object_hit`] reads (after the object id).
pub(crate) const HIT_COLS: &str = "fingerprint, rule, line, col, encoding";

/// The error for a sweep id (or, with `None`, any sweep) the datastore does not hold.
pub(crate) fn no_sweep(path: &str, sweep: Option<i64>) -> StoreError {
    StoreError::Invalid {
        path: path.to_string(),
        reason: match sweep {
            Some(id) => format!("no sweep {id}"),
            None => "no sweep yet".into(),
        },
    }
}

pub(crate) fn sweep_info<R: Cols>(r: &R) -> Result<SweepInfo, R::Error> {
    Ok(SweepInfo {
        id: r.int(0)?,
        target: r.text(1)?,
        ruleset: r.text(2)?,
        started_at: r.text(3)?,
        complete: r.flag(4)?,
    })
}

pub(crate) fn repo_entry<R: Cols>(r: &R) -> Result<RepoEntry, R::Error> {
    Ok(RepoEntry {
        key: r.text(0)?,
        clone_url: r.text(1)?,
        size: r.opt_int(2)?.map(|s| s as u64),
        is_fork: r.flag(3)?,
        parent: r.opt_text(4)?,
        archived: r.flag(5)?,
        skip: r.opt_text(6)?,
    })
}

/// A row of `SELECT {ENTRY_COLS}, state, reason FROM plan`.
pub(crate) fn plan_row<R: Cols>(r: &R) -> Result<PlanRow, R::Error> {
    Ok(PlanRow {
        repo: repo_entry(r)?,
        state: RepoState::parse(&r.text(7)?).unwrap_or(RepoState::Pending),
        reason: r.opt_text(8)?,
    })
}

/// A row of `SELECT oid, {HIT_COLS}`: the object and its hit.
pub(crate) fn object_hit<R: Cols>(r: &R) -> Result<(String, ObjectHit), R::Error> {
    Ok((
        r.text(0)?,
        ObjectHit {
            fingerprint: Fingerprint(r.text(1)?),
            rule: r.text(2)?.into(),
            line: r.int(3)? as u64,
            column: r.int(4)? as u64,
            encoding: r.opt_text(5)?.map(encoding_name),
        },
    ))
}

/// The findings of a sweep with their outcome (`{p}1`: the sweep, `{p}2`: only new ones),
/// sorted by rule and fingerprint; read with [`stored_finding`].
pub(crate) fn findings_sql(d: &Dialect) -> String {
    let (p, c) = (d.param, d.collate);
    format!(
        "SELECT f.fingerprint, f.rule, f.name, f.provider, f.checksum, f.secret, f.redacted,
                f.first_seen_sweep, f.first_seen_at,
                EXISTS (SELECT 1 FROM at_tip t WHERE t.fingerprint = f.fingerprint),
                o.status, o.owner, o.checked_at, o.revoked_at
         FROM findings f LEFT JOIN outcomes o ON o.fingerprint = f.fingerprint
         WHERE f.fingerprint IN (SELECT l.fingerprint FROM locations l
                                 JOIN plan p ON p.repo = l.repo AND p.sweep = {p}1)
           AND (NOT {p}2 OR f.first_seen_sweep = {p}1)
         ORDER BY f.rule{c}, f.fingerprint{c}"
    )
}

/// Every location in the repositories of a sweep's plan (`{p}1`), in report order; read
/// with [`location_row`].
pub(crate) fn locations_sql(d: &Dialect) -> String {
    let (p, c) = (d.param, d.collate);
    format!(
        "SELECT l.fingerprint, l.repo, l.commit_id, l.path, l.line, l.col, l.encoding,
                l.author_name, l.author_email, l.author_date, l.object, l.path_raw
         FROM locations l JOIN plan p ON p.repo = l.repo AND p.sweep = {p}1
         ORDER BY l.repo{c}, l.path{c}, l.commit_id{c}, l.line, l.col"
    )
}

/// A sweep's totals (`{p}1`): blobs, bytes, distinct findings, new findings; read with
/// [`Totals::read`].
pub(crate) fn totals_sql(d: &Dialect) -> String {
    let p = d.param;
    format!(
        "SELECT CAST((SELECT COALESCE(SUM(blobs), 0) FROM plan WHERE sweep = {p}1) AS BIGINT),
                CAST((SELECT COALESCE(SUM(bytes), 0) FROM plan WHERE sweep = {p}1) AS BIGINT),
                (SELECT count(DISTINCT l.fingerprint) FROM locations l
                 JOIN plan p ON p.repo = l.repo AND p.sweep = {p}1),
                (SELECT count(*) FROM findings WHERE first_seen_sweep = {p}1)"
    )
}

pub(crate) fn stored_finding<R: Cols>(r: &R) -> Result<StoredFinding, R::Error> {
    let secret = r.opt_text(5)?;
    let redacted = r.text(6)?;
    let outcome = match r.opt_text(10)? {
        Some(status) => Some(Outcome {
            status: verification_status(&status),
            owner: r.opt_text(11)?,
            checked_at: r.text(12)?,
            revoked_at: r.opt_text(13)?,
        }),
        None => None,
    };
    Ok(StoredFinding {
        secret_stored: secret.is_some(),
        row: FindingRow {
            fingerprint: Fingerprint(r.text(0)?),
            rule: r.text(1)?.into(),
            name: r.text(2)?,
            provider: r.text(3)?.into(),
            checksum: checksum_status(&r.text(4)?),
            secret: Secret::new(secret.unwrap_or_else(|| redacted.clone())),
            redacted,
        },
        locations: Vec::new(),
        first_seen_sweep: r.int(7)?,
        first_seen_at: r.text(8)?,
        at_tip: r.flag(9)?,
        outcome,
    })
}

pub(crate) fn location_row<R: Cols>(r: &R) -> Result<LocationRow, R::Error> {
    Ok(LocationRow {
        fingerprint: Fingerprint(r.text(0)?),
        repo: r.text(1)?,
        commit: CommitMeta {
            id: r.text(2)?,
            author_name: r.text(7)?,
            author_email: r.text(8)?,
            author_date: r.text(9)?,
        },
        path: r.text(3)?,
        line: r.int(4)? as u64,
        column: r.int(5)? as u64,
        encoding: r.opt_text(6)?.map(encoding_name),
        object: r.text(10)?,
        path_raw: r.opt_bytes(11)?,
    })
}

fn checksum_status(s: &str) -> ChecksumStatus {
    if s == ChecksumStatus::Valid.as_str() {
        ChecksumStatus::Valid
    } else {
        ChecksumStatus::None
    }
}

fn verification_status(s: &str) -> VerificationStatus {
    [
        VerificationStatus::Live,
        VerificationStatus::RevokedOrInvalid,
        VerificationStatus::Error,
    ]
    .into_iter()
    .find(|v| v.as_str() == s)
    .unwrap_or(VerificationStatus::Unknown)
}

/// Blobs, bytes, distinct findings and new findings of one sweep.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Totals {
    blobs: i64,
    bytes: i64,
    findings: i64,
    new_findings: i64,
}

impl Totals {
    /// The row of [`totals_sql`].
    pub(crate) fn read<R: Cols>(r: &R) -> Result<Self, R::Error> {
        Ok(Self {
            blobs: r.int(0)?,
            bytes: r.int(1)?,
            findings: r.int(2)?,
            new_findings: r.int(3)?,
        })
    }
}

/// A sweep's status from its header, its plan and its totals.
pub(crate) fn status(info: SweepInfo, plan: Vec<PlanRow>, t: Totals) -> SweepStatus {
    let mut counts = RepoCounts::default();
    let mut not_scanned = Vec::new();
    for row in plan {
        counts.listed += 1;
        match row.state {
            RepoState::Pending => counts.pending += 1,
            RepoState::Scanned => counts.scanned += 1,
            RepoState::Unchanged => counts.unchanged += 1,
            RepoState::Skipped => counts.skipped += 1,
            RepoState::Failed => counts.failed += 1,
        }
        if matches!(
            row.state,
            RepoState::Skipped | RepoState::Failed | RepoState::Pending
        ) {
            not_scanned.push(NotScanned {
                repository: row.repo.key,
                state: row.state,
                reason: row.reason.unwrap_or_else(|| "not done yet".into()),
            });
        }
    }
    SweepStatus {
        sweep: info.id,
        complete: info.complete,
        repositories: counts,
        blobs_scanned: t.blobs as u64,
        bytes_scanned: t.bytes as u64,
        findings: t.findings as u64,
        new_findings: t.new_findings as u64,
        target: info.target,
        started_at: info.started_at,
        not_scanned,
    }
}

/// Puts each location under its finding (locations of findings not asked for are dropped),
/// keeping the order of both.
pub(crate) fn group(
    mut findings: Vec<StoredFinding>,
    locations: Vec<LocationRow>,
) -> Vec<StoredFinding> {
    let index: HashMap<Fingerprint, usize> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.row.fingerprint.clone(), i))
        .collect();
    for l in locations {
        if let Some(&i) = index.get(&l.fingerprint) {
            findings[i].locations.push(l);
        }
    }
    findings
}

impl FindingRow {
    /// The row of a scanned finding; `redacted` is what stands in for the secret when whole
    /// secrets are not kept.
    pub fn of(f: &Finding, redacted: String) -> Self {
        Self {
            fingerprint: f.fingerprint.clone(),
            rule: f.rule.clone(),
            name: f.name.clone(),
            provider: f.provider.clone(),
            checksum: f.checksum,
            secret: f.secret.clone(),
            redacted,
        }
    }
}

impl LocationRow {
    /// The row of one history location of the finding `fingerprint` in repository `repo`,
    /// inside `object`.
    pub fn of(
        fingerprint: &Fingerprint,
        repo: &str,
        commit: &CommitMeta,
        l: &Location,
        object: &str,
    ) -> Self {
        Self {
            fingerprint: fingerprint.clone(),
            repo: repo.to_string(),
            commit: commit.clone(),
            path: l.path.clone(),
            path_raw: l.path_raw.clone(),
            line: l.line,
            column: l.column,
            encoding: l.encoding,
            object: object.to_string(),
        }
    }

    /// The location as a report shows it: it names its repository.
    pub fn to_location(&self) -> Location {
        Location {
            path: self.path.clone(),
            path_raw: self.path_raw.clone(),
            line: self.line,
            column: self.column,
            commit: Some(self.commit.clone()),
            encoding: self.encoding,
            repository: Some(self.repo.clone()),
        }
    }
}

impl StoredFinding {
    /// The finding as the report writers take it: every location (sorted) names its
    /// repository; the last acting outcome is its verification.
    pub fn to_finding(&self) -> Finding {
        let mut locations: Vec<Location> = self
            .locations
            .iter()
            .map(LocationRow::to_location)
            .collect();
        locations.sort();
        Finding {
            rule: self.row.rule.clone(),
            name: self.row.name.clone(),
            provider: self.row.provider.clone(),
            secret: self.row.secret.clone(),
            fingerprint: self.row.fingerprint.clone(),
            checksum: self.row.checksum,
            locations,
            locations_omitted: 0,
            verification: self.outcome.as_ref().map(|o| Verification {
                status: o.status,
                owner: o.owner.clone(),
                checked_at: o.checked_at.clone(),
                detail: match &o.revoked_at {
                    Some(at) => format!("revoked at {at}"),
                    None => "as recorded in the datastore".into(),
                },
            }),
        }
    }
}
