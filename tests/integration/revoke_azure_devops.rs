//! Azure DevOps against the loopback server: `patrol ado pats|revoke|revoke-rule` (the
//! administrator's flows) and the leaked-token flow (`scan --verify --revoke`: matched by C3ID,
//! revoked only with `--yes`, the plan audited before the first write).

use patrol::finding::Secret;
use patrol::provider::http::{HttpClient, HttpPolicy};
use serde_json::Value;

use crate::act_env::{
    c3id_one, c3id_two, leaked_setup, planned_before_first_write, scan_revoke, setup, two_users,
    ORG,
};
use crate::mock_api::{fault, TOKENADMIN_V};
use crate::util::{fake, run_patrol_env};

#[test]
fn ado_pats_follows_continuation_tokens_with_admin_basic_auth_and_api_version() {
    let e = setup();
    two_users(&e.api);
    let out = e.ado(
        "pats",
        &["--user", "alice@fabrikam.com", "--format", "json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0]["authorization_id"],
        "a0000000-0000-0000-0000-000000000001"
    );
    assert_eq!(rows[0]["user"], "alice@fabrikam.com");
    assert_eq!(rows[0]["is_public"], false);
    let log = e.api.log();
    let ident = &log[0];
    assert_eq!(ident.path, "/_apis/identities");
    assert_eq!(ident.query["searchFilter"], "General");
    assert_eq!(ident.query["filterValue"], "alice@fabrikam.com");
    let lists: Vec<_> = log
        .iter()
        .filter(|r| r.path.contains("personalaccesstokens"))
        .collect();
    assert_eq!(lists.len(), 3, "three pages of two");
    assert_eq!(
        lists[0].path,
        "/_apis/tokenadmin/personalaccesstokens/aad.YWxpY2U"
    );
    assert!(!lists[0].query.contains_key("continuationToken"));
    assert_eq!(lists[1].query["continuationToken"], "2");
    assert_eq!(lists[2].query["continuationToken"], "4");
    for r in &log {
        assert_eq!(r.method, "GET");
        assert_eq!(r.headers["authorization"], crate::mock_api::basic(&e.admin));
    }
    assert_eq!(lists[0].query["api-version"], TOKENADMIN_V);
}

#[test]
fn ado_pats_all_users_pages_graph_users_by_header_and_filters_expiring_within() {
    let e = setup();
    two_users(&e.api);
    e.api.add_user("carol@fabrikam.com", "aad.Y2Fyb2w", vec![]);
    let out = e.ado("pats", &["--all-users", "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let graph: Vec<_> = e
        .api
        .log()
        .into_iter()
        .filter(|r| r.path == "/_apis/graph/users")
        .collect();
    assert_eq!(graph.len(), 2, "two pages of users");
    assert_eq!(graph[1].query["continuationToken"], "users-2");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "user,display_name,scope,valid_from,valid_to,authorization_id,is_public,is_valid"
    );
    assert_eq!(lines.len(), 1 + 6);
    assert!(out.stdout.contains("bob@fabrikam.com,ci-bob,vso.code,"));

    // Nothing of these expires within 30 days from now.
    let out = e.ado(
        "pats",
        &["--user", "alice@fabrikam.com", "--expiring-within", "30"],
    );
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("0 PAT(s)"), "{}", out.stdout);
}

#[test]
fn ado_revoke_dry_run_sends_no_write_and_audits_each_token() {
    let e = setup();
    two_users(&e.api);
    let out = e.ado(
        "revoke",
        &["--user", "alice@fabrikam.com", "--name", "ci-*"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Dry run"), "{}", out.stdout);
    assert_eq!(
        out.stdout.lines().count(),
        4,
        "one line per PAT:\n{}",
        out.stdout
    );
    assert!(out.stdout.contains("a0000000-0000-0000-0000-000000000001"));
    assert!(
        out.stdout.contains("a0000000-0000-0000-0000-000000000004"),
        "glob is case-insensitive"
    );
    assert!(!out.stdout.contains("a0000000-0000-0000-0000-000000000003"));
    assert!(e.api.writes().is_empty(), "a dry run sends no write");
    let audit = e.audit();
    let dry: Vec<_> = audit
        .iter()
        .filter(|a| a["actionId"] == "Token.PatRevokeDryRun")
        .collect();
    assert_eq!(dry.len(), 3);
    assert_eq!(dry[0]["data"]["targetUser"], "alice@fabrikam.com");
    assert_eq!(dry[0]["data"]["outcome"], "dry_run");
    assert_eq!(dry[0]["area"], "Token");
}

#[test]
fn ado_revoke_yes_revokes_exactly_the_selected_authorization_ids() {
    let e = setup();
    two_users(&e.api);
    let out = e.ado(
        "revoke",
        &[
            "--user",
            "alice@fabrikam.com",
            "--name",
            "ci-*",
            "--created-after",
            "2024-05-01",
            "--yes",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        e.api.revoked_ids(),
        [
            "a0000000-0000-0000-0000-000000000001",
            "a0000000-0000-0000-0000-000000000004"
        ]
    );
    let w = &e.api.writes()[0];
    assert_eq!(w.query["api-version"], TOKENADMIN_V);
    assert_eq!(w.headers["content-type"], "application/json");
    assert_eq!(w.headers["authorization"], crate::mock_api::basic(&e.admin));
    let ev: Vec<_> = e
        .audit()
        .into_iter()
        .filter(|a| a["actionId"] == "Token.PatRevokeEvent")
        .collect();
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|a| a["data"]["outcome"] == "revoked"));
    assert!(out.stdout.contains("2 revoked, 0 failed"), "{}", out.stdout);

    // Running again finds nothing left to revoke.
    let again = e.ado(
        "revoke",
        &[
            "--user",
            "alice@fabrikam.com",
            "--name",
            "ci-*",
            "--created-after",
            "2024-05-01",
            "--yes",
        ],
    );
    assert_eq!(again.code, 0);
    assert_eq!(e.api.writes().len(), 1, "no second revocation request");
}

#[test]
fn ado_revoke_partial_failure_records_every_outcome_exits_2_and_a_rerun_revokes_only_the_rest() {
    let e = setup();
    two_users(&e.api);
    // The first revocation batch (alice's) fails once with 500; bob's succeeds.
    e.api
        .fault(fault("POST", "/_apis/tokenadmin/revocations", 500, 1));
    let args = [
        "--user",
        "alice@fabrikam.com",
        "--user",
        "bob@fabrikam.com",
        "--name",
        "ci-*",
        "--yes",
    ];
    let out = e.ado("revoke", &args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        e.api.writes().len(),
        2,
        "one request per user batch; writes are not retried"
    );
    assert!(out.stderr.contains("FAILED"), "{}", out.stderr);
    assert!(out.stdout.contains("1 revoked, 3 failed"), "{}", out.stdout);
    let ev: Vec<_> = e
        .audit()
        .into_iter()
        .filter(|a| a["actionId"] == "Token.PatRevokeEvent")
        .collect();
    assert_eq!(ev.len(), 4);
    assert_eq!(
        ev.iter()
            .filter(|a| a["data"]["outcome"] == "failed")
            .count(),
        3
    );
    assert!(ev[0]["data"]["reason"]
        .as_str()
        .unwrap()
        .contains("HTTP 500"));

    let again = e.ado("revoke", &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let last = e.api.writes().pop().unwrap();
    let ids: Vec<String> = last
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["authorizationId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "only alice's three are left");
    assert!(ids.iter().all(|i| i.starts_with('a')));
    assert_eq!(e.api.writes().len(), 3, "bob's token is not sent again");
}

#[test]
fn ado_revoke_rule_dry_run_warns_and_yes_posts_the_documented_body() {
    let e = setup();
    let out = e.ado(
        "revoke-rule",
        &[
            "--created-before",
            "2024-07-18T00:51:26Z",
            "--scopes",
            "vso.code vso.packaging",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("JWT"), "{}", out.stderr);
    assert!(e.api.writes().is_empty());
    assert_eq!(e.audit()[0]["actionId"], "Token.RevocationRuleDryRun");

    let out = e.ado(
        "revoke-rule",
        &[
            "--created-before",
            "2024-07-18T00:51:26Z",
            "--scopes",
            "vso.code vso.packaging",
            "--yes",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let w = e.api.writes();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].path, "/_apis/tokenadmin/revocationrules");
    assert_eq!(
        w[0].json(),
        serde_json::json!({"scopes": "vso.code vso.packaging", "createdBefore": "2024-07-18T00:51:26Z"})
    );
    let a = e.audit();
    assert_eq!(a[1]["actionId"], "Token.RevocationRuleCreated");
    assert_eq!(a[1]["data"]["outcome"], "revoked");
}

#[test]
fn ado_401_and_403_name_the_missing_scope_and_a_missing_user_says_so() {
    let e = setup();
    two_users(&e.api);
    let wrong = fake("azure_devops.pat_legacy", 4242);
    let out = e.run_env(
        &[
            "ado",
            "pats",
            "--org",
            ORG,
            "--api-base",
            &e.api.base,
            "--user",
            "alice@fabrikam.com",
        ],
        &[("AZURE_DEVOPS_EXT_PAT", &wrong)],
    );
    e.assert_no_secret(&out, &[&wrong]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("HTTP 401"), "{}", out.stderr);
    assert!(out.stderr.contains("vso.identity"), "{}", out.stderr);

    e.api
        .fault(fault("GET", "/personalaccesstokens/aad.YWxpY2U", 403, 1));
    let out = e.ado("pats", &["--user", "alice@fabrikam.com"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("HTTP 403"), "{}", out.stderr);
    assert!(
        out.stderr.contains("vso.tokenadministration"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Project Collection Administrators"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("InvalidAccess") || out.stderr.contains("injected failure"),
        "{}",
        out.stderr
    );

    let out = e.ado(
        "pats",
        &[
            "--user",
            "nobody@fabrikam.com",
            "--user",
            "bob@fabrikam.com",
        ],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("user nobody@fabrikam.com not found in organization fabrikam"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("ci-bob"), "the other users go on");

    e.api
        .fault(fault("GET", "/personalaccesstokens/aad.Ym9i", 404, 1));
    let out = e.ado("pats", &["--user", "bob@fabrikam.com"]);
    assert!(
        out.stderr
            .contains("user bob@fabrikam.com (subject descriptor aad.Ym9i) not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_entra_access_token_is_sent_as_bearer() {
    let e = setup();
    two_users(&e.api);
    let bearer = fake("github.oauth_token", 31);
    e.api.state.lock().unwrap().admin_header = format!("Bearer {bearer}");
    let out = run_patrol_env(
        e.dir.path(),
        &[
            "ado",
            "pats",
            "--org",
            ORG,
            "--api-base",
            &e.api.base,
            "--user",
            "bob@fabrikam.com",
        ],
        None,
        &[("AZURE_DEVOPS_ACCESS_TOKEN", &bearer)],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("ci-bob"));
    assert!(!out.stdout.contains(&bearer) && !out.stderr.contains(&bearer));
}

#[test]
fn no_admin_credential_is_an_error_before_anything_is_sent() {
    let e = setup();
    let out = run_patrol_env(
        e.dir.path(),
        &[
            "ado",
            "pats",
            "--org",
            ORG,
            "--api-base",
            &e.api.base,
            "--all-users",
        ],
        None,
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("AZURE_DEVOPS_EXT_PAT"),
        "{}",
        out.stderr
    );
    assert!(e.api.log().is_empty());
}

#[test]
fn scan_revoke_checks_the_admin_credential_and_overrides_before_scanning() {
    let e = setup();
    let tok = fake("azure_devops.pat", 21);
    e.dir.write("x.txt", format!("token={tok}\n"));
    let out = run_patrol_env(
        e.dir.path(),
        &[
            "scan",
            "x.txt",
            "--revoke",
            "--ado-org",
            ORG,
            "--api-base",
            &e.api.base,
        ],
        None,
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("AZURE_DEVOPS_EXT_PAT"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "nothing scanned: {}", out.stdout);
    assert!(e.api.log().is_empty());

    let out = e.run(&[
        "scan",
        "x.txt",
        "--verify",
        "--github-api",
        "http://ghe.example.com/api/v3",
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--github-api") && out.stderr.contains("loopback"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&tok));
}

#[test]
fn leaked_ado_pat_is_matched_by_c3id_definition_one_and_revoked_only_with_yes() {
    let (e, leaked) = leaked_setup(11, c3id_one);
    let out = scan_revoke(&e, &leaked, false);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(e.api.writes().is_empty(), "dry run");
    assert!(
        out.stderr.contains("c0000000-0000-0000-0000-000000000002"),
        "{}",
        out.stderr
    );
    let findings: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let v = &findings[0]["verification"];
    assert_eq!(v["status"], "live");
    assert_eq!(v["owner"], "alice@fabrikam.com");
    assert!(v["checked_at"].as_str().unwrap().ends_with('Z'));
    let log = e.api.log();
    let profile = log
        .iter()
        .find(|r| r.path == "/_apis/profile/profiles/me")
        .unwrap();
    assert_eq!(
        profile.headers["authorization"],
        crate::mock_api::basic(&leaked)
    );
    assert!(log.iter().any(|r| r.path == "/_apis/connectionData"));
    // The leaked token is never used for the admin calls, and the admin PAT never for the
    // leaked token's checks.
    for r in log
        .iter()
        .filter(|r| r.path.starts_with("/_apis/tokenadmin"))
    {
        assert_eq!(r.headers["authorization"], crate::mock_api::basic(&e.admin));
    }

    let out = scan_revoke(&e, &leaked, true);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        e.api.revoked_ids(),
        ["c0000000-0000-0000-0000-000000000002"]
    );
    let audit = e.audit();
    let actions: Vec<&str> = audit
        .iter()
        .map(|a| a["actionId"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"Patrol.SecretVerified"));
    assert!(actions.contains(&"Token.PatRevokeDryRun"));
    let ev = audit
        .iter()
        .find(|a| a["actionId"] == "Token.PatRevokeEvent")
        .unwrap();
    assert_eq!(
        ev["data"]["authorizationId"],
        "c0000000-0000-0000-0000-000000000002"
    );
    assert_eq!(ev["data"]["targetUser"], "alice@fabrikam.com");
    assert_eq!(ev["data"]["outcome"], "revoked");
    assert_eq!(ev["data"]["fingerprint"], findings[0]["fingerprint"]);
}

#[test]
fn leaked_ado_pat_is_matched_by_c3id_definition_two() {
    let (e, leaked) = leaked_setup(12, c3id_two);
    let out = scan_revoke(&e, &leaked, true);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        e.api.revoked_ids(),
        ["c0000000-0000-0000-0000-000000000002"]
    );
}

#[test]
fn leaked_ado_pat_without_a_c3id_match_shows_candidates_and_revokes_nothing() {
    let (e, leaked) = leaked_setup(13, |_| "C3IDAAAAAAAAAAAAAAAA".to_string());
    let out = scan_revoke(&e, &leaked, true);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("nothing revoked"), "{}", out.stderr);
    for id in [
        "c0000000-0000-0000-0000-000000000001",
        "c0000000-0000-0000-0000-000000000002",
        "c0000000-0000-0000-0000-000000000003",
    ] {
        assert!(
            out.stderr.contains(id),
            "candidate {id} listed:\n{}",
            out.stderr
        );
    }
    assert!(e.api.writes().is_empty());
    let ev = e
        .audit()
        .into_iter()
        .find(|a| a["actionId"] == "Token.PatRevokeEvent")
        .unwrap();
    assert_eq!(ev["data"]["outcome"], "skipped");
}

/// Regression test for review item 1: a fuzzy identity search that returns other people must
/// never make `ado revoke` act on them; the user actually resolved is what is printed/audited.
#[test]
fn ado_revoke_never_falls_back_to_an_identity_that_does_not_carry_the_upn() {
    let e = setup();
    two_users(&e.api);
    e.api.state.lock().unwrap().fuzzy_identities = true;
    let out = e.ado("revoke", &["--user", "carol@fabrikam.com", "--yes"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(e.api.writes().is_empty(), "nothing revoked");
    assert!(
        out.stderr
            .contains("user carol@fabrikam.com not found in organization fabrikam"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("alice@fabrikam.com"), "{}", out.stderr);
    assert!(!out.stdout.contains("carol"), "{}", out.stdout);

    // A case-insensitive match is the user, named as the directory spells it.
    let out = e.ado(
        "revoke",
        &["--user", "BOB@FABRIKAM.COM", "--name", "ci-bob", "--yes"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        e.api.revoked_ids(),
        ["b0000000-0000-0000-0000-000000000001"]
    );
    assert!(out.stdout.contains("bob@fabrikam.com"), "{}", out.stdout);
    assert!(!out.stdout.contains("BOB@"), "{}", out.stdout);
    let ev = e
        .audit()
        .into_iter()
        .find(|a| a["actionId"] == "Token.PatRevokeEvent")
        .unwrap();
    assert_eq!(ev["data"]["targetUser"], "bob@fabrikam.com");
}

/// Regression test for review item 8: out-of-range dates and windows are one clear error
/// (exit 2) before any request, never a panic.
#[test]
fn out_of_range_times_on_the_command_line_are_clear_errors() {
    let e = setup();
    two_users(&e.api);
    let out = e.ado(
        "pats",
        &[
            "--user",
            "bob@fabrikam.com",
            "--expiring-within",
            "4000000000",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--expiring-within"), "{}", out.stderr);
    assert!(!out.stderr.contains("internal error"), "{}", out.stderr);
    let out = e.ado(
        "revoke-rule",
        &["--created-before", "9999-12-31T23:59:59-10:00", "--yes"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--created-before"), "{}", out.stderr);
    assert!(!out.stderr.contains("internal error"), "{}", out.stderr);
    assert!(e.api.log().is_empty(), "nothing sent");
}

/// Regression test for review item 9: a list still going at the page limit is an error,
/// never a partial list passed off as complete.
#[test]
fn lists_that_outrun_the_page_limit_are_errors_not_partial_lists() {
    use patrol::provider::azure_devops::AdoAdmin;
    use patrol::provider::http::Auth;
    let e = setup();
    two_users(&e.api);
    e.api.add_user("carol@fabrikam.com", "aad.Y2Fyb2w", vec![]);
    let http = HttpClient::new(HttpPolicy::default()).unwrap();
    let admin = AdoAdmin::new(
        &http,
        ORG,
        Some(&e.api.base),
        Auth::Basic(Secret::new(e.admin.clone())),
    )
    .unwrap();
    // Three pages of PATs (five, two a page) and two of users (three, two a page).
    let alice = admin.resolve_user("alice@fabrikam.com").unwrap();
    assert_eq!(admin.list_pats(&alice).unwrap().len(), 5);
    assert_eq!(admin.list_users().unwrap().len(), 3);
    let capped = AdoAdmin::new(
        &http,
        ORG,
        Some(&e.api.base),
        Auth::Basic(Secret::new(e.admin.clone())),
    )
    .unwrap()
    .with_max_pages(2);
    let err = capped.list_pats(&alice).unwrap_err().to_string();
    assert!(err.contains("the list is incomplete"), "{err}");
    assert!(!err.contains(&e.admin));
    let bob = capped.resolve_user("bob@fabrikam.com").unwrap();
    assert_eq!(capped.list_pats(&bob).unwrap().len(), 1);
    let capped = capped.with_max_pages(1);
    let err = capped.list_users().unwrap_err().to_string();
    assert!(err.contains("the list is incomplete"), "{err}");
}

#[test]
fn ado_revoke_yes_audits_the_plan_before_the_first_write() {
    let e = setup();
    two_users(&e.api);
    let out = e.ado(
        "revoke",
        &["--user", "alice@fabrikam.com", "--name", "ci-*", "--yes"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let audit = e.audit();
    let plan = planned_before_first_write(&audit, "azure_devops");
    let ids: Vec<&str> = plan["data"]["authorizationIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids, e.api.revoked_ids());
}

#[test]
fn scan_revoke_yes_audits_the_azure_devops_plan_before_the_first_write() {
    let (e, leaked) = leaked_setup(36, c3id_one);
    let out = scan_revoke(&e, &leaked, true);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let plan = planned_before_first_write(&e.audit(), "azure_devops");
    assert_eq!(
        plan["data"]["authorizationIds"],
        serde_json::json!(["c0000000-0000-0000-0000-000000000002"])
    );
}

/// Regression test for #26 (item 5): with standard output on a full disk, `ado revoke`
/// panicked in `println!` and reported an internal error. It is an output error: one line
/// saying so, exit 2, and the revocation asked for still happens and is audited.
#[test]
fn ado_revoke_with_stdout_on_a_full_disk_is_an_output_error_not_an_internal_one() {
    let e = setup();
    two_users(&e.api);
    let audit = e.audit.to_str().unwrap().to_string();
    for (yes, revoked) in [(false, 0), (true, 2)] {
        let mut args = vec![
            "ado",
            "revoke",
            "--org",
            ORG,
            "--api-base",
            &e.api.base,
            "--audit-log",
            &audit,
            "--user",
            "alice@fabrikam.com",
            "--name",
            "ci-*",
            "--created-after",
            "2024-05-01",
        ];
        if yes {
            args.push("--yes");
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_patrol"))
            .args(&args)
            .current_dir(e.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", e.dir.path())
            .env("AZURE_DEVOPS_EXT_PAT", &e.admin)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(!stderr.contains("internal error"), "{stderr}");
        assert!(!stderr.contains(&e.admin), "{stderr}");
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("standard output"))
            .collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains("No space left on device"), "{stderr}");
        assert_eq!(e.api.revoked_ids().len(), revoked, "{stderr}");
    }
    let ev = e
        .audit()
        .into_iter()
        .filter(|a| a["actionId"] == "Token.PatRevokeEvent" && a["data"]["outcome"] == "revoked")
        .count();
    assert_eq!(ev, 2);
}
