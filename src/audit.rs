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

/// The current time, RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&fmt).unwrap_or_default()
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
