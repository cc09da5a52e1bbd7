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

/// A repository whose history adds an Azure DevOps PAT, then a GitHub token under a file
/// name that is markup.
fn history() -> (crate::git_repo::GitRepoBuilder, Vec<String>) {
    let g = crate::git_repo::GitRepoBuilder::new();
    let pat = fake("azure_devops.pat", 31);
    let gh = fake("github.pat_classic", 32);
    g.commit_files("init", &[("README.md", "hello\n")]);
    g.commit_files("ci", &[("deploy/ci.sh", &format!("export PAT={pat}\n"))]);
    g.commit_files(
        "env",
        &[("<img src=x onerror=alert(1)>.env", &format!("GH={gh}\n"))],
    );
    (g, vec![pat, gh])
}

#[test]
fn html_is_one_self_contained_redacted_page() {
    let (g, secrets) = history();
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
    let (g, secrets) = history();
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

/// Headless Chromium (Debian's `chromium`), or `None` with a loud note; under CI the browser
/// is required (`.ci/run` installs it), so a missing one fails instead of skipping.
fn chromium() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|c| c.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is required under CI=true (apt-get install -y chromium)"
        );
        eprintln!(
            "\n!!!!!!!! SKIPPED: chromium not found; the HTML report was NOT rendered in a \
             browser (apt-get install -y chromium) !!!!!!!!\n"
        );
    }
    found
}

/// Runs Chromium headless on `url` with `extra` flags and a fresh profile, bounded by
/// coreutils `timeout`; returns stdout.
fn headless(
    browser: &std::path::Path,
    profile: &std::path::Path,
    extra: &[&str],
    url: &str,
) -> String {
    let o = std::process::Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn html_report_renders_in_headless_chromium_without_script_errors() {
    let Some(browser) = chromium() else { return };
    let (g, secrets) = history();
    let o = run_patrol_env(
        g.path(),
        &["scan", ".", "--no-progress", "--format", "html"],
        None,
        &[],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    // Test-side instrumentation: record any script error on the root element, where
    // --dump-dom shows it.
    let probe = "<script>window.addEventListener('error', function (e) { \
        document.documentElement.setAttribute('data-js-error', String(e.message)); });</script>";
    let page = o.stdout.replacen("<head>", &format!("<head>{probe}"), 1);
    let out = TestDir::new();
    let file = out.write("report.html", &page);
    let url = format!("file://{}", file.display());

    let dom = headless(&browser, &out.path().join("p1"), &["--dump-dom"], &url);
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script ran to its end: {dom}"
    );
    assert!(!dom.contains("data-js-error=\""), "a script error: {dom}");
    assert!(dom.contains("<span id=\"shown\">2</span>"), "{dom}");
    for s in &secrets {
        assert!(!dom.contains(s.as_str()), "a whole secret in the DOM");
    }
    assert!(!dom.contains("<img"), "a hostile file name became markup");

    // The filter, pre-filled from the address: only the GitHub finding stays.
    let dom = headless(
        &browser,
        &out.path().join("p2"),
        &["--dump-dom"],
        &format!("{url}#filter=github"),
    );
    assert!(dom.contains("<span id=\"shown\">1</span>"), "{dom}");
    assert!(!dom.contains("data-js-error=\""), "{dom}");

    // The probe catches errors: a page whose script throws is flagged.
    let broken = out.write(
        "broken.html",
        page.replacen("(function () {", "(function () { null.x;", 1),
    );
    let dom = headless(
        &browser,
        &out.path().join("p4"),
        &["--dump-dom"],
        &format!("file://{}", broken.display()),
    );
    assert!(
        dom.contains("data-js-error=\""),
        "the probe missed an error: {dom}"
    );

    // The page drew: a screenshot that is not one flat colour.
    let shot = out.path().join("shot.png");
    headless(
        &browser,
        &out.path().join("p3"),
        &[&format!("--screenshot={}", shot.display())],
        &url,
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).expect("screenshot written"));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let background = px[px.len() - 1];
    let drawn = px.iter().filter(|p| p[..3] != background[..3]).count();
    let share = drawn as f64 / px.len() as f64;
    assert!(
        (0.05..0.9).contains(&share),
        "{:.1}% of the screenshot differs from the background",
        share * 100.0
    );
    // The header band is dark (#14213d): the style sheet applied.
    let top = px[20 * info.width as usize + 600];
    assert!(top[..3].iter().all(|&c| c < 90), "header colour {top:?}");
}
