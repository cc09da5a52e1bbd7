//! Exit codes, decided in one place: 0 nothing found, 1 findings, 2 incomplete.
//!
//! "Incomplete" beats "findings": a partial scan must never look like a finished one, so a CI
//! step that fails on 1 also fails (differently) on 2.

/// The process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitCode {
    /// The scan finished and found nothing (or the command succeeded).
    Clean = 0,
    /// The scan found at least one (unsuppressed) secret.
    Findings = 1,
    /// Something could not be scanned or done: a bad argument, an unreadable input, an
    /// interrupted run, a failed request.
    Incomplete = 2,
}

impl ExitCode {
    /// Combines two outcomes: the more severe wins (incomplete > findings > clean).
    pub fn merge(self, other: Self) -> Self {
        self.max(other)
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode::*;

    #[test]
    fn merge_prefers_incomplete_then_findings() {
        let all = [Clean, Findings, Incomplete];
        let want = [
            [Clean, Findings, Incomplete],
            [Findings, Findings, Incomplete],
            [Incomplete, Incomplete, Incomplete],
        ];
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                assert_eq!(a.merge(*b), want[i][j], "{a:?} + {b:?}");
            }
        }
    }
}
