//! The audit trail: append-only JSON Lines, one entry per event, modelled on the Azure DevOps
//! audit log entry (`DecoratedAuditLogEntry` in ../shared/specs/azure-devops/audit/audit.json).
//!
//! Field names copy Azure DevOps' camelCase so the trail can sit next to an organisation's own
//! audit stream. Entries never hold a whole secret: `data` carries fingerprints and redacted
//! values only.
//!
//! Appends never rewrite earlier lines. Each entry is serialised first and written with a
//! single `write` on a file opened with `O_APPEND`, so concurrent runs appending to one file
//! cannot interleave inside a line, and an interrupted run leaves no torn line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::finding::{Finding, FindingSink, Fingerprint, ScanSummary};

/// `actionId` of the entry written before a scan starts.
pub const SCAN_STARTED: &str = "Patrol.ScanStarted";
/// `actionId` of the entry written for each finding reported by a scan.
pub const SECRET_DISCOVERED: &str = "Patrol.SecretDiscovered";
/// `actionId` of the entry written when a scan ends (complete or not).
pub const SCAN_COMPLETED: &str = "Patrol.ScanCompleted";
/// `actionId` of the entry written when an organisation's PATs were listed (`ado pats`).
pub const PAT_INVENTORY: &str = "Token.PatInventory";
/// `actionId` of the entry written for each token checked with its provider.
pub const SECRET_VERIFIED: &str = "Patrol.SecretVerified";
/// `actionId` of the entry written before the first write request of a revocation, naming
/// every authorization (or redacted token) about to be revoked.
pub const PAT_REVOKE_PLANNED: &str = "Token.PatRevokePlanned";
/// `actionId` of the entry written for each token a revocation was sent for (or skipped).
pub const PAT_REVOKE_EVENT: &str = "Token.PatRevokeEvent";
/// `actionId` of the entry written for each token a dry run would revoke.
pub const PAT_REVOKE_DRY_RUN: &str = "Token.PatRevokeDryRun";
/// `actionId` of the entry written when a revocation rule was sent.
pub const REVOCATION_RULE_CREATED: &str = "Token.RevocationRuleCreated";
/// `actionId` of the entry written when a dry run describes a revocation rule.
pub const REVOCATION_RULE_DRY_RUN: &str = "Token.RevocationRuleDryRun";

/// An error opening or writing the audit log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The file could not be opened or written.
    #[error("audit log {path}: {source}")]
    Io {
        /// The audit log's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A line of an existing audit log is not an audit entry.
    #[error("audit log {path}:{line}: {reason}")]
    Parse {
        /// The audit log's path.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What the JSON parser said.
        reason: String,
    },
}

/// One audit entry (Azure DevOps `DecoratedAuditLogEntry` shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Unique id of this entry.
    pub id: String,
    /// One id per patrol run: every entry of a run shares it.
    pub correlation_id: String,
    /// One id per activity (a scan, a revocation batch).
    pub activity_id: String,
    /// The user running patrol (git `user.email`, else the OS user).
    #[serde(rename = "actorUPN")]
    pub actor_upn: String,
    /// The user's display name.
    pub actor_display_name: String,
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// `Repository`, `Organization`, `Directory`...
    pub scope_type: String,
    /// The repository or organisation.
    pub scope_display_name: String,
    /// Project name, when known (empty otherwise).
    pub project_name: String,
    /// `Patrol.ScanStarted`, `Patrol.SecretDiscovered`, `Token.PatRevokeEvent`...
    pub action_id: String,
    /// `Patrol` or `Token`.
    pub area: String,
    /// `Access`, `Create`, `Modify`, `Remove`, `Execute`.
    pub category: String,
    /// One human sentence, no secret.
    pub details: String,
    /// Structured details, redacted.
    pub data: serde_json::Value,
}

/// What every entry of one run shares.
#[derive(Debug, Clone)]
pub struct AuditContext {
    /// One per run.
    pub correlation_id: String,
    /// Who runs patrol.
    pub actor_upn: String,
    /// Their display name.
    pub actor_display_name: String,
    /// Scope type for entries of this run.
    pub scope_type: String,
    /// Scope name (repository path, organisation).
    pub scope_display_name: String,
    /// Project name, if any.
    pub project_name: String,
}

