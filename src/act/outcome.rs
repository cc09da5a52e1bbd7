//! What happened to one token in a revocation (or would have, in a dry run).

/// What happened to one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Dry run: would have been revoked.
    DryRun,
    /// Revoked (the provider accepted the request).
    Revoked,
    /// Not revoked: why.
    Failed(String),
    /// Nothing to revoke (the leaked token was not found among the owner's PATs, or is
    /// already dead); the reason says which.
    Skipped(String),
}

impl Outcome {
    /// The audit spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::DryRun => "dry_run",
            Outcome::Revoked => "revoked",
            Outcome::Failed(_) => "failed",
            Outcome::Skipped(_) => "skipped",
        }
    }

    /// The reason, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Failed(r) | Outcome::Skipped(r) => Some(r),
            _ => None,
        }
    }

    /// Whether this outcome makes the run incomplete (exit 2).
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_) | Outcome::Skipped(_))
    }

    /// The words a person reads: `revoked`, `would revoke (dry run)`, `FAILED: reason`.
    pub fn text(&self) -> String {
        match self {
            Outcome::DryRun => "would revoke (dry run)".to_string(),
            Outcome::Revoked => "revoked".to_string(),
            Outcome::Failed(r) => format!("FAILED: {r}"),
            Outcome::Skipped(r) => format!("skipped: {r}"),
        }
    }
}
