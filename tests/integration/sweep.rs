//! `patrol sweep` and `patrol report` against a loopback organisation (`sweep_server`): the
//! three listings with paging, smart HTTP with Basic auth, incrementality (no pack for an
//! unchanged repository, a fork's shared blobs read once, a push found alone), isolation of a
//! failing repository, SIGKILL then resume, and the credential nowhere it must not be.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::sweep_server::{Org, Repo};
use crate::util::{fake, run_patrol_env, Output, TestDir};

const TOKEN: &str = "loopback-sweep-credential-7f3a9c";

fn sweep(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["sweep"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--no-progress", "--threads", "2"]);
    run_patrol_env(dir, &all, None, env)
}

fn ado(org: &Org, dir: &Path, extra: &[&str]) -> Output {
    let base = format!("{}/acme", org.base);
    let mut args = vec!["ado", "--org", "acme", "--api-base", &base];
    args.extend_from_slice(extra);
    sweep(dir, &args, &[("AZURE_DEVOPS_EXT_PAT", TOKEN)])
}

fn status(dir: &Path) -> Value {
    let out = run_patrol_env(dir, &["sweep", "status", "--format", "json"], None, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(out.stdout.trim()).expect("status JSON")
}

fn report(dir: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["report", "--format", "json"];
    args.extend_from_slice(extra);
    let out = run_patrol_env(dir, &args, None, &[]);
    let v: Vec<Value> =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stderr));
    (out.code, v)
}

/// (repository, path) of every location of every finding.
fn places(findings: &[Value]) -> BTreeSet<(String, String, u64)> {
    let mut out = BTreeSet::new();
    for f in findings {
        for l in f["locations"].as_array().unwrap() {
            let repo = l["repository"]
                .as_str()
                .expect("a sweep location names its repository");
            let path = l["path"].as_str().unwrap();
            out.insert((
                repo.to_string(),
                path.to_string(),
                l["line"].as_u64().unwrap(),
            ));
        }
    }
    out
}

/// Every file under `dir`, recursively, with its bytes.
fn all_files(dir: &Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p, b));
        }
    }
}

fn assert_no_credential(dir: &Path, outputs: &[&Output]) {
    let mut files = Vec::new();
    all_files(dir, &mut files);
    assert!(files.iter().any(|(p, _)| p.ends_with("patrol-sweep.db")));
    assert!(
        files.iter().any(|(p, _)| p.ends_with("config")),
        "mirrors exist"
    );
    let b64 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!(":{TOKEN}"),
    );
    for (p, b) in &files {
        for needle in [TOKEN.as_bytes(), b64.as_bytes()] {
            assert!(
                !b.windows(needle.len()).any(|w| w == needle),
                "credential in {}",
                p.display()
            );
        }
    }
    for o in outputs {
        assert!(!o.stdout.contains(TOKEN) && !o.stderr.contains(TOKEN));
        assert!(!o.stdout.contains(&b64) && !o.stderr.contains(&b64));
    }
}