impl AuditContext {
    /// A context for a new run, with a fresh correlation id.
    pub fn new(
        actor_upn: String,
        actor_display_name: String,
        scope_type: &str,
        scope: String,
    ) -> Self {
        Self {
            correlation_id: uuid::Uuid::new_v4().to_string(),
            actor_upn,
            actor_display_name,
            scope_type: scope_type.to_string(),
            scope_display_name: scope,
            project_name: String::new(),
        }
    }

    /// A new entry stamped now.
    pub fn event(
        &self,
        activity_id: &str,
        action_id: &str,
        category: &str,
        details: String,
        data: serde_json::Value,
    ) -> AuditEvent {
        let area = action_id.split('.').next().unwrap_or("Patrol").to_string();
        AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            correlation_id: self.correlation_id.clone(),
            activity_id: activity_id.to_string(),
            actor_upn: self.actor_upn.clone(),
            actor_display_name: self.actor_display_name.clone(),
            timestamp: now_rfc3339(),
            scope_type: self.scope_type.clone(),
            scope_display_name: self.scope_display_name.clone(),
            project_name: self.project_name.clone(),
            action_id: action_id.to_string(),
            area,
            category: category.to_string(),
            details,
            data,
        }
    }
}

pub use crate::clock::now_rfc3339;

/// An append-only audit log file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
}

impl AuditLog {
    /// Opens (creating if needed) `path` for appending. Fails before any scanning starts if
    /// the trail cannot be written: a security team must not lose its trail.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| AuditError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one entry as one line, with a single write.
    pub fn append(&self, e: &AuditEvent) -> Result<(), AuditError> {
        let mut line = serde_json::to_vec(e).expect("audit events serialise");
        line.push(b'\n');
        (&self.file)
            .write_all(&line)
            .and_then(|()| (&self.file).flush())
            .map_err(|source| AuditError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// Reads every entry of an audit log, in file order. A line that is not an entry is an error
/// naming the file and line (a trail that cannot be read whole must not look whole).
pub fn read_log(path: &Path) -> Result<Vec<AuditEvent>, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e = serde_json::from_str(line).map_err(|e| AuditError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        out.push(e);
    }
    Ok(out)
}

/// The `Patrol.ScanStarted` entry: what is about to be scanned. Written before any scanning.
pub fn scan_started(ctx: &AuditContext, activity_id: &str, targets: &[String]) -> AuditEvent {
    ctx.event(
        activity_id,
        SCAN_STARTED,
        "Execute",
        format!(
            "Secret scan of {} started by {}.",
            targets.join(", "),
            ctx.actor_upn
        ),
        json!({ "targets": targets, "patrolVersion": env!("CARGO_PKG_VERSION") }),
    )
}

/// The `Patrol.SecretDiscovered` entry for one finding: rule, fingerprint, the redacted secret,
/// its first location and commit. Never the whole secret.
pub fn secret_discovered(ctx: &AuditContext, activity_id: &str, f: &Finding) -> AuditEvent {
    let first = f.locations.first();
    let commit = first.and_then(|l| l.commit.as_ref()).map(|c| c.id.clone());
    let at = first.map_or_else(String::new, |l| format!(" at {}:{}", l.path, l.line));
    let in_commit = commit.as_deref().map_or_else(String::new, |c| {
        format!(" in commit {}", &c[..c.len().min(12)])
    });
    ctx.event(
        activity_id,
        SECRET_DISCOVERED,
        "Create",
        format!("{} {} found{at}{in_commit}.", f.name, f.secret.redacted()),
        json!({
            "rule": f.rule,
            "provider": f.provider,
            "fingerprint": f.fingerprint,
            "secret": f.secret.redacted(),
            "checksum": f.checksum.as_str(),
            "path": first.map(|l| l.path.clone()),
            "line": first.map(|l| l.line),
            "column": first.map(|l| l.column),
            "commit": commit,
            "locations": f.locations.len() as u64 + f.locations_omitted,
        }),
    )
}

/// The `Patrol.ScanCompleted` entry: counts, duration and whether the scan was complete.
pub fn scan_completed(ctx: &AuditContext, activity_id: &str, s: &ScanSummary) -> AuditEvent {
    let state = if s.interrupted {
        "was interrupted"
    } else if s.complete {
        "completed"
    } else {
        "completed INCOMPLETE"
    };
    ctx.event(
        activity_id,
        SCAN_COMPLETED,
        "Execute",
        format!(
            "Secret scan {state}: {} finding(s), {} suppressed, {} file(s) in {} ms.",
            s.findings, s.suppressed, s.blobs_scanned, s.duration_ms
        ),
        json!({
            "findings": s.findings,
            "suppressed": s.suppressed,
            "blobsScanned": s.blobs_scanned,
            "bytesScanned": s.bytes_scanned,
            "skipped": s.skipped,
            "errors": s.errors,
            "durationMs": s.duration_ms,
            "complete": s.complete,
            "interrupted": s.interrupted,
        }),
    )
}

/// One entry of the acting stage, built here and stamped by [`Auditor::record`]: every
/// action id, category and data shape of verification and revocation lives in this file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// One of the action id constants above.
    pub action_id: &'static str,
    /// `Access`, `Create`, `Remove`...
    pub category: &'static str,
    /// One human sentence, no secret.
    pub details: String,
    /// Structured details, redacted.
    pub data: serde_json::Value,
}

impl Entry {
    /// An entry from its parts (for the builders of other modules' actions).
    pub fn new(
        action_id: &'static str,
        category: &'static str,
        details: impl Into<String>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            action_id,
            category,
            details: details.into(),
            data,
        }
    }
}

