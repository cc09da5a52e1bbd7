//! The scan's audit trail (actor, scope, the three scan events), shared by `scan` and the
//! acting stage. patrol.toml, rules and the baseline are read by `patrol::config::ScanConfig`.
//!
//! The trail is opened before the scan starts, so an unwritable audit log stops the run with
//! exit 2 before a single file is read.

use std::path::{Path, PathBuf};

use anyhow::Context;
use patrol::audit::{self, AuditContext, AuditLog, AuditSink};
use patrol::finding::FindingSink;
use patrol::scan::ScanOutcome;

/// The user running patrol: git `user.email` / `user.name` from the user's global and system
/// git configuration, else the OS user. Never from the scanned repository's own config: a
/// repository under scan must not be able to name who audited it.
pub fn actor() -> (String, String) {
    let git = git2::Config::open_default().ok();
    let get = |k: &str| git.as_ref().and_then(|c| c.get_string(k).ok());
    let os = os_user();
    let upn = get("user.email")
        .or_else(|| os.clone())
        .unwrap_or_else(|| "unknown".into());
    let name = get("user.name").or(os).unwrap_or_else(|| upn.clone());
    (upn, name)
}

fn os_user() -> Option<String> {
    for k in ["USER", "LOGNAME", "USERNAME"] {
        if let Some(v) = std::env::var_os(k).filter(|v| !v.is_empty()) {
            return Some(v.to_string_lossy().into_owned());
        }
    }
    #[cfg(unix)]
    {
        // SAFETY: getpwuid returns a pointer into static storage or null; it is read at once,
        // on the only thread running at this point of start-up.
        unsafe {
            let pw = libc::getpwuid(libc::getuid());
            if !pw.is_null() && !(*pw).pw_name.is_null() {
                let name = std::ffi::CStr::from_ptr((*pw).pw_name);
                return Some(name.to_string_lossy().into_owned());
            }
        }
    }
    None
}

/// The audit trail of one scan run.
pub struct ScanAudit {
    log: AuditLog,
    ctx: AuditContext,
    activity_id: String,
}

impl ScanAudit {
    /// Opens `path` and writes `Patrol.ScanStarted`. Any failure is returned: the caller must
    /// not scan without its trail.
    pub fn start(path: &Path, targets: &[PathBuf]) -> anyhow::Result<Self> {
        let log = AuditLog::open(path).context("--audit-log")?;
        let (upn, name) = actor();
        let ctx = AuditContext::new(upn, name, "Repository", scope_of(targets));
        let activity_id = uuid::Uuid::new_v4().to_string();
        let shown: Vec<String> = targets.iter().map(|p| p.display().to_string()).collect();
        log.append(&audit::scan_started(&ctx, &activity_id, &shown))
            .context("--audit-log")?;
        Ok(Self {
            log,
            ctx,
            activity_id,
        })
    }

    /// This run's context: the verify/revoke stage shares its correlation id.
    pub fn context(&self) -> &AuditContext {
        &self.ctx
    }

    /// Appends one `Patrol.SecretDiscovered` per reported finding and `Patrol.ScanCompleted`.
    pub fn record(&self, o: &ScanOutcome) -> anyhow::Result<()> {
        let mut sink = AuditSink::new(&self.log, &self.ctx, &self.activity_id);
        for f in &o.findings {
            sink.finding(f).context("writing --audit-log")?;
        }
        sink.finish(&o.summary).context("writing --audit-log")
    }
}

/// The scope's display name: the absolute path of the first scanned path (`-` is stdin).
fn scope_of(targets: &[PathBuf]) -> String {
    match targets.iter().find(|p| p.as_os_str() != "-") {
        Some(p) => std::fs::canonicalize(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string(),
        None => "<stdin>".to_string(),
    }
}
