//! `patrol act --from REPORT` against the loopback Azure DevOps server: a dry run sends only
//! reads and names the authorization it would revoke, `--yes` revokes exactly the leaked one
//! after auditing the plan, a redacted report is refused with nothing sent, and the stage is
//! the one `scan --verify` runs.

use serde_json::Value;

use crate::act_env::{
    act_from, c3id_one, leaked_setup, planned_before_first_write, scan_revoke, write_report, ORG,
};

#[test]
fn act_from_a_report_dry_run_sends_only_reads_and_names_the_authorization_it_would_revoke() {
    let (e, leaked) = leaked_setup(31, c3id_one);
    let report = write_report(&e, "report.json", true);
    let out = act_from(&e, &report, &leaked, &["--revoke"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!e.api.log().is_empty(), "the token was verified");
    assert!(
        e.api.log().iter().all(|r| r.method == "GET"),
        "a dry run sends only reads: {:?}",
        e.api.writes()
    );
    assert!(
        out.stderr
            .contains("c0000000-0000-0000-0000-000000000002: would revoke (dry run)"),
        "{}",
        out.stderr
    );
    let findings: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(findings[0]["verification"]["status"], "live");
    assert_eq!(findings[0]["redacted"], true, "the acted-on report redacts");
    let audit = e.audit();
    let dry: Vec<&Value> = audit
        .iter()
        .filter(|a| a["actionId"] == "Token.PatRevokeDryRun")
        .collect();
    assert_eq!(dry.len(), 1);
    assert_eq!(
        dry[0]["data"]["authorizationId"],
        "c0000000-0000-0000-0000-000000000002"
    );
    assert!(
        !audit
            .iter()
            .any(|a| a["actionId"] == "Token.PatRevokePlanned"),
        "a dry run plans no write"
    );
}

#[test]
fn act_from_a_report_with_yes_revokes_exactly_the_leaked_authorization_after_auditing_the_plan() {
    let (e, leaked) = leaked_setup(32, c3id_one);
    let report = write_report(&e, "report.jsonl", true);
    // The same findings as JSONL.
    let findings: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let lines: Vec<String> = findings.iter().map(Value::to_string).collect();
    std::fs::write(&report, lines.join("\n") + "\n").unwrap();

    let out = act_from(&e, &report, &leaked, &["--revoke", "--yes"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        e.api.revoked_ids(),
        ["c0000000-0000-0000-0000-000000000002"]
    );
    let audit = e.audit();
    let plan = planned_before_first_write(&audit, "azure_devops");
    assert_eq!(
        plan["data"]["authorizationIds"],
        serde_json::json!(["c0000000-0000-0000-0000-000000000002"])
    );
    let ev = audit
        .iter()
        .find(|a| a["actionId"] == "Token.PatRevokeEvent")
        .unwrap();
    assert_eq!(ev["data"]["outcome"], "revoked");
    assert_eq!(ev["data"]["fingerprint"], findings[0]["fingerprint"]);
}

#[test]
fn act_from_a_redacted_report_is_refused_before_any_request() {
    let (e, leaked) = leaked_setup(33, c3id_one);
    let report = write_report(&e, "redacted.json", false);
    let out = act_from(&e, &report, &leaked, &["--revoke", "--yes"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("redacted") && out.stderr.contains("--show-secrets"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    assert!(e.api.log().is_empty(), "nothing sent: {:?}", e.api.log());
    assert!(e.audit().is_empty());
}

#[test]
fn act_from_acts_exactly_as_scan_verify_does() {
    let (e, leaked) = leaked_setup(34, c3id_one);
    let report = write_report(&e, "report.json", true);
    let via_act = act_from(&e, &report, &leaked, &["--verify"]);
    let via_scan = scan_revoke(&e, &leaked, false);
    assert_eq!(via_act.code, 1, "{}", via_act.stderr);
    let strip = |s: &str| -> Vec<Value> {
        let mut v: Vec<Value> = serde_json::from_str(s).unwrap();
        for f in &mut v {
            f["verification"]["checked_at"] = Value::Null;
        }
        v
    };
    assert_eq!(strip(&via_act.stdout), strip(&via_scan.stdout));
}

#[test]
fn act_from_with_an_unwritable_audit_log_revokes_nothing() {
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let (e, leaked) = leaked_setup(35, c3id_one);
    let report = write_report(&e, "report.json", true);
    let out = e.run(&[
        "act",
        "--from",
        &report,
        "--revoke",
        "--yes",
        "--ado-org",
        ORG,
        "--api-base",
        &e.api.base,
        "--audit-log",
        "/dev/full",
    ]);
    e.assert_no_secret(&out, &[&leaked]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(e.api.writes().is_empty(), "nothing sent without a trail");
    assert!(out.stderr.contains("nothing revoked"), "{}", out.stderr);
}
