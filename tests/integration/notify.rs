//! `--notify` / `--notify-webhook` on `ado pats --expiring-within` (the expiry report) and
//! `ado revoke --yes`, against `mock_api` and the loopback receivers in `notify_servers`:
//! recipient, subject and body of each message, rejected senders and recipients, 4xx/5xx and
//! hanging webhooks, owners without an e-mail address, the audit entries, and that no token
//! is in any message.

use serde_json::Value;

use crate::mock_api::{pat, MockApi};
use crate::notify_servers::{Reply, SmtpServer, Webhook, HOOK_PATH};
use crate::pats_api::days_from_now;
use crate::util::{fake, jsonl, run_patrol_env, Output, TestDir};

const ORG: &str = "fabrikam";

struct Env {
    api: MockApi,
    admin: String,
    dir: TestDir,
}

fn setup() -> Env {
    let admin = fake("azure_devops.pat_legacy", 4242);
    let api = MockApi::start(&admin);
    let from = days_from_now(-30);
    api.add_user(
        "alice@fabrikam.com",
        "aad.alice",
        vec![
            pat(
                "a1000000-0000-0000-0000-000000000001",
                "ci",
                &from,
                &days_from_now(3),
            ),
            pat(
                "a1000000-0000-0000-0000-000000000002",
                "old",
                &from,
                &days_from_now(100),
            ),
        ],
    );
    api.add_user(
        "bob@fabrikam.com",
        "aad.bob",
        vec![pat(
            "b1000000-0000-0000-0000-000000000001",
            "deploy",
            &from,
            &days_from_now(5),
        )],
    );
    let mut revoked = pat(
        "b1000000-0000-0000-0000-000000000009",
        "gone",
        &from,
        &days_from_now(4),
    );
    revoked["isValid"] = false.into();
    api.state
        .lock()
        .unwrap()
        .pats
        .get_mut("aad.bob")
        .unwrap()
        .push(revoked);
    api.add_user(
        "svc-build",
        "aad.svc",
        vec![pat(
            "c1000000-0000-0000-0000-000000000001",
            "bot",
            &from,
            &days_from_now(2),
        )],
    );
    Env {
        api,
        admin,
        dir: TestDir::new(),
    }
}

impl Env {
    fn audit_path(&self) -> String {
        self.dir
            .path()
            .join("audit.jsonl")
            .to_str()
            .unwrap()
            .to_string()
    }

    fn ado(&self, sub: &str, rest: &[&str], env: &[(&str, &str)]) -> Output {
        let audit = self.audit_path();
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
        let mut e = vec![
            ("AZURE_DEVOPS_EXT_PAT", self.admin.as_str()),
            ("PATROL_NOTIFY_INTERVAL_MS", "1"),
            ("PATROL_NOTIFY_RETRY_MS", "1"),
        ];
        e.extend_from_slice(env);
        let out = run_patrol_env(self.dir.path(), &args, None, &e);
        let audit = std::fs::read_to_string(self.audit_path()).unwrap_or_default();
        for s in [&out.stdout, &out.stderr, &audit] {
            assert!(!s.contains(&self.admin), "admin PAT leaked:\n{s}");
        }
        out
    }

    fn notified(&self) -> Vec<Value> {
        std::fs::read_to_string(self.audit_path())
            .map(|t| jsonl(&t))
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["actionId"] == "Patrol.OwnerNotified")
            .collect()
    }
}

