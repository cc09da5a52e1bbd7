//! A newcomer's first minutes (#25): patrol's own repository scans clean, a wrong path is one
//! error line, a mistyped flag is never steered toward a flag that acts, the human report says
//! what to do next, a location in both the working tree and history prints once, an error
//! met in history names a path, `rules list` has headers, and `sweep ado` without a credential
//! says which variable to set before anything is sent or created.

use std::net::TcpListener;
use std::path::Path;

use crate::git_repo::GitRepoBuilder;
use crate::util::{fake, run_patrol, run_patrol_env, TestDir};

/// `patrol scan .` in this repository, as the README's first command runs it: its own
/// patrol.toml excludes the fuzz corpora and accepts each published example by fingerprint,
/// so the scan exits 0 with no error line. A new finding or an unreadable input here fails.
///
/// Regression test for #25.
#[test]
fn the_repository_itself_scans_clean_with_no_error_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = run_patrol(root, &["scan", ".", "--no-progress"]);
    let problems: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.contains("error") || l.contains("INCOMPLETE"))
        .collect();
    assert!(
        problems.is_empty(),
        "error lines scanning the repository:\n{}",
        problems.join("\n")
    );
    assert_eq!(
        o.code, 0,
        "unaccepted findings in the repository (add a fake to patrol.toml only if it is a \
         published example):\n{}{}",
        o.stdout, o.stderr
    );
    assert!(o.stdout.contains("0 findings"), "{}", o.stdout);
}

/// Regression test for #25: the path was named twice (once doubled) and counted as 2 inputs.
#[test]
fn a_missing_path_is_named_once_and_counted_once() {
    let t = TestDir::new();
    let o = run_patrol(t.path(), &["scan", "no/such/dir", "--no-progress"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let named: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.contains("no/such/dir"))
        .collect();
    assert_eq!(named.len(), 1, "{}", o.stderr);
    assert!(
        !named[0].contains("no/such/dir: no/such/dir"),
        "{}",
        named[0]
    );
    assert!(o.stdout.contains("INCOMPLETE: 1 input(s)"), "{}", o.stdout);
}

/// Regression test for #25: `scan --verbose` answered "a similar argument exists: '--revoke'".
#[test]
fn a_mistyped_flag_is_never_steered_toward_a_flag_that_acts() {
    let t = TestDir::new();
    let o = run_patrol(t.path(), &["scan", "--verbose"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("unexpected argument '--verbose'"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains("--revoke"), "{}", o.stderr);
    assert!(o.stderr.contains("Usage: patrol scan"), "{}", o.stderr);
    // A harmless suggestion is still made.
    let o = run_patrol(t.path(), &["scan", "--show-secret"]);
    assert!(o.stderr.contains("--show-secrets"), "{}", o.stderr);
}

/// After findings the human report ends with what to do next; with none it does not.
#[test]
fn the_human_report_ends_with_what_to_do_next_after_findings() {
    let t = TestDir::new();
    t.write(
        "app.env",
        format!("GITHUB_TOKEN={}\n", fake("github.pat_classic", 3)),
    );
    let o = run_patrol(t.path(), &["scan", ".", "--no-progress"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let tail: Vec<&str> = o.stdout.lines().rev().take(2).collect();
    assert!(tail[1].starts_with("next: `--verify`"), "{}", o.stdout);
    assert!(tail[0].contains("[[allow]]"), "{}", o.stdout);
    assert!(!o.stdout.contains(&fake("github.pat_classic", 3)));

    let clean = TestDir::new();
    clean.write("a.txt", "nothing\n");
    let o = run_patrol(clean.path(), &["scan", ".", "--no-progress"]);
    assert_eq!(o.code, 0);
    assert!(!o.stdout.contains("next:"), "{}", o.stdout);
}

/// Regression test for #25: a secret committed and still in the working tree printed the
/// same `path:line:col` twice. The JSON report keeps both locations.
#[test]
fn a_working_tree_location_also_in_history_prints_once() {
    let r = GitRepoBuilder::new();
    let token = fake("github.pat_classic", 5);
    r.stage("deploy.sh", format!("export GITHUB_TOKEN={token}\n"));
    r.commit("add deploy script");
    let o = run_patrol(r.path(), &["scan", ".", "--no-progress"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let lines: Vec<&str> = o
        .stdout
        .lines()
        .filter(|l| l.contains("deploy.sh:1:"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", o.stdout);
    assert!(lines[0].contains("commit "), "{}", lines[0]);
    assert!(
        lines[0].contains("also in the working tree"),
        "{}",
        lines[0]
    );

    let o = run_patrol(
        r.path(),
        &["scan", ".", "--no-progress", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        v[0]["locations"].as_array().unwrap().len(),
        2,
        "{}",
        o.stdout
    );
}

/// Regression test for #25: an error met in history named only the blob id.
#[test]
fn an_unreadable_archive_in_history_is_named_with_its_path() {
    let r = GitRepoBuilder::new();
    // A zip's local header and nothing after it: not a readable archive.
    let mut broken = b"PK\x03\x04".to_vec();
    broken.extend_from_slice(&[0u8; 40]);
    r.stage("dist/bundle.zip", &broken);
    r.commit("add a broken bundle");
    r.remove("dist/bundle.zip");
    r.commit("drop it");
    let o = run_patrol(r.path(), &["scan", ".", "--no-progress"]);
    let line = o
        .stderr
        .lines()
        .find(|l| l.contains("git object"))
        .unwrap_or_else(|| panic!("no line names the blob:\n{}", o.stderr));
    assert!(line.contains("(dist/bundle.zip)"), "{line}");
}

#[test]
fn rules_list_has_column_headers() {
    let t = TestDir::new();
    let o = run_patrol(t.path(), &["rules", "list"]);
    assert_eq!(o.code, 0);
    let first = o.stdout.lines().next().unwrap_or_default();
    let cols: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(cols, ["RULE", "CHECKSUM", "NAME"], "{first}");
    assert!(o.stdout.lines().nth(1).unwrap().starts_with("adafruit."));
}

/// Regression test for #25: without a credential `sweep ado` called the API anyway, did not
/// name the variable, and left a `patrol-sweep.db` behind.
#[test]
fn sweep_ado_without_a_credential_names_the_variable_and_sends_and_creates_nothing() {
    let t = TestDir::new();
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    api.set_nonblocking(true).unwrap();
    let base = format!("http://{}", api.local_addr().unwrap());
    let o = run_patrol_env(
        t.path(),
        &["sweep", "ado", "--org", "fabrikam", "--api-base", &base],
        None,
        &[],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("AZURE_DEVOPS_EXT_PAT"), "{}", o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(
        api.accept().is_err(),
        "a request reached the API without a credential"
    );
    let left: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