/// The past-tense verb of an outcome spelling (`dry_run`, `revoked`, `failed`, `skipped`).
fn outcome_verb(outcome: &str) -> &'static str {
    match outcome {
        "dry_run" => "Would revoke",
        "revoked" => "Revoked",
        "failed" => "Failed to revoke",
        _ => "Skipped",
    }
}

fn revoke_action(outcome: &str) -> &'static str {
    if outcome == "dry_run" {
        PAT_REVOKE_DRY_RUN
    } else {
        PAT_REVOKE_EVENT
    }
}

/// `Token.PatInventory`: `pats` PATs of `users` user(s) listed in `org`.
pub fn pat_inventory(org: &str, users: usize, pats: usize) -> Entry {
    Entry {
        action_id: PAT_INVENTORY,
        category: "Access",
        details: format!("Listed {pats} PAT(s) of {users} user(s) in {org}."),
        data: json!({ "organization": org, "users": users, "pats": pats, "outcome": "listed" }),
    }
}

/// `Patrol.SecretVerified`: what the provider said about one finding's token.
pub fn secret_verified(f: &Finding, status: &str, owner: Option<&str>, detail: &str) -> Entry {
    Entry {
        action_id: SECRET_VERIFIED,
        category: "Access",
        details: format!("Checked a {} token with its provider: {status}.", f.rule),
        data: json!({
            "rule": f.rule,
            "provider": f.provider,
            "fingerprint": f.fingerprint,
            "redacted": f.secret.redacted(),
            "outcome": status,
            "targetUser": owner,
            "detail": detail,
        }),
    }
}

/// One Azure DevOps PAT as revocation entries name it.
#[derive(Debug, Clone, Copy)]
pub struct AdoPat<'a> {
    /// The organisation.
    pub org: &'a str,
    /// The owner's UPN.
    pub user: &'a str,
    /// The owner's subject descriptor.
    pub descriptor: &'a str,
    /// The PAT's `authorizationId`.
    pub authorization_id: &'a str,
    /// The PAT's display name.
    pub display_name: Option<&'a str>,
    /// The leaked token's fingerprint, in the leaked-token flow.
    pub fingerprint: Option<&'a Fingerprint>,
}

/// `Token.PatRevokePlanned` for Azure DevOps: every `authorizationId` about to be revoked.
pub fn ado_revoke_planned(org: &str, authorization_ids: &[&str]) -> Entry {
    Entry {
        action_id: PAT_REVOKE_PLANNED,
        category: "Remove",
        details: format!("Revoking {} PAT(s) in {org}.", authorization_ids.len()),
        data: json!({
            "provider": "azure_devops",
            "organization": org,
            "authorizationIds": authorization_ids,
            "outcome": "planned",
        }),
    }
}

