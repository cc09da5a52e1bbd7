//! Hostile git repositories (the git half of the fault-injection suite), built with the git
//! CLI in temp dirs: corrupt loose objects, a truncated pack index, a symbolic-ref cycle, a
//! gigantic commit message, deep history and many refs. The contract is the one for files:
//! the scan completes, a problem is a stderr line naming the object or ref, exit 2 when
//! something could not be read, and every finding from the rest is still reported.
//! (Missing objects and commits, shallow-style gaps, refs to blobs and submodules are in
//! `history.rs`.)

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{fake, jsonl, run_patrol, run_patrol_env, TestDir};

fn git(dir: &Path, args: &[&str]) -> String {
    git_stdin(dir, args, None)
}

fn git_stdin(dir: &Path, args: &[&str], input: Option<&[u8]>) -> String {
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.invalid")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git");
    if let Some(i) = input {
        child.stdin.take().unwrap().write_all(i).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository whose first commit adds `old.txt` holding `old` (deleted by the second commit)
/// and whose second commit adds `new.txt` holding `new`; returns the blob id of old.txt.
fn two_commit_repo(t: &TestDir, old: &str, new: &str) -> String {
    git(t.path(), &["init", "-q", "-b", "main"]);
    t.write("old.txt", format!("{old}\n"));
    git(t.path(), &["add", "old.txt"]);
    git(t.path(), &["commit", "-q", "-m", "add old"]);
    let blob = git(t.path(), &["rev-parse", "HEAD:old.txt"]);
    git(t.path(), &["rm", "-q", "old.txt"]);
    t.write("new.txt", format!("{new}\n"));
    git(t.path(), &["add", "new.txt"]);
    git(t.path(), &["commit", "-q", "-m", "add new"]);
    blob
}

/// `patrol scan .` (history and working tree) in `dir`: exit code, findings, stderr.
fn findings(dir: &Path) -> (i32, Vec<serde_json::Value>, String) {
    let o = run_patrol(dir, &["scan", ".", "--format", "jsonl", "--show-secrets"]);
    (o.code, jsonl(&o.stdout), o.stderr)
}

/// Like [`findings`], with only the secrets, sorted.
fn scan(dir: &Path) -> (i32, Vec<String>, String) {
    let (code, v, stderr) = findings(dir);
    let mut s: Vec<String> = v
        .iter()
        .map(|v| v["secret"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    (code, s, stderr)
}

#[test]
fn a_corrupt_loose_object_is_named_exit_2_and_the_rest_is_reported() {
    let t = TestDir::new();
    let (old, new) = (fake("npm.token", 1), fake("github.pat_classic", 2));
    let blob = two_commit_repo(&t, &old, &new);
    let obj = t
        .path()
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    let mut perm = std::fs::metadata(&obj).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&obj, perm).unwrap();
    std::fs::write(&obj, b"this is not zlib data at all").unwrap();
    let (code, secrets, stderr) = scan(t.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.lines().any(|l| l.contains(&blob)),
        "no line names {blob}: {stderr}"
    );
    assert_eq!(secrets, vec![new]);
}

#[test]
fn a_truncated_pack_index_is_an_error_and_the_working_tree_is_still_scanned() {
    let t = TestDir::new();
    let (old, new) = (fake("npm.token", 3), fake("github.pat_classic", 4));
    two_commit_repo(&t, &old, &new);
    git(t.path(), &["gc", "-q"]);
    let pack_dir = t.path().join(".git/objects/pack");
    let idx = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .expect("a pack index after gc");
    let len = std::fs::metadata(&idx).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&idx);
    let f = match f {
        Ok(f) => f,
        Err(_) => {
            let mut p = std::fs::metadata(&idx).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            p.set_readonly(false);
            std::fs::set_permissions(&idx, p).unwrap();
            std::fs::OpenOptions::new().write(true).open(&idx).unwrap()
        }
    };
    f.set_len(len / 3).unwrap();
    let (code, secrets, stderr) = scan(t.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("patrol: error:"), "{stderr}");
    // new.txt is in the working tree: found as a file whatever happened to the pack.
    assert!(secrets.contains(&new), "{secrets:?}\n{stderr}");
}

#[test]
fn a_symbolic_ref_cycle_completes_and_names_the_ref() {
    let t = TestDir::new();
    let (old, new) = (fake("npm.token", 5), fake("github.pat_classic", 6));
    two_commit_repo(&t, &old, &new);
    std::fs::write(
        t.path().join(".git/refs/heads/loop-a"),
        "ref: refs/heads/loop-b\n",
    )
    .unwrap();
    std::fs::write(
        t.path().join(".git/refs/heads/loop-b"),
        "ref: refs/heads/loop-a\n",
    )
    .unwrap();
    let (code, secrets, stderr) = scan(t.path());
    assert!(code == 1 || code == 2, "{stderr}");
    assert!(
        stderr.contains("loop-a") || stderr.contains("loop-b"),
        "{stderr}"
    );
    let mut want = vec![old, new];
    want.sort();
    assert_eq!(secrets, want);
}

#[test]
fn a_gigantic_commit_message_is_scanned() {
    let t = TestDir::new();
    git(t.path(), &["init", "-q", "-b", "main"]);
    t.write("a.txt", "a\n");
    git(t.path(), &["add", "a.txt"]);
    let tok = fake("azure_devops.pat_legacy", 7);
    let mut msg = String::from("subject\n\n");
    msg.push_str(&"filler line of a huge message\n".repeat(300_000));
    msg.push_str(&format!("pat {tok}\n"));
    msg.push_str(&"more filler\n".repeat(100_000));
    git_stdin(t.path(), &["commit", "-q", "-F", "-"], Some(msg.as_bytes()));
    let (code, v, stderr) = findings(t.path());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["secret"], tok.as_str());
    assert_eq!(v[0]["locations"][0]["path"], "<commit message>");
    assert_eq!(v[0]["locations"][0]["line"], 300_003);
}

