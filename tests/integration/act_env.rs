//! Shared set-up of the acting tests (`mock_api` is the loopback server): an [`Env`] with the
//! admin credential and an audit log, two users with PATs, a leaked Azure DevOps PAT matched
//! by C3ID, and the commands run against them. Every run checks that no token (leaked or
//! admin) appears in stdout, stderr or the audit log.
#![allow(dead_code)]

use std::path::PathBuf;

use base64::Engine as _;
use patrol::finding::{ChecksumStatus, Finding, Fingerprint, Secret};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::mock_api::{pat, MockApi};
use crate::util::{fake, jsonl, run_patrol_env, Output, TestDir};

pub const ORG: &str = "fabrikam";

pub struct Env {
    pub api: MockApi,
    pub admin: String,
    pub dir: TestDir,
    pub audit: PathBuf,
}

pub fn setup() -> Env {
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
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut env = vec![("AZURE_DEVOPS_EXT_PAT", self.admin.as_str())];
        env.extend_from_slice(extra);
        let out = run_patrol_env(self.dir.path(), args, None, &env);
        self.assert_no_secret(&out, &[]);
        out
    }

    pub fn ado(&self, sub: &str, rest: &[&str]) -> Output {
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

    pub fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .map(|t| jsonl(&t))
            .unwrap_or_default()
    }

    /// The admin PAT and `leaked` never appear in output or the audit log.
    pub fn assert_no_secret(&self, out: &Output, leaked: &[&str]) {
        let audit = std::fs::read_to_string(&self.audit).unwrap_or_default();
        for s in leaked.iter().copied().chain([self.admin.as_str()]) {
            assert!(!out.stdout.contains(s), "secret in stdout:\n{}", out.stdout);
            assert!(!out.stderr.contains(s), "secret in stderr:\n{}", out.stderr);
            assert!(!audit.contains(s), "secret in audit log");
        }
    }
}

/// Two users; alice has five PATs (three pages of two), bob one.
pub fn two_users(api: &MockApi) {
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

// ------------------------------------------------------------ the leaked-token flow

/// C3ID definition 1, written again here as an independent check of patrol's.
pub fn c3id_one(t: &str) -> String {
    let inner: String = Sha256::digest(t.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let h = Sha256::digest(format!("CrossMicrosoftCorrelatingId:{inner}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&h[..15])
}

/// C3ID definition 2.
pub fn c3id_two(t: &str) -> String {
    let mut v = b"C3ID".to_vec();
    v.extend_from_slice(&Sha256::digest(t.as_bytes()));
    format!(
        "C3ID{}",
        base64::engine::general_purpose::STANDARD.encode(&Sha256::digest(&v)[..12])
    )
}

/// A leaked ADO PAT in the tree, owned by alice, whose PAT list holds it under `c3id`.
pub fn leaked_setup(seed: u64, c3id: impl Fn(&str) -> String) -> (Env, String) {
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

pub fn scan_revoke(e: &Env, leaked: &str, yes: bool) -> Output {
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

pub fn github_finding(seed: u64) -> Finding {
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

/// The index of the `Token.PatRevokePlanned` entry of `provider` and of the first write
/// outcome (`Token.PatRevokeEvent`) of that provider, asserting the plan comes first; returns
/// the plan entry.
pub fn planned_before_first_write(audit: &[Value], provider: &str) -> Value {
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
pub fn write_report(e: &Env, name: &str, show: bool) -> String {
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

pub fn act_from(e: &Env, report: &str, leaked: &str, extra: &[&str]) -> Output {
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
