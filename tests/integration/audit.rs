//! The audit log end to end: what a scan records (never a whole secret), an unwritable log
//! stopping the run before scanning (and revocation before any write), concurrent appends
//! that never interleave, and one correlation id per run across the scan and acting stages.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::act_env::{setup, two_users, ORG};
use crate::formats::fixed_tree;
use crate::util::{fake, jsonl, run_patrol, run_patrol_env, TestDir};

fn read_audit(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn audit_log_records_the_scan_and_never_holds_a_whole_secret() {
    let t = fixed_tree();
    t.write(
        ".gitconfig",
        "[user]\n\temail = sec@example.com\n\tname = Sec Team\n",
    );
    let log = t.path().join("audit.jsonl");
    let o = run_patrol(
        t.path(),
        &[
            "scan",
            ".",
            "--history",
            "none",
            "--audit-log",
            "audit.jsonl",
            "--show-secrets",
        ],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let text = std::fs::read_to_string(&log).unwrap();
    for (rule, seed) in [
        ("azure_devops.pat_legacy", 1),
        ("github.pat_classic", 3),
        ("npm.token", 2),
    ] {
        assert!(
            !text.contains(&fake(rule, seed)),
            "{rule} whole in the audit log"
        );
    }
    let v = read_audit(&log);
    let actions: Vec<&str> = v.iter().map(|e| e["actionId"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "Patrol.ScanStarted",
            "Patrol.SecretDiscovered",
            "Patrol.SecretDiscovered",
            "Patrol.SecretDiscovered",
            "Patrol.ScanCompleted"
        ]
    );
    let keys = [
        "id",
        "correlationId",
        "activityId",
        "actorUPN",
        "actorDisplayName",
        "timestamp",
        "scopeType",
        "scopeDisplayName",
        "projectName",
        "actionId",
        "area",
        "category",
        "details",
        "data",
    ];
    for e in &v {
        for k in keys {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
        assert_eq!(e["correlationId"], v[0]["correlationId"]);
        assert_eq!(e["actorUPN"], "sec@example.com");
        assert_eq!(e["actorDisplayName"], "Sec Team");
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    let d = &v[1]["data"];
    assert_eq!(d["rule"], "azure_devops.pat_legacy");
    assert_eq!(d["path"], "app/config.py");
    assert_eq!(d["fingerprint"].as_str().unwrap().len(), 32);
    let done = &v[4]["data"];
    assert_eq!(done["findings"], 3);
    assert_eq!(done["complete"], true);
    assert!(done["durationMs"].is_u64());

    // A second run appends; earlier lines stay as they were.
    let o = run_patrol(
        t.path(),
        &["scan", "README.md", "--audit-log", "audit.jsonl"],
    );
    assert_eq!(o.code, 0);
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(after.starts_with(&text));
    let v2 = read_audit(&log);
    assert_eq!(v2.len(), 7);
    assert_ne!(v2[5]["correlationId"], v[0]["correlationId"]);

    // audit show filters by action and time.
    let o = run_patrol(
        t.path(),
        &[
            "audit",
            "show",
            "audit.jsonl",
            "--action",
            "Patrol.ScanCompleted",
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(jsonl(&o.stdout).len(), 2);
    let o = run_patrol(
        t.path(),
        &[
            "audit",
            "show",
            "audit.jsonl",
            "--since",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert_eq!((o.code, o.stdout.as_str()), (0, ""));
    let o = run_patrol(
        t.path(),
        &[
            "audit",
            "show",
            "audit.jsonl",
            "--until",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert_eq!(o.stdout.matches("Patrol.").count(), 7, "{}", o.stdout);
    assert!(o.stdout.contains("sec@example.com"));
    let o = run_patrol(
        t.path(),
        &["audit", "show", "audit.jsonl", "--since", "yesterday"],
    );
    assert_eq!(o.code, 2);
}

#[test]
fn an_unwritable_audit_log_stops_the_run_before_scanning() {
    let t = fixed_tree();
    std::fs::create_dir(t.path().join("dir")).unwrap();
    for target in ["dir", "missing/audit.jsonl"] {
        let o = run_patrol(
            t.path(),
            &[
                "scan",
                ".",
                "--history",
                "none",
                "--audit-log",
                target,
                "-o",
                "report.txt",
            ],
        );
        assert_eq!(o.code, 2, "{target}: {}", o.stderr);
        assert!(o.stderr.contains(target), "{}", o.stderr);
        assert!(
            !o.stderr.contains("finding"),
            "scanned anyway: {}",
            o.stderr
        );
        assert!(
            !t.path().join("report.txt").exists(),
            "report written anyway"
        );
    }
}

#[test]
fn concurrent_runs_appending_to_one_audit_log_do_not_interleave() {
    let t = TestDir::new();
    for i in 0..30 {
        t.write(
            &format!("f{i}.env"),
            format!("T={}\n", fake("npm.token", i)),
        );
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_patrol"));
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&bin)
                .args([
                    "scan",
                    ".",
                    "--history",
                    "none",
                    "--audit-log",
                    "audit.jsonl",
                    "--format",
                    "jsonl",
                ])
                .current_dir(t.path())
                .env_clear()
                .env("HOME", t.path())
                .env("USER", "ci")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert_eq!(c.wait().unwrap().code(), Some(1));
    }
    let v = read_audit(&t.path().join("audit.jsonl"));
    assert_eq!(v.len(), 4 * (30 + 2));
    assert!(v.iter().all(|e| e["actorUPN"] == "ci"));
    let runs: std::collections::BTreeSet<&str> = v
        .iter()
        .map(|e| e["correlationId"].as_str().unwrap())
        .collect();
    assert_eq!(runs.len(), 4);
    let o = run_patrol_env(t.path(), &["audit", "show", "audit.jsonl"], None, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

/// Regression test for review item 4: one scan run, one correlationId, whether the entries
/// come from the scan or from the verify/revoke stage; the scan's entries come first.
#[test]
fn scan_verify_writes_one_correlation_id_per_run() {
    let e = setup();
    let gh = fake("github.pat_classic", 41);
    e.api
        .state
        .lock()
        .unwrap()
        .live_github
        .insert(gh.clone(), "octocat".into());
    e.dir.write("ci.yml", format!("gh: {gh}\n"));
    let gh_api = format!("{}/gh", e.api.base);
    let audit = e.audit.to_str().unwrap().to_string();
    let out = e.run(&[
        "scan",
        "ci.yml",
        "--format",
        "json",
        "--verify",
        "--revoke",
        "--github-api",
        &gh_api,
        "--audit-log",
        &audit,
    ]);
    e.assert_no_secret(&out, &[&gh]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let entries = e.audit();
    let ids: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|a| a["correlationId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{entries:#?}");
    let pos = |action: &str| {
        entries
            .iter()
            .position(|a| a["actionId"] == action)
            .unwrap_or_else(|| panic!("no {action}"))
    };
    assert!(pos("Patrol.SecretDiscovered") < pos("Patrol.SecretVerified"));
    assert!(pos("Patrol.SecretVerified") < pos("Token.PatRevokeDryRun"));
}

/// Regression test for review item 7: an audit log that cannot be written makes `ado pats`
/// exit 2, and stops `ado revoke --yes` before any write request.
#[test]
fn an_unwritable_audit_log_is_exit_2_and_stops_revocation_before_any_write() {
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let e = setup();
    two_users(&e.api);
    let base = |sub: &'static str| {
        vec![
            "ado".to_string(),
            sub.to_string(),
            "--org".into(),
            ORG.into(),
            "--api-base".into(),
            e.api.base.clone(),
            "--audit-log".into(),
            "/dev/full".into(),
            "--user".into(),
            "bob@fabrikam.com".into(),
        ]
    };
    let args = base("pats");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = e.run(&args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("/dev/full"), "{}", out.stderr);

    let mut args = base("revoke");
    args.push("--yes".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = e.run(&args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(e.api.writes().is_empty(), "nothing sent without a trail");
    assert!(out.stderr.contains("nothing revoked"), "{}", out.stderr);
}
