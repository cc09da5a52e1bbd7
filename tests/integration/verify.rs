//! `--verify` against the loopback server: revoked tokens reported without touching the admin
//! API, timeouts as errors (exit 2), findings `--revoke` cannot act on named, and an
//! interrupted scan acts on nothing.

use crate::act_env::setup;
use crate::mock_api::fault;
use crate::util::{fake, jsonl};

#[test]
fn verify_reports_revoked_tokens_and_touches_no_admin_api() {
    let e = setup();
    let dead = fake("azure_devops.pat_legacy", 77);
    e.dir.write("x.txt", format!("token={dead}\n"));
    let audit = e.audit.to_str().unwrap().to_string();
    let out = e.run(&[
        "scan",
        "x.txt",
        "--format",
        "jsonl",
        "--verify",
        "--api-base",
        &e.api.base,
        "--audit-log",
        &audit,
    ]);
    e.assert_no_secret(&out, &[&dead]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let f = &jsonl(&out.stdout)[0];
    assert_eq!(f["verification"]["status"], "revoked_or_invalid");
    assert!(f["verification"]["owner"].is_null());
    assert!(e
        .api
        .log()
        .iter()
        .all(|r| r.path == "/_apis/profile/profiles/me"));
    // The scan's own entries (Patrol.ScanStarted...) share the trail; find the verification.
    let a = e.audit();
    let verified: Vec<_> = a
        .iter()
        .filter(|x| x["actionId"] == "Patrol.SecretVerified")
        .collect();
    assert_eq!(verified.len(), 1, "{a:?}");
    assert_eq!(verified[0]["data"]["outcome"], "revoked_or_invalid");
    assert!(a.iter().any(|x| x["actionId"] == "Patrol.ScanCompleted"));

    let human = e.run(&["scan", "x.txt", "--verify", "--api-base", &e.api.base]);
    assert!(
        human
            .stdout
            .contains("  verified     revoked_or_invalid (profile API: HTTP 401)"),
        "{}",
        human.stdout
    );

    // Without --verify there is no verification field at all.
    let out = e.run(&["scan", "x.txt", "--format", "jsonl"]);
    assert!(jsonl(&out.stdout)[0].get("verification").is_none());
}

#[test]
fn verify_timeouts_are_errors_and_exit_2() {
    let e = setup();
    let tok = fake("azure_devops.pat_legacy", 78);
    e.dir.write("x.txt", format!("token={tok}\n"));
    let mut f = fault("GET", "/_apis/profile/profiles/me", 200, 3);
    f.delay = Some(std::time::Duration::from_millis(800));
    e.api.fault(f);
    let out = e.run_env(
        &[
            "scan",
            "x.txt",
            "--format",
            "jsonl",
            "--verify",
            "--api-base",
            &e.api.base,
        ],
        &[("PATROL_HTTP_TIMEOUT_MS", "200")],
    );
    e.assert_no_secret(&out, &[&tok]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let v = &jsonl(&out.stdout)[0]["verification"];
    assert_eq!(v["status"], "error");
    assert!(v["detail"].as_str().unwrap().contains("timed out"), "{v}");
}

/// Regression test for review item 5: an interrupted scan never verifies or revokes.
#[test]
fn an_interrupted_scan_revokes_nothing() {
    let e = setup();
    let gh = fake("github.pat_classic", 43);
    e.api
        .state
        .lock()
        .unwrap()
        .live_github
        .insert(gh.clone(), "octocat".into());
    let gh_api = format!("{}/gh", e.api.base);
    let out = crate::util::run_patrol_interrupted(
        e.dir.path(),
        &[
            "scan",
            "-",
            "--format",
            "jsonl",
            "--revoke",
            "--yes",
            "--github-api",
            &gh_api,
        ],
        format!("gh={gh}\n").as_bytes(),
    );
    let stderr = &out.stderr;
    assert_eq!(out.code, 2, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("not verifying or revoking"), "{stderr}");
    assert!(e.api.log().is_empty(), "no request after Ctrl-C");
    assert!(e.api.state.lock().unwrap().github_revoked.is_empty());
    assert!(!stderr.contains(&gh));
}

/// Regression test for review item 6: `--revoke` names each finding it cannot revoke and
/// exits 2 instead of skipping it silently.
#[test]
fn revoke_names_findings_it_cannot_revoke_and_exits_2() {
    let e = setup();
    let npm = fake("npm.token", 44);
    e.dir
        .write("cfg/.npmrc", format!("//registry/:_authToken={npm}\n"));
    let out = e.run(&["scan", "cfg", "--history", "none", "--revoke"]);
    e.assert_no_secret(&out, &[&npm]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("not revoked: npm.token npm_"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("no verifier for npm.token"),
        "{}",
        out.stderr
    );
    assert!(e.api.log().is_empty());
}
