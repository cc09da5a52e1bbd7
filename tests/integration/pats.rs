//! `patrol pats list|create|renew|revoke|rotate` against `pats_api`, a loopback stand-in for
//! the PAT Lifecycle Management API. Every test checks what patrol sent (method, path,
//! api-version, bearer, body), and that no token value (issued PATs, the Entra token) appears
//! in stdout, stderr or the audit log, except where `--show-secrets` asked for it.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::Value;

use crate::mock_api::fault;
use crate::pats_api::{days_from_now, entra_jwt, user_jwt, PatsApi, PATH, PATS_V};
use crate::util::{jsonl, run_patrol_env, Output, TestDir};

const ORG: &str = "fabrikam";

struct Env {
    api: PatsApi,
    bearer: String,
    dir: TestDir,
    audit: PathBuf,
}

fn setup() -> Env {
    let bearer = user_jwt("alice@fabrikam.com");
    let api = PatsApi::start(&bearer);
    let dir = TestDir::new();
    let audit = dir.path().join("audit.jsonl");
    Env {
        api,
        bearer,
        dir,
        audit,
    }
}

impl Env {
    fn args<'a>(&'a self, sub: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec![
            "pats",
            sub,
            "--org",
            ORG,
            "--api-base",
            &self.api.base,
            "--audit-log",
            self.audit.to_str().unwrap(),
        ];
        a.extend_from_slice(rest);
        a
    }

    /// Runs `patrol pats SUB --org --api-base --audit-log REST` with the Entra token set.
    fn pats(&self, sub: &str, rest: &[&str]) -> Output {
        self.pats_env(sub, rest, &[("AZURE_DEVOPS_ACCESS_TOKEN", &self.bearer)])
    }

    fn pats_env(&self, sub: &str, rest: &[&str], env: &[(&str, &str)]) -> Output {
        let out = run_patrol_env(self.dir.path(), &self.args(sub, rest), None, env);
        self.assert_no_secret(&out, false);
        out
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .map(|t| jsonl(&t))
            .unwrap_or_default()
    }

    /// No token the server knows appears in stderr, the audit log, or (unless `stdout_ok`,
    /// for --show-secrets) stdout.
    fn assert_no_secret(&self, out: &Output, stdout_ok: bool) {
        let audit = std::fs::read_to_string(&self.audit).unwrap_or_default();
        for s in self.api.tokens().iter().chain([&self.bearer]) {
            assert!(
                stdout_ok || !out.stdout.contains(s.as_str()),
                "secret in stdout:\n{}",
                out.stdout
            );
            assert!(
                !out.stderr.contains(s.as_str()),
                "secret in stderr:\n{}",
                out.stderr
            );
            assert!(!audit.contains(s.as_str()), "secret in audit log");
        }
    }

    fn actions(&self) -> Vec<(String, String)> {
        self.audit()
            .iter()
            .map(|e| {
                (
                    e["actionId"].as_str().unwrap().to_string(),
                    e["data"]["outcome"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

/// Every request was to the documented path, with the api-version and the bearer token.
fn assert_well_formed(e: &Env) {
    for r in e.api.log() {
        assert_eq!(r.path, PATH, "{r:?}");
        assert_eq!(r.query.get("api-version").map(String::as_str), Some(PATS_V));
        assert_eq!(
            r.headers.get("authorization"),
            Some(&format!("Bearer {}", e.bearer))
        );
    }
}

#[test]
fn list_follows_continuation_tokens_with_the_same_filter_and_prints_json_fields() {
    let e = setup();
    for i in 0..5 {
        e.api.add(
            &format!("t{i}"),
            "vso.code",
            &days_from_now(5 + i * 20),
            i % 2 == 0,
        );
    }
    e.api.add("gone", "vso.code", &days_from_now(-3), false);
    let out = e.pats("list", &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = v
        .iter()
        .map(|p| p["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["t0", "t1", "t2", "t3", "t4"]);
    for p in &v {
        for k in [
            "authorization_id",
            "display_name",
            "scope",
            "valid_from",
            "valid_to",
        ] {
            assert!(p[k].is_string(), "{k} in {p}");
        }
    }
    assert_eq!(v[0]["all_orgs"], true);
    assert_eq!(v[1]["all_orgs"], false);
    let log = e.api.log();
    assert_eq!(log.len(), 3, "5 PATs in pages of 2");
    for r in &log {
        assert_eq!(r.method, "GET");
        assert_eq!(r.query["displayFilterOption"], "active");
        assert_eq!(r.query["$top"], "100");
    }
    assert!(!log[0].query.contains_key("continuationToken"));
    assert_eq!(log[1].query["continuationToken"], "active:2");
    assert_eq!(log[2].query["continuationToken"], "active:4");
    assert_well_formed(&e);
    assert_eq!(
        e.actions(),
        [("Token.PatList".to_string(), "listed".to_string())]
    );

    let out = e.pats(
        "list",
        &[
            "--status",
            "all",
            "--expiring-within",
            "30",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        rows[0],
        "authorization_id,display_name,scope,valid_from,valid_to,all_orgs,is_expired"
    );
    assert_eq!(
        rows.len(),
        3,
        "t0 and t1 expire within 30 days: {}",
        out.stdout
    );
    assert!(e
        .api
        .log()
        .iter()
        .skip(3)
        .all(|r| r.query["displayFilterOption"] == "all"));

    let out = e.pats("list", &["--status", "expired"]);
    assert!(
        out.stdout.contains("\"gone\"") && out.stdout.contains("(expired)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("1 PAT(s)\n"));
}

#[test]
fn create_writes_the_token_only_to_a_mode_0600_file_and_audits_it_redacted() {
    let e = setup();
    let out = e.pats(
        "create",
        &[
            "--name",
            "ci",
            "--scope",
            " vso.code   vso.build ",
            "--days",
            "30",
            "--output-file",
            "tok.txt",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let w = e.api.writes();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].method, "POST");
    let b = w[0].json();
    assert_eq!(b["displayName"], "ci");
    assert_eq!(b["scope"], "vso.code vso.build");
    assert_eq!(b["allOrgs"], false);
    let to = time::OffsetDateTime::parse(
        b["validTo"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (to - time::OffsetDateTime::now_utc()).whole_hours();
    assert!((29 * 24..=30 * 24).contains(&days), "{days} hours");
    assert_well_formed(&e);
    let stored = &e.api.by_name("ci")[0];
    let file = e.dir.path().join("tok.txt");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{}\n", stored.token)
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        out.stderr.contains("written to tok.txt (mode 0600)"),
        "{}",
        out.stderr
    );
    let a = e.audit();
    assert_eq!(a[0]["actionId"], "Token.PatCreated");
    assert_eq!(a[0]["data"]["outcome"], "created");
    let red = a[0]["data"]["token"].as_str().unwrap();
    assert!(red.contains('…') && red.len() < 16, "{red}");

    // --show-secrets prints it (and only then is it on stdout).
    let out = run_patrol_env(
        e.dir.path(),
        &e.args(
            "create",
            &[
                "--name",
                "dev",
                "--scope",
                "vso.code",
                "--days",
                "7",
                "--all-orgs",
                "--show-secrets",
            ],
        ),
        None,
        &[("AZURE_DEVOPS_ACCESS_TOKEN", &e.bearer)],
    );
    e.assert_no_secret(&out, true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dev = &e.api.by_name("dev")[0];
    assert_eq!(out.stdout.trim(), dev.token);
    assert_eq!(e.api.writes()[1].json()["allOrgs"], true);
}

#[test]
fn create_without_a_destination_for_the_token_is_refused_before_sending() {
    let e = setup();
    let out = e.pats(
        "create",
        &["--name", "ci", "--scope", "vso.code", "--days", "30"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--output-file FILE"), "{}", out.stderr);
    assert!(e.api.log().is_empty());
}

#[test]
fn a_name_matching_several_pats_is_refused_with_the_list() {
    let e = setup();
    let a = e.api.add("ci", "vso.code", &days_from_now(10), false);
    let b = e.api.add("CI", "vso.build", &days_from_now(20), true);
    e.api.add("other", "vso.code", &days_from_now(20), true);
    for (sub, extra) in [("renew", vec!["--days", "30"]), ("revoke", vec!["--yes"])] {
        let mut args = vec!["--name", "ci"];
        args.extend(extra);
        let out = e.pats(sub, &args);
        assert_eq!(out.code, 2, "{sub}");
        assert!(
            out.stderr.contains("2 active PATs are named \"ci\""),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&a) && out.stderr.contains(&b),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("other"));
    }
    assert!(e.api.writes().is_empty());
}

#[test]
fn an_expired_pat_renewal_is_refused_before_sending_and_a_live_one_is_extended() {
    let e = setup();
    let old = e.api.add("old", "vso.code", &days_from_now(-2), false);
    let out = e.pats("renew", &["--name", "old", "--days", "30"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("expired on") && out.stderr.contains("cannot be extended"),
        "{}",
        out.stderr
    );
    let out = e.pats("renew", &["--id", &old, "--days", "30"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("cannot be extended"), "{}", out.stderr);
    assert!(e.api.writes().is_empty(), "nothing sent for an expired PAT");
    assert!(e
        .actions()
        .iter()
        .all(|(a, o)| a == "Token.PatRenewed" && o == "refused"));

    let live = e
        .api
        .add("live", "vso.code vso.build", &days_from_now(3), true);
    let out = e.pats("renew", &["--name", "live", "--days", "60"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let w = e.api.writes();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].method, "PUT");
    let b = w[0].json();
    assert_eq!(b["authorizationId"], live);
    assert_eq!(b["displayName"], "live");
    assert_eq!(b["scope"], "vso.code vso.build");
    assert_eq!(b["allOrgs"], true);
    let stored = e.api.stored(&live).unwrap();
    assert_eq!(stored.pat["validTo"], b["validTo"]);
    assert!(
        out.stderr.contains("renewed PAT \"live\""),
        "{}",
        out.stderr
    );
    assert_well_formed(&e);
    assert_eq!(
        e.actions().last().unwrap(),
        &("Token.PatRenewed".into(), "renewed".into())
    );
}

#[test]
fn revoke_is_a_dry_run_unless_yes() {
    let e = setup();
    let id = e.api.add("ci", "vso.code", &days_from_now(10), false);
    let out = e.pats("revoke", &["--name", "ci"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("Dry run (add --yes to revoke): would revoke PAT \"ci\""),
        "{}",
        out.stdout
    );
    assert!(e.api.writes().is_empty());
    let out = e.pats("revoke", &["--id", &id, "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let w = e.api.writes();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].method, "DELETE");
    assert_eq!(w[0].query["authorizationId"], id);
    assert!(e.api.stored(&id).unwrap().revoked);
    assert_well_formed(&e);
    assert_eq!(
        e.actions(),
        [
            (
                "Token.PatLifecycleDryRun".to_string(),
                "dry_run".to_string()
            ),
            ("Token.PatRevokePlanned".to_string(), "planned".to_string()),
            ("Token.PatRevokeEvent".to_string(), "revoked".to_string())
        ]
    );
}

#[test]
fn rotate_creates_writes_and_only_then_revokes() {
    let e = setup();
    let old = e.api.add(
        "deploy",
        "vso.packaging_write vso.code",
        &days_from_now(4),
        true,
    );
    let out = e.pats(
        "rotate",
        &[
            "--name",
            "deploy",
            "--days",
            "90",
            "--output-file",
            "new.txt",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("Dry run (add --yes to rotate): would create PAT \"deploy\""),
        "{}",
        out.stdout
    );
    assert!(e.api.writes().is_empty());
    assert!(!e.dir.path().join("new.txt").exists());

    let out = e.pats(
        "rotate",
        &[
            "--name",
            "deploy",
            "--days",
            "90",
            "--output-file",
            "new.txt",
            "--yes",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let w = e.api.writes();
    assert_eq!(
        w.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["POST", "DELETE"]
    );
    let b = w[0].json();
    assert_eq!(b["scope"], "vso.packaging_write vso.code");
    assert_eq!(b["allOrgs"], true);
    assert_eq!(b["displayName"], "deploy");
    assert_eq!(w[1].query["authorizationId"], old);
    let new = e
        .api
        .by_name("deploy")
        .into_iter()
        .find(|p| !p.revoked)
        .unwrap();
    assert_ne!(new.pat["authorizationId"], old.as_str());
    let file = e.dir.path().join("new.txt");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), new.token);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(e.api.stored(&old).unwrap().revoked);
    assert!(
        out.stdout.contains("old PAT") && out.stdout.contains("revoked"),
        "{}",
        out.stdout
    );
    let acts = e.actions();
    assert_eq!(
        acts,
        [
            (
                "Token.PatLifecycleDryRun".to_string(),
                "dry_run".to_string()
            ),
            ("Token.PatCreated".to_string(), "created".to_string()),
            ("Token.PatRevokePlanned".to_string(), "planned".to_string()),
            ("Token.PatRevokeEvent".to_string(), "revoked".to_string()),
            ("Token.PatRotated".to_string(), "rotated".to_string()),
        ]
    );
    assert_well_formed(&e);
}

#[test]
fn rotate_with_a_failure_between_create_and_revoke_leaves_a_working_token_and_says_so() {
    let e = setup();
    let old = e.api.add("deploy", "vso.code", &days_from_now(4), false);
    e.api.fault(fault("DELETE", PATH, 500, 1));
    let out = e.pats(
        "rotate",
        &[
            "--name",
            "deploy",
            "--days",
            "30",
            "--output-file",
            "new.txt",
            "--yes",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let w = e.api.writes();
    assert_eq!(
        w.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["POST", "DELETE"],
        "a write is sent once"
    );
    let new = e
        .api
        .by_name("deploy")
        .into_iter()
        .find(|p| p.pat["authorizationId"] != old.as_str())
        .unwrap();
    let new_id = new.pat["authorizationId"].as_str().unwrap().to_string();
    assert!(!new.revoked && !e.api.stored(&old).unwrap().revoked);
    assert_eq!(
        std::fs::read_to_string(e.dir.path().join("new.txt"))
            .unwrap()
            .trim(),
        new.token
    );
    assert!(
        out.stderr
            .contains("rotation incomplete: revoking the old PAT"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("the replacement PAT \"deploy\" ({new_id}")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("written to new.txt"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "revoke it with `patrol pats revoke --org {ORG} --id {old} --yes`"
        )),
        "{}",
        out.stderr
    );
    let last = e.audit().last().cloned().unwrap();
    assert_eq!(last["actionId"], "Token.PatRotated");
    assert_eq!(last["data"]["state"], "revoke_failed");
    assert_eq!(last["data"]["newAuthorizationId"], new_id.as_str());

    // The suggested command finishes the job.
    let out = e.pats("revoke", &["--id", &old, "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(e.api.stored(&old).unwrap().revoked);
}

#[test]
fn rotate_that_cannot_create_or_write_the_replacement_never_revokes_the_old_pat() {
    let e = setup();
    let old = e.api.add("deploy", "vso.code", &days_from_now(4), false);
    e.api.fault(fault("POST", PATH, 500, 1));
    let out = e.pats(
        "rotate",
        &[
            "--name",
            "deploy",
            "--days",
            "30",
            "--output-file",
            "new.txt",
            "--yes",
        ],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("creating the replacement failed"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was revoked"), "{}", out.stderr);
    assert_eq!(e.api.writes().len(), 1);

    let out = e.pats(
        "rotate",
        &[
            "--name",
            "deploy",
            "--days",
            "30",
            "--output-file",
            "no/such/dir/new.txt",
            "--yes",
        ],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("was created but its token could not write"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("was NOT revoked and still works"),
        "{}",
        out.stderr
    );
    assert!(e.api.writes().iter().all(|r| r.method == "POST"));
    assert!(!e.api.stored(&old).unwrap().revoked);
    assert_eq!(e.audit().last().unwrap()["data"]["state"], "write_failed");
}

#[test]
fn credentials_are_explained_before_or_after_the_service_refuses() {
    let e = setup();
    e.api.add("ci", "vso.code", &days_from_now(10), false);
    let pat = crate::util::fake("azure_devops.pat_legacy", 31);
    // Only a PAT: explained, nothing sent.
    let out = e.pats_env("list", &[], &[("AZURE_DEVOPS_EXT_PAT", &pat)]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("only AZURE_DEVOPS_EXT_PAT is set"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&pat));
    // A PAT in the Entra variable: malformed, nothing sent.
    let out = e.pats_env("list", &[], &[("AZURE_DEVOPS_ACCESS_TOKEN", &pat)]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("looks like a PAT"), "{}", out.stderr);
    // Expired: refused before sending.
    let old = entra_jwt(serde_json::json!({"upn": "a@b", "exp": 1_600_000_000}));
    let out = e.pats_env("list", &[], &[("AZURE_DEVOPS_ACCESS_TOKEN", &old)]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("expired at 2020-09-13"),
        "{}",
        out.stderr
    );
    assert!(e.api.log().is_empty());
    // A service principal: 203 sign-in page, explained.
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    let sp = entra_jwt(serde_json::json!({"idtyp": "app", "appid": "x", "exp": exp}));
    e.api.state.lock().unwrap().sp_bearer = sp.clone();
    let out = e.pats_env("list", &[], &[("AZURE_DEVOPS_ACCESS_TOKEN", &sp)]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("HTTP 203") && out.stderr.contains("service principal"),
        "{}",
        out.stderr
    );
    // 403 InvalidAccessException and 404 (a server without the API): explained.
    e.api.fault(fault("GET", PATH, 403, 1));
    let out = e.pats("list", &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("InvalidAccessException: the PAT Lifecycle Management API"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("never a PAT"), "{}", out.stderr);
    e.api.fault(fault("GET", PATH, 404, 1));
    let out = e.pats("list", &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            "(_apis/tokens/pats) is not available here: this Azure DevOps Server version"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn az_cli_supplies_the_token_through_stdout_not_argv() {
    let e = setup();
    e.api.add("ci", "vso.code", &days_from_now(10), false);
    let bin = e.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let args_file = e.dir.path().join("az-args");
    let script = format!(
        "#!/bin/sh\necho \"$@\" > {}\necho '{}'\n",
        args_file.display(),
        e.bearer
    );
    let az = bin.join("az");
    std::fs::write(&az, script).unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = e.pats_env("list", &["--az-cli"], &[("PATH", &path)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\"ci\""));
    assert_eq!(
        std::fs::read_to_string(&args_file).unwrap().trim(),
        "account get-access-token --resource 499b84ac-1321-427f-aa17-267ca6975798 --query accessToken --output tsv"
    );
    assert_well_formed(&e);
    // Without az on PATH: said so.
    let out = e.pats_env("list", &["--az-cli"], &[("PATH", "/nonexistent")]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("the Azure CLI (`az`) is not installed"),
        "{}",
        out.stderr
    );
}

/// Azure DevOps Server: a collection without the tokenadmin API answers 404; with --api-base
/// the error says that the API may not exist on that server version, naming it.
#[test]
fn a_tokenadmin_404_on_a_server_collection_names_the_missing_api() {
    let admin = crate::util::fake("azure_devops.pat_legacy", 77);
    let api = crate::mock_api::MockApi::start(&admin);
    api.add_user("bob@fabrikam.com", "aad.Ym9i", vec![]);
    api.fault(fault("GET", "/personalaccesstokens/aad.Ym9i", 404, 1));
    let dir = TestDir::new();
    let out = run_patrol_env(
        dir.path(),
        &[
            "ado",
            "pats",
            "--org",
            ORG,
            "--api-base",
            &api.base,
            "--user",
            "bob@fabrikam.com",
        ],
        None,
        &[("AZURE_DEVOPS_EXT_PAT", &admin)],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("the Token Administration API, _apis/tokenadmin, is not available on this server version"), "{}", out.stderr);
    assert!(!out.stderr.contains(&admin));
}

/// Regression test for #26 (item 7): an Entra access token that is not a three-part JWT was
/// refused before any request, but access tokens are opaque to clients (an encrypted one has
/// five parts). It is sent as it is; only what is recognisably a PAT is refused; and a 401 on
/// a token whose claims could not be read says so.
#[test]
fn an_opaque_or_encrypted_entra_token_is_sent_and_its_rejection_explained() {
    // Five dot-separated parts, as a JWE: nothing in it is readable without the key.
    let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";
    let dir = TestDir::new();
    let e = Env {
        api: PatsApi::start(jwe),
        bearer: jwe.to_string(),
        audit: dir.path().join("audit.jsonl"),
        dir,
    };
    e.api.add("ci", "vso.code", &days_from_now(10), false);
    let out = e.pats("list", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("ci"), "{}", out.stdout);
    assert!(!e.api.log().is_empty());
    assert_well_formed(&e);
    // An opaque token the service does not accept: sent, and the 401 explained.
    let opaque = "EwBwA8l6BAAUO9chh8cJscQLmU.LSWpbnr0vmwwAAQ";
    let before = e.api.log().len();
    let out = e.pats_env("list", &[], &[("AZURE_DEVOPS_ACCESS_TOKEN", opaque)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(e.api.log().len(), before + 1);
    assert!(
        out.stderr.contains("HTTP 401") && out.stderr.contains("claims could not be read"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(opaque), "{}", out.stderr);
    // What is recognisably a PAT (either format) is still refused before sending.
    for pat in [
        crate::util::fake("azure_devops.pat", 3),
        crate::util::fake("azure_devops.pat_legacy", 3),
    ] {
        let out = e.pats_env("list", &[], &[("AZURE_DEVOPS_ACCESS_TOKEN", &pat)]);
        assert_eq!(out.code, 2);
        assert!(out.stderr.contains("looks like a PAT"), "{}", out.stderr);
        assert!(!out.stderr.contains(&pat));
    }
    assert_eq!(e.api.log().len(), before + 1);
}
