//! The staged changes as the `git` executable lists them: the pre-commit hook's fast path.
//!
//! libgit2 has no use for the index's cache-tree, so its tree-to-index diff inflates every
//! tree of HEAD, and reading the index checksums and re-validates every entry: on a
//! 10,000-file repository those were 29% and 26% of `patrol scan --staged`'s samples (perf;
//! 37 ms wall in all), where `git diff-index` takes 3 ms. So `source::git::staged_blobs` asks git first and falls back to libgit2 when git
//! is missing or fails (an unborn HEAD, a repository git refuses): both list the same
//! blobs, which a test checks. Running git also honours `GIT_INDEX_FILE`, the temporary index
//! git hands a pre-commit hook during `git commit <paths>`. git runs hardened
//! ([`super::git_command`]): a hostile repository's `core.fsmonitor` or hooks never run.

use std::path::Path;
use std::process::Stdio;

use super::git_command::{self, Reach};

use git2::Oid;

/// One staged change: the new blob, its path (bytes, relative to the repository root), and
/// whether the entry is a submodule (mode 160000), which is not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedEntry {
    /// The staged blob.
    pub oid: Oid,
    /// Its path in the repository.
    pub path: Vec<u8>,
    /// A gitlink (submodule) entry rather than a blob.
    pub submodule: bool,
}

/// The entries added, modified or retyped in the index against HEAD, per `git diff-index
/// --cached` of the repository whose git directory is `git_dir`; `None` when git cannot be
/// run, fails or prints something unexpected (the caller then asks libgit2).
pub fn list_with_git(git_dir: &Path) -> Option<Vec<StagedEntry>> {
    let mut git = git_command::command("git", Reach::Local, &[]);
    // The temporary index git hands a pre-commit hook during `git commit <paths>`.
    git_command::keep_env(&mut git, "GIT_INDEX_FILE");
    let out = git
        .arg("--git-dir")
        .arg(git_dir)
        .args([
            "diff-index",
            "--cached",
            "--raw",
            "-z",
            "--no-renames",
            "--no-abbrev",
            "--no-ext-diff",
            "--no-textconv",
            "HEAD",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_raw(&out.stdout)
}

/// Parses `--raw -z` output without renames: `:<old mode> <new mode> <old oid> <new oid>
/// <status>` NUL `<path>` NUL, per entry. Deletions, unmerged paths and entries without a
/// blob (intent-to-add) are left out, as libgit2's diff leaves them out of the staged set.
fn parse_raw(out: &[u8]) -> Option<Vec<StagedEntry>> {
    let mut fields = out.split(|&b| b == 0);
    let mut entries = Vec::new();
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            break;
        }
        let path = fields.next().filter(|p| !p.is_empty())?;
        let meta = std::str::from_utf8(meta.strip_prefix(b":")?).ok()?;
        let [_, new_mode, _, new_oid, status] =
            meta.split(' ').collect::<Vec<_>>().try_into().ok()?;
        let oid = Oid::from_str(new_oid).ok()?;
        // A submodule whose commit moved is no change to libgit2's diff either (it ignores
        // submodules); one added or retyped is listed, and noted by the caller.
        let moved_submodule = status == "M" && new_mode == "160000";
        if !matches!(status, "A" | "M" | "T") || oid.is_zero() || moved_submodule {
            continue;
        }
        entries.push(StagedEntry {
            oid,
            path: path.to_vec(),
            submodule: new_mode == "160000",
        });
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn parses_added_modified_and_retyped_entries_and_skips_the_rest() {
        let raw = format!(
            ":000000 100644 {Z} {A} A\0new file.txt\0:100644 100644 {A} {B} M\0dir/mé\0\
             :100644 000000 {A} {Z} D\0gone\0:100644 120000 {A} {B} T\0link\0\
             :000000 160000 {Z} {B} A\0vendor/sub\0:100644 100644 {A} {Z} U\0conflict\0\
             :160000 160000 {A} {B} M\0vendor/moved\0"
        );
        let got = parse_raw(raw.as_bytes()).unwrap();
        let paths: Vec<&[u8]> = got.iter().map(|e| &e.path[..]).collect();
        assert_eq!(
            paths,
            [
                &b"new file.txt"[..],
                "dir/mé".as_bytes(),
                b"link",
                b"vendor/sub"
            ]
        );
        assert_eq!(got[0].oid, Oid::from_str(A).unwrap());
        assert_eq!(got[1].oid, Oid::from_str(B).unwrap());
        assert!(got[3].submodule && !got[0].submodule);
        assert_eq!(parse_raw(b"").unwrap(), vec![]);
    }

    #[test]
    fn unexpected_output_is_no_answer() {
        assert!(parse_raw(b"not raw output\0x\0").is_none());
        assert!(parse_raw(format!(":100644 100644 {A} {B} M\0").as_bytes()).is_none());
        assert!(parse_raw(format!(":100644 100644 {A} nothex M\0p\0").as_bytes()).is_none());
    }
}

#[cfg(test)]
mod same_as_libgit2 {
    use crate::error::Diagnostics;
    use crate::source::git::{staged_blobs, staged_blobs_libgit2};

    fn commit_all(repo: &git2::Repository, msg: &str) {
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let parents: Vec<git2::Commit<'_>> = repo
            .head()
            .ok()
            .map(|h| h.peel_to_commit().unwrap())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, msg, &tree, &parents)
            .unwrap();
    }

    /// Added, modified, deleted, retyped and unstaged files, in subdirectories and with
    /// spaces and non-ASCII bytes in their names: git and libgit2 list the same blobs.
    #[test]
    fn git_and_libgit2_list_the_same_staged_blobs() {
        if std::process::Command::new("git")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("git is not installed: skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let w = |p: &str, text: &str| {
            let p = dir.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        for i in 0..30 {
            w(&format!("d{}/f {i}.txt", i % 4), &format!("v{i}"));
        }
        w("keep.txt", "k");
        w("gone.txt", "g");
        commit_all(&repo, "one");
        w("d1/f 1.txt", "changed");
        w("new/é x.txt", "new");
        w("d2/deeper/n.txt", "n");
        std::fs::remove_file(dir.path().join("gone.txt")).unwrap();
        #[cfg(unix)]
        {
            std::fs::remove_file(dir.path().join("keep.txt")).unwrap();
            std::os::unix::fs::symlink("d1/f 1.txt", dir.path().join("keep.txt")).unwrap();
        }
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        w("d3/f 3.txt", "unstaged edit");
        let diags = Diagnostics::default();
        let key = |v: Vec<crate::source::git::PlannedBlob>| {
            let mut v: Vec<String> = v
                .iter()
                .map(|b| format!("{} {:?}", b.oid, b.origins))
                .collect();
            v.sort();
            v
        };
        let git = super::list_with_git(repo.path()).expect("git answers");
        assert_eq!(git.len(), if cfg!(unix) { 4 } else { 3 }, "{git:?}");
        let fast = key(staged_blobs(dir.path(), &diags).unwrap());
        let slow = key(staged_blobs_libgit2(&repo, dir.path(), &diags).unwrap());
        assert_eq!(fast, slow);
    }
}
