//! What a finding holds survives the datastore: `patrol sweep` of a repository into a
//! datastore and `patrol report` out of it give the same findings, field by field, as
//! `patrol scan` of that repository, on SQLite and on PostgreSQL (the library's unit test
//! `sweep::scan::tests::scan_then_store_then_report_equals_scan_then_report` checks the same
//! on SQLite from inside, with a path that is not UTF-8).

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::Value;

use crate::git_repo::GitRepoBuilder;
use crate::util::{fake, run_patrol_env, TestDir};

/// A history with a plain token, the same secret at two paths, a token inside a base64
/// Basic-auth value, and one in a commit message.
fn repository() -> GitRepoBuilder {
    let g = GitRepoBuilder::new();
    let (a, b, c) = (
        fake("github.pat_classic", 901),
        fake("azure_devops.pat", 902),
        fake("npm.token", 903),
    );
    g.commit_files("ci", &[("ci/deploy.sh", &format!("export GH={a}\n"))]);
    g.commit_files("copy", &[("tools/again.sh", &format!("token={a}\n"))]);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("build:{b}"));
    g.commit_files(
        "auth",
        &[(
            "k8s/secret.yaml",
            &format!("Authorization: Basic {basic}\n"),
        )],
    );
    g.commit_files(&format!("rotate {c}"), &[("README.md", "docs\n")]);
    g
}

/// A finding as a comparable value: every field of the finding and of each location that
/// both reports carry (the report adds `repository`, which a scan of one path leaves out).
fn fields(findings: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in findings.as_array().expect("a JSON array") {
        let mut locations: Vec<String> = f["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let mut l = l.clone();
                l.as_object_mut().unwrap().remove("repository");
                l.to_string()
            })
            .collect();
        locations.sort();
        let mut f = f.clone();
        let o = f.as_object_mut().unwrap();
        o.remove("locations");
        o.remove("verification");
        out.insert(format!("{f} {locations:?}"));
    }
    out
}

fn round_trip(datastore: &str) {
    let g = repository();
    let bare = g.bare_clone();
    let repo = bare.path().join("r.git");
    let d = TestDir::new();
    let scanned = run_patrol_env(
        d.path(),
        &[
            "scan",
            repo.to_str().unwrap(),
            "--format",
            "json",
            "--show-secrets",
            "--no-progress",
        ],
        None,
        &[],
    );
    assert_eq!(scanned.code, 1, "{}", scanned.stderr);
    let want = fields(&serde_json::from_str(&scanned.stdout).unwrap());
    assert_eq!(want.len(), 3, "three secrets: {want:#?}");
    assert!(want.iter().any(|f| f.contains("base64")), "{want:#?}");
    assert!(
        want.iter().any(|f| f.contains("<commit message>")),
        "{want:#?}"
    );

    let list = d.write("list.txt", format!("{}\n", repo.display()));
    let swept = run_patrol_env(
        d.path(),
        &[
            "sweep",
            "urls",
            list.to_str().unwrap(),
            "--datastore",
            datastore,
            "--store-secrets",
            "--no-progress",
        ],
        None,
        &[],
    );
    assert_eq!(swept.code, 1, "{}", swept.stderr);
    let report = run_patrol_env(
        d.path(),
        &[
            "report",
            "--datastore",
            datastore,
            "--format",
            "json",
            "--show-secrets",
        ],
        None,
        &[],
    );
    assert_eq!(report.code, 1, "{}", report.stderr);
    let got = fields(&serde_json::from_str(&report.stdout).unwrap());
    assert_eq!(got, want, "{datastore}");
}

pub fn scan_then_store_then_report_equals_scan_then_report_on_sqlite() {
    let d = TestDir::new();
    round_trip(d.path().join("s.db").to_str().unwrap());
}

pub fn scan_then_store_then_report_equals_scan_then_report_on_postgres() {
    round_trip(&crate::store_contract::pg_database("round_trip"));
}
