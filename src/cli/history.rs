//! `patrol scan` on git repositories: turns `--history`, `--branch`, `--since-commit`,
//! `--range` and `--staged` into scan targets.
//!
//! - no flag: every path that is a git repository gets its whole history (every ref) plus its
//!   working tree; other paths are walked as files;
//! - `--history none`: files only;
//! - `--branch REF`: that ref's history (plus the working tree);
//! - `--since-commit REV` / `--range A..B`: only what those commits introduced, no working
//!   tree (a pull request fails only on what it adds);
//! - `--staged`: only what is staged in the first path's repository (index vs HEAD).

use std::path::PathBuf;

use anyhow::bail;
use patrol::scan::history::{GitTarget, GitWhat};
use patrol::source::git::{probe, RepoKind, Selection};

use super::scan::History;

/// The git-related flags, as given.
#[derive(Debug, Clone, Default)]
pub struct GitFlags {
    /// `--history`.
    pub history: Option<History>,
    /// `--branch`.
    pub branch: Option<String>,
    /// `--since-commit`.
    pub since_commit: Option<String>,
    /// `--range`.
    pub range: Option<String>,
    /// `--staged`.
    pub staged: bool,
    /// `--include-unreachable`.
    pub include_unreachable: bool,
}

/// What to scan: the paths to walk as files (when `walk_files`) and the repositories.
#[derive(Debug)]
pub struct Plan {
    /// Paths for the file walker (bare repositories removed).
    pub file_paths: Vec<PathBuf>,
    /// Whether to walk files at all.
    pub walk_files: bool,
    /// Repositories to read.
    pub targets: Vec<GitTarget>,
    /// Repositories that could not be opened (subject, reason): reported as errors by the
    /// scan (exit 2) while their working trees are still walked as files.
    pub errors: Vec<(String, String)>,
}

/// Decides what to scan from the paths and flags.
pub fn plan(paths: &[PathBuf], f: &GitFlags) -> anyhow::Result<Plan> {
    let ranged = f.since_commit.is_some() || f.range.is_some();
    if f.history == Some(History::None) && (ranged || f.branch.is_some()) {
        bail!("--history none cannot be combined with --branch, --since-commit or --range");
    }
    if f.staged {
        let Some(repo) = paths.first() else {
            bail!("--staged needs a git repository (run it at the repository's top level)");
        };
        if probe(repo)?.is_none() {
            bail!("--staged needs a git repository (run it at the repository's top level)");
        }
        return Ok(Plan {
            file_paths: Vec::new(),
            walk_files: false,
            targets: vec![GitTarget {
                repo: repo.clone(),
                what: GitWhat::Staged,
            }],
            errors: Vec::new(),
        });
    }
    let selection = selection(f)?;
    let explicit = ranged || f.branch.is_some() || f.history == Some(History::All);
    let mut file_paths = Vec::new();
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let kind = if f.history == Some(History::None) || p.as_os_str() == "-" {
            None
        } else {
            match probe(p) {
                Ok(k) => k,
                Err(e) if explicit => return Err(e.into()),
                Err(e) => {
                    // Its history cannot be read: say so (exit 2) and still walk its files.
                    errors.push((p.display().to_string(), format!("{e}; history not scanned")));
                    None
                }
            }
        };
        match kind {
            Some(k) => {
                // `REPO/.git` names the repository, not files to walk.
                if k == RepoKind::WorkTree && p.file_name() != Some(".git".as_ref()) {
                    file_paths.push(p.clone());
                }
                targets.push(GitTarget {
                    repo: p.clone(),
                    what: GitWhat::History(selection.clone()),
                });
            }
            None => {
                if explicit && p.as_os_str() != "-" {
                    bail!(
                        "{}: not a git repository (history flags need one; use --history none \
                         for files only)",
                        p.display()
                    );
                }
                file_paths.push(p.clone());
            }
        }
    }
    Ok(Plan {
        walk_files: !ranged && !file_paths.is_empty(),
        file_paths,
        targets,
        errors,
    })
}

fn selection(f: &GitFlags) -> anyhow::Result<Selection> {
    if f.include_unreachable {
        if f.branch.is_some() || f.range.is_some() || f.since_commit.is_some() {
            bail!("--include-unreachable reads the whole history: it cannot be combined with --branch, --since-commit or --range");
        }
        return Ok(Selection::AllRefsAndUnreachable);
    }
    let tip = f.branch.clone().unwrap_or_else(|| "HEAD".to_string());
    if let Some(r) = &f.range {
        if r.contains("...") {
            bail!("--range {r}: use A..B (two dots)");
        }
        let Some((a, b)) = r.split_once("..") else {
            bail!("--range {r}: expected A..B");
        };
        if a.is_empty() {
            bail!("--range {r}: A is missing (use --since-commit to start at HEAD)");
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

    fn flags(range: Option<&str>, since: Option<&str>, branch: Option<&str>) -> GitFlags {
        GitFlags {
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