fn outcome_of(n: &[Value], owner: &str) -> Vec<String> {
    n.iter()
        .filter(|e| e["data"]["owner"] == owner)
        .map(|e| e["data"]["outcome"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn expiry_report_mails_each_owner_and_the_admin_and_reports_the_rest() {
    let e = setup();
    let smtp = SmtpServer::start();
    smtp.state
        .lock()
        .unwrap()
        .reject_recipients
        .push("bob@fabrikam.com".into());
    let url = smtp.url();
    let out = e.ado(
        "pats",
        &[
            "--all-users",
            "--expiring-within",
            "7",
            "--notify",
            &url,
            "--notify-from",
            "patrol@fabrikam.com",
            "--notify-admin",
            "admin@fabrikam.com",
            "--yes",
        ],
        &[],
    );
    assert_eq!(
        out.code, 2,
        "bob was refused and svc-build has no address:\n{}",
        out.stderr
    );
    assert!(
        out.stdout.ends_with("4 PAT(s)\n"),
        "the report is still on stdout:\n{}",
        out.stdout
    );

    let alice = smtp
        .mail_to("alice@fabrikam.com")
        .expect("alice was mailed");
    assert_eq!(alice.from, "patrol@fabrikam.com");
    assert_eq!(
        alice.subject(),
        "1 Azure DevOps PAT(s) in fabrikam expire within 7 day(s)"
    );
    let body = alice.body();
    assert!(
        body.contains("\"ci\" (authorization id a1000000-0000-0000-0000-000000000001)"),
        "{body}"
    );
    assert!(
        !body.contains("\"old\""),
        "a PAT not expiring soon is not listed:\n{body}"
    );
    assert!(
        body.contains("patrol pats renew --org fabrikam --name NAME --days 90"),
        "{body}"
    );
    assert!(alice.header("To").unwrap().contains("<alice@fabrikam.com>"));

    let admin = smtp.mail_to("admin@fabrikam.com").expect("the summary");
    assert!(admin
        .subject()
        .starts_with("PAT expiry report for fabrikam: 3 PAT(s)"));
    let sb = admin.body();
    for want in [
        "alice@fabrikam.com",
        "bob@fabrikam.com",
        "svc-build  (no e-mail address",
        "\"deploy\"",
        "\"bot\"",
    ] {
        assert!(sb.contains(want), "{want} in\n{sb}");
    }
    assert!(
        !sb.contains("\"gone\""),
        "a revoked PAT is in the report, not in the messages"
    );
    assert_eq!(smtp.mails().len(), 2);
    for m in smtp.mails() {
        assert!(!m.data.contains(&e.admin) && !m.body().contains(&e.admin));
    }
    let rcpt_bob = smtp
        .state
        .lock()
        .unwrap()
        .commands
        .iter()
        .filter(|c| c.contains("RCPT TO:<bob@fabrikam.com>"))
        .count();
    assert_eq!(rcpt_bob, 1, "a permanent refusal (550) is not retried");
    assert!(
        out.stderr
            .contains("could not notify bob@fabrikam.com via smtp://127.0.0.1"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("no such user"), "{}", out.stderr);
    assert!(
        out.stderr.contains("svc-build has no e-mail address"),
        "{}",
        out.stderr
    );

    let n = e.notified();
    assert_eq!(outcome_of(&n, "alice@fabrikam.com"), ["sent"]);
    assert_eq!(outcome_of(&n, "bob@fabrikam.com"), ["failed"]);
    assert_eq!(outcome_of(&n, "svc-build"), ["no_address"]);
    assert_eq!(outcome_of(&n, "admin@fabrikam.com"), ["sent"]);
    assert_eq!(n[0]["data"]["kind"], "expiry");
}

#[test]
fn without_yes_the_messages_are_printed_and_nothing_is_sent() {
    let e = setup();
    let smtp = SmtpServer::start();
    let hook = Webhook::start(vec![]);
    let url = smtp.url();
    let out = e.ado(
        "pats",
        &[
            "--all-users",
            "--expiring-within",
            "7",
            "--notify",
            &url,
            "--notify-from",
            "patrol@fabrikam.com",
            "--notify-webhook",
            &hook.url,
        ],
        &[],
    );
    assert_eq!(out.code, 0, "a dry run: {}", out.stderr);
    assert_eq!(smtp.state.lock().unwrap().connections, 0);
    assert!(hook.posts().is_empty());
    assert!(
        out.stderr
            .contains("dry run (add --yes to send): 4 message(s)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("To: alice@fabrikam.com <alice@fabrikam.com>\nSubject: 1 Azure DevOps PAT(s) in fabrikam expire within 7 day(s)"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("k3yk3y"),
        "the webhook key is not printed"
    );
    let n = e.notified();
    assert_eq!(outcome_of(&n, "alice@fabrikam.com"), ["dry_run", "dry_run"]);
    assert_eq!(
        outcome_of(&n, "svc-build"),
        ["no_address", "dry_run"],
        "e-mail cannot reach it; the webhook could"
    );
}

#[test]
fn a_rejected_sender_fails_every_message_and_each_is_reported() {
    let e = setup();
    let smtp = SmtpServer::start();
    smtp.state
        .lock()
        .unwrap()
        .reject_senders
        .push("patrol@fabrikam.com".into());
    let url = smtp.url();
    let out = e.ado(
        "pats",
        &[
            "--user",
            "alice@fabrikam.com",
            "--user",
            "bob@fabrikam.com",
            "--expiring-within",
            "7",
            "--notify",
            &url,
            "--notify-from",
            "patrol@fabrikam.com",
            "--yes",
        ],
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(smtp.mails().is_empty());
    for who in [
        "alice@fabrikam.com",
        "bob@fabrikam.com",
        "patrol@fabrikam.com",
    ] {
        assert!(
            out.stderr.contains(&format!("could not notify {who}")),
            "{who}: {}",
            out.stderr
        );
    }
    assert!(
        out.stderr.contains("sender <patrol@fabrikam.com> rejected"),
        "{}",
        out.stderr
    );
}

#[test]
fn revoke_yes_tells_each_user_what_was_revoked_and_why_retrying_a_5xx_once() {
    let e = setup();
    let hook = Webhook::start(vec![
        Reply::Status(500),
        Reply::Status(200),
        Reply::Status(400),
    ]);
    let out = e.ado(
        "revoke",
        &[
            "--user",
            "alice@fabrikam.com",
            "--user",
            "bob@fabrikam.com",
            "--yes",
            "--reason",
            "leaked in a build log",
            "--notify-webhook",
            &hook.url,
        ],
        &[],
    );
    assert_eq!(out.code, 2, "bob's webhook post got a 400:\n{}", out.stderr);
    assert_eq!(
        e.api.revoked_ids().len(),
        3,
        "revocation itself went through"
    );
    let posts = hook.posts();
    assert_eq!(
        posts.len(),
        3,
        "alice: 500 then 200 (one retry); bob: 400, not retried"
    );
    for (path, ctype, _) in &posts {
        assert_eq!(path, HOOK_PATH);
        assert_eq!(ctype, "application/json");
    }
    let alice = posts[0].2["text"].as_str().unwrap();
    assert_eq!(posts[0].2, posts[1].2, "the retry is the same message");
    assert!(
        alice.contains("For: alice@fabrikam.com <alice@fabrikam.com>"),
        "{alice}"
    );
    assert!(
        alice.contains(
            "revoked 2 of your Azure DevOps personal access tokens in organization fabrikam"
        ),
        "{alice}"
    );
    assert!(
        alice.contains("\"ci\"") && alice.contains("\"old\""),
        "{alice}"
    );
    assert!(alice.contains("Why: leaked in a build log"), "{alice}");
    assert_eq!(
        posts[0].2["title"],
        "2 of your Azure DevOps PAT(s) in fabrikam were revoked"
    );
    assert!(posts[2].2["text"].as_str().unwrap().contains("\"deploy\""));
    assert!(
        out.stderr
            .contains("notified alice@fabrikam.com via webhook http://127.0.0.1"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("could not notify bob@fabrikam.com via webhook")
            && out.stderr.contains("HTTP 400"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("k3yk3y"),
        "errors name the origin only:\n{}",
        out.stderr
    );
    let n = e.notified();
    assert_eq!(n[0]["data"]["attempts"], 2);
    assert_eq!(outcome_of(&n, "bob@fabrikam.com"), ["failed"]);
    assert_eq!(n[0]["data"]["kind"], "revoked");
}

#[test]
fn a_hanging_webhook_times_out_is_retried_once_and_the_run_exits_2() {
    let e = setup();
    let hang = Reply::Hang(std::time::Duration::from_secs(3));
    let hook = Webhook::start(vec![hang.clone(), hang]);
    let out = e.ado(
        "revoke",
        &["--user", "bob@fabrikam.com", "--yes"],
        // The webhook from the environment, out of argv.
        &[
            ("PATROL_HTTP_TIMEOUT_MS", "300"),
            ("PATROL_NOTIFY_WEBHOOK", &hook.url),
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        e.api.revoked_ids(),
        ["b1000000-0000-0000-0000-000000000001"]
    );
    assert_eq!(hook.posts().len(), 2);
    assert!(
        out.stderr.contains("timed out") && out.stderr.contains("after one retry"),
        "{}",
        out.stderr
    );
    assert!(
        hook.posts()[0].2["text"]
            .as_str()
            .unwrap()
            .contains("Why: they matched")
            || hook.posts()[0].2["text"]
                .as_str()
                .unwrap()
                .contains("Why: the administrator revoked all")
    );
}

#[test]
fn plain_text_channels_to_remote_hosts_and_bad_flags_are_refused_before_anything_is_sent() {
    let e = setup();
    for (args, want) in [
        (
            vec!["--notify-webhook", "http://10.1.2.3/hook"],
            "plain http is allowed only to a literal loopback address",
        ),
        (
            vec!["--notify", "smtp://127.0.0.1:2525"],
            "--notify needs --notify-from",
        ),
        (
            vec![
                "--notify",
                "smtp://u:pw@127.0.0.1:2525",
                "--notify-from",
                "p@fabrikam.com",
            ],
            "PATROL_SMTP_USERNAME",
        ),
        (
            vec![
                "--notify",
                "ftp://127.0.0.1",
                "--notify-from",
                "p@fabrikam.com",
            ],
            "unsupported scheme",
        ),
    ] {
        let mut a = vec!["--user", "bob@fabrikam.com", "--yes"];
        a.extend(args);
        let out = e.ado("revoke", &a, &[]);
        assert_eq!(out.code, 2, "{a:?}");
        assert!(out.stderr.contains(want), "{a:?}: {}", out.stderr);
    }
    let out = e.ado(
        "pats",
        &[
            "--user",
            "bob@fabrikam.com",
            "--notify-webhook",
            "http://127.0.0.1:9/x",
        ],
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("add --expiring-within DAYS"),
        "{}",
        out.stderr
    );
    let out = e.ado(
        "revoke",
        &[
            "--user",
            "bob@fabrikam.com",
            "--notify",
            "smtp://127.0.0.1:9",
            "--notify-from",
            "p@fabrikam.com",
        ],
        &[("PATROL_SMTP_USERNAME", "u")],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("both PATROL_SMTP_USERNAME and PATROL_SMTP_PASSWORD"),
        "{}",
        out.stderr
    );
    assert!(e.api.log().is_empty(), "nothing was sent");
}

/// A leaked, live ADO PAT of alice (matched by C3ID) and a live GitHub token of `octocat` (a
/// login, no e-mail address) in `app/`.
fn leaked(e: &Env) -> (String, String) {
    let tok = fake("azure_devops.pat", 515);
    let gh = fake("github.pat_classic", 516);
    let mut hit = pat(
        "d0000000-0000-0000-0000-000000000001",
        "pipeline",
        &days_from_now(-9),
        &days_from_now(90),
    );
    hit["crossCompanyCorrelatingId"] = patrol::provider::c3id::c3id_v1(&tok).into();
    e.api
        .add_user("carol@fabrikam.com", "aad.Y2Fyb2w", vec![hit]);
    {
        let mut st = e.api.state.lock().unwrap();
        st.live_ado.insert(tok.clone(), "carol@fabrikam.com".into());
        st.live_github.insert(gh.clone(), "octocat".into());
    }
    e.dir.write("app/settings.env", format!("ADO_PAT={tok}\n"));
    e.dir.write("app/ci.yml", format!("gh: {gh}\n"));
    (tok, gh)
}

fn scan(e: &Env, smtp: &SmtpServer, extra: &[&str]) -> Output {
    let audit = e.audit_path();
    let gh_api = format!("{}/gh", e.api.base);
    let url = smtp.url();
    let mut args = vec![
        "scan",
        "app",
        "--history",
        "none",
        "--format",
        "json",
        "--verify",
        "--ado-org",
        ORG,
        "--api-base",
        &e.api.base,
        "--github-api",
        &gh_api,
        "--audit-log",
        &audit,
        "--notify",
        &url,
        "--notify-from",
        "secops@fabrikam.com",
    ];
    args.extend_from_slice(extra);
    let env = [
        ("AZURE_DEVOPS_EXT_PAT", e.admin.as_str()),
        ("PATROL_NOTIFY_INTERVAL_MS", "1"),
        ("PATROL_NOTIFY_RETRY_MS", "1"),
    ];
    run_patrol_env(e.dir.path(), &args, None, &env)
}

#[test]
fn scan_verify_revoke_yes_tells_each_owner_what_leaked_where_and_that_it_was_revoked() {
    let e = setup();
    let (tok, gh) = leaked(&e);
    let smtp = SmtpServer::start();
    let out = scan(&e, &smtp, &["--revoke", "--yes"]);
    assert_eq!(
        out.code, 2,
        "octocat has no e-mail address:\n{}",
        out.stderr
    );
    assert!(e
        .api
        .revoked_ids()
        .contains(&"d0000000-0000-0000-0000-000000000001".to_string()));
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "only carol has an address");
    let m = &mails[0];
    assert_eq!(m.to, ["carol@fabrikam.com"]);
    assert_eq!(
        m.subject(),
        "1 leaked token(s) of yours were found (no longer working)"
    );
    let body = m.body();
    let report: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let ado = report
        .iter()
        .find(|f| f["rule"] == "azure_devops.pat")
        .unwrap();
    for want in [
        "Azure DevOps personal access token (azure_devops.pat)".to_string(),
        format!("fingerprint: {}", ado["fingerprint"].as_str().unwrap()),
        format!("value: {} (redacted)", ado["secret"].as_str().unwrap()),
        "where: app/settings.env:1".to_string(),
        "state: REVOKED by this run".to_string(),
        format!("repository: {}", e.dir.path().join("app").display()),
    ] {
        assert!(body.contains(&want), "{want} in\n{body}");
    }
    for s in [&tok, &gh, &e.admin] {
        assert!(
            !m.data.contains(s.as_str()) && !body.contains(s.as_str()),
            "a token in the mail"
        );
        assert!(!out.stderr.contains(s.as_str()) && !out.stdout.contains(s.as_str()));
    }
    assert!(
        out.stderr.contains("octocat has no e-mail address"),
        "{}",
        out.stderr
    );
    let n = e.notified();
    assert_eq!(outcome_of(&n, "carol@fabrikam.com"), ["sent"]);
    assert_eq!(outcome_of(&n, "octocat"), ["no_address"]);
    assert_eq!(n[0]["data"]["kind"], "leak");
}

#[test]
fn scan_verify_yes_without_revoke_sends_the_messages_and_revokes_nothing() {
    let e = setup();
    let (tok, _) = leaked(&e);
    let smtp = SmtpServer::start();
    let out = scan(&e, &smtp, &["--yes"]);
    assert!(e.api.writes().is_empty(), "nothing revoked");
    let m = smtp.mail_to("carol@fabrikam.com").expect("carol told");
    assert_eq!(
        m.subject(),
        "Action needed: 1 leaked token(s) of yours still work"
    );
    let body = m.body();
    assert!(
        body.contains("state: STILL LIVE: it was not revoked"),
        "{body}"
    );
    assert!(
        body.contains(
            "how to rotate: create a replacement and revoke this one: `patrol pats rotate"
        ),
        "{body}"
    );
    assert!(!m.data.contains(&tok));
    assert_eq!(out.code, 2, "octocat unaddressed: {}", out.stderr);

    // Without --yes: printed, not sent; and --notify needs --verify.
    let before = smtp.state.lock().unwrap().connections;
    let out = scan(&e, &smtp, &[]);
    assert_eq!(smtp.state.lock().unwrap().connections, before);
    assert!(
        out.stderr
            .contains("dry run (add --yes to send): 2 message(s)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&tok));
    let out = run_patrol_env(
        e.dir.path(),
        &["scan", "app", "--notify-webhook", "http://127.0.0.1:9/x"],
        None,
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("add --verify"), "{}", out.stderr);
    // The webhook variable alone does not change a plain scan.
    let out = run_patrol_env(
        e.dir.path(),
        &["scan", "app", "--history", "none"],
        None,
        &[("PATROL_NOTIFY_WEBHOOK", "http://10.9.9.9/x")],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
}

/// `smtp://` to a host name (even `localhost`) must upgrade with STARTTLS: a server that does not
/// offer it never sees a sender, a recipient or a message.
#[test]
fn smtp_to_a_name_refuses_to_send_in_plain_text() {
    let e = setup();
    let smtp = SmtpServer::start();
    let url = format!("smtp://localhost:{}", smtp.port);
    let out = e.ado(
        "revoke",
        &[
            "--user",
            "bob@fabrikam.com",
            "--yes",
            "--notify",
            &url,
            "--notify-from",
            "patrol@fabrikam.com",
        ],
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("could not notify bob@fabrikam.com via smtp://localhost"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("(STARTTLS)"), "{}", out.stderr);
    let cmds = smtp.state.lock().unwrap().commands.clone();
    assert!(
        cmds.iter().any(|c| c.starts_with("EHLO")),
        "it connected and stopped after EHLO: {cmds:?}"
    );
    assert!(
        cmds.iter()
            .all(|c| !c.starts_with("MAIL") && !c.starts_with("RCPT") && c != "DATA"),
        "{cmds:?}"
    );
    assert!(smtp.mails().is_empty());
}
