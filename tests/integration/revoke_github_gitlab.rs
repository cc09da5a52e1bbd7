//! GitHub and GitLab revocation against the loopback server: verified and revoked by their own
//! APIs, GitHub's batches of at most 1000, provider errors that echo tokens, and the plan
//! audited before the first write.

use patrol::act as revoke;
use patrol::audit::Auditor;
use patrol::finding::Finding;
use patrol::provider::http::{HttpClient, HttpPolicy};
use patrol::provider::Endpoints;
use serde_json::Value;

use crate::act_env::{github_finding, planned_before_first_write, setup};
use crate::mock_api::{fault, MockApi};
use crate::util::{fake, jsonl};

#[test]
fn github_and_gitlab_tokens_are_verified_and_revoked_by_their_own_apis() {
    let e = setup();
    let gh = fake("github.pat_classic", 5);
    let gl = fake("gitlab.pat", 6);
    let dead = fake("github.pat_fine_grained", 7);
    {
        let mut st = e.api.state.lock().unwrap();
        st.live_github.insert(gh.clone(), "octocat".into());
        st.live_gitlab.insert(gl.clone(), 99);
    }
    e.dir
        .write("ci.yml", format!("gh: {gh}\ngl: {gl}\ndead: {dead}\n"));
    let gh_api = format!("{}/gh", e.api.base);
    let gl_url = format!("{}/gl", e.api.base);
    let audit = e.audit.to_str().unwrap().to_string();
    let args = |yes: bool| {
        let mut v = vec![
            "scan",
            "ci.yml",
            "--format",
            "jsonl",
            "--revoke",
            "--github-api",
            gh_api.as_str(),
            "--gitlab-url",
            gl_url.as_str(),
            "--audit-log",
            audit.as_str(),
        ];
        if yes {
            v.push("--yes");
        }
        v
    };
    let out = e.run(&args(false));
    e.assert_no_secret(&out, &[&gh, &gl, &dead]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(e.api.writes().is_empty());
    let statuses: Vec<Value> = jsonl(&out.stdout)
        .iter()
        .map(|f| f["verification"]["status"].clone())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| *s == "revoked_or_invalid")
            .count(),
        1,
        "{statuses:?}"
    );
    let owners: Vec<Value> = jsonl(&out.stdout)
        .iter()
        .map(|f| f["verification"]["owner"].clone())
        .collect();
    assert!(owners.contains(&"octocat".into()), "{owners:?}");
    assert!(owners.contains(&"user id 99".into()), "{owners:?}");

    let out = e.run(&args(true));
    e.assert_no_secret(&out, &[&gh, &gl, &dead]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let w = e.api.writes();
    assert_eq!(w.len(), 2, "the dead token is not sent for revocation");
    let gh_w = w
        .iter()
        .find(|r| r.path == "/gh/credentials/revoke")
        .unwrap();
    assert_eq!(gh_w.json()["credentials"], serde_json::json!([gh]));
    assert!(
        !gh_w.headers.contains_key("authorization"),
        "unauthenticated"
    );
    let gl_w = w.iter().find(|r| r.method == "DELETE").unwrap();
    assert_eq!(gl_w.path, "/gl/api/v4/personal_access_tokens/self");
    assert_eq!(gl_w.headers["private-token"], gl);
    let ev: Vec<_> = e
        .audit()
        .into_iter()
        .filter(|a| a["actionId"] == "Token.PatRevokeEvent")
        .collect();
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|a| a["data"]["outcome"] == "revoked"));
}

