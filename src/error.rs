//! Typed library errors and [`Diagnostics`], the per-input error collector.
//!
//! Library modules return these enums; only `cli/` and `main.rs` wrap them in `anyhow`.
//! Every variant names the thing it is about (a path, an object id, a rule id) and never
//! carries a secret, so an error message can always be printed as it is.

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

/// What a TOML parser error says, on one line and without any value from the file: serde's
/// `invalid type: string "...", expected ...` names the type it found but not the value (a
/// file read by mistake, an `.env` named as a configuration, must never have its values
/// printed). Keys and the expected shape are kept.
pub fn toml_message(e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', " ");
    for head in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = msg.strip_prefix(head) {
            let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            let kind = found
                .split(['"', '`', '\''])
                .next()
                .unwrap_or_default()
                .trim();
            let kind = if kind.is_empty() { "a value" } else { kind };
            let head = head.trim_end_matches(": ");
            return if expected.is_empty() {
                format!("{head}: {kind}")
            } else {
                format!("{head}: {kind}, expected {expected}")
            };
        }
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        return format!("unknown variant, expected {expected}");
    }
    msg
}

/// An error loading, validating or compiling rules.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The rule file is not valid TOML, or has unknown or missing fields.
    #[error("{file}: {reason}")]
    Parse {
        /// The rule file (or `builtin:<name>` for a compiled-in file).
        file: String,
        /// What the TOML parser said, with its line and column.
        reason: String,
    },
    /// One rule is wrong: a bad id, a regex that does not compile, examples that do not match...
    #[error("{file}: rule {rule}: {reason}")]
    Invalid {
        /// The rule file.
        file: String,
        /// The rule id as written.
        rule: String,
        /// What is wrong and, where obvious, how to fix it.
        reason: String,
    },
    /// A rule file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The rule file.
        file: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// An error reading one input (a file, a directory entry, a git object).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The input could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The input's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The directory walker reported a problem (loop, permission, bad ignore file...).
    #[error("{0}")]
    Walk(String),
    /// A git object or reference could not be read.
    #[error("git object {oid}: {reason}")]
    Git {
        /// The object id or reference name.
        oid: String,
        /// What the git library said.
        reason: String,
    },
}

/// One input that was skipped or only partly read. Recorded in [`Diagnostics`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The path, object id or other name of the input (already lossy-decoded, not escaped).
    pub subject: String,
    /// Why it was skipped, lower-case, one line.
    pub reason: String,
    /// `true` when this made the scan incomplete (exit code 2); `false` for notes such as
    /// "submodule not followed".
    pub incomplete: bool,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.incomplete { "error" } else { "note" };
        write!(f, "{kind}: {}: {}", self.subject, self.reason)
    }
}

/// Collects one [`Diagnostic`] per problem input, from any thread, instead of a global flag.
///
/// Each entry is also handed to the `echo` callback as it arrives (the CLI prints it to stderr,
/// escaped), so a user sees problems while a long scan goes on. Tests read [`Diagnostics::entries`].
pub struct Diagnostics {
    entries: Mutex<Vec<Diagnostic>>,
    echo: Box<dyn Fn(&Diagnostic) + Send + Sync>,
}

impl Default for Diagnostics {
    fn default() -> Self {
        Self::new(|_| {})
    }
}

impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostics")
            .field("entries", &self.entries())
            .finish()
    }
}

impl Diagnostics {
    /// A collector that calls `echo` for every entry as it is recorded.
    pub fn new(echo: impl Fn(&Diagnostic) + Send + Sync + 'static) -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
            echo: Box::new(echo),
        }
    }

    /// Records an input that could not be (fully) scanned: the scan is incomplete.
    pub fn error(&self, subject: impl Into<String>, reason: impl fmt::Display) {
        self.push(Diagnostic {
            subject: subject.into(),
            reason: reason.to_string(),
            incomplete: true,
        });
    }

    /// Records a note that does not make the scan incomplete.
    pub fn note(&self, subject: impl Into<String>, reason: impl fmt::Display) {
        self.push(Diagnostic {
            subject: subject.into(),
            reason: reason.to_string(),
            incomplete: false,
        });
    }

    fn push(&self, d: Diagnostic) {
        (self.echo)(&d);
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(d);
    }

    /// Every entry recorded so far, in arrival order.
    pub fn entries(&self) -> Vec<Diagnostic> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `true` when at least one entry made the scan incomplete.
    pub fn is_incomplete(&self) -> bool {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|d| d.incomplete)
    }
}

impl SourceError {
    /// What went wrong, without the object or file it happened to (for a diagnostic that
    /// names that itself).
    pub fn reason(&self) -> String {
        match self {
            SourceError::Git { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn notes_do_not_make_a_scan_incomplete_but_errors_do() {
        let d = Diagnostics::default();
        d.note("sub", "submodule not followed");
        assert!(!d.is_incomplete());
        d.error("a.txt", "permission denied");
        assert!(d.is_incomplete());
        assert_eq!(d.entries().len(), 2);
        assert_eq!(
            d.entries()[1].to_string(),
            "error: a.txt: permission denied"
        );
    }

    #[test]
    fn every_entry_is_echoed_once() {
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        let d = Diagnostics::new(move |_| {
            n2.fetch_add(1, Ordering::SeqCst);
        });
        d.error("x", "y");
        d.note("x", "y");
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }
}
