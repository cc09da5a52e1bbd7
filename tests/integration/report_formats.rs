//! The formats made for other programs and for people outside a terminal: what SARIF
//! consumers require beyond the schema, and `--format html|markdown`.

use crate::util::{fake, run_patrol_env, TestDir};

/// A tree with two secrets of two providers, one of them in two files.
fn tree() -> TestDir {
    let t = TestDir::new();
    let pat = fake("azure_devops.pat", 7);
    t.write("app/settings.json", format!("{{\"pat\": \"{pat}\"}}\n"));
    t.write(
        "deploy/ci.sh",
        format!("export AZURE_DEVOPS_EXT_PAT={pat}\n"),
    );
    t.write(
        ".env",
        format!("GITHUB_TOKEN={}\n", fake("github.pat_classic", 8)),
    );
    t
}

const SCAN: &[&str] = &["scan", ".", "--history", "none", "--no-progress"];

fn scan(t: &TestDir, format: &str, env: &[(&str, &str)]) -> crate::util::Output {
    let mut args = SCAN.to_vec();
    args.extend(["--format", format]);
    run_patrol_env(t.path(), &args, None, env)
}

#[test]
fn sarif_driver_and_automation_details_satisfy_advanced_security_for_azure_devops() {
    let t = tree();
    let o = scan(&t, "sarif", &[]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let driver = &doc["runs"][0]["tool"]["driver"];
    assert_eq!(
        driver["fullName"],
        format!("patrol {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(driver["informationUri"], env!("CARGO_PKG_HOMEPAGE"));
    assert_eq!(doc["runs"][0]["automationDetails"]["id"], "patrol/");

    let pipeline = [
        ("TF_BUILD", "True"),
        ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/fabrikam/"),
        ("SYSTEM_TEAMPROJECT", "Web"),
        ("SYSTEM_DEFINITIONID", "12"),
        ("BUILD_DEFINITIONNAME", "web ci"),
        ("SYSTEM_PHASEID", "3dc8fd7e-4368-5a92-293e-d53cefc8c4c3"),
        ("SYSTEM_PHASENAME", "Job_1"),
        ("BUILD_SOURCEBRANCH", "refs/heads/main"),
        ("BUILD_BUILDID", "345"),
    ];
    let o = scan(&t, "sarif", &pipeline);
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let a = &doc["runs"][0]["automationDetails"];
    assert_eq!(
        a["id"],
        "azuredevops/pipeline/build/fabrikam/Web/12/3dc8fd7e-4368-5a92-293e-d53cefc8c4c3/refs/heads/main/345"
    );
    assert_eq!(
        a["properties"]["azuredevops/pipeline/build/phaseId"],
        "3dc8fd7e-4368-5a92-293e-d53cefc8c4c3"
    );
}

#[test]
fn html_is_one_self_contained_redacted_page() {
    let (g, secrets) = crate::report_history::history();
    let o = run_patrol_env(
        g.path(),
        &["scan", ".", "--no-progress", "--format", "html"],
        None,
        &[],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let page = &o.stdout;
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("default-src 'none'"), "no fetches allowed");
    for attr in ["src=\"", "href=\"", "url("] {
        assert!(!page.contains(attr), "external reference {attr}");
    }
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;.env"));
    assert!(!page.contains("<img"));
    for s in &secrets {
        assert!(!page.contains(s.as_str()), "a whole secret in the page");
    }
    assert!(page.contains("When the secrets entered the history"));
    assert!(page.contains("<h2>azure_devops") && page.contains("<h2>github"));
    let shown = run_patrol_env(
        g.path(),
        &[
            "scan",
            ".",
            "--no-progress",
            "--format",
            "html",
            "--show-secrets",
        ],
        None,
        &[],
    );
    assert!(secrets.iter().all(|s| shown.stdout.contains(s.as_str())));
}

#[test]
fn markdown_summarises_findings_for_a_job_summary() {
    let (g, secrets) = crate::report_history::history();
    let o = run_patrol_env(
        g.path(),
        &["scan", ".", "--no-progress", "--format", "markdown"],
        None,
        &[],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stdout.starts_with("### patrol\n"));
    assert!(o.stdout.contains("**2 secret(s) found**"), "{}", o.stdout);
    assert_eq!(
        o.stdout
            .lines()
            .filter(|l| l.starts_with("| azure\\_devops") || l.starts_with("| github"))
            .count(),
        2,
        "{}",
        o.stdout
    );
    assert!(o
        .stdout
        .contains("&lt;img src\\=x onerror\\=alert\\(1\\)&gt;\\.env"));
    assert!(secrets.iter().all(|s| !o.stdout.contains(s.as_str())));
}
