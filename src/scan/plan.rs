//! What a scan reads: a [`ScanPlan`] is a list of [`Target`]s, each a set of files (with `-`
//! for standard input) and git repositories with their commit selection. A target is the
//! unit of deduplication and of reporting: one secret in a target's working tree and in its
//! history is ONE finding with both kinds of location, and the sink sees each target's
//! findings and totals separately.
//!
//! [`ScanPlan::from_paths`] turns paths and the history flags into a one-target plan, as
//! `patrol scan` does:
//! - no flag: every path that is a git repository gets its whole history (every ref) plus its
//!   working tree; other paths are walked as files;
//! - `--history none`: files only;
//! - `--branch REF`: that ref's history (plus the working tree);
//! - `--since-commit REV` / `--range A..B`: only what those commits introduced, no working
//!   tree (a pull request fails only on what it adds);
//! - `--staged`: only what is staged in the first path's repository (index vs HEAD).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::SourceError;
use crate::source::git::{probe, PlannedBlob, RepoKind, Selection};
use crate::source::Origin;

/// Which history to scan (`--history`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryMode {
    /// Files only.
    None,
    /// The working tree and every blob reachable from every ref.
    All,
}

/// The git-related choices, as given (`--history`, `--branch`, `--since-commit`, `--range`,
/// `--staged`).
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// `--history`; `None` is "all inside a repository, files elsewhere".
    pub history: Option<HistoryMode>,
    /// `--branch`.
    pub branch: Option<String>,
    /// `--since-commit`.
    pub since_commit: Option<String>,
    /// `--range`.
    pub range: Option<String>,
    /// `--staged`.
    pub staged: bool,
    /// `--include-unreachable`: also commits only a reflog or no ref reaches.
    pub include_unreachable: bool,
}

/// What to read from one repository.
#[derive(Debug, Clone)]
pub enum GitWhat {
    /// The history of the selected commits (blobs and messages).
    History(Selection),
    /// Only the blobs staged in the index that differ from HEAD.
    Staged,
    /// Exactly these objects, already planned by the caller (a sweep's objects not read
    /// before): no walk, no repository config, no exclude globs.
    Objects(Arc<Objects>),
}

/// Objects of one repository chosen by the caller, each with every place it entered history.
#[derive(Debug, Default)]
pub struct Objects {
    /// How every location names the repository (a sweep's repository key).
    pub repository: String,
    /// Blobs to read and scan, each once.
    pub blobs: Vec<PlannedBlob>,
    /// Commit and tag messages, with their origins.
    pub messages: Vec<(Vec<u8>, Origin)>,
}

/// One repository to scan.
#[derive(Debug, Clone)]
pub struct GitTarget {
    /// The repository (working tree, `.git` or bare); its display form names it in locations.
    pub repo: PathBuf,
    /// What to read from it.
    pub what: GitWhat,
}

/// One unit of a plan: files and repositories whose findings are merged.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A name for the sink (`FindingSink::begin`).
    pub name: String,
    /// Files and directories to walk; `-` is standard input.
    pub files: Vec<PathBuf>,
    /// Repositories to read.
    pub repositories: Vec<GitTarget>,
}

/// An input the plan could not use, reported when the scan runs (exit 2) while the rest is
/// still scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    /// The path.
    pub subject: String,
    /// Why, one line.
    pub reason: String,
}

/// What to scan, target by target.
#[derive(Debug, Clone, Default)]
pub struct ScanPlan {
    /// The targets, scanned in order.
    pub targets: Vec<Target>,
    /// Inputs that could not be planned, reported as errors by the scan.
    pub problems: Vec<PlanProblem>,
}

/// An error that stops planning (a flag combination that cannot work, a path that must be a
/// repository and is not).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The flags or paths do not fit together; the message says how to fix it.
    #[error("{0}")]
    Usage(String),
    /// A repository could not be opened where one was required.
    #[error(transparent)]
    Source(#[from] SourceError),
}

fn usage<T>(msg: impl Into<String>) -> Result<T, PlanError> {
    Err(PlanError::Usage(msg.into()))
}

impl ScanPlan {
    /// One target: these files and directories, no history.
    pub fn files(paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        let files: Vec<PathBuf> = paths.into_iter().map(Into::into).collect();
        Self {
            targets: vec![Target {
                name: name_of(&files),
                files,
                repositories: Vec::new(),
            }],
            problems: Vec::new(),
        }
    }

    /// One target: the history `selection` of the repository at `repo` (no working tree).
    pub fn repository(repo: impl AsRef<Path>, selection: Selection) -> Self {
        let repo = repo.as_ref().to_path_buf();
        Self {
            targets: vec![Target {
                name: repo.display().to_string(),
                files: Vec::new(),
                repositories: vec![GitTarget {
                    repo,
                    what: GitWhat::History(selection),
                }],
            }],
            problems: Vec::new(),
        }
    }

    /// Adds a target after the others.
    pub fn push(&mut self, target: Target) {
        self.targets.push(target);
    }