#[test]
fn deep_history_attributes_the_first_commit() {
    let t = TestDir::new();
    git(t.path(), &["init", "-q", "-b", "main"]);
    let tok = fake("gitlab.pat_routable", 8);
    let n = 20_000;
    let mut fi = Vec::new();
    for i in 1..=n {
        let content = if i == 1 {
            format!("token {tok}\n")
        } else {
            format!("revision {i}\n")
        };
        write!(
            fi,
            "commit refs/heads/main\nmark :{i}\ncommitter T <t@example.invalid> {} +0000\ndata 3\nc{}\n",
            1_700_000_000 + i,
            i % 10
        )
        .unwrap();
        if i > 1 {
            writeln!(fi, "from :{}", i - 1).unwrap();
        }
        write!(
            fi,
            "M 100644 inline f.txt\ndata {}\n{content}\n",
            content.len()
        )
        .unwrap();
    }
    git_stdin(t.path(), &["fast-import", "--quiet"], Some(&fi));
    let first = git(t.path(), &["rev-list", "--max-parents=0", "main"]);
    let (code, v, stderr) = findings(t.path());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["secret"], tok.as_str());
    assert_eq!(v[0]["locations"][0]["commit"], first.as_str());
}

#[test]
fn many_refs_are_all_followed() {
    let t = TestDir::new();
    let (old, new) = (fake("npm.token", 9), fake("github.pat_classic", 10));
    two_commit_repo(&t, &old, &new);
    let head = git(t.path(), &["rev-parse", "HEAD"]);
    // 20,000 tags on HEAD, and one more tag on a commit only it reaches.
    let mut cmds = String::new();
    for i in 0..20_000 {
        cmds.push_str(&format!("create refs/tags/t{i} {head}\n"));
    }
    git_stdin(t.path(), &["update-ref", "--stdin"], Some(cmds.as_bytes()));
    git(t.path(), &["checkout", "-q", "--orphan", "lonely"]);
    git(t.path(), &["rm", "-q", "-r", "--cached", "."]);
    let only = fake("azure_devops.pat", 11);
    std::fs::remove_file(t.path().join("new.txt")).unwrap();
    t.write("lonely.txt", format!("{only}\n"));
    git(t.path(), &["add", "lonely.txt"]);
    git(t.path(), &["commit", "-q", "-m", "lonely"]);
    git(t.path(), &["tag", "only-here"]);
    git(t.path(), &["checkout", "-q", "main"]);
    git(t.path(), &["branch", "-D", "-q", "lonely"]);
    std::fs::remove_file(t.path().join("lonely.txt")).ok();
    let (code, secrets, stderr) = scan(t.path());
    assert_eq!(code, 1, "{stderr}");
    let mut want = vec![old, new, only];
    want.sort();
    assert_eq!(secrets, want);
}