/// `Token.PatRevokeEvent` (or `Token.PatRevokeDryRun`) for one Azure DevOps PAT.
pub fn ado_pat_revoke(p: &AdoPat<'_>, outcome: &str, reason: Option<&str>) -> Entry {
    Entry {
        action_id: revoke_action(outcome),
        category: "Remove",
        details: format!(
            "{} personal access token {} of {} in {}.",
            outcome_verb(outcome),
            p.authorization_id,
            p.user,
            p.org
        ),
        data: json!({
            "provider": "azure_devops",
            "organization": p.org,
            "targetUser": p.user,
            "targetSubjectDescriptor": p.descriptor,
            "authorizationId": p.authorization_id,
            "displayName": p.display_name,
            "fingerprint": p.fingerprint,
            "outcome": outcome,
            "reason": reason,
        }),
    }
}

/// A leaked Azure DevOps token not found among its owner's `candidates` PATs: nothing
/// revoked (`Token.PatRevokeEvent` with `--yes`, `Token.PatRevokeDryRun` without).
pub fn ado_no_match(org: &str, f: &Finding, user: &str, candidates: usize, yes: bool) -> Entry {
    Entry {
        action_id: if yes {
            PAT_REVOKE_EVENT
        } else {
            PAT_REVOKE_DRY_RUN
        },
        category: "Remove",
        details: format!(
            "Leaked token not found among the {candidates} PAT(s) of {user} in {org}; nothing revoked."
        ),
        data: json!({
            "provider": "azure_devops",
            "organization": org,
            "targetUser": user,
            "authorizationId": null,
            "fingerprint": f.fingerprint,
            "outcome": "skipped",
            "reason": "no PAT matched the token's crossCompanyCorrelatingId",
        }),
    }
}

/// `Token.PatRevokePlanned` for tokens revoked by value (GitHub, GitLab): each one's rule,
/// fingerprint and redacted form, never the token.
pub fn token_revoke_planned(provider: &str, findings: &[&Finding]) -> Entry {
    let tokens: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "fingerprint": f.fingerprint,
                "redacted": f.secret.redacted(),
            })
        })
        .collect();
    Entry {
        action_id: PAT_REVOKE_PLANNED,
        category: "Remove",
        details: format!("Revoking {} {provider} token(s).", findings.len()),
        data: json!({
            "provider": provider,
            "authorizationIds": null,
            "tokens": tokens,
            "outcome": "planned",
        }),
    }
}

/// `Token.PatRevokeEvent` (or `Token.PatRevokeDryRun`) for one token revoked by value.
pub fn token_revoke(provider: &str, f: &Finding, outcome: &str, reason: Option<&str>) -> Entry {
    let owner = f.verification.as_ref().and_then(|v| v.owner.clone());
    Entry {
        action_id: revoke_action(outcome),
        category: "Remove",
        details: format!(
            "{} {} token {} ({}).",
            outcome_verb(outcome),
            provider,
            f.secret.redacted(),
            f.rule
        ),
        data: json!({
            "provider": provider,
            "rule": f.rule,
            "targetUser": owner,
            "authorizationId": null,
            "fingerprint": f.fingerprint,
            "outcome": outcome,
            "reason": reason,
        }),
    }
}

/// `Token.RevocationRuleCreated` (or `Token.RevocationRuleDryRun`) for one revocation rule.
pub fn revocation_rule(
    org: &str,
    created_before: &str,
    scopes: &str,
    yes: bool,
    outcome: &str,
    reason: Option<&str>,
) -> Entry {
    let word = match outcome {
        "dry_run" => "dry run",
        "revoked" => "created",
        "failed" => "failed",
        _ => "skipped",
    };
    Entry {
        action_id: if yes {
            REVOCATION_RULE_CREATED
        } else {
            REVOCATION_RULE_DRY_RUN
        },
        category: "Create",
        details: format!(
            "Revocation rule in {org} for tokens created before {created_before} with scopes {scopes:?}: {word}."
        ),
        data: json!({
            "provider": "azure_devops",
            "organization": org,
            "createdBefore": created_before,
            "scopes": scopes,
            "outcome": outcome,
            "reason": reason,
        }),
    }
}