    /// Decides what to scan from the paths and history options, as `patrol scan` does (see
    /// the module doc): one target holding every path.
    pub fn from_paths(paths: &[PathBuf], f: &GitOptions) -> Result<Self, PlanError> {
        let ranged = f.since_commit.is_some() || f.range.is_some();
        if f.history == Some(HistoryMode::None) && (ranged || f.branch.is_some()) {
            return usage(
                "--history none cannot be combined with --branch, --since-commit or --range",
            );
        }
        let name = name_of(paths);
        if f.staged {
            const NEED: &str =
                "--staged needs a git repository (run it at the repository's top level)";
            let Some(repo) = paths.first() else {
                return usage(NEED);
            };
            if probe(repo)?.is_none() {
                return usage(NEED);
            }
            return Ok(Self {
                targets: vec![Target {
                    name,
                    files: Vec::new(),
                    repositories: vec![GitTarget {
                        repo: repo.clone(),
                        what: GitWhat::Staged,
                    }],
                }],
                problems: Vec::new(),
            });
        }
        let selection = selection(f)?;
        let explicit = ranged || f.branch.is_some() || f.history == Some(HistoryMode::All);
        let mut files = Vec::new();
        let mut repositories = Vec::new();
        let mut problems = Vec::new();
        for p in paths {
            let kind = if f.history == Some(HistoryMode::None) || p.as_os_str() == "-" {
                None
            } else {
                match probe(p) {
                    Ok(k) => k,
                    Err(e) if explicit => return Err(e.into()),
                    Err(e) => {
                        // Its history cannot be read: say so (exit 2) and still walk its files.
                        problems.push(PlanProblem {
                            subject: p.display().to_string(),
                            reason: format!("{e}; history not scanned"),
                        });
                        None
                    }
                }
            };
            match kind {
                Some(k) => {
                    // `REPO/.git` names the repository, not files to walk.
                    if k == RepoKind::WorkTree && p.file_name() != Some(".git".as_ref()) {
                        files.push(p.clone());
                    }
                    repositories.push(GitTarget {
                        repo: p.clone(),
                        what: GitWhat::History(selection.clone()),
                    });
                }
                None => {
                    if explicit && p.as_os_str() != "-" {
                        return usage(format!(
                            "{}: not a git repository (history flags need one; use --history \
                             none for files only)",
                            p.display()
                        ));
                    }
                    files.push(p.clone());
                }
            }
        }
        if ranged {
            // Only what the commits introduced: no working tree, no standard input.
            files.clear();
        }
        Ok(Self {
            targets: vec![Target {
                name,
                files,
                repositories,
            }],
            problems,
        })
    }
}

/// A target's name: its first path (`-` is standard input).
fn name_of(paths: &[PathBuf]) -> String {
    paths
        .first()
        .map_or_else(String::new, |p| p.display().to_string())
}

fn selection(f: &GitOptions) -> Result<Selection, PlanError> {
    if f.include_unreachable {
        if f.branch.is_some() || f.range.is_some() || f.since_commit.is_some() {
            return usage("--include-unreachable reads the whole history: it cannot be combined with --branch, --since-commit or --range".to_string());
        }
        return Ok(Selection::AllRefsAndUnreachable);
    }
    let tip = f.branch.clone().unwrap_or_else(|| "HEAD".to_string());
    if let Some(r) = &f.range {
        if r.contains("...") {
            return usage(format!("--range {r}: use A..B (two dots)"));
        }
        let Some((a, b)) = r.split_once("..") else {
            return usage(format!("--range {r}: expected A..B"));
        };
        if a.is_empty() {
            return usage(format!(
                "--range {r}: A is missing (use --since-commit to start at HEAD)"
            ));
        }
        return Ok(Selection::Revs {
            include: vec![if b.is_empty() { tip } else { b.to_string() }],
            exclude: vec![a.to_string()],
        });
    }
    if let Some(since) = &f.since_commit {
        return Ok(Selection::Revs {
            include: vec![tip],
            exclude: vec![since.clone()],
        });
    }
    Ok(match &f.branch {
        Some(b) => Selection::Revs {
            include: vec![b.clone()],
            exclude: Vec::new(),
        },
        None => Selection::AllRefs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(range: Option<&str>, since: Option<&str>, branch: Option<&str>) -> GitOptions {
        GitOptions {
            range: range.map(str::to_string),
            since_commit: since.map(str::to_string),
            branch: branch.map(str::to_string),
            ..Default::default()
        }
    }

    fn revs(include: &[&str], exclude: &[&str]) -> Selection {
        Selection::Revs {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn ranges_and_since_commit_become_include_and_exclude_lists() {
        assert_eq!(
            selection(&flags(Some("main..topic"), None, None)).unwrap(),
            revs(&["topic"], &["main"])
        );
        assert_eq!(
            selection(&flags(Some("v1.."), None, Some("dev"))).unwrap(),
            revs(&["dev"], &["v1"])
        );
        assert_eq!(
            selection(&flags(None, Some("origin/main"), None)).unwrap(),
            revs(&["HEAD"], &["origin/main"])
        );
        assert_eq!(
            selection(&flags(None, None, Some("side"))).unwrap(),
            revs(&["side"], &[])
        );
        assert_eq!(
            selection(&flags(None, None, None)).unwrap(),
            Selection::AllRefs
        );
        for bad in ["a...b", "..b", "ab"] {
            assert!(selection(&flags(Some(bad), None, None)).is_err(), "{bad}");
        }
    }
}