#[test]
fn refs_sharing_a_bad_target_are_each_named() {
    // Refs are peeled once per target object; every ref must still get its own line.
    let t = TestDir::new();
    let (old, new) = (fake("npm.token", 40), fake("github.pat_classic", 41));
    two_commit_repo(&t, &old, &new);
    let tree = git(t.path(), &["rev-parse", "HEAD^{tree}"]);
    let gone = "0123456789abcdef0123456789abcdef01234567";
    let mut packed = String::new();
    for (target, name) in [
        (tree.as_str(), "tree-a"),
        (tree.as_str(), "tree-b"),
        (gone, "gone-a"),
        (gone, "gone-b"),
    ] {
        packed.push_str(&format!("{target} refs/tags/{name}\n"));
    }
    let path = t.path().join(".git/packed-refs");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(packed.as_bytes()).unwrap();
    let (code, secrets, stderr) = scan(t.path());
    // An unreadable target loses history: the run is partial.
    assert_eq!(code, 2, "{stderr}");
    let mut want = vec![old, new];
    want.sort();
    assert_eq!(secrets, want);
    for name in ["tree-a", "tree-b", "gone-a", "gone-b"] {
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(&format!("ref refs/tags/{name}")))
            .collect();
        assert_eq!(lines.len(), 1, "{name}: {stderr}");
    }
    for name in ["tree-a", "tree-b"] {
        assert!(
            stderr.contains(&format!("ref refs/tags/{name}: does not point to a commit")),
            "{stderr}"
        );
    }
}

#[test]
fn a_partial_clone_scans_what_it_has_and_names_what_is_missing() {
    let src = TestDir::new();
    let (old, new) = (fake("npm.token", 12), fake("github.pat_classic", 13));
    let old_blob = two_commit_repo(&src, &old, &new);
    git(src.path(), &["config", "uploadpack.allowFilter", "true"]);
    let dst = TestDir::new();
    let url = format!("file://{}", src.path().display());
    git(
        dst.path(),
        &["clone", "-q", "--filter=blob:none", &url, "clone"],
    );
    let clone = dst.path().join("clone");
    let (code, secrets, stderr) = scan(&clone);
    // The old blob was never fetched: the scan is incomplete and says which object is missing;
    // the checked-out file is found.
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&old_blob), "{stderr}");
    assert_eq!(secrets, vec![new]);
}

/// Regression test for review item 2: a repository libgit2 cannot open (here a broken
/// .git/config) was scanned as plain files and reported complete, losing its history.
#[test]
fn a_repository_that_cannot_be_opened_is_an_error_and_its_files_are_still_scanned() {
    let t = TestDir::new();
    let (old, new) = (fake("npm.token", 14), fake("github.pat_classic", 15));
    two_commit_repo(&t, &old, &new);
    let cfg = t.path().join(".git/config");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("[core\n");
    std::fs::write(&cfg, text).unwrap();
    let (code, secrets, stderr) = scan(t.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("patrol: error:") && l.contains("history not scanned")),
        "{stderr}"
    );
    // new.txt is in the working tree; old.txt lived only in the unreadable history.
    assert_eq!(secrets, vec![new]);
}

/// Regression test for review item 3: one commit dated at the calendar's edge with a +14:00
/// offset panicked and lost every finding.
#[test]
fn a_hostile_commit_date_does_not_stop_the_scan() {
    let t = TestDir::new();
    git(t.path(), &["init", "-q", "-b", "main"]);
    let tok = fake("azure_devops.pat_legacy", 16);
    let body = format!("pat {tok}\n");
    let fi = format!(
        "commit refs/heads/main\nauthor Odd <odd@example.invalid> 253402300799 +1400\n\
         committer Odd <odd@example.invalid> 253402300799 +1400\ndata 2\nc\n\
         M 100644 inline f.txt\ndata {}\n{body}\n",
        body.len()
    );
    git_stdin(t.path(), &["fast-import", "--quiet"], Some(fi.as_bytes()));
    let (code, v, stderr) = findings(t.path());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["secret"], tok.as_str());
    assert!(v[0]["locations"][0]["author_date"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

/// Regression test for review item 9: the audit actor came from the scanned repository's own
/// git config, so a repository could name who audited it.
#[test]
fn a_scanned_repository_cannot_forge_the_audit_actor() {
    let t = TestDir::new();
    let (old, new) = (fake("npm.token", 17), fake("github.pat_classic", 18));
    two_commit_repo(&t, &old, &new);
    git(t.path(), &["config", "user.email", "forged@evil.example"]);
    git(t.path(), &["config", "user.name", "Forged"]);
    // HOME is the temp dir (run_patrol sets it): the user's own global config.
    t.write(
        ".gitconfig",
        "[user]\n\temail = auditor@example.com\n\tname = Auditor\n",
    );
    let log = t.path().join("audit.jsonl");
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "--audit-log",
            log.to_str().unwrap(),
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("forged@evil.example"), "{text}");
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["actorUPN"], "auditor@example.com");
}