/// The whole Azure DevOps flow, then an unchanged re-sweep, then a push found alone.
#[test]
fn ado_sweep_is_incremental_reads_shared_blobs_once_and_keeps_no_credential() {
    let org = Org::start(TOKEN);
    let shared = fake("github.pat_classic", 1);
    let forked = fake("github.pat_classic", 2);
    org.add(
        Repo::new("alpha", "app"),
        &[
            ("src/config.txt", &format!("token = {shared}\n")),
            ("README", "app\n"),
        ],
    );
    org.add(Repo::new("alpha", "lib"), &[("lib.txt", "nothing here\n")]);
    let mut fork = Repo::new("beta", "app-fork");
    fork.fork_of = Some("app".into());
    org.add(fork, &[("fork.txt", &format!("k = {forked}\n"))]);
    let mut disabled = Repo::new("beta", "old");
    disabled.disabled = true;
    org.add(disabled, &[("a.txt", "x\n")]);
    let mut empty = Repo::new("beta", "empty");
    empty.empty = true;
    org.add(empty, &[]);

    let d = TestDir::new();
    let first = ado(&org, d.path(), &["--include-forks"]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first.stderr.contains("skipped ado:acme/beta/old: disabled"),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("skipped ado:acme/beta/empty: empty"),
        "{}",
        first.stderr
    );
    let s = status(d.path());
    assert_eq!(s["complete"], true);
    assert_eq!(s["repositories"]["listed"], 5);
    assert_eq!(s["repositories"]["scanned"], 3);
    assert_eq!(s["repositories"]["skipped"], 2);
    assert_eq!(s["repositories"]["failed"], 0);
    // The fork's history shared with its parent is read once in the organisation.
    let blobs = org.distinct_blobs(&["app", "lib", "app-fork"]);
    assert_eq!(s["blobs_scanned"].as_u64().unwrap(), blobs.len() as u64);
    assert_eq!(s["findings"], 2);
    let (code, findings) = report(d.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 2, "one finding per secret");
    let shared_f = findings
        .iter()
        .find(|f| f["locations"].as_array().unwrap().len() == 2)
        .expect("the shared secret is at two locations");
    let repos: BTreeSet<String> = places(std::slice::from_ref(shared_f))
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        repos,
        BTreeSet::from([
            "ado:acme/alpha/app".to_string(),
            "ado:acme/beta/app-fork".to_string()
        ])
    );
    assert!(org
        .log()
        .iter()
        .filter(|h| h.url.contains("/git/"))
        .all(|h| h.authorized));

    // Nothing changed: no pack fetched, no blob read.
    org.clear_log();
    let again = ado(&org, d.path(), &["--include-forks"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    let s = status(d.path());
    assert_eq!(s["repositories"]["unchanged"], 3);
    assert_eq!(s["repositories"]["scanned"], 0);
    assert_eq!(s["blobs_scanned"], 0);
    assert!(org.log().iter().all(|h| !h.pack), "{:?}", org.log());

    // One push: only that repository is fetched, only its new blob is read, one new finding.
    let pushed = fake("github.pat_classic", 3);
    org.push("lib", &[("new.txt", &format!("t = {pushed}\n"))], "oops");
    org.clear_log();
    let third = ado(&org, d.path(), &["--include-forks"]);
    assert_eq!(third.code, 1, "{}", third.stderr);
    let s = status(d.path());
    assert_eq!(s["repositories"]["scanned"], 1);
    assert_eq!(s["repositories"]["unchanged"], 2);
    assert_eq!(s["blobs_scanned"], 1);
    assert_eq!(s["new_findings"], 1);
    assert!(org.git_hits("app").iter().all(|h| !h.pack));
    assert!(org.git_hits("lib").iter().any(|h| h.pack));
    let (_, new) = report(d.path(), &["--new"]);
    assert_eq!(new.len(), 1);
    assert_eq!(
        places(&new),
        BTreeSet::from([("ado:acme/alpha/lib".to_string(), "new.txt".to_string(), 1)])
    );
    let (_, all) = report(d.path(), &[]);
    assert_eq!(all.len(), 3);

    // --full reads everything again, each blob once, and records nothing twice.
    let full = ado(&org, d.path(), &["--include-forks", "--full"]);
    assert_eq!(full.code, 1, "{}", full.stderr);
    let s = status(d.path());
    assert_eq!(s["repositories"]["scanned"], 3);
    let blobs = org.distinct_blobs(&["app", "lib", "app-fork"]);
    assert_eq!(s["blobs_scanned"].as_u64().unwrap(), blobs.len() as u64);
    let (_, again_all) = report(d.path(), &[]);
    assert_eq!(places(&again_all), places(&all));

    assert_no_credential(d.path(), &[&first, &again, &third, &full]);
}

#[test]
fn github_and_gitlab_listings_page_and_skip_forks_and_archived_by_default() {
    let org = Org::start(TOKEN);
    let s1 = fake("github.pat_classic", 11);
    org.add(Repo::new("p", "one"), &[("a.txt", &format!("{s1}\n"))]);
    org.add(Repo::new("p", "two"), &[("b.txt", "clean\n")]);
    let mut f = Repo::new("p", "three");
    f.fork_of = Some("one".into());
    org.add(f, &[("c.txt", "more\n")]);
    let mut a = Repo::new("p", "four");
    a.archived = true;
    org.add(a, &[("d.txt", "old\n")]);

    let d = TestDir::new();
    let gh = sweep(
        d.path(),
        &["github", "--org", "acme", "--api-url", &org.base],
        &[("GITHUB_TOKEN", TOKEN)],
    );
    assert_eq!(gh.code, 1, "{}", gh.stderr);
    let s = status(d.path());
    assert_eq!(s["repositories"]["listed"], 4, "all four pages read");
    assert_eq!(s["repositories"]["scanned"], 2);
    assert_eq!(s["repositories"]["skipped"], 2);
    assert!(
        gh.stderr.contains("github:acme/three: fork"),
        "{}",
        gh.stderr
    );
    assert!(
        gh.stderr.contains("github:acme/four: archived"),
        "{}",
        gh.stderr
    );

    let d2 = TestDir::new();
    let gl = sweep(
        d2.path(),
        &[
            "gitlab",
            "--group",
            "grp",
            "--url",
            &org.base,
            "--include-archived",
        ],
        &[("GITLAB_TOKEN", TOKEN)],
    );
    assert_eq!(gl.code, 1, "{}", gl.stderr);
    let s = status(d2.path());
    assert_eq!(s["repositories"]["listed"], 4);
    assert_eq!(s["repositories"]["scanned"], 3);
    let (_, findings) = report(d2.path(), &[]);
    assert_eq!(
        places(&findings),
        BTreeSet::from([("gitlab:grp/p/one".to_string(), "a.txt".to_string(), 1)])
    );
    assert_no_credential(d2.path(), &[&gl, &gh]);
}

#[test]
fn a_failing_repository_is_named_recorded_and_does_not_stop_the_sweep() {
    let org = Org::start(TOKEN);
    let other = Org::start("another-servers-credential");
    let s1 = fake("github.pat_classic", 21);
    org.add(Repo::new("p", "good"), &[("a.txt", &format!("{s1}\n"))]);
    let mut gone = Repo::new("p", "gone");
    gone.missing = true;
    org.add(gone, &[]);
    // A clone URL on another host: no credential goes there (so it is refused, 401).
    let mut elsewhere = Repo::new("p", "elsewhere");
    elsewhere.other_host = Some(other.base.clone());
    org.add(elsewhere, &[]);

    let d = TestDir::new();
    let out = ado(&org, d.path(), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("failed: ado:acme/p/gone"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("ado:acme/p/elsewhere: clone URL is not on the listing API's host"),
        "{}",
        out.stderr
    );
    assert!(other
        .log()
        .iter()
        .all(|h| !h.authorized && !format!("{h:?}").contains(TOKEN)));
    let s = status(d.path());
    assert_eq!(
        s["complete"], true,
        "a failed repository does not keep the sweep open"
    );
    assert_eq!(s["repositories"]["scanned"], 1);
    assert_eq!(s["repositories"]["failed"], 2);
    let human = run_patrol_env(d.path(), &["sweep", "status"], None, &[]);
    assert!(
        human.stdout.contains("failed ado:acme/p/gone: "),
        "{}",
        human.stdout
    );
    let (code, f) = report(d.path(), &[]);
    assert_eq!(
        (code, f.len()),
        (1, 1),
        "report exits 1 with findings, failures aside"
    );

    // The next run starts a new sweep that retries the failed ones and finds the rest unchanged.
    let again = ado(&org, d.path(), &[]);
    assert_eq!(again.code, 2);
    let s2 = status(d.path());
    assert_eq!(
        s2["sweep"].as_i64().unwrap(),
        s["sweep"].as_i64().unwrap() + 1
    );
    assert_eq!(s2["repositories"]["unchanged"], 1);
    assert_eq!(s2["repositories"]["failed"], 2);
}

#[test]
fn sigkill_in_the_middle_then_the_same_command_loses_doubles_and_refetches_nothing() {
    let org = Org::start(TOKEN);
    let n = 8;
    for i in 0..n {
        let s = fake("github.pat_classic", 100 + i);
        org.add(
            Repo::new("p", &format!("r{i}")),
            &[("k.txt", &format!("{s}\n")), ("same.txt", "shared\n")],
        );
    }
    org.set_delay(Duration::from_millis(150));
    let d = TestDir::new();
    let base = format!("{}/acme", org.base);
    let mut child = Command::new(env!("CARGO_BIN_EXE_patrol"))
        .args([
            "sweep",
            "ado",
            "--org",
            "acme",
            "--api-base",
            &base,
            "--jobs",
            "1",
            "--no-progress",
        ])
        .current_dir(d.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", d.path())
        .env("AZURE_DEVOPS_EXT_PAT", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let out = run_patrol_env(
            d.path(),
            &["sweep", "status", "--format", "json"],
            None,
            &[],
        );
        if out.code == 0 {
            let s: Value = serde_json::from_str(out.stdout.trim()).unwrap();
            if s["repositories"]["scanned"].as_u64().unwrap() >= 2 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "sweep made no progress"
        );
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let s = status(d.path());
    assert_eq!(s["complete"], false);
    let done_before = s["repositories"]["scanned"].as_u64().unwrap();
    assert!(done_before < n, "killed in the middle");
    let plan = run_patrol_env(d.path(), &["sweep", "status"], None, &[]);
    let finished: Vec<String> = (0..n)
        .map(|i| format!("r{i}"))
        .filter(|r| !plan.stdout.contains(&format!("pending ado:acme/p/{r}:")))
        .collect();
    assert_eq!(finished.len() as u64, done_before, "{}", plan.stdout);

    org.set_delay(Duration::ZERO);
    org.clear_log();
    let rerun = ado(&org, d.path(), &["--jobs", "1"]);
    assert_eq!(rerun.code, 1, "{}", rerun.stderr);
    assert!(
        rerun.stderr.contains("continuing unfinished sweep"),
        "{}",
        rerun.stderr
    );
    let s2 = status(d.path());
    assert_eq!(s2["sweep"], s["sweep"], "the same sweep continued");
    assert_eq!(s2["complete"], true);
    assert_eq!(s2["repositories"]["scanned"].as_u64().unwrap(), n);
    for r in &finished {
        assert!(
            org.git_hits(r).is_empty(),
            "{r} was finished before the kill and fetched again"
        );
    }
    let (_, findings) = report(d.path(), &[]);
    assert_eq!(findings.len() as u64, n, "every secret once");
    let got = places(&findings);
    assert_eq!(got.len() as u64, n, "no location twice: {got:?}");
    let total: usize = findings
        .iter()
        .map(|f| f["locations"].as_array().unwrap().len())
        .sum();
    assert_eq!(total as u64, n);
    // Same blob `same.txt` everywhere: read once across the two runs.
    assert_eq!(
        s2["blobs_scanned"].as_u64().unwrap(),
        org.distinct_blobs(
            &(0..n)
                .map(|i| format!("r{i}"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        )
        .len() as u64
    );
}

#[test]
fn swept_repositories_cannot_hide_their_leaks_unless_asked() {
    let org = Org::start(TOKEN);
    let s1 = fake("github.pat_classic", 31);
    org.add(
        Repo::new("p", "sly"),
        &[("a.txt", &format!("{s1} # patrol:allow\n"))],
    );
    let d = TestDir::new();
    let out = ado(&org, d.path(), &[]);
    assert_eq!(
        out.code, 1,
        "the inline marker is ignored by default: {}",
        out.stderr
    );
    let d2 = TestDir::new();
    let out = ado(&org, d2.path(), &["--honour-repo-config"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_corrupt_or_newer_datastore_is_refused_and_left_as_it_was() {
    let d = TestDir::new();
    let list = d.write("list.txt", "# nothing\n");
    let db = d.write(
        "patrol-sweep.db",
        "this is not a database, but it is somebody's file\n",
    );
    let before = std::fs::read(&db).unwrap();
    let out = sweep(d.path(), &["urls", list.to_str().unwrap()], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("not a readable patrol datastore"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn verify_acts_once_per_secret_and_the_outcome_is_kept() {
    let org = Org::start(TOKEN);
    let s1 = fake("github.pat_classic", 41);
    org.add(
        Repo::new("p", "one"),
        &[
            ("a.txt", &format!("{s1}\n")),
            ("b.txt", &format!("again {s1}\n")),
        ],
    );
    let d = TestDir::new();
    let out = sweep(
        d.path(),
        &[
            "github",
            "--org",
            "acme",
            "--api-url",
            &org.base,
            "--verify",
        ],
        &[("GITHUB_TOKEN", TOKEN)],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let checks = org.log().iter().filter(|h| h.url == "/user").count();
    assert_eq!(checks, 1, "one verification per secret, not per location");
    let (_, f) = report(d.path(), &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["verification"]["status"], "revoked_or_invalid");
    assert_eq!(f[0]["locations"].as_array().unwrap().len(), 2);
}

#[test]
fn a_listing_page_that_is_not_json_and_oversized_repositories_are_explained() {
    let org = Org::start(TOKEN);
    org.add(Repo::new("p", "big"), &[("a.txt", "x\n")]);
    let d = TestDir::new();
    let out = sweep(
        d.path(),
        &["github", "--org", "broken", "--api-url", &org.base],
        &[("GITHUB_TOKEN", TOKEN)],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not JSON"), "{}", out.stderr);
    let out = ado(&org, d.path(), &["--max-repo-size", "10"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("skipped ado:acme/p/big: 1000 bytes, over --max-repo-size 10"),
        "{}",
        out.stderr
    );
    assert!(org.git_hits("big").is_empty());
}

#[test]
fn urls_of_local_paths_and_a_half_written_mirror_are_recovered() {
    let org = Org::start(TOKEN);
    let s1 = fake("github.pat_classic", 51);
    org.add(Repo::new("p", "local"), &[("a.txt", &format!("{s1}\n"))]);
    let d = TestDir::new();
    let list = d.write(
        "repos.txt",
        format!("# our repositories\n{}\n\n", org.bare("local").display()),
    );
    let out = sweep(d.path(), &["urls", list.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Break the mirror as an interrupted clone would leave it, and push something new.
    let cache = d.path().join("patrol-sweep-cache");
    let mirror = std::fs::read_dir(&cache)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(mirror.join("patrol-mirror-complete")).unwrap();
    std::fs::write(mirror.join("packed-refs"), "garbage\n").unwrap();
    let s2 = fake("github.pat_classic", 52);
    org.push("local", &[("b.txt", &format!("{s2}\n"))], "more");
    let out = sweep(d.path(), &["urls", list.to_str().unwrap()], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let s = status(d.path());
    assert_eq!(s["repositories"]["scanned"], 1);
    assert_eq!(s["new_findings"], 1);
    assert_eq!(s["blobs_scanned"], 1, "only the pushed blob is read again");
}

#[test]
fn a_git_past_its_deadline_is_killed_and_its_repository_fails() {
    let org = Org::start(TOKEN);
    org.add(Repo::new("p", "slow"), &[("a.txt", "x\n")]);
    org.set_delay(Duration::from_secs(4));
    let d = TestDir::new();
    let base = format!("{}/acme", org.base);
    let started = Instant::now();
    let out = sweep(
        d.path(),
        &["ado", "--org", "acme", "--api-base", &base],
        &[
            ("AZURE_DEVOPS_EXT_PAT", TOKEN),
            ("PATROL_GIT_TIMEOUT_SECS", "1"),
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("failed: ado:acme/p/slow") && out.stderr.contains("timed out"),
        "{}",
        out.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the sweep did not wait for git"
    );
}

#[test]
fn whole_secrets_are_stored_only_when_asked_and_report_writes_every_format() {
    let org = Org::start(TOKEN);
    let s1 = fake("github.pat_classic", 61);
    let s2 = fake("github.pat_classic", 62);
    org.add(Repo::new("p", "one"), &[("a.txt", &format!("{s1}\n"))]);
    org.add(Repo::new("q", "two"), &[("b.txt", &format!("{s2}\n"))]);

    let plain = TestDir::new();
    assert_eq!(ado(&org, plain.path(), &[]).code, 1);
    let db = std::fs::read(plain.path().join("patrol-sweep.db")).unwrap();
    assert!(
        !db.windows(s1.len()).any(|w| w == s1.as_bytes()),
        "a whole secret at rest"
    );
    let refused = run_patrol_env(plain.path(), &["report", "--show-secrets"], None, &[]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("--store-secrets"),
        "{}",
        refused.stderr
    );
    for format in ["human", "json", "jsonl", "sarif", "csv"] {
        let out = run_patrol_env(plain.path(), &["report", "--format", format], None, &[]);
        assert_eq!(out.code, 1, "{format}: {}", out.stderr);
        assert!(
            !out.stdout.contains(&s1) && !out.stdout.contains(&s2),
            "{format}"
        );
        assert!(out.stdout.contains(&s1[..4]), "{format}: {}", out.stdout);
    }
    let (_, only) = report(plain.path(), &["--repo", "ado:acme/q/*"]);
    assert_eq!(
        places(&only),
        BTreeSet::from([("ado:acme/q/two".to_string(), "b.txt".to_string(), 1)])
    );

    let kept = TestDir::new();
    assert_eq!(ado(&org, kept.path(), &["--store-secrets"]).code, 1);
    let out = run_patrol_env(
        kept.path(),
        &["report", "--show-secrets", "--format", "jsonl"],
        None,
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains(&s1) && out.stdout.contains(&s2));
}

#[test]
fn ctrl_c_kills_the_git_in_hand_and_leaves_the_rest_pending() {
    let org = Org::start(TOKEN);
    for i in 0..3 {
        org.add(Repo::new("p", &format!("c{i}")), &[("a.txt", "x\n")]);
    }
    org.set_delay(Duration::from_secs(20));
    let d = TestDir::new();
    let base = format!("{}/acme", org.base);
    let mut child = Command::new(env!("CARGO_BIN_EXE_patrol"))
        .args([
            "sweep",
            "ado",
            "--org",
            "acme",
            "--api-base",
            &base,
            "--no-progress",
        ])
        .current_dir(d.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", d.path())
        .env("AZURE_DEVOPS_EXT_PAT", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Instant::now();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let exit = child.wait().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "waited for git to finish"
    );
    assert_eq!(exit.code(), Some(2));
    let s = status(d.path());
    assert_eq!(s["complete"], false);
    assert_eq!(s["repositories"]["pending"], 3);
}
