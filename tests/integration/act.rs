//! Acting on leaks against a loopback server speaking the documented APIs (`mock_api`):
//! `patrol ado pats|revoke|revoke-rule`, `patrol scan --verify [--revoke]`, and the
//! provider library calls. Every test checks what patrol sent, and that no token (leaked or
//! admin) appears in stdout, stderr or the audit log.

use std::path::PathBuf;

use base64::Engine as _;
use patrol::act as revoke;
use patrol::audit::Auditor;
use patrol::finding::{ChecksumStatus, Finding, Fingerprint, Secret};
use patrol::provider::http::{HttpClient, HttpPolicy};
use patrol::provider::Endpoints;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::mock_api::{fault, pat, MockApi, TOKENADMIN_V};
use crate::util::{fake, jsonl, run_patrol_env, Output, TestDir};

const ORG: &str = "fabrikam";

struct Env {
    api: MockApi,
    admin: String,
    dir: TestDir,
    audit: PathBuf,
}

fn setup() -> Env {
    let admin = fake("azure_devops.pat_legacy", 9001);
    let api = MockApi::start(&admin);
    let dir = TestDir::new();
    let audit = dir.path().join("audit.jsonl");
    Env {
        api,
        admin,
        dir,
        audit,
    }
}

impl Env {
    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut env = vec![("AZURE_DEVOPS_EXT_PAT", self.admin.as_str())];
        env.extend_from_slice(extra);
        let out = run_patrol_env(self.dir.path(), args, None, &env);
        self.assert_no_secret(&out, &[]);
        out
    }

    fn ado(&self, sub: &str, rest: &[&str]) -> Output {
        let audit = self.audit.to_str().unwrap().to_string();
        let mut args = vec![
            "ado",
            sub,
            "--org",
            ORG,
            "--api-base",
            &self.api.base,
            "--audit-log",
            &audit,
        ];
        args.extend_from_slice(rest);
        self.run(&args)
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .map(|t| jsonl(&t))
            .unwrap_or_default()
    }

    /// The admin PAT and `leaked` never appear in output or the audit log.
    fn assert_no_secret(&self, out: &Output, leaked: &[&str]) {
        let audit = std::fs::read_to_string(&self.audit).unwrap_or_default();
        for s in leaked.iter().copied().chain([self.admin.as_str()]) {
            assert!(!out.stdout.contains(s), "secret in stdout:\n{}", out.stdout);
            assert!(!out.stderr.contains(s), "secret in stderr:\n{}", out.stderr);
            assert!(!audit.contains(s), "secret in audit log");
        }
    }
}