/// Regression test for review item 8: patrol.toml `exclude` globs applied to the file walk
/// only; excluded paths were still reported from history and blocked `--staged`.
#[test]
fn exclude_globs_apply_to_history_and_staged_too() {
    let t = TestDir::new();
    git(t.path(), &["init", "-q", "-b", "main"]);
    t.write("patrol.toml", "exclude = [\"vendor/**\"]\n");
    let vendored = fake("npm.token", 19);
    let ours = fake("github.pat_classic", 20);
    t.write("vendor/lib.txt", format!("{vendored}\n"));
    t.write("src/app.txt", format!("{ours}\n"));
    git(t.path(), &["add", "-A"]);
    git(t.path(), &["commit", "-q", "-m", "one"]);
    git(t.path(), &["rm", "-q", "vendor/lib.txt", "src/app.txt"]);
    git(t.path(), &["commit", "-q", "-m", "two"]);
    let (code, secrets, stderr) = scan(t.path());
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(secrets, vec![ours], "history of vendor/ must be excluded");
    let staged_vendored = fake("npm.token", 21);
    t.write("vendor/new.txt", format!("{staged_vendored}\n"));
    git(t.path(), &["add", "vendor/new.txt"]);
    let o = run_patrol(t.path(), &["scan", "--staged", "--format", "jsonl"]);
    assert_eq!(
        o.code, 0,
        "an excluded staged file must not block the commit: {}{}",
        o.stdout, o.stderr
    );
}

/// A repository with HEAD holding `a.txt`, a staged `new.txt` holding a FAKE token, and
/// `core.fsmonitor` set to a script that creates `ran-fsmonitor` (which plain `git add`
/// runs, so the attack is live); returns the token and the marker's path.
fn hostile_staged_repo(t: &TestDir) -> (String, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    git(t.path(), &["init", "-q", "-b", "main"]);
    t.write("a.txt", "a\n");
    git(t.path(), &["add", "a.txt"]);
    git(t.path(), &["commit", "-q", "-m", "a"]);
    let marker = t.path().join("ran-fsmonitor");
    let hook = t.write(
        "fsmonitor.sh",
        format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
    );
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    git(
        t.path(),
        &["config", "core.fsmonitor", hook.to_str().unwrap()],
    );
    let token = fake("github.pat_classic", 2601);
    t.write("new.txt", format!("{token}\n"));
    git(t.path(), &["add", "new.txt"]);
    assert!(marker.exists(), "git itself runs the fsmonitor hook");
    std::fs::remove_file(&marker).unwrap();
    (token, marker)
}

/// Issue #26 (2): `scan --staged` lists the index with `git diff-index`, which must not run
/// the repository's `core.fsmonitor`; the staged token is still found.
#[test]
fn a_staged_scan_never_runs_the_repositorys_fsmonitor() {
    let t = TestDir::new();
    let (token, marker) = hostile_staged_repo(&t);
    let (code, secrets, stderr) = {
        let o = run_patrol(
            t.path(),
            &[
                "scan",
                "--staged",
                ".",
                "--format",
                "jsonl",
                "--show-secrets",
            ],
        );
        let s: Vec<String> = jsonl(&o.stdout)
            .iter()
            .map(|v| v["secret"].as_str().unwrap().to_string())
            .collect();
        (o.code, s, o.stderr)
    };
    assert!(!marker.exists(), "patrol's git ran core.fsmonitor");
    assert_eq!((code, secrets), (1, vec![token]), "{stderr}");
}

/// Issue #26 (5): a git child sees none of patrol's secrets. A `git` earlier on PATH writes
/// the environment it was given and hands over to the real git.
#[test]
fn git_children_get_none_of_patrols_environment() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDir::new();
    let (token, _) = hostile_staged_repo(&t);
    let real = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let real = String::from_utf8(real.stdout).unwrap().trim().to_string();
    let bin = t.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let dump = t.path().join("git-env.txt");
    let fake_git = bin.join("git");
    std::fs::write(
        &fake_git,
        format!(
            "#!/bin/sh\nenv >> '{}'\nexec '{real}' \"$@\"\n",
            dump.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake_git, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let secrets = [
        ("GITHUB_TOKEN", "ghp_secret_in_patrols_environment_1"),
        (
            "AZURE_DEVOPS_EXT_PAT",
            "ado_secret_in_patrols_environment_2",
        ),
        ("PGPASSWORD", "pg_secret_in_patrols_environment_3"),
        (
            "PATROL_SMTP_PASSWORD",
            "smtp_secret_in_patrols_environment_4",
        ),
    ];
    let mut env: Vec<(&str, &str)> = secrets.to_vec();
    env.push(("PATH", &path));
    let o = run_patrol_env(
        t.path(),
        &[
            "scan",
            "--staged",
            ".",
            "--format",
            "jsonl",
            "--show-secrets",
        ],
        None,
        &env,
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stdout.contains(&token));
    let seen = std::fs::read_to_string(&dump).expect("patrol ran git from PATH");
    for (name, value) in secrets {
        assert!(
            !seen.contains(name) && !seen.contains(value),
            "{name} reached git:\n{seen}"
        );
    }
}
