//! `patrol hook run`, the command the pre-commit framework's hooks call
//! (`.pre-commit-hooks.yaml`); `scripts/consumers.sh` runs the real framework on it.

use crate::git_repo::GitRepoBuilder;
use crate::util::{fake, run_patrol};

#[test]
fn hook_run_blocks_a_staged_token_and_says_how_to_go_on() {
    let g = GitRepoBuilder::new();
    g.commit_files("init", &[("README.md", "hello\n")]);
    g.stage("notes.txt", "nothing secret\n");
    let o = run_patrol(g.path(), &["hook", "run"]);
    assert_eq!(o.code, 0, "a clean commit passes: {}", o.stderr);
    assert!(!o.stderr.contains("commit blocked"), "{}", o.stderr);

    let token = fake("azure_devops.pat", 21);
    g.stage("deploy.sh", format!("export PAT={token}\n"));
    let o = run_patrol(g.path(), &["hook", "run"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stdout.contains("deploy.sh"), "the finding: {}", o.stdout);
    for way in [
        "Remove the secret",
        "patrol:allow",
        "git commit --no-verify",
    ] {
        assert!(o.stderr.contains(way), "missing {way:?}: {}", o.stderr);
    }
    assert!(!o.stdout.contains(&token) && !o.stderr.contains(&token));
}

#[test]
fn pre_commit_hooks_file_runs_hook_run_for_both_hooks() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let entries: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("entry:"))
        .map(str::trim)
        .collect();
    assert_eq!(entries, ["patrol hook run", "patrol hook run"], "{text}");
    for lang in ["language: rust", "language: system"] {
        assert!(text.contains(lang), "{lang}");
    }
}