/// Two users; alice has five PATs (three pages of two), bob one.
fn two_users(api: &MockApi) {
    api.add_user(
        "alice@fabrikam.com",
        "aad.YWxpY2U",
        vec![
            pat(
                "a0000000-0000-0000-0000-000000000001",
                "ci-build",
                "2024-06-01T00:00:00",
                "2099-01-01T00:00:00",
            ),
            pat(
                "a0000000-0000-0000-0000-000000000002",
                "ci-deploy",
                "2024-01-01T00:00:00",
                "2099-01-01T00:00:00",
            ),
            pat(
                "a0000000-0000-0000-0000-000000000003",
                "laptop",
                "2024-07-01T00:00:00",
                "2099-01-01T00:00:00",
            ),
            pat(
                "a0000000-0000-0000-0000-000000000004",
                "CI-nightly",
                "2024-08-01T00:00:00",
                "2099-01-01T00:00:00",
            ),
            pat(
                "a0000000-0000-0000-0000-000000000005",
                "soon",
                "2024-08-01T00:00:00",
                "2000-01-01T00:00:00",
            ),
        ],
    );
    api.add_user(
        "bob@fabrikam.com",
        "aad.Ym9i",
        vec![pat(
            "b0000000-0000-0000-0000-000000000001",
            "ci-bob",
            "2024-09-01T00:00:00",
            "2099-01-01T00:00:00",
        )],
    );
}

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
fn reads_retry_429_honouring_retry_after_and_500_but_writes_do_not() {
    let e = setup();
    two_users(&e.api);
    let mut f = fault("GET", "/personalaccesstokens/aad.Ym9i", 429, 1);
    f.retry_after = Some(1);
    e.api.fault(f);
    e.api.fault(fault("GET", "/_apis/identities", 500, 1));
    let out = e.ado("pats", &["--user", "bob@fabrikam.com"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let log = e.api.log();
    assert_eq!(
        log.iter().filter(|r| r.path == "/_apis/identities").count(),
        2
    );
    assert_eq!(
        log.iter().filter(|r| r.path.contains("aad.Ym9i")).count(),
        2
    );

    e.api
        .fault(fault("POST", "/_apis/tokenadmin/revocations", 429, 5));
    let out = e.ado("revoke", &["--user", "bob@fabrikam.com", "--yes"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("HTTP 429") && out.stderr.contains("rate limited"),
        "{}",
        out.stderr
    );
    assert_eq!(e.api.writes().len(), 1, "a write is sent once");
}

#[test]
fn a_timed_out_revocation_is_reported_as_maybe_done_and_not_resent() {
    let e = setup();
    two_users(&e.api);
    let mut f = fault("POST", "/_apis/tokenadmin/revocations", 204, 1);
    f.delay = Some(std::time::Duration::from_millis(1500));
    e.api.fault(f);
    let audit = e.audit.to_str().unwrap().to_string();
    let out = e.run_env(
        &[
            "ado",
            "revoke",
            "--org",
            ORG,
            "--api-base",
            &e.api.base,
            "--audit-log",
            &audit,
            "--user",
            "bob@fabrikam.com",
            "--yes",
        ],
        &[("PATROL_HTTP_TIMEOUT_MS", "300")],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("timed out after 300 ms"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("may still have happened"),
        "{}",
        out.stderr
    );
    assert_eq!(e.api.writes().len(), 1);
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
fn redirects_are_never_followed_so_credentials_stay_on_their_host() {
    let e = setup();
    two_users(&e.api);
    let elsewhere = MockApi::start("unused");
    let mut f = fault("GET", "/personalaccesstokens/aad.Ym9i", 302, 1);
    f.location = Some(format!(
        "{}/_apis/tokenadmin/personalaccesstokens/aad.Ym9i",
        elsewhere.base
    ));
    e.api.fault(f);
    let out = e.ado("pats", &["--user", "bob@fabrikam.com"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("HTTP 302") && out.stderr.contains("sign-in"),
        "{}",
        out.stderr
    );
    assert!(
        elsewhere.log().is_empty(),
        "nothing reached the redirect target"
    );
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_before_sending() {
    let e = setup();
    let out = e.run(&[
        "ado",
        "pats",
        "--org",
        ORG,
        "--api-base",
        "http://example.com",
        "--all-users",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("loopback"), "{}", out.stderr);
}

// ------------------------------------------------------------ the leaked-token flow

/// C3ID definition 1, written again here as an independent check of patrol's.
fn c3id_one(t: &str) -> String {
    let inner: String = Sha256::digest(t.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let h = Sha256::digest(format!("CrossMicrosoftCorrelatingId:{inner}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&h[..15])
}

/// C3ID definition 2.
fn c3id_two(t: &str) -> String {
    let mut v = b"C3ID".to_vec();
    v.extend_from_slice(&Sha256::digest(t.as_bytes()));
    format!(
        "C3ID{}",
        base64::engine::general_purpose::STANDARD.encode(&Sha256::digest(&v)[..12])
    )
}

/// A leaked ADO PAT in the tree, owned by alice, whose PAT list holds it under `c3id`.
fn leaked_setup(seed: u64, c3id: impl Fn(&str) -> String) -> (Env, String) {
    let e = setup();
    let leaked = fake("azure_devops.pat", seed);
    let mut other = pat(
        "c0000000-0000-0000-0000-000000000001",
        "laptop",
        "2024-01-01T00:00:00",
        "2099-01-01T00:00:00",
    );
    other["crossCompanyCorrelatingId"] = c3id("some other token").into();
    let mut hit = pat(
        "c0000000-0000-0000-0000-000000000002",
        "pipeline",
        "2024-02-01T00:00:00",
        "2099-01-01T00:00:00",
    );
    hit["crossCompanyCorrelatingId"] = c3id(&leaked).into();
    let third = pat(
        "c0000000-0000-0000-0000-000000000003",
        "old",
        "2024-03-01T00:00:00",
        "2099-01-01T00:00:00",
    );
    e.api
        .add_user("alice@fabrikam.com", "aad.YWxpY2U", vec![other, hit, third]);
    e.api
        .state
        .lock()
        .unwrap()
        .live_ado
        .insert(leaked.clone(), "alice@fabrikam.com".into());
    e.dir
        .write("app/settings.env", format!("ADO_PAT={leaked}\n"));
    (e, leaked)
}

fn scan_revoke(e: &Env, leaked: &str, yes: bool) -> Output {
    let audit = e.audit.to_str().unwrap().to_string();
    let mut args = vec![
        "scan",
        "app",
        "--history",
        "none",
        "--format",
        "json",
        "--verify",
        "--revoke",
        "--ado-org",
        ORG,
        "--api-base",
        &e.api.base,
        "--audit-log",
        &audit,
    ];
    if yes {
        args.push("--yes");
    }
    let out = e.run(&args);
    e.assert_no_secret(&out, &[leaked]);
    out
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

fn github_finding(seed: u64) -> Finding {
    let secret = Secret::new(fake("github.pat_classic", seed));
    Finding {
        rule: "github.pat_classic".into(),
        name: "GitHub".into(),
        provider: "github".into(),
        fingerprint: Fingerprint::of("github.pat_classic", &secret),
        secret,
        checksum: ChecksumStatus::Valid,
        locations: vec![],
        locations_omitted: 0,
        verification: None,
    }
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

/// Regression test for review item 2: proxy variables in the environment are ignored, so a
/// credential never goes to a proxy (in clear over a plain-http loopback override).
#[test]
fn proxy_environment_variables_never_receive_a_request() {
    let e = setup();
    two_users(&e.api);
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let purl = format!("http://{}", proxy.local_addr().unwrap());
    let out = e.run_env(
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
        &[
            ("http_proxy", &purl),
            ("HTTP_PROXY", &purl),
            ("https_proxy", &purl),
            ("HTTPS_PROXY", &purl),
            ("ALL_PROXY", &purl),
            ("all_proxy", &purl),
            ("PATROL_HTTP_TIMEOUT_MS", "1500"),
        ],
    );
    proxy.set_nonblocking(true).unwrap();
    assert!(
        proxy.accept().is_err(),
        "the proxy got a connection:\n{}",
        out.stderr
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("ci-bob"), "{}", out.stdout);
    assert!(e.api.log().iter().any(|r| r
        .path
        .starts_with("/_apis/tokenadmin/personalaccesstokens/")));
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

/// The index of the `Token.PatRevokePlanned` entry of `provider` and of the first write
/// outcome (`Token.PatRevokeEvent`) of that provider, asserting the plan comes first; returns
/// the plan entry.
fn planned_before_first_write(audit: &[Value], provider: &str) -> Value {
    let of = |action: &str| {
        audit
            .iter()
            .position(|a| a["actionId"] == action && a["data"]["provider"] == provider)
    };
    let planned = of("Token.PatRevokePlanned")
        .unwrap_or_else(|| panic!("no {provider} plan entry in {audit:#?}"));
    let first_write = of("Token.PatRevokeEvent")
        .unwrap_or_else(|| panic!("no {provider} revocation entry in {audit:#?}"));
    assert!(
        planned < first_write,
        "{provider}: plan entry {planned} after the first write outcome {first_write}"
    );
    audit[planned].clone()
}

/// A report of the tree's findings written by `scan --format json` (with `--show-secrets`
/// when `show`), and nothing sent while writing it.
fn write_report(e: &Env, name: &str, show: bool) -> String {
    let path = e.dir.path().join(name).to_str().unwrap().to_string();
    let mut args = vec![
        "scan",
        "app",
        "--history",
        "none",
        "--format",
        "json",
        "--output",
        &path,
    ];
    if show {
        args.push("--show-secrets");
    }
    let out = e.run(&args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(e.api.log().is_empty(), "a plain scan sends nothing");
    path
}

fn act_from(e: &Env, report: &str, leaked: &str, extra: &[&str]) -> Output {
    let audit = e.audit.to_str().unwrap().to_string();
    let mut args = vec![
        "act",
        "--from",
        report,
        "--format",
        "json",
        "--ado-org",
        ORG,
        "--api-base",
        &e.api.base,
        "--audit-log",
        &audit,
    ];
    args.extend_from_slice(extra);
    let out = e.run(&args);
    e.assert_no_secret(&out, &[leaked]);
    out
}

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
