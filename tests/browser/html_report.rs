//! The HTML report rendered in headless Chromium (Debian's `chromium`): the page's script runs
//! to its end without an error, no whole secret reaches the DOM, the filter works from the
//! address, and the page draws.

use crate::util::{run_patrol_env, TestDir};

/// Headless Chromium on PATH, or why it cannot be had (the test is then counted as not run).
pub fn chromium() -> Result<std::path::PathBuf, String> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
                .find(|c| c.is_file())
        })
        .ok_or_else(|| {
            "chromium not found on PATH: the HTML report was not rendered in a browser \
             (apt-get install chromium)"
                .to_string()
        })
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

pub fn html_report_renders_in_headless_chromium_without_script_errors() {
    let browser = chromium().expect("main.rs checked for chromium");
    let (g, secrets) = crate::report_history::history();
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
