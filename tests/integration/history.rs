//! Git history, staged changes and commit ranges, on repositories built in the test.

use serde_json::Value;

use crate::git_repo::GitRepoBuilder;
use crate::util::{fake, run_patrol};

/// Runs `patrol scan ARGS --format json --show-secrets` in `repo` and returns (exit, findings).
fn scan(repo: &std::path::Path, args: &[&str]) -> (i32, Vec<Value>, String) {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "--show-secrets", "--no-progress"]);
    let o = run_patrol(repo, &all);
    let v: Vec<Value> = serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {} stderr {}", o.stdout, o.stderr));
    (o.code, v, o.stderr)
}

fn secrets(f: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = f
        .iter()
        .map(|x| x["secret"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// (commit, path) of every location of the finding for `secret`.
fn locs(f: &[Value], secret: &str) -> Vec<(Option<String>, String)> {
    let one: Vec<&Value> = f.iter().filter(|x| x["secret"] == secret).collect();
    assert_eq!(one.len(), 1, "exactly one finding for the secret: {f:?}");
    one[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["commit"].as_str().map(str::to_string),
                l["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn tok(seed: u64) -> String {
    fake("github.pat_classic", seed)
}

#[test]
fn token_added_then_deleted_is_found_at_the_commit_that_added_it() {
    let g = GitRepoBuilder::new();
    g.commit_files("init", &[("README.md", "hello\n")]);
    let t = tok(1);
    let c1 = g.commit_files("add config", &[("config.env", &format!("TOKEN={t}\n"))]);
    g.remove("config.env");
    g.commit("remove config");
    let (code, f, err) = scan(g.path(), &["."]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(secrets(&f), vec![t.clone()]);
    assert_eq!(
        locs(&f, &t),
        vec![(Some(c1.to_string()), "config.env".into())]
    );
    let l = &f[0]["locations"][0];
    assert_eq!(l["author_name"], "Alice");
    assert_eq!(l["author_email"], "alice@example.com");
    assert!(
        l["author_date"].as_str().unwrap().ends_with("+02:00"),
        "{l}"
    );
    assert_eq!(l["line"], 1);
    assert_eq!(l["column"], 7);
    // --history none: the working tree is clean.
    let (code, f, _) = scan(g.path(), &[".", "--history", "none"]);
    assert_eq!((code, f.len()), (0, 0));
}

#[test]
fn a_renamed_file_is_one_blob_reported_at_both_paths() {
    let g = GitRepoBuilder::new();
    let t = tok(2);
    let c1 = g.commit_files("add", &[("old/name.cfg", &format!("key: {t}\n"))]);
    g.remove("old/name.cfg");
    let c2 = g.commit_files("rename", &[("new/name.cfg", &format!("key: {t}\n"))]);
    g.remove("new/name.cfg");
    g.commit("drop");
    let (code, f, err) = scan(g.path(), &["."]);
    assert_eq!(code, 1, "{err}");
    let mut l = locs(&f, &t);
    l.sort();
    let mut want = vec![
        (Some(c1.to_string()), "old/name.cfg".to_string()),
        (Some(c2.to_string()), "new/name.cfg".to_string()),
    ];
    want.sort();
    assert_eq!(l, want);
}

#[test]
fn a_token_only_on_a_side_branch_is_found_unless_branch_restricts() {
    let g = GitRepoBuilder::new();
    let base = g.commit_files("init", &[("a.txt", "a\n")]);
    g.branch("side", base);
    g.checkout("side");
    let t = tok(3);
    let side = g.commit_files("side work", &[("side.txt", &format!("{t}\n"))]);
    g.checkout("main");
    let (code, f, err) = scan(g.path(), &["."]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        locs(&f, &t),
        vec![(Some(side.to_string()), "side.txt".into())]
    );
    let (code, f, _) = scan(g.path(), &[".", "--branch", "main"]);
    assert_eq!((code, f.len()), (0, 0), "{f:?}");
    let (code, f, _) = scan(g.path(), &[".", "--branch", "side"]);
    assert_eq!((code, secrets(&f)), (1, vec![t]));
}

#[test]
fn a_token_only_in_a_commit_message_or_tag_message_is_found() {
    let g = GitRepoBuilder::new();
    let t = tok(4);
    let c = g.commit_files("init", &[("a.txt", "a\n")]);
    g.stage("b.txt", "b\n");
    let c2 = g.commit(&format!("oops\n\nused token {t} to test\n"));
    let t2 = tok(5);
    let sig = git2::Signature::new(
        "Tagger",
        "tag@example.com",
        &git2::Time::new(1_700_100_000, 0),
    )
    .unwrap();
    let obj = g.repo.find_object(c, None).unwrap();
    g.repo
        .tag("v1", &obj, &sig, &format!("release\n{t2}\n"), false)
        .unwrap();
    let (code, f, err) = scan(g.path(), &["."]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        locs(&f, &t),
        vec![(Some(c2.to_string()), "<commit message>".into())]
    );
    let l = locs(&f, &t2);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].1, "<refs/tags/v1>");
}

#[test]
fn a_token_introduced_by_a_merge_commit_is_attributed_to_the_merge() {
    let g = GitRepoBuilder::new();
    let base = g.commit_files("init", &[("a.txt", "a\n")]);
    g.branch("topic", base);
    let m1 = g.commit_files("main work", &[("m.txt", "m\n")]);
    g.checkout("topic");
    let t1 = g.commit_files("topic work", &[("t.txt", "t\n")]);
    g.checkout("main");
    let t = tok(6);
    // The merge resolution adds a file neither parent has.
    g.stage("t.txt", "t\n");
    g.stage("merged.txt", format!("token={t}\n"));
    let merge = g.commit_with_parents("merge topic", &[m1, t1]);
    let (code, f, err) = scan(g.path(), &[".", "--history", "all"]);
    assert_eq!(code, 1, "{err}");
    let l = locs(&f, &t);
    assert!(
        l.contains(&(Some(merge.to_string()), "merged.txt".into())),
        "{l:?}"
    );
    // The file is also in the working tree: one finding, both kinds of location.
    assert!(
        l.iter()
            .any(|(c, p)| c.is_none() && p.ends_with("merged.txt")),
        "{l:?}"
    );
    assert_eq!(l.len(), 2, "{l:?}");
}

#[test]
fn the_same_token_in_many_commits_is_one_finding_with_the_first_commit() {
    let g = GitRepoBuilder::new();
    let t = tok(7);
    let mut first = None;
    for i in 0..20 {
        let c = g.commit_files(
            &format!("change {i}"),
            &[
                (
                    "app/settings.py",
                    &format!("TOKEN = '{t}'\nVERSION = {i}\n"),
                ),
                (&format!("copies/c{}.txt", i % 3), &format!("{t} {i}\n")),
            ],
        );
        first.get_or_insert(c);
    }
    let (code, f, err) = scan(
        g.path(),
        &[".", "--history", "all", "--max-locations", "1000"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    let l = locs(&f, &t);
    // settings.py: 20 blobs, copies: 20 blobs, working tree: 4 files.
    assert_eq!(l.iter().filter(|(c, _)| c.is_some()).count(), 40, "{l:?}");
    assert_eq!(l.iter().filter(|(c, _)| c.is_none()).count(), 4, "{l:?}");
    let first = first.unwrap().to_string();
    assert!(l.contains(&(Some(first), "app/settings.py".into())));
    let (_, f, _) = scan(g.path(), &[".", "--max-locations", "5"]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["locations"].as_array().unwrap().len(), 5);
    assert_eq!(f[0]["locations_omitted"], 39);
}

/// One blob at more paths than `--max-locations`: the locations kept are the first in
/// report order, each with the commit that put the blob there, and every other path is
/// counted as omitted (attribution stops storing at the cap; it does not stop counting).
#[test]
fn a_blob_at_more_paths_than_the_cap_keeps_the_first_and_counts_the_rest() {
    let g = GitRepoBuilder::new();
    let t = tok(12);
    let body = format!("TOKEN={t}\n");
    let first: Vec<String> = (0..12).map(|i| format!("p{i:02}/a.txt")).collect();
    let files: Vec<(&str, &str)> = first.iter().map(|p| (p.as_str(), body.as_str())).collect();
    let c1 = g.commit_files("many", &files).to_string();
    let again: Vec<String> = (0..12).map(|i| format!("p{i:02}/b.txt")).collect();
    let files: Vec<(&str, &str)> = again.iter().map(|p| (p.as_str(), body.as_str())).collect();
    let c2 = g.commit_files("more", &files).to_string();
    // The repository only (its `.git`), so no working-tree location sorts first.
    let git_dir = g.path().join(".git");
    let git_dir = git_dir.to_str().unwrap();
    let (code, f, err) = scan(g.path(), &[git_dir, "--max-locations", "3"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        locs(&f, &t),
        vec![
            (Some(c1.clone()), "p00/a.txt".to_string()),
            (Some(c2), "p00/b.txt".to_string()),
            (Some(c1), "p01/a.txt".to_string()),
        ]
    );
    assert_eq!(f[0]["locations_omitted"], 21);
    let (_, f, _) = scan(g.path(), &[git_dir, "--max-locations", "1000"]);
    assert_eq!(f[0]["locations"].as_array().unwrap().len(), 24);
    assert_eq!(f[0]["locations_omitted"], 0);
}

#[test]
fn since_commit_and_range_find_only_what_the_new_commits_add() {
    let g = GitRepoBuilder::new();
    let old = tok(8);
    let base = g.commit_files("old leak", &[("old.txt", &format!("{old}\n"))]);
    // The target branch moves on after the fork: it deletes the old leak. The pull request
    // branch still carries old.txt unchanged, which it did not add.
    g.branch("pr", base);
    g.remove("old.txt");
    g.commit("main cleans up");
    g.checkout("pr");
    let new1 = tok(9);
    let new2 = fake("npm.token", 1);
    let p1 = g.commit_files("pr 1", &[("new.txt", &format!("{new1}\n"))]);
    let p2 = g.commit_files("pr 2", &[("more.txt", &format!("{new2}\n"))]);
    let (code, f, err) = scan(g.path(), &[".", "--since-commit", "main"]);
    assert_eq!(code, 1, "{err}");
    let mut want = vec![new1.clone(), new2.clone()];
    want.sort();
    assert_eq!(secrets(&f), want);
    assert_eq!(
        locs(&f, &new1),
        vec![(Some(p1.to_string()), "new.txt".into())]
    );
    assert_eq!(
        locs(&f, &new2),
        vec![(Some(p2.to_string()), "more.txt".into())]
    );
    let range = format!("{p1}..{p2}");
    let (code, f, err) = scan(g.path(), &[".", "--range", &range]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(secrets(&f), vec![new2]);
    let (code, f, _) = scan(g.path(), &[".", "--range", &format!("{p2}..pr")]);
    assert_eq!((code, f.len()), (0, 0));
    // A revision that does not resolve: one error line, exit 2.
    let (code, _, err) = scan(g.path(), &[".", "--since-commit", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn staged_finds_only_what_is_staged() {
    let g = GitRepoBuilder::new();
    let old = tok(10);
    g.commit_files("old", &[("old.txt", &format!("{old}\n"))]);
    let (code, f, _) = scan(g.path(), &["--staged"]);
    assert_eq!((code, f.len()), (0, 0), "{f:?}");
    let new = fake("npm.token", 2);
    g.stage("src/new.txt", format!("x\n{new}\n"));
    // Unstaged changes are not part of the commit.
    std::fs::write(g.path().join("unstaged.txt"), tok(11)).unwrap();
    let (code, f, err) = scan(g.path(), &["--staged"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(secrets(&f), vec![new.clone()]);
    let l = &f[0]["locations"][0];
    assert_eq!(l["path"], "src/new.txt");
    assert_eq!(l["line"], 2);
    assert!(l["commit"].is_null());
}

#[test]
fn staged_works_on_an_unborn_head() {
    let g = GitRepoBuilder::new();
    let t = tok(12);
    g.stage("first.txt", format!("{t}\n"));
    let (code, f, err) = scan(g.path(), &["--staged"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(secrets(&f), vec![t]);
    // And a full scan of a repository with no commits is the working tree only, with a note.
    let (code, f, err) = scan(g.path(), &["."]);
    assert_eq!((code, f.len()), (1, 1), "{err}");
    assert!(err.contains("no commits"), "{err}");
}

#[test]
fn a_bare_repository_is_scanned_from_its_objects() {
    let g = GitRepoBuilder::new();
    let t = tok(13);
    let c = g.commit_files("add", &[("k.txt", &format!("{t}\n"))]);
    g.remove("k.txt");
    g.commit("rm");
    let bare = g.bare_clone();
    let r = bare.path().join("r.git");
    let (code, f, err) = scan(bare.path(), &[r.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(locs(&f, &t), vec![(Some(c.to_string()), "k.txt".into())]);
}

#[test]
fn a_missing_object_is_named_on_stderr_exit_2_and_the_scan_goes_on() {
    let g = GitRepoBuilder::new();
    let t = tok(14);
    let t2 = tok(15);
    g.commit_files("a", &[("a.txt", &format!("{t}\n"))]);
    g.commit_files("b", &[("b.txt", &format!("lost {t2}\n"))]);
    let lost = g
        .repo
        .head()
        .unwrap()
        .peel_to_tree()
        .unwrap()
        .get_name("b.txt")
        .unwrap()
        .id();
    g.remove("b.txt");
    g.commit("rm b");
    std::fs::remove_file(g.loose_object(lost)).unwrap();
    let (code, f, err) = scan(g.path(), &["."]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(secrets(&f), vec![t]);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(&lost.to_string()))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("error"), "{err}");
}

#[test]
fn non_utf8_and_newline_paths_in_history_keep_their_exact_bytes() {
    let g = GitRepoBuilder::new();
    let t = tok(16);
    // Build the tree by hand: the path has an invalid UTF-8 byte and a newline.
    let blob = g.repo.blob(format!("{t}\n").as_bytes()).unwrap();
    let name: &[u8] = b"we\xffird\nname.txt";
    let mut tb = g.repo.treebuilder(None).unwrap();
    tb.insert(name, blob, 0o100644).unwrap();
    let tree = g.repo.find_tree(tb.write().unwrap()).unwrap();
    let sig =
        git2::Signature::new("Bob", "bob@example.com", &git2::Time::new(1_700_000_000, 0)).unwrap();
    g.repo
        .commit(Some("HEAD"), &sig, &sig, "odd", &tree, &[])
        .unwrap();
    let (code, f, err) = scan(g.path(), &[".", "--history", "all"]);
    assert_eq!(code, 1, "{err}");
    let l = &f[0]["locations"][0];
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(l["path_raw_base64"].as_str().expect("raw path"))
        .unwrap();
    assert_eq!(raw, name);
    assert_eq!(l["path"], "we\u{fffd}ird\nname.txt");
}

#[test]
fn hook_install_writes_pre_commit_and_refuses_a_foreign_hook_without_force() {
    let g = GitRepoBuilder::new();
    let o = run_patrol(g.path(), &["hook", "install"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let hook = g.path().join(".git/hooks/pre-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(text.contains("patrol scan --staged"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&hook).unwrap().permissions().mode() & 0o111,
            0o111
        );
    }
    // Re-installing over our own hook is fine.
    assert_eq!(run_patrol(g.path(), &["hook", "install"]).code, 0);
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    let o = run_patrol(g.path(), &["hook", "install"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("--force"), "{}", o.stderr);
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    let o = run_patrol(g.path(), &["hook", "install", "--force"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(std::fs::read_to_string(&hook).unwrap().contains("--staged"));
}

#[test]
fn a_ref_to_a_blob_and_a_submodule_are_noted_and_the_rest_is_scanned() {
    let g = GitRepoBuilder::new();
    let t = tok(17);
    g.commit_files("a", &[("a.txt", &format!("{t}\n"))]);
    let blob = g.repo.blob(b"just bytes\n").unwrap();
    g.repo
        .reference("refs/tags/blobtag", blob, false, "test")
        .unwrap();
    // A gitlink entry (a submodule) in the tree.
    let head = g.repo.head().unwrap().peel_to_tree().unwrap();
    let mut tb = g.repo.treebuilder(Some(&head)).unwrap();
    let other = g.repo.head().unwrap().target().unwrap();
    tb.insert("sub", other, 0o160000).unwrap();
    let tree = g.repo.find_tree(tb.write().unwrap()).unwrap();
    let parent = g.repo.find_commit(other).unwrap();
    let sig = git2::Signature::now("Bob", "bob@example.com").unwrap();
    g.repo
        .commit(Some("HEAD"), &sig, &sig, "add submodule", &tree, &[&parent])
        .unwrap();
    let (code, f, err) = scan(g.path(), &[".", "--history", "all"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(secrets(&f), vec![t]);
    assert!(err.contains("refs/tags/blobtag"), "{err}");
    assert!(err.contains("sub: submodule"), "{err}");
}

#[test]
fn history_flags_outside_a_repository_are_an_error() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.txt"), "a\n").unwrap();
    for args in [
        &["scan", ".", "--history", "all"][..],
        &["scan", "--staged"][..],
        &["scan", ".", "--since-commit", "HEAD~1"][..],
    ] {
        let o = run_patrol(d.path(), args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains("git repository"), "{}", o.stderr);
    }
    // Without flags a plain directory is a plain file scan.
    assert_eq!(run_patrol(d.path(), &["scan", "."]).code, 0);
}

#[test]
fn binary_blobs_in_history_are_scanned_unless_skip_binary() {
    let g = GitRepoBuilder::new();
    let t = tok(18);
    let mut bin = b"\x7fELF\x00\x00\x01".to_vec();
    bin.extend_from_slice(t.as_bytes());
    bin.extend_from_slice(&[0u8; 64]);
    g.stage("out/app.bin", &bin);
    g.commit("build output");
    g.remove("out/app.bin");
    g.commit("rm");
    let (code, f, err) = scan(g.path(), &["."]);
    assert_eq!((code, secrets(&f)), (1, vec![t]), "{err}");
    let (code, f, _) = scan(g.path(), &[".", "--skip-binary"]);
    assert_eq!((code, f.len()), (0, 0));
    // --max-file-size applies to blobs too, with a note.
    let (code, f, err) = scan(g.path(), &[".", "--max-file-size", "10"]);
    assert_eq!((code, f.len()), (0, 0), "{err}");
    assert!(err.contains("over --max-file-size"), "{err}");
}

#[test]
fn a_linked_worktree_is_scanned_with_the_shared_history() {
    let g = GitRepoBuilder::new();
    let t = tok(19);
    let c = g.commit_files("a", &[("a.txt", &format!("{t}\n"))]);
    g.remove("a.txt");
    g.commit("rm");
    let wt_parent = tempfile::tempdir().unwrap();
    let wt_path = wt_parent.path().join("wt");
    g.repo.worktree("wt", &wt_path, None).unwrap();
    let (code, f, err) = scan(&wt_path, &["."]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(locs(&f, &t), vec![(Some(c.to_string()), "a.txt".into())]);
}

#[test]
fn scanning_the_dot_git_directory_reads_history_not_object_files() {
    let g = GitRepoBuilder::new();
    let t = tok(20);
    let c = g.commit_files("a", &[("a.txt", &format!("{t}\n"))]);
    let (code, f, err) = scan(g.path(), &[".git"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(locs(&f, &t), vec![(Some(c.to_string()), "a.txt".into())]);
}

#[test]
fn a_missing_commit_is_named_once_and_the_rest_of_history_is_scanned() {
    let g = GitRepoBuilder::new();
    let t3 = tok(22);
    g.commit_files("one", &[("one.txt", "1\n")]);
    let lost = g.commit_files("two", &[("two.txt", "2\n")]);
    let c3 = g.commit_files("three", &[("three.txt", &format!("{t3}\n"))]);
    g.remove("three.txt");
    g.commit("four");
    std::fs::remove_file(g.loose_object(lost)).unwrap();
    let (code, f, err) = scan(g.path(), &["."]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        locs(&f, &t3),
        vec![(Some(c3.to_string()), "three.txt".into())]
    );
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(&lost.to_string()))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("error: git object"), "{err}");
}

#[test]
fn the_stash_and_remote_tracking_refs_are_scanned() {
    let g = GitRepoBuilder::new();
    let base = g.commit_files("init", &[("a.txt", "a\n")]);
    // A commit only a remote-tracking ref points to.
    let t_remote = tok(23);
    g.branch("tmp", base);
    g.checkout("tmp");
    let remote = g.commit_files("remote work", &[("r.txt", &format!("{t_remote}\n"))]);
    g.checkout("main");
    g.repo
        .reference("refs/remotes/origin/feature", remote, true, "test")
        .unwrap();
    g.repo
        .find_branch("tmp", git2::BranchType::Local)
        .unwrap()
        .delete()
        .unwrap();
    // A stashed change to a tracked file.
    let t_stash = tok(24);
    std::fs::write(g.path().join("a.txt"), format!("{t_stash}\n")).unwrap();
    let mut repo = git2::Repository::open(g.path()).unwrap();
    let sig = git2::Signature::now("Stasher", "s@example.com").unwrap();
    repo.stash_save(&sig, "wip", None).unwrap();
    assert_eq!(
        std::fs::read_to_string(g.path().join("a.txt")).unwrap(),
        "a\n"
    );
    let (code, f, err) = scan(g.path(), &["."]);
    assert_eq!(code, 1, "{err}");
    let mut want = vec![t_remote.clone(), t_stash.clone()];
    want.sort();
    assert_eq!(secrets(&f), want);
    assert_eq!(
        locs(&f, &t_remote),
        vec![(Some(remote.to_string()), "r.txt".into())]
    );
    let stash_locs = locs(&f, &t_stash);
    assert!(
        stash_locs.iter().all(|(c, p)| c.is_some() && p == "a.txt"),
        "{stash_locs:?}"
    );
}