/// Writes the entries of one activity (or nothing when no `--audit-log` was given). A failed
/// write is kept for [`Auditor::errors`] (the caller exits 2); [`Auditor::try_record`] reports
/// it at once, for the entry that must be written before anything is revoked.
pub struct Auditor<'a> {
    log: Option<&'a AuditLog>,
    ctx: AuditContext,
    activity_id: String,
    errors: std::sync::Mutex<Vec<String>>,
}

impl<'a> Auditor<'a> {
    /// An auditor for one activity.
    pub fn new(log: Option<&'a AuditLog>, ctx: AuditContext) -> Self {
        Self {
            log,
            ctx,
            activity_id: uuid::Uuid::new_v4().to_string(),
            errors: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Appends one entry; a write error is kept for [`Auditor::errors`].
    pub fn record(&self, e: Entry) {
        if let Err(err) = self.try_record(e) {
            self.errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(err.to_string());
        }
    }

    /// Appends one entry and says whether it was written (always `Ok` without a log).
    pub fn try_record(&self, e: Entry) -> Result<(), AuditError> {
        let Some(log) = self.log else { return Ok(()) };
        let event = self.ctx.event(
            &self.activity_id,
            e.action_id,
            e.category,
            e.details,
            e.data,
        );
        log.append(&event)
    }

    /// Audit writes that failed.
    pub fn errors(&self) -> Vec<String> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A [`FindingSink`] that appends one `Patrol.SecretDiscovered` entry per finding and the
/// `Patrol.ScanCompleted` entry at the end. (`Patrol.ScanStarted` is written by the caller
/// before scanning, so a trail that cannot be written stops the run early.)
pub struct AuditSink<'a> {
    log: &'a AuditLog,
    ctx: &'a AuditContext,
    activity_id: String,
}

impl<'a> AuditSink<'a> {
    /// A sink writing to `log` with the run's `ctx`, under one scan's `activity_id`.
    pub fn new(log: &'a AuditLog, ctx: &'a AuditContext, activity_id: &str) -> Self {
        Self {
            log,
            ctx,
            activity_id: activity_id.to_string(),
        }
    }
}

fn to_io(e: AuditError) -> io::Error {
    io::Error::other(e.to_string())
}

impl FindingSink for AuditSink<'_> {
    type Error = std::io::Error;

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        let e = secret_discovered(self.ctx, &self.activity_id, f);
        self.log.append(&e).map_err(to_io)
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        let e = scan_completed(self.ctx, &self.activity_id, s);
        self.log.append(&e).map_err(to_io)
    }
}

// ---- PAT lifecycle and owner notifications (`patrol pats`, `--notify`): action ids ----