#[test]
fn github_revocation_sends_batches_of_at_most_1000_tokens() {
    let api = MockApi::start("unused");
    let findings: Vec<Finding> = (0..2001).map(github_finding).collect();
    let refs: Vec<&Finding> = findings.iter().collect();
    let http = HttpClient::new(HttpPolicy::default()).unwrap();
    let ends = Endpoints {
        github_api: Some(format!("{}/gh", api.base)),
        ..Default::default()
    };
    let ctx = patrol::audit::AuditContext::new("t".into(), "t".into(), "Directory", "x".into());
    let auditor = Auditor::new(None, ctx);
    let dry = revoke::execute_github(&http, &ends, &refs, false, &auditor).unwrap();
    assert!(dry.iter().all(|o| *o == revoke::Outcome::DryRun));
    assert!(api.writes().is_empty());
    let out = revoke::execute_github(&http, &ends, &refs, true, &auditor).unwrap();
    assert!(out.iter().all(|o| *o == revoke::Outcome::Revoked));
    let sizes: Vec<usize> = api
        .writes()
        .iter()
        .map(|r| r.json()["credentials"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [1000, 1000, 1]);
    assert_eq!(api.state.lock().unwrap().github_revoked.len(), 2001);
}

/// Regression test for review item 3: a 422 echoing the tokens, cut at the message limit,
/// leaves no part of a token in the outcome (stderr and the audit log carry this reason).
#[test]
fn github_revoke_errors_echoing_tokens_keep_no_part_of_them() {
    let api = MockApi::start("unused");
    let findings: Vec<Finding> = (0..3).map(|i| github_finding(500 + i)).collect();
    let refs: Vec<&Finding> = findings.iter().collect();
    let http = HttpClient::new(HttpPolicy::default()).unwrap();
    let ends = Endpoints {
        github_api: Some(format!("{}/gh", api.base)),
        ..Default::default()
    };
    let ctx = patrol::audit::AuditContext::new("t".into(), "t".into(), "Directory", "x".into());
    let auditor = Auditor::new(None, ctx);
    for pad in [150, 160, 170, 176, 185, 190] {
        let echoed: Vec<&str> = findings.iter().map(|f| f.secret.expose()).collect();
        let mut f = fault("POST", "/gh/credentials/revoke", 422, 1);
        f.body = serde_json::json!({
            "message": format!("{} invalid: {}", "x".repeat(pad), echoed.join(", "))
        })
        .to_string();
        api.fault(f);
        let out = revoke::execute_github(&http, &ends, &refs, true, &auditor).unwrap();
        for o in &out {
            let reason = o.reason().expect("failed with a reason");
            for t in &echoed {
                assert!(
                    !reason.contains(&t[..8]),
                    "pad {pad}: part of a token in {reason:?}"
                );
            }
        }
    }
}

#[test]
fn github_and_gitlab_revocations_audit_their_plan_before_the_first_write() {
    let e = setup();
    let gh = fake("github.pat_classic", 37);
    let gl = fake("gitlab.pat", 38);
    {
        let mut st = e.api.state.lock().unwrap();
        st.live_github.insert(gh.clone(), "octocat".into());
        st.live_gitlab.insert(gl.clone(), 99);
    }
    e.dir.write("ci.yml", format!("gh: {gh}\ngl: {gl}\n"));
    let gh_api = format!("{}/gh", e.api.base);
    let gl_url = format!("{}/gl", e.api.base);
    let audit = e.audit.to_str().unwrap().to_string();
    let out = e.run(&[
        "scan",
        "ci.yml",
        "--format",
        "jsonl",
        "--revoke",
        "--yes",
        "--github-api",
        &gh_api,
        "--gitlab-url",
        &gl_url,
        "--audit-log",
        &audit,
    ]);
    e.assert_no_secret(&out, &[&gh, &gl]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(e.api.writes().len(), 2);
    let log = e.audit();
    for (provider, token) in [("github", &gh), ("gitlab", &gl)] {
        let plan = planned_before_first_write(&log, provider);
        let tokens = plan["data"]["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), 1, "{plan}");
        let shown = tokens[0]["redacted"].as_str().unwrap();
        assert!(
            shown.starts_with(&token[..4]) && shown.len() < token.len(),
            "{shown}"
        );
    }
}