/// `actionId`: the caller's own PATs were listed (`patrol pats list`).
pub const LIFECYCLE_PAT_LISTED: &str = "Token.PatList";
/// `actionId`: a PAT was created (`patrol pats create`, or the replacement in `rotate`).
pub const LIFECYCLE_PAT_CREATED: &str = "Token.PatCreated";
/// `actionId`: a PAT's validity was extended (`patrol pats renew`).
pub const LIFECYCLE_PAT_RENEWED: &str = "Token.PatRenewed";
/// `actionId`: a PAT was revoked, or its revocation failed (`patrol pats revoke|rotate`).
pub const LIFECYCLE_PAT_REVOKED: &str = "Token.PatRevokeEvent";
/// `actionId`: a dry run of `patrol pats revoke|rotate` (what would have been done).
pub const LIFECYCLE_PAT_DRY_RUN: &str = "Token.PatLifecycleDryRun";
/// `actionId`: a rotation ended; `data.state` says where it stopped.
pub const LIFECYCLE_PAT_ROTATED: &str = "Token.PatRotated";
/// `actionId`: a message to a token's owner was sent, failed, or (dry run) printed.
pub const OWNER_NOTIFIED: &str = "Patrol.OwnerNotified";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{sample, Location};

    fn ctx() -> AuditContext {
        AuditContext::new(
            "me@example.com".into(),
            "Me".into(),
            "Repository",
            "repo".into(),
        )
    }

    #[test]
    fn secret_discovered_holds_the_first_location_and_commit_but_never_the_secret() {
        let whole = "npm_0123456789abcdefghijklmnopqrstuvwxyz";
        let mut f = sample::finding("npm.token", whole);
        f.locations = vec![Location {
            line: 3,
            column: 7,
            ..sample::history_location("x/.npmrc", &"a".repeat(40), "/r")
        }];
        f.locations_omitted = 2;
        let e = secret_discovered(&ctx(), "act", &f);
        let line = serde_json::to_string(&e).unwrap();
        assert!(!line.contains(whole), "{line}");
        assert!(!line.contains("0123456789abcdef"), "{line}");
        assert_eq!(e.action_id, SECRET_DISCOVERED);
        assert_eq!(e.data["fingerprint"], f.fingerprint.0.as_str());
        assert_eq!(e.data["commit"], "a".repeat(40).as_str());
        assert_eq!(e.data["path"], "x/.npmrc");
        assert_eq!(e.data["line"], 3);
        assert_eq!(e.data["locations"], 3);
        assert!(e.details.contains("x/.npmrc:3") && e.details.contains("aaaaaaaaaaaa"));
    }

    /// Several threads, each with its own file handle (as separate runs would have), append
    /// long entries at once; every line must still parse.
    #[test]
    fn concurrent_appends_never_interleave_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        let big = "x".repeat(64 * 1024);
        std::thread::scope(|s| {
            for t in 0..6 {
                let (p, big) = (&p, &big);
                s.spawn(move || {
                    let log = AuditLog::open(p).unwrap();
                    let c = ctx();
                    for i in 0..40 {
                        let e = c.event(
                            &format!("t{t}"),
                            SCAN_STARTED,
                            "Execute",
                            format!("entry {i}"),
                            json!({ "pad": big }),
                        );
                        log.append(&e).unwrap();
                    }
                });
            }
        });
        let all = read_log(&p).unwrap();
        assert_eq!(all.len(), 6 * 40);
        for t in 0..6 {
            let mine: Vec<_> = all
                .iter()
                .filter(|e| e.activity_id == format!("t{t}"))
                .collect();
            assert_eq!(mine.len(), 40);
            for (i, e) in mine.iter().enumerate() {
                assert_eq!(e.details, format!("entry {i}"), "per-writer order is kept");
            }
        }
    }

    #[test]
    fn read_log_names_the_line_that_is_not_an_entry() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let e = ctx().event("a", SCAN_STARTED, "Execute", "x".into(), json!({}));
        let good = serde_json::to_string(&e).unwrap();
        std::fs::write(&p, format!("{good}\n{{\"torn\n")).unwrap();
        let err = read_log(&p).unwrap_err().to_string();
        assert!(err.contains("a.jsonl:2:"), "{err}");
    }

    #[test]
    fn appends_one_line_per_event_and_keeps_earlier_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        std::fs::write(&p, "{\"earlier\":true}\n").unwrap();
        let ctx = AuditContext::new(
            "me@example.com".into(),
            "Me".into(),
            "Repository",
            "repo".into(),
        );
        let log = AuditLog::open(&p).unwrap();
        let e = ctx.event(
            "a1",
            "Patrol.ScanStarted",
            "Execute",
            "Scan started.".into(),
            serde_json::json!({}),
        );
        log.append(&e).unwrap();
        log.append(&e).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "{\"earlier\":true}");
        let back: AuditEvent = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(back, e);
        assert!(lines[1].contains("\"actorUPN\":\"me@example.com\""));
        assert_eq!(back.area, "Patrol");
    }

    #[test]
    fn an_unwritable_log_is_an_error_naming_the_file() {
        let e = AuditLog::open(Path::new("/nonexistent-dir/x/audit.jsonl")).unwrap_err();
        assert!(
            e.to_string().contains("/nonexistent-dir/x/audit.jsonl"),
            "{e}"
        );
    }
}
